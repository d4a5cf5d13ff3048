/* SPDX-License-Identifier: MIT */
/*
 * test_pop3_parse.c - table-driven tests of the pure POP3 pre-login parser
 * (pd-core/pop3_parse.c), hostile rows included.  Every row is fed whole and
 * in chunks of 1, 2 and 7 bytes, the way a session would call the parser;
 * each feed must give the same results, and the whole feed must match the
 * row.  No I/O; failures are TAP "not ok" lines with both result lists.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "pd-core/pop3_parse.h"

#include "t/unit/render.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * want: one result per line, matched with fnmatch(3):
 *   CMD <name> <args> [+more] [rest=<rest>]   (+more: too_many; no rest=
 *                                             when there is no "NAME ")
 *   LINE <raw line>
 *   BAD <msg>
 * Values show bytes 0x21-0x7e except '\' as they are, others as \xNN; a
 * value over 32 bytes shows its first 8 and "...(<length>)".
 */
struct tcase {
	const char *name;
	const char *input;	/* first part of the input, may hold NULs */
	size_t len;
	const char *rep;	/* then rep, nrep times */
	size_t nrep;
	const char *post;	/* then post */
	size_t line_max;	/* 0: 1024 (the pop3_line_max default) */
	unsigned raw_mask;	/* bit i: expect_line once i results are out */
	size_t want_used;	/* whole feed: bytes the first call used (0: any) */
	const char *want;
};

#define IN(s) s, sizeof(s) - 1
#define RAW_FIRST 0x1u
#define RAW_AFTER(i) (1u << (i))

