/* SPDX-License-Identifier: MIT */
/*
 * test_buf.c - unit tests of struct pd_buf (pd-core/buf.c): bounded append,
 * printf, reserve/commit, consume, reset and secret wiping.  Each table row
 * is a short script of operations checked step by step against the
 * invariants of buf.h (len <= max, data[len] == 0, ENOBUFS past max, content
 * intact after a refused append).  Failures are TAP "not ok" lines.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "pd-core/buf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum op_kind {
	OP_END,
	OP_APPEND,	/* pd_buf_append_str(s) */
	OP_FILL,	/* pd_buf_append of n pattern bytes (see fill_byte) */
	OP_PRINTF,	/* pd_buf_printf("%s|%zu", s, n) */
	OP_RESERVE,	/* pd_buf_reserve(n), write m bytes 'r', commit m */
	OP_CONSUME,	/* pd_buf_consume(n) */
	OP_RESET,	/* pd_buf_reset */
};

struct op {
	enum op_kind kind;
	const char *s;
	size_t n, m;
	int want;	/* 0, or -1 with errno ENOBUFS and content intact */
};

struct tcase {
	const char *name;
	size_t max;
	bool secret;
	struct op ops[8];
	const char *want;	/* final content; NULL: fill pattern of want_len */
	size_t want_len;
};

#define APPEND(str, w)		{ OP_APPEND, str, 0, 0, w }
#define FILL(count, w)		{ OP_FILL, NULL, count, 0, w }
#define PRINTF(str, num, w)	{ OP_PRINTF, str, num, 0, w }
#define RESERVE(count, wr, w)	{ OP_RESERVE, NULL, count, wr, w }
#define CONSUME(count)		{ OP_CONSUME, NULL, count, 0, 0 }
#define RESET()			{ OP_RESET, NULL, 0, 0, 0 }

static const struct tcase cases[] = {
	{ "append within max", 16, false,
	  { APPEND("hello", 0), APPEND(" world", 0) }, "hello world", 11 },
	{ "append exactly up to max", 8, false,
	  { APPEND("12345678", 0), APPEND("", 0) }, "12345678", 8 },
	{ "append past max fails with ENOBUFS, content intact", 8, false,
	  { APPEND("12345", 0), APPEND("6789", -1), APPEND("678", 0) },
	  "12345678", 8 },
	{ "append to a full buffer fails", 4, false,
	  { APPEND("abcd", 0), APPEND("e", -1), APPEND("", 0) }, "abcd", 4 },
	{ "first append larger than max fails", 4, false,
	  { APPEND("abcde", -1) }, "", 0 },
	{ "max 0 takes only empty appends", 0, false,
	  { APPEND("", 0), APPEND("a", -1) }, "", 0 },
	{ "growth past 64 bytes and doubling up to max", 100000, false,
	  { FILL(63, 0), FILL(2, 0), FILL(1000, 0), FILL(98935, 0),
	    FILL(1, -1) }, NULL, 100000 },
	{ "max below the first allocation", 10, false,
	  { FILL(9, 0), FILL(2, -1), FILL(1, 0), FILL(1, -1) }, NULL, 10 },
	{ "printf", 32, false,
	  { PRINTF("key", 42, 0), PRINTF("x", 7, 0) }, "key|42x|7", 9 },
	{ "printf exactly up to max", 6, false,
	  { PRINTF("key", 42, 0) }, "key|42", 6 },
	{ "printf past max fails, content intact", 8, false,
	  { APPEND("abc", 0), PRINTF("long", 12345, -1), PRINTF("", 1, 0) },
	  "abc|1", 5 },
	{ "consume part", 32, false,
	  { APPEND("hello world", 0), CONSUME(6) }, "world", 5 },
	{ "consume all, then append", 32, false,
	  { APPEND("abc", 0), CONSUME(3), APPEND("d", 0) }, "d", 1 },
	{ "consume more than len", 32, false,
	  { APPEND("abc", 0), CONSUME(10) }, "", 0 },
	{ "consume 0", 32, false,
	  { APPEND("abc", 0), CONSUME(0) }, "abc", 3 },
	{ "consume on an empty buffer", 32, false,
	  { CONSUME(1) }, "", 0 },
	{ "consume makes room below max", 8, false,
	  { APPEND("12345678", 0), APPEND("9", -1), CONSUME(4),
	    APPEND("9abc", 0), APPEND("d", -1) }, "56789abc", 8 },
	{ "reset, then fill to max again", 4, false,
	  { APPEND("abcd", 0), RESET(), APPEND("wxyz", 0), APPEND("!", -1) },
	  "wxyz", 4 },
	{ "reset on a never-used buffer", 4, false,
	  { RESET(), APPEND("ab", 0) }, "ab", 2 },
	{ "reserve more than written, commit less", 16, false,
	  { APPEND("ab", 0), RESERVE(10, 3, 0) }, "abrrr", 5 },
	{ "reserve past room fails, content intact", 8, false,
	  { APPEND("abcde", 0), RESERVE(4, 0, -1), RESERVE(3, 3, 0),
	    RESERVE(1, 0, -1) }, "abcderrr", 8 },
	{ "reserve 0 on an empty buffer", 8, false,
	  { RESERVE(0, 0, 0) }, "", 0 },
	{ "reserve on a full buffer", 2, false,
	  { APPEND("ab", 0), RESERVE(0, 0, 0), RESERVE(1, 0, -1) }, "ab", 2 },
	{ "secret: append past max fails, content intact", 8, true,
	  { APPEND("12345", 0), APPEND("6789", -1), APPEND("678", 0) },
	  "12345678", 8 },
	{ "secret: growth keeps content", 5000, true,
	  { FILL(60, 0), FILL(100, 0), FILL(4000, 0), FILL(840, 0),
	    FILL(1, -1) }, NULL, 5000 },
	{ "secret: consume and printf", 16, true,
	  { APPEND("password", 0), CONSUME(4), PRINTF("", 99, 0),
	    RESERVE(10, 0, -1) }, "word|99", 7 },
};

