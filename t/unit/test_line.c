/* SPDX-License-Identifier: MIT */
/*
 * test_line.c - unit tests of the bounded line reader (pd-core/line.c):
 * CRLF and bare LF, lines split across reads, and an overlong line reported
 * once as TOOLONG and skipped up to its LF.  Each row is fed whole and in
 * chunks of 1, 2 and 7 bytes; all feeds must give the same results.
 * Failures are TAP "not ok" lines.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "pd-core/line.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tcase {
	const char *name;
	const char *input;	/* first part of the input, may hold NULs */
	size_t len;
	const char *rep;	/* then rep, nrep times */
	size_t nrep;
	const char *post;	/* then post */
	size_t max;		/* line maximum */
	const char *want;	/* "OK <line>" or "TOOLONG", one per line */
};

#define IN(s) s, sizeof(s) - 1

static const struct tcase cases[] = {
	{ "CRLF", IN("abc\r\n"), NULL, 0, NULL, 16, "OK abc" },
	{ "bare LF", IN("abc\n"), NULL, 0, NULL, 16, "OK abc" },
	{ "two lines, CRLF then LF", IN("abc\r\ndef\n"), NULL, 0, NULL, 16,
	  "OK abc\nOK def" },
	{ "empty lines", IN("\r\n\n"), NULL, 0, NULL, 16, "OK \nOK " },
	{ "no LF yet: nothing", IN("abc\r"), NULL, 0, NULL, 16, "" },
	{ "lone CR inside a line is kept", IN("a\rb\r\n"), NULL, 0, NULL, 16,
	  "OK a\\x0db" },
	{ "only one CR is stripped", IN("ab\r\r\n"), NULL, 0, NULL, 16,
	  "OK ab\\x0d" },
	{ "NUL inside a line is returned as is", IN("a\0b\r\n"), NULL, 0, NULL,
	  16, "OK a\\x00b" },
	{ "8-bit bytes are returned as is", IN("\xc3\xa9t\xc3\xa9\n"), NULL, 0,
	  NULL, 16, "OK \\xc3\\xa9t\\xc3\\xa9" },
	{ "max - 1 bytes then CRLF", IN(""), "x", 15, "\r\n", 16,
	  "OK xxxxxxxxxxxxxxx" },
	{ "max bytes then bare LF", IN(""), "x", 16, "\n", 16,
	  "OK xxxxxxxxxxxxxxxx" },
	/*
	 * Was a bug (fixed): the CR of CRLF counts against max, so a line of exactly max
	 * bytes is TOOLONG with CRLF but OK with a bare LF.  line.h says the
	 * line is "without CR LF" and TOOLONG means it "passed max".
	 */
	{ "fixed: max bytes then CRLF is a line of max bytes", IN(""), "x", 16,
	  "\r\n", 16, "OK xxxxxxxxxxxxxxxx" },
	{ "max + 1 bytes then LF", IN(""), "x", 17, "\n", 16, "TOOLONG" },
	{ "overlong line reported once, skipped, next line OK", IN(""), "x",
	  100, "\r\nok\r\n", 16, "TOOLONG\nOK ok" },
	{ "overlong line with no LF yet", IN(""), "x", 100, NULL, 16,
	  "TOOLONG" },
	{ "two overlong lines, then a short one", IN(""), "x", 40,
	  "\nyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\nz\n", 16, "TOOLONG\nTOOLONG\nOK z" },
	{ "100 KB line, then a line", IN("a NOOP "), "x", 102400,
	  "\r\nb NOOP\r\n", 8192, "TOOLONG\nOK b\\x20NOOP" },
	{ "line after an overlong line is not truncated", IN(""), "x", 17,
	  "\nabcdefghijklmnop\n", 16, "TOOLONG\nOK abcdefghijklmnop" },
	{ "max 0: only empty lines", IN("\nx\n\n"), NULL, 0, NULL, 0,
	  "OK \nTOOLONG\nOK " },
};

#define OUT_MAX (64 * 1024)

struct out {
	char s[OUT_MAX];
	size_t n;
	bool error;		/* a broken contract; s says which */
};

static struct out whole, part;

static void
out_add(struct out *o, const char *fmt, ...) PD_PRINTF(2, 3);

static void
out_add(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (o->n >= sizeof(o->s) - 1)
		return;
	va_start(ap, fmt);
	r = vsnprintf(o->s + o->n, sizeof(o->s) - o->n, fmt, ap);
	va_end(ap);
	if (r > 0)
		o->n += (size_t)r < sizeof(o->s) - o->n ? (size_t)r
			: sizeof(o->s) - o->n - 1;
}

/* Printable bytes as they are, others as \xNN; long values shortened. */
static void
out_value(struct out *o, const unsigned char *p, size_t len)
{
	size_t i, show = len > 32 ? 8 : len;

	for (i = 0; i < show; i++) {
		if (p[i] > 0x20 && p[i] < 0x7f && p[i] != '\\')
			out_add(o, "%c", p[i]);
		else
			out_add(o, "\\x%02x", p[i]);
	}
	if (show < len)
		out_add(o, "...(%zu)", len);
}

static void
build_input(const struct tcase *c, struct pd_buf *in)
{
	size_t i;

	pd_buf_init(in, 1024 * 1024);
	assert_int_equal(pd_buf_append(in, c->input, c->len), 0);
	for (i = 0; i < c->nrep; i++)
		assert_int_equal(pd_buf_append_str(in, c->rep), 0);
	if (c->post != NULL)
		assert_int_equal(pd_buf_append_str(in, c->post), 0);
}