static const struct tcase cases[] = {
	{ "USER with CRLF", IN("USER alice\r\n"), NULL, 0, NULL, 0, 0, 12,
	  "CMD USER alice rest=alice" },
	{ "bare LF line ending is accepted", IN("user alice\n"), NULL, 0, NULL,
	  0, 0, 11, "CMD user alice rest=alice" },
	{ "command without arguments", IN("QUIT\r\n"), NULL, 0, NULL, 0, 0, 0,
	  "CMD QUIT" },
	{ "PASS keeps the spaces of the password in rest",
	  IN("PASS my secret pw\r\n"), NULL, 0, NULL, 0, 0, 0,
	  "CMD PASS my secret +more rest=my\\x20secret\\x20pw" },
	{ "two arguments", IN("APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n"),
	  NULL, 0, NULL, 0, 0, 0,
	  "CMD APOP mrose c4c9334bac560ecc979e58001b3e22fb "
	  "rest=mrose\\x20c4...(38)" },
	{ "AUTH with an initial response",
	  IN("AUTH PLAIN AHVzZXIAcGFzcw==\r\n"), NULL, 0, NULL, 0, 0, 0,
	  "CMD AUTH PLAIN AHVzZXIAcGFzcw== rest=PLAIN\\x20AHVzZXIAcGFzcw==" },
	{ "AUTH with an empty initial response", IN("AUTH PLAIN =\r\n"), NULL, 0,
	  NULL, 0, 0, 0, "CMD AUTH PLAIN = rest=PLAIN\\x20=" },
	{ "keyword of 40 bytes (RFC 2449 maximum)", IN(""), "K", 40, "\r\n", 0, 0,
	  0, "CMD KKKKKKKK...(40)" },
	{ "keyword of 41 bytes", IN(""), "K", 41, "\r\n", 0, 0, 0,
	  "BAD Invalid command" },
	{ "8-bit bytes in the keyword", IN("US\xc9R x\r\n"), NULL, 0, NULL, 0, 0,
	  0, "BAD Invalid command" },
	{ "8-bit bytes in an argument are accepted", IN("USER j\xc3\xb6rg\r\n"),
	  NULL, 0, NULL, 0, 0, 0, "CMD USER j\\xc3\\xb6rg rest=j\\xc3\\xb6rg" },
	{ "tab inside the keyword", IN("USER\tx\r\n"), NULL, 0, NULL, 0, 0, 0,
	  "BAD Invalid command" },
	{ "DEL inside the keyword", IN("US\x7fR x\r\n"), NULL, 0, NULL, 0, 0, 0,
	  "BAD Invalid command" },
	{ "CR CR LF", IN("NOOP\r\r\n"), NULL, 0, NULL, 0, 0, 0,
	  "BAD Invalid command" },
	{ "empty line", IN("\r\n"), NULL, 0, NULL, 0, 0, 0, "BAD Empty command" },
	{ "empty line, then a command", IN("\r\nQUIT\r\n"), NULL, 0, NULL, 0, 0,
	  0, "BAD Empty command\nCMD QUIT" },
	{ "leading space (empty keyword)", IN(" USER x\r\n"), NULL, 0, NULL, 0, 0,
	  0, "BAD Empty command" },
	{ "NUL in an argument", IN("USER al\0ice\r\n"), NULL, 0, NULL, 0, 0, 0,
	  "BAD NUL byte in command" },
	{ "NUL as the first byte", IN("\0USER x\r\n"), NULL, 0, NULL, 0, 0, 0,
	  "BAD NUL byte in command" },
	{ "100 KB line, then a command", IN("USER "), "x", 102400, "\r\nQUIT\r\n",
	  0, 0, 0, "BAD Line too long\nCMD QUIT" },
	{ "line just under line_max", IN("USER "), "u", 250, "\r\n", 256, 0, 0,
	  "CMD USER uuuuuuuu...(250) rest=uuuuuuuu...(250)" },
	{ "line of line_max bytes, bare LF", IN("USER "), "u", 251, "\n", 256, 0,
	  0, "CMD USER uuuuuuuu...(251) rest=uuuuuuuu...(251)" },
	{ "line just over line_max, then a command", IN("USER "), "u", 252,
	  "\r\nQUIT\r\n", 256, 0, 0, "BAD Line too long\nCMD QUIT" },
	{ "1000 arguments", IN("USER"), " x", 1000, "\r\n", 4096, 0, 0,
	  "CMD USER x x +more rest=x\\x20x\\x20x\\x20x\\x20...(1999)" },
	{ "IMAP literal count in a POP3 line",
	  IN("a LOGIN {99999999999999999999}\r\n"), NULL, 0, NULL, 0, 0, 0,
	  "CMD a LOGIN {99999999999999999999} "
	  "rest=LOGIN\\x20{99999999999999999999}" },
	{ "unterminated quote is just bytes", IN("USER \"alice\r\n"), NULL, 0,
	  NULL, 0, 0, 0, "CMD USER \"alice rest=\"alice" },
	{ "incomplete line gives nothing", IN("USER al"), NULL, 0, NULL, 0, 0, 0,
	  "" },

	/* raw lines (AUTH responses) */
	{ "raw line after AUTH", IN("AUTH PLAIN\r\nAHVzZXIAcGFzcw==\r\n"), NULL,
	  0, NULL, 0, RAW_AFTER(1), 0,
	  "CMD AUTH PLAIN rest=PLAIN\nLINE AHVzZXIAcGFzcw==" },
	{ "raw lines of AUTH LOGIN, then a command",
	  IN("AUTH LOGIN\r\ndXNlcg==\r\ncGFzcw==\r\nQUIT\r\n"), NULL, 0, NULL, 0,
	  RAW_AFTER(1) | RAW_AFTER(2), 0,
	  "CMD AUTH LOGIN rest=LOGIN\nLINE dXNlcg==\nLINE cGFzcw==\nCMD QUIT" },
	{ "raw line that looks like a command; only one line is raw",
	  IN("USER x\r\nQUIT\r\n"), NULL, 0, NULL, 0, RAW_FIRST, 0,
	  "LINE USER\\x20x\nCMD QUIT" },
	{ "raw cancel", IN("*\r\n"), NULL, 0, NULL, 0, RAW_FIRST, 3, "LINE *" },
	{ "raw empty line", IN("\r\n"), NULL, 0, NULL, 0, RAW_FIRST, 0, "LINE " },
	{ "raw line, bare LF", IN("dXNlcg==\n"), NULL, 0, NULL, 0, RAW_FIRST, 0,
	  "LINE dXNlcg==" },
	{ "raw line holding a NUL is refused; the next line is a command",
	  IN("AH\0z\r\nQUIT\r\n"), NULL, 0, NULL, 0, RAW_FIRST, 0,
	  "BAD NUL byte in command\nCMD QUIT" },
	{ "raw line too long; the next line is a command", IN(""), "A", 1100,
	  "\r\nQUIT\r\n", 0, RAW_FIRST, 0, "BAD Line too long\nCMD QUIT" },

	/* pipelining: one command per call */
	{ "pipelined commands", IN("USER a\r\nPASS b\r\n"), NULL, 0, NULL, 0, 0,
	  8, "CMD USER a rest=a\nCMD PASS b rest=b" },
	{ "STLS followed by pipelined bytes", IN("STLS\r\nUSER x\r\n"), NULL, 0,
	  NULL, 0, 0, 6, "CMD STLS\nCMD USER x rest=x" },
	{ "bytes pipelined after PASS", IN("PASS pw\r\nSTAT\r\nLIST\r\n"), NULL,
	  0, NULL, 0, 0, 9, "CMD PASS pw rest=pw\nCMD STAT\nCMD LIST" },
};

static struct out whole, part;