/* Byte i of a FILL pattern, counted from the start of the content. */
static unsigned char
fill_byte(size_t i)
{
	return (unsigned char)('a' + i % 26);
}

/* The invariants of buf.h that hold after every operation. */
static void
check_invariants(const struct pd_buf *b, size_t max)
{
	assert_int_equal(b->max, max);
	assert_true(b->len <= b->max);
	assert_int_equal(pd_buf_room(b), b->max - b->len);
	if (b->data == NULL) {
		assert_int_equal(b->len, 0);
		assert_string_equal(pd_buf_cstr(b), "");
	} else {
		assert_true(b->cap >= b->len);
		assert_int_equal(b->data[b->len], 0);
		assert_ptr_equal(pd_buf_cstr(b), (const char *)b->data);
	}
}

static int
run_op(struct pd_buf *b, const struct op *op)
{
	unsigned char *p;
	size_t i;
	int ret = 0;

	switch (op->kind) {
	case OP_END:
		break;
	case OP_APPEND:
		ret = pd_buf_append_str(b, op->s);
		break;
	case OP_FILL: {
		unsigned char *tmp = malloc(op->n + 1);

		assert_non_null(tmp);
		for (i = 0; i < op->n; i++)
			tmp[i] = fill_byte(b->len + i);
		ret = pd_buf_append(b, tmp, op->n);
		free(tmp);
		break;
	}
	case OP_PRINTF:
		ret = pd_buf_printf(b, "%s|%zu", op->s, op->n);
		break;
	case OP_RESERVE:
		if ((p = pd_buf_reserve(b, op->n)) == NULL)
			return -1;
		/* the reserved room, terminator included, must be writable */
		memset(p, 'r', op->n);
		p[op->n] = '\0';
		pd_buf_commit(b, op->m);
		break;
	case OP_CONSUME:
		pd_buf_consume(b, op->n);
		break;
	case OP_RESET:
		pd_buf_reset(b);
		break;
	}
	return ret;
}