/* Feed data in chunks of k bytes, as reads of k bytes would deliver it. */
static void
feed(const struct tcase *c, const unsigned char *data, size_t len, size_t k,
     struct out *o)
{
	struct pd_line_reader r;
	size_t off = 0, nres = 0;

	o->n = 0;
	o->s[0] = '\0';
	o->error = false;
	pd_line_init(&r, c->max, false);
	while (off < len && !o->error) {
		size_t end = len - off > k ? off + k : len;

		while (off < end) {
			struct pd_str line = { NULL, 0 };
			size_t used = SIZE_MAX;
			enum pd_line_result res;

			res = pd_line_next(&r, data + off, end - off, &used,
					   &line);
			if (used > end - off || used == 0) {
				out_add(o, "ERROR: used %zu of %zu", used,
					end - off);
				o->error = true;
				break;
			}
			off += used;
			if (res == PD_LINE_NEED_MORE)
				continue;
			if (nres++ > 0)
				out_add(o, "\n");
			if (res == PD_LINE_TOOLONG) {
				out_add(o, "TOOLONG");
				continue;
			}
			if (line.len > c->max) {
				out_add(o, "ERROR: line of %zu > max", line.len);
				o->error = true;
				break;
			}
			out_add(o, "OK ");
			out_value(o, line.p, line.len);
		}
	}
	pd_line_deinit(&r);
}

static void
test_case(void **state)
{
	static const size_t chunks[] = { 1, 2, 7 };
	const struct tcase *c = *state;
	struct pd_buf in;
	size_t i, bad_k = 0;

	build_input(c, &in);
	feed(c, in.data, in.len, SIZE_MAX, &whole);
	for (i = 0; i < PD_N_ELEMENTS(chunks) && bad_k == 0; i++) {
		feed(c, in.data, in.len, chunks[i], &part);
		if (part.error || strcmp(part.s, whole.s) != 0)
			bad_k = chunks[i];
	}
	pd_buf_deinit(&in);
	if (whole.error || strcmp(whole.s, c->want) != 0)
		fail_msg("fed whole:\nwant:\n%s\ngot:\n%s", c->want, whole.s);
	if (bad_k != 0)
		fail_msg("fed in chunks of %zu:\nwant:\n%s\ngot:\n%s", bad_k,
			 whole.s, part.s);
}

/* A returned line is a view into the reader: valid until the next call. */
static void
test_line_view(void **state)
{
	struct pd_line_reader r;
	struct pd_str line;
	size_t used;
	const unsigned char *d = (const unsigned char *)"first\r\nsecond\n";

	(void)state;
	pd_line_init(&r, 64, false);
	assert_int_equal(pd_line_next(&r, d, 14, &used, &line), PD_LINE_OK);
	assert_int_equal(used, 7);
	assert_int_equal(line.len, 5);
	assert_memory_equal(line.p, "first", 5);
	assert_int_equal(pd_line_next(&r, d + 7, 7, &used, &line), PD_LINE_OK);
	assert_int_equal(used, 7);
	assert_int_equal(line.len, 6);
	assert_memory_equal(line.p, "second", 6);
	pd_line_deinit(&r);
}

/* A secret reader wipes the previous line before it starts the next. */
static void
test_line_secret(void **state)
{
	struct pd_line_reader r;
	struct pd_str line;
	size_t used, i;

	(void)state;
	pd_line_init(&r, 64, true);
	assert_true(r.line.secret);
	assert_int_equal(pd_line_next(&r, (const unsigned char *)"pass\n", 5,
				      &used, &line), PD_LINE_OK);
	assert_memory_equal(line.p, "pass", 4);
	assert_int_equal(pd_line_next(&r, (const unsigned char *)"x", 1, &used,
				      &line), PD_LINE_NEED_MORE);
	assert_int_equal(r.line.data[0], 'x');
	for (i = 1; i < 4; i++)
		assert_int_equal(r.line.data[i], 0);
	pd_line_deinit(&r);
}

/*
 * After an overlong line, the call that reaches its LF stops there: it
 * returns NEED_MORE having used only the bytes up to the LF (line.h), and
 * the next call with the rest returns the following line intact.
 */
static void
test_line_skip_then_next(void **state)
{
	struct pd_line_reader r;
	struct pd_str line;
	size_t used;
	enum pd_line_result res;

	(void)state;
	pd_line_init(&r, 4, false);
	res = pd_line_next(&r, (const unsigned char *)"abcdefgh", 8, &used,
			   &line);
	assert_int_equal(res, PD_LINE_TOOLONG);
	assert_int_equal(used, 8);
	res = pd_line_next(&r, (const unsigned char *)"xx\nok\n", 6, &used,
			   &line);
	assert_int_equal(res, PD_LINE_NEED_MORE);
	assert_int_equal(used, 3);
	res = pd_line_next(&r, (const unsigned char *)"ok\n", 3, &used, &line);
	assert_int_equal(res, PD_LINE_OK);
	assert_int_equal(used, 3);
	assert_int_equal(line.len, 2);
	assert_memory_equal(line.p, "ok", 2);
	pd_line_deinit(&r);
}

int
main(void)
{
	static struct CMUnitTest tests[PD_N_ELEMENTS(cases) + 3];
	size_t i, n = 0;

	for (i = 0; i < PD_N_ELEMENTS(cases); i++) {
		tests[n].name = cases[i].name;
		tests[n].test_func = test_case;
		tests[n].initial_state = (void *)&cases[i];
		n++;
	}
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_line_view);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_line_secret);
	tests[n].name = "skip to the LF, then the next line";
	tests[n++].test_func = test_line_skip_then_next;
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return _cmocka_run_group_tests("line", tests, n, NULL, NULL);
}