/* A view must lie inside the line the parser was given. */
static bool
view_inside(struct pd_str v, struct pd_str line)
{
	return v.len == 0 ||
	       (v.p >= line.p && v.p + v.len <= line.p + line.len);
}

static void
out_result(struct out *o, unsigned nres, enum pd_pop3_result r,
	   const struct pd_pop3_cmd *cmd)
{
	size_t i;

	if (nres > 0)
		out_text(o, "\n");
	switch (r) {
	case PD_POP3_NEED_MORE:
		break;
	case PD_POP3_COMMAND: {
		/* the line: from the name to the end of rest (or of the name) */
		struct pd_str line = cmd->name;

		if (cmd->rest.p != NULL)
			line.len = (size_t)(cmd->rest.p + cmd->rest.len - cmd->name.p);
		out_text(o, "CMD ");
		out_value(o, cmd->name);
		for (i = 0; i < cmd->nargs && i < PD_POP3_ARGS_MAX; i++) {
			out_text(o, " ");
			out_value(o, cmd->args[i]);
			if (!view_inside(cmd->args[i], line))
				out_error(o, "argument outside the line");
		}
		if (cmd->too_many)
			out_text(o, " +more");
		if (cmd->rest.p != NULL) {
			out_text(o, " rest=");
			out_value(o, cmd->rest);
		}
		if (cmd->nargs > PD_POP3_ARGS_MAX)
			out_error(o, "nargs past PD_POP3_ARGS_MAX");
		if (cmd->name.len == 0)
			out_error(o, "COMMAND with an empty name");
		break;
	}
	case PD_POP3_LINE:
		out_text(o, "LINE ");
		out_value(o, cmd->rest);
		break;
	case PD_POP3_BAD:
		out_text(o, "BAD ");
		out_text(o, cmd->msg != NULL ? cmd->msg : "(no msg)");
		break;
	}
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

/*
 * Feed data as reads of k bytes would deliver it: each read is parsed until
 * every byte of it is used ("as pd_imap_parse": call again with the rest).
 */
static void
feed(const struct tcase *c, const unsigned char *data, size_t len, size_t k,
     struct out *o)
{
	struct pd_pop3_parser p;
	size_t off = 0;
	unsigned nres = 0;
	bool first = true;

	o->n = o->nfull = 0;
	o->s[0] = o->full[0] = '\0';
	o->error = false;
	o->first_used = 0;
	pd_pop3_parser_init(&p, c->line_max != 0 ? c->line_max : 1024);
	if (c->raw_mask & RAW_FIRST)
		pd_pop3_parser_expect_line(&p);
	while (off < len && !o->error) {
		size_t end = len - off > k ? off + k : len;

		while (off < end && !o->error) {
			struct pd_pop3_cmd cmd;
			size_t used = SIZE_MAX;
			enum pd_pop3_result r;

			r = pd_pop3_parse(&p, data + off, end - off, &used, &cmd);
			if (used > end - off || used == 0) {
				out_error(o, "no progress or used past len");
				break;
			}
			if (first) {
				o->first_used = used;
				first = false;
			}
			off += used;
			if (r == PD_POP3_NEED_MORE)
				continue;
			out_result(o, nres++, r, &cmd);
			if (nres < 32 && (c->raw_mask & RAW_AFTER(nres)))
				pd_pop3_parser_expect_line(&p);
		}
	}
	pd_pop3_parser_deinit(&p);
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
		if (part.error || strcmp(part.full, whole.full) != 0)
			bad_k = chunks[i];
	}
	pd_buf_deinit(&in);
	if (whole.error || fnmatch(c->want, whole.s, FNM_NOESCAPE) != 0)
		fail_msg("fed whole:\nwant:\n%s\ngot:\n%s", c->want, whole.s);
	if (bad_k != 0)
		fail_msg("fed in chunks of %zu:\nwant (as fed whole):\n%s\ngot:\n%s",
			 bad_k, whole.s, part.s);
	if (c->want_used != 0)
		assert_int_equal(whole.first_used, c->want_used);
}

/* The parser wipes the lines it held: PASS carries a password. */
static void
test_secret_buffer(void **state)
{
	struct pd_pop3_parser p;

	(void)state;
	pd_pop3_parser_init(&p, 1024);
	assert_true(p.lines.line.secret);
	pd_pop3_parser_deinit(&p);
}

int
main(void)
{
	static struct CMUnitTest tests[PD_N_ELEMENTS(cases) + 1];
	size_t i, n = 0;

	for (i = 0; i < PD_N_ELEMENTS(cases); i++) {
		tests[n].name = cases[i].name;
		tests[n].test_func = test_case;
		tests[n].initial_state = (void *)&cases[i];
		n++;
	}
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_secret_buffer);
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return _cmocka_run_group_tests("pop3_parse", tests, n, NULL, NULL);
}