static void
test_case(void **state)
{
	const struct tcase *c = *state;
	struct pd_buf b;
	const struct op *op;
	size_t i;

	if (c->secret)
		pd_buf_init_secret(&b, c->max);
	else
		pd_buf_init(&b, c->max);
	assert_int_equal(b.secret, c->secret);
	check_invariants(&b, c->max);
	for (op = c->ops; op < c->ops + PD_N_ELEMENTS(c->ops) &&
	     op->kind != OP_END; op++) {
		size_t before_len = b.len;
		char *before = malloc(before_len + 1);
		int ret, e;

		assert_non_null(before);
		memcpy(before, pd_buf_cstr(&b), before_len + 1);
		errno = 0;
		ret = run_op(&b, op);
		e = errno;
		if (op->want < 0) {
			bool intact = b.len == before_len &&
				memcmp(pd_buf_cstr(&b), before, before_len + 1) == 0;

			free(before);
			assert_int_equal(ret, -1);
			assert_int_equal(e, ENOBUFS);
			assert_true(intact);
		} else {
			free(before);
			assert_int_equal(ret, 0);
		}
		check_invariants(&b, c->max);
	}
	assert_int_equal(b.len, c->want_len);
	if (c->want != NULL) {
		assert_memory_equal(pd_buf_cstr(&b), c->want, c->want_len + 1);
	} else {
		for (i = 0; i < c->want_len; i++)
			if (b.data[i] != fill_byte(i))
				break;
		assert_int_equal(i, c->want_len);
	}
	pd_buf_deinit(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	/* deinit twice is harmless */
	pd_buf_deinit(&b);
}

static void
test_init_empty(void **state)
{
	struct pd_buf b;

	(void)state;
	memset(&b, 0xa5, sizeof(b));
	pd_buf_init(&b, 100);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	assert_int_equal(b.max, 100);
	assert_false(b.secret);
	assert_string_equal(pd_buf_cstr(&b), "");
	assert_int_equal(pd_buf_room(&b), 100);
	pd_buf_deinit(&b);
}

/* A binary append keeps NULs and still terminates the data. */
static void
test_append_binary(void **state)
{
	struct pd_buf b;
	static const unsigned char bin[] = { 'a', 0, 'b', 0xff, 0 };

	(void)state;
	pd_buf_init(&b, 16);
	assert_int_equal(pd_buf_append(&b, bin, sizeof(bin)), 0);
	assert_int_equal(b.len, sizeof(bin));
	assert_memory_equal(b.data, bin, sizeof(bin));
	assert_int_equal(b.data[b.len], 0);
	pd_buf_deinit(&b);
}

/* reset keeps the allocation, so a later append inside cap does not move. */
static void
test_reset_keeps_allocation(void **state)
{
	struct pd_buf b;
	unsigned char *data;

	(void)state;
	pd_buf_init(&b, 1000);
	assert_int_equal(pd_buf_append_str(&b, "some bytes"), 0);
	data = b.data;
	pd_buf_reset(&b);
	assert_ptr_equal(b.data, data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.data[0], 0);
	assert_int_equal(pd_buf_append_str(&b, "more"), 0);
	assert_ptr_equal(b.data, data);
	assert_string_equal(pd_buf_cstr(&b), "more");
	pd_buf_deinit(&b);
}

/*
 * A secret buffer wipes the bytes it releases: the tail left behind by
 * consume and the contents dropped by reset.  Both stay inside cap, so
 * reading them is defined.
 */
static void
test_secret_wipes(void **state)
{
	struct pd_buf b;
	size_t i;

	(void)state;
	pd_buf_init_secret(&b, 64);
	assert_true(b.secret);
	assert_int_equal(pd_buf_append_str(&b, "hunter2-secret"), 0);
	pd_buf_consume(&b, 8);
	assert_string_equal(pd_buf_cstr(&b), "secret");
	for (i = b.len; i <= 14; i++)
		assert_int_equal(b.data[i], 0);
	pd_buf_reset(&b);
	for (i = 0; i <= 14; i++)
		assert_int_equal(b.data[i], 0);
	pd_buf_deinit(&b);
}

static void
test_str_eq_nocase(void **state)
{
	static const struct {
		const char *s, *lit;
		bool want;
	} rows[] = {
		{ "LOGIN", "login", true },
		{ "lOgIn", "LOGIN", true },
		{ "LOGIN", "LOGINX", false },
		{ "LOGINX", "LOGIN", false },
		{ "LOG", "LOGIN", false },
		{ "", "", true },
		{ "", "a", false },
		{ "LOGIM", "login", false },
	};
	size_t i;

	(void)state;
	for (i = 0; i < PD_N_ELEMENTS(rows); i++) {
		struct pd_str s = { (const unsigned char *)rows[i].s,
				    strlen(rows[i].s) };

		if (pd_str_eq_nocase(s, rows[i].lit) != rows[i].want)
			fail_msg("pd_str_eq_nocase(\"%s\", \"%s\") != %d",
				 rows[i].s, rows[i].lit, rows[i].want);
	}
	/* only s.len bytes of the view are compared */
	{
		struct pd_str s = { (const unsigned char *)"PLAINTEXT", 5 };

		assert_true(pd_str_eq_nocase(s, "plain"));
		assert_false(pd_str_eq_nocase(s, "plaintext"));
	}
}

int
main(void)
{
	static struct CMUnitTest tests[PD_N_ELEMENTS(cases) + 5];
	size_t i, n = 0;

	for (i = 0; i < PD_N_ELEMENTS(cases); i++) {
		tests[n].name = cases[i].name;
		tests[n].test_func = test_case;
		tests[n].initial_state = (void *)&cases[i];
		n++;
	}
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_init_empty);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_append_binary);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_reset_keeps_allocation);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_secret_wipes);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_str_eq_nocase);
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return _cmocka_run_group_tests("buf", tests, n, NULL, NULL);
}
