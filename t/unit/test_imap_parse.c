/* SPDX-License-Identifier: MIT */
/*
 * test_imap_parse.c - table-driven tests of the pure IMAP pre-login parser
 * (pd-core/imap_parse.c), hostile rows included.  Every row is fed whole and
 * in chunks of 1, 2 and 7 bytes, the way a session would call the parser;
 * each feed must give the same results, and the whole feed must match the
 * row.  No I/O; failures are TAP "not ok" lines with both result lists.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "pd-core/imap_parse.h"

#include "t/unit/render.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * want: one result per line, matched with fnmatch(3) (so "*" matches any
 * text; a row whose message is not fixed by the spec uses it):
 *   CMD <tag> <name> <args>    args: A:atom S:quoted L:literal ( )
 *   CONT                       sync literal accepted
 *   LINE <raw line>
 *   BAD <tag or -> <msg>
 *   FATAL <msg>
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
	size_t line_max;	/* 0: 8192 (the imap_line_max default) */
	unsigned raw_mask;	/* bit i: expect_line once i results are out */
	size_t want_used;	/* whole feed: bytes the first call used (0: any) */
	const char *want;
};

#define IN(s) s, sizeof(s) - 1
#define RAW_FIRST 0x1u
#define RAW_AFTER(i) (1u << (i))

/* " A:y" 64 times: the most arguments a command may have. */
#define Y4 " A:y A:y A:y A:y"
#define Y16 Y4 Y4 Y4 Y4
#define Y64 Y16 Y16 Y16 Y16

static const struct tcase cases[] = {
	/* plain commands */
	{ "NOOP with CRLF", IN("a NOOP\r\n"), NULL, 0, NULL, 0, 0, 8,
	  "CMD a NOOP" },
	{ "bare LF line ending is accepted", IN("a NOOP\n"), NULL, 0, NULL, 0,
	  0, 7, "CMD a NOOP" },
	{ "LOGIN with atoms", IN("a LOGIN alice secret\r\n"), NULL, 0, NULL,
	  0, 0, 0, "CMD a LOGIN A:alice A:secret" },
	{ "tag characters and name case are kept",
	  IN("A1.b_c-9 login Alice S3cret\r\n"), NULL, 0, NULL, 0, 0, 0,
	  "CMD A1.b_c-9 login A:Alice A:S3cret" },
	{ "quoted strings with \\\" and \\\\ escapes",
	  IN("a LOGIN \"al\\\"ice\" \"p\\\\ss word\"\r\n"), NULL, 0, NULL, 0, 0,
	  0, "CMD a LOGIN S:al\"ice S:p\\x5css\\x20word" },
	{ "empty quoted strings", IN("a LOGIN \"\" \"\"\r\n"), NULL, 0, NULL, 0,
	  0, 0, "CMD a LOGIN S: S:" },
	{ "8-bit bytes in a quoted string are accepted",
	  IN("a LOGIN \"us\xe9" "r\" pw\r\n"), NULL, 0, NULL, 0, 0, 0,
	  "CMD a LOGIN S:us\\xe9r A:pw" },
	{ "ID with a parenthesised list and NIL",
	  IN("a ID (\"name\" \"mutt\" \"version\" NIL)\r\n"), NULL, 0, NULL, 0,
	  0, 0, "CMD a ID ( S:name S:mutt S:version A:NIL )" },
	{ "ID NIL", IN("a ID NIL\r\n"), NULL, 0, NULL, 0, 0, 0,
	  "CMD a ID A:NIL" },
	{ "ID with an empty list", IN("a ID ()\r\n"), NULL, 0, NULL, 0, 0, 0,
	  "CMD a ID ( )" },
	{ "ID with 30 pairs (RFC 2971 maximum)", IN("a ID ("), "\"key\" \"val\" ",
	  30, ")\r\n", 0, 0, 0, "CMD a ID ( S:key S:val * S:key S:val )" },
	{ "64 arguments fit", IN("a X"), " y", 64, "\r\n", 0, 0, 0,
	  "CMD a X" Y64 },

	/* literals */
	{ "LOGIN with literal user and password",
	  IN("a LOGIN {5}\r\nalice {6}\r\nsecret\r\n"), NULL, 0, NULL, 0, 0, 0,
	  "CONT\nCONT\nCMD a LOGIN L:alice L:secret" },
	{ "LOGIN with non-synchronising literals",
	  IN("a LOGIN {5+}\r\nalice {6+}\r\nsecret\r\n"), NULL, 0, NULL, 0, 0,
	  0, "CMD a LOGIN L:alice L:secret" },
	{ "literal holding CR LF", IN("a LOGIN {7}\r\nal\r\nice pw\r\n"), NULL,
	  0, NULL, 0, 0, 0, "CONT\nCMD a LOGIN L:al\\x0d\\x0aice A:pw" },
	{ "literal holding 8-bit bytes", IN("a LOGIN {4}\r\n\xff\xfe\x80\x01 pw\r\n"),
	  NULL, 0, NULL, 0, 0, 0,
	  "CONT\nCMD a LOGIN L:\\xff\\xfe\\x80\\x01 A:pw" },
	{ "zero-length literal", IN("a LOGIN {0}\r\n pw\r\n"), NULL, 0, NULL, 0,
	  0, 0, "CONT\nCMD a LOGIN L: A:pw" },
	{ "literal count with leading zeros", IN("a LOGIN {005}\r\nalice pw\r\n"),
	  NULL, 0, NULL, 0, 0, 0, "CONT\nCMD a LOGIN L:alice A:pw" },
	{ "literal not yet complete", IN("a LOGIN {10}\r\nabc"), NULL, 0, NULL,
	  0, 0, 0, "CONT" },
	{ "literal count of 20 digits (sync): tagged BAD",
	  IN("a LOGIN {99999999999999999999}\r\n"), NULL, 0, NULL, 0, 0, 0,
	  "BAD a literal too large" },
	{ "literal count of 20 digits (non-sync): FATAL",
	  IN("a LOGIN {99999999999999999999+}\r\n"), NULL, 0, NULL, 0, 0, 0,
	  "FATAL literal too large" },
	{ "literal count of SIZE_MAX + 1",
	  IN("a LOGIN {18446744073709551616}\r\n"), NULL, 0, NULL, 0, 0, 0,
	  "BAD a literal too large" },
	{ "literal larger than line_max (sync): tagged BAD, no CONT",
	  IN("a LOGIN {2000}\r\n"), NULL, 0, NULL, 1024, 0, 0,
	  "BAD a literal too large" },
	{ "literal larger than line_max (non-sync): FATAL",
	  IN("a LOGIN {2000+}\r\n"), "x", 2000, "\r\n", 1024, 0, 0,
	  "FATAL literal too large" },
	{ "literal exactly filling line_max", IN("a LOGIN alice {1013}\r\n"), "x",
	  1013, "\r\n", 1024, 0, 0,
	  "CONT\nCMD a LOGIN A:alice L:xxxxxxxx...(1013)" },
	{ "literal one byte over line_max", IN("a LOGIN alice {1014}\r\n"), "x",
	  1014, "\r\n", 1024, 0, 0, "BAD a literal too large\nBAD - *" },
	{ "token after a literal that filled line_max",
	  IN("a LOGIN alice {1013}\r\n"), "x", 1013, " pw\r\n", 1024, 0, 0,
	  "CONT\nBAD a command too long" },
	{ "literal, then an overlong rest of line", IN("a LOGIN {3}\r\nabc "),
	  "y", 1100, "\r\nb NOOP\r\n", 1024, 0, 0,
	  "CONT\nBAD a line too long\nCMD b NOOP" },
	{ "bad literal marker", IN("a LOGIN {5x}\r\n"), NULL, 0, NULL, 0, 0, 0,
	  "BAD a bad literal" },
	{ "empty literal marker", IN("a LOGIN {}\r\n"), NULL, 0, NULL, 0, 0, 0,
	  "BAD a bad literal" },
	{ "literal marker not at the end", IN("a LOGIN {5} x\r\n"), NULL, 0,
	  NULL, 0, 0, 0, "BAD a bad literal" },
	{ "literal without a command name (sync)", IN("a {5}\r\n"), NULL, 0,
	  NULL, 0, 0, 0, "BAD a missing command" },
	{ "literal without a command name (non-sync)", IN("a {5+}\r\n"), NULL, 0,
	  NULL, 0, 0, 0, "FATAL bad literal" },
	/*
	 * Was a bug (fixed): RFC 9051 literals are CHAR8 (%x01-ff): NUL is not allowed, and
	 * the parser refuses NUL everywhere else, yet a NUL inside a literal
	 * reaches the command's arguments.
	 */
	{ "fixed: NUL inside a literal is refused",
	  IN("a LOGIN {5}\r\nal\0ce pw\r\n"), NULL, 0, NULL, 0, 0, 0,
	  "CONT\nBAD a *" },

	/* hostile and malformed lines */
	{ "100 KB line, then a command", IN("a NOOP "), "x", 102400,
	  "\r\nb NOOP\r\n", 0, 0, 0, "BAD - line too long\nCMD b NOOP" },
	{ "line just under line_max", IN("a X "), "y", 1019, "\r\n", 1024, 0, 0,
	  "CMD a X A:yyyyyyyy...(1019)" },
	{ "line of line_max bytes, bare LF", IN("a X "), "y", 1020, "\n", 1024,
	  0, 0, "CMD a X A:yyyyyyyy...(1020)" },
	{ "line just over line_max, then a command", IN("a X "), "y", 1021,
	  "\r\nb NOOP\r\n", 1024, 0, 0, "BAD - line too long\nCMD b NOOP" },
	{ "empty line", IN("\r\n"), NULL, 0, NULL, 0, 0, 0,
	  "BAD - empty command" },
	/*
	 * Was a bug (fixed): a line starting with a space has an empty tag (RFC 9051
	 * "tag SP command"), but the parser skips the space and takes the
	 * command name as the tag, answering "NOOP BAD missing command".
	 */
	{ "fixed: empty tag gets an untagged BAD", IN(" NOOP\r\n"), NULL, 0, NULL,
	  0, 0, 0, "BAD - *" },
	{ "tag without a command", IN("a\r\n"), NULL, 0, NULL, 0, 0, 0,
	  "BAD a missing command" },
	{ "invalid tag character", IN("a*b NOOP\r\n"), NULL, 0, NULL, 0, 0, 0,
	  "BAD - invalid tag" },
	{ "tag of 64 bytes", IN(""), "t", 64, " NOOP\r\n", 0, 0, 0,
	  "CMD tttttttt...(64) NOOP" },
	{ "tag of 65 bytes", IN(""), "t", 65, " NOOP\r\n", 0, 0, 0,
	  "BAD - invalid tag" },
	{ "quoted command name", IN("a \"NOOP\"\r\n"), NULL, 0, NULL, 0, 0, 0,
	  "BAD a missing command" },
	{ "8-bit bytes in an atom", IN("a LOGIN us\xe9" "r pw\r\n"), NULL, 0,
	  NULL, 0, 0, 0, "BAD a invalid character in command" },
	{ "8-bit tag", IN("\xe9 NOOP\r\n"), NULL, 0, NULL, 0, 0, 0,
	  "BAD - invalid character in command" },
	{ "tab as separator", IN("a\tNOOP\r\n"), NULL, 0, NULL, 0, 0, 0,
	  "BAD - invalid character in command" },
	{ "CR inside an atom", IN("a NO\rOP\r\n"), NULL, 0, NULL, 0, 0, 0,
	  "BAD a invalid character in command" },
	{ "CR CR LF", IN("a NOOP\r\r\n"), NULL, 0, NULL, 0, 0, 0,
	  "BAD a invalid character in command" },
	{ "NUL as the first byte", IN("\0a NOOP\r\n"), NULL, 0, NULL, 0, 0, 0,
	  "BAD - NUL byte in command" },
	/*
	 * Was a bug (fixed): the tag is known before the NUL (an 8-bit byte in the same
	 * place gets a tagged BAD), but the NUL check runs before any token,
	 * so the client waiting for "a" gets "* BAD" (RFC 9051 §7.1.3: a
	 * BAD is tagged when the command can be determined).
	 */
	{ "fixed: NUL after the tag gets a tagged BAD",
	  IN("a LOGIN al\0ice pw\r\n"), NULL, 0, NULL, 0, 0, 0,
	  "BAD a NUL byte in command" },
	{ "unterminated quoted string", IN("a LOGIN \"alice\r\n"), NULL, 0, NULL,
	  0, 0, 0, "BAD a unterminated quoted string" },
	{ "bad escape in a quoted string", IN("a LOGIN \"al\\ice\" pw\r\n"), NULL,
	  0, NULL, 0, 0, 0, "BAD a bad escape in quoted string" },
	{ "escape at the end of the line", IN("a LOGIN \"alice\\\r\n"), NULL, 0,
	  NULL, 0, 0, 0, "BAD a bad escape in quoted string" },
	{ "CR inside a quoted string", IN("a LOGIN \"al\rice\" pw\r\n"), NULL, 0,
	  NULL, 0, 0, 0, "BAD a CR or LF in quoted string" },
	{ "missing space after a quoted string", IN("a LOGIN \"alice\"pw\r\n"),
	  NULL, 0, NULL, 0, 0, 0, "BAD a missing space after quoted string" },
	{ "long quoted string (past the 1 KB unescape chunk)", IN("a LOGIN \""),
	  "z", 3000, "\" pw\r\n", 0, 0, 0,
	  "CMD a LOGIN S:zzzzzzzz...(3000) A:pw" },
	{ "escapes across the 1 KB unescape chunk", IN("a LOGIN \""), "\\\"",
	  1500, "\" pw\r\n", 0, 0, 0,
	  "CMD a LOGIN S:\"\"\"\"\"\"\"\"...(1500) A:pw" },
	{ "65 arguments", IN("a X"), " y", 65, "\r\n", 0, 0, 0,
	  "BAD a too many arguments" },
	{ "1000 arguments", IN("a ID"), " x", 1000, "\r\n", 0, 0, 0,
	  "BAD a too many arguments" },
	{ "1000 list items", IN("a ID ("), "\"k\" ", 1000, ")\r\n", 0, 0, 0,
	  "BAD a too many arguments" },
	{ "BAD, then the next command parses", IN("a LOGIN \"x\r\nb NOOP\r\n"),
	  NULL, 0, NULL, 0, 0, 0,
	  "BAD a unterminated quoted string\nCMD b NOOP" },

	/* raw lines (AUTHENTICATE responses) */
	{ "raw line after AUTHENTICATE",
	  IN("a AUTHENTICATE PLAIN\r\nAHVzZXIAcGFzcw==\r\n"), NULL, 0, NULL, 0,
	  RAW_AFTER(1), 0, "CMD a AUTHENTICATE A:PLAIN\nLINE AHVzZXIAcGFzcw==" },
	{ "raw lines of AUTHENTICATE LOGIN, then a command",
	  IN("a AUTHENTICATE LOGIN\r\ndXNlcg==\r\ncGFzcw==\r\nb NOOP\r\n"), NULL,
	  0, NULL, 0, RAW_AFTER(1) | RAW_AFTER(2), 0,
	  "CMD a AUTHENTICATE A:LOGIN\nLINE dXNlcg==\nLINE cGFzcw==\n"
	  "CMD b NOOP" },
	{ "raw line that looks like a command; only one line is raw",
	  IN("b LOGIN x y\r\nc NOOP\r\n"), NULL, 0, NULL, 0, RAW_FIRST, 0,
	  "LINE b\\x20LOGIN\\x20x\\x20y\nCMD c NOOP" },
	{ "raw cancel", IN("*\r\n"), NULL, 0, NULL, 0, RAW_FIRST, 3, "LINE *" },
	{ "raw empty line", IN("\r\n"), NULL, 0, NULL, 0, RAW_FIRST, 0, "LINE " },
	{ "raw line, bare LF", IN("dXNlcg==\n"), NULL, 0, NULL, 0, RAW_FIRST, 0,
	  "LINE dXNlcg==" },
	{ "raw line holding a NUL is returned as is", IN("AH\0z\r\n"), NULL, 0,
	  NULL, 0, RAW_FIRST, 0, "LINE AH\\x00z" },
	{ "raw line holding a literal marker", IN("{5}\r\n"), NULL, 0, NULL, 0,
	  RAW_FIRST, 0, "LINE {5}" },
	{ "raw line too long, then a command", IN(""), "A", 1100,
	  "\r\na NOOP\r\n", 1024, RAW_FIRST, 0,
	  "BAD - line too long\nCMD a NOOP" },

	/* pipelining: one command per call */
	{ "pipelined commands", IN("a NOOP\r\nb CAPABILITY\r\n"), NULL, 0, NULL,
	  0, 0, 8, "CMD a NOOP\nCMD b CAPABILITY" },
	{ "STARTTLS followed by pipelined bytes",
	  IN("a STARTTLS\r\nb LOGIN u p\r\n"), NULL, 0, NULL, 0, 0, 12,
	  "CMD a STARTTLS\nCMD b LOGIN A:u A:p" },
	{ "bytes pipelined after LOGIN", IN("a LOGIN u p\r\nb SELECT INBOX\r\n"),
	  NULL, 0, NULL, 0, 0, 13, "CMD a LOGIN A:u A:p\nCMD b SELECT A:INBOX" },
	{ "pipelined after a literal", IN("a LOGIN {1}\r\nu p\r\nb NOOP\r\n"),
	  NULL, 0, NULL, 0, 0, 0, "CONT\nCMD a LOGIN L:u A:p\nCMD b NOOP" },
};

static struct out whole, part;

static void
out_result(struct out *o, unsigned nres, enum pd_imap_result r,
	   const struct pd_imap_cmd *cmd)
{
	size_t i;

	if (nres > 0)
		out_text(o, "\n");
	switch (r) {
	case PD_IMAP_NEED_MORE:
		break;
	case PD_IMAP_COMMAND:
		out_text(o, "CMD ");
		out_value(o, cmd->tag);
		out_text(o, " ");
		out_value(o, cmd->name);
		for (i = 0; i < cmd->nargs && i < PD_IMAP_TOKENS_MAX; i++) {
			const struct pd_imap_token *t = &cmd->args[i];

			switch (t->kind) {
			case PD_IMAP_LPAREN:
				out_text(o, " (");
				break;
			case PD_IMAP_RPAREN:
				out_text(o, " )");
				break;
			case PD_IMAP_ATOM:
				out_text(o, t->literal ? " ?literal atom:" : " A:");
				out_value(o, t->s);
				break;
			case PD_IMAP_STRING:
				out_text(o, t->literal ? " L:" : " S:");
				out_value(o, t->s);
				break;
			}
		}
		if (!pd_imap_tag_is_valid(cmd->tag))
			out_error(o, "COMMAND with an invalid tag");
		if (cmd->nargs > PD_IMAP_TOKENS_MAX)
			out_error(o, "nargs past PD_IMAP_TOKENS_MAX");
		break;
	case PD_IMAP_CONTINUE:
		out_text(o, "CONT");
		break;
	case PD_IMAP_LINE:
		out_text(o, "LINE ");
		out_value(o, cmd->line);
		break;
	case PD_IMAP_BAD:
		out_text(o, "BAD ");
		if (cmd->tag.len == 0)
			out_text(o, "-");
		else
			out_value(o, cmd->tag);
		out_text(o, " ");
		out_text(o, cmd->msg != NULL ? cmd->msg : "(no msg)");
		if (cmd->tag.len > 0 && !pd_imap_tag_is_valid(cmd->tag))
			out_error(o, "BAD with an invalid tag");
		break;
	case PD_IMAP_FATAL:
		out_text(o, "FATAL ");
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
 * every byte of it is used, as the header asks ("call again with the rest
 * while *used_r < len").  A FATAL ends the session, so the feed stops.
 */
static void
feed(const struct tcase *c, const unsigned char *data, size_t len, size_t k,
     struct out *o)
{
	struct pd_imap_parser p;
	size_t off = 0;
	unsigned nres = 0;
	bool first = true, fatal = false;

	o->n = o->nfull = 0;
	o->s[0] = o->full[0] = '\0';
	o->error = false;
	o->first_used = 0;
	pd_imap_parser_init(&p, c->line_max != 0 ? c->line_max : 8192);
	if (c->raw_mask & RAW_FIRST)
		pd_imap_parser_expect_line(&p);
	while (off < len && !fatal && !o->error) {
		size_t end = len - off > k ? off + k : len;

		while (off < end && !fatal && !o->error) {
			struct pd_imap_cmd cmd;
			size_t used = SIZE_MAX;
			enum pd_imap_result r;

			r = pd_imap_parse(&p, data + off, end - off, &used, &cmd);
			if (used > end - off || (used == 0 && r == PD_IMAP_NEED_MORE)) {
				out_error(o, "no progress or used past len");
				break;
			}
			if (first) {
				o->first_used = used;
				first = false;
			}
			off += used;
			if (r == PD_IMAP_NEED_MORE)
				continue;
			out_result(o, nres++, r, &cmd);
			if (r == PD_IMAP_FATAL)
				fatal = true;
			if (nres < 32 && (c->raw_mask & RAW_AFTER(nres)))
				pd_imap_parser_expect_line(&p);
		}
	}
	pd_imap_parser_deinit(&p);
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

static void
test_tag_is_valid(void **state)
{
	static const struct {
		const char *s;
		size_t len;
		bool want;
	} rows[] = {
		{ IN("a"), true },
		{ IN("A.z_0-9"), true },
		{ IN(""), false },
		{ IN("tttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttt"),
		  true },
		{ IN("ttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttt"),
		  false },
		{ IN("a+b"), false },
		{ IN("a*"), false },
		{ IN("a b"), false },
		{ IN("a\0"), false },
		{ IN("\xe9"), false },
		{ IN("{1}"), false },
	};
	size_t i;

	(void)state;
	for (i = 0; i < PD_N_ELEMENTS(rows); i++) {
		struct pd_str s = { (const unsigned char *)rows[i].s,
				    rows[i].len };

		if (pd_imap_tag_is_valid(s) != rows[i].want)
			fail_msg("row %zu: pd_imap_tag_is_valid != %d", i,
				 rows[i].want);
	}
}

/* The parser wipes what it held: a password must not outlive its command. */
static void
test_secret_buffers(void **state)
{
	struct pd_imap_parser p;

	(void)state;
	pd_imap_parser_init(&p, 8192);
	assert_true(p.lines.line.secret);
	assert_true(p.vals.secret);
	pd_imap_parser_deinit(&p);
}

int
main(void)
{
	static struct CMUnitTest tests[PD_N_ELEMENTS(cases) + 2];
	size_t i, n = 0;

	for (i = 0; i < PD_N_ELEMENTS(cases); i++) {
		tests[n].name = cases[i].name;
		tests[n].test_func = test_case;
		tests[n].initial_state = (void *)&cases[i];
		n++;
	}
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_tag_is_valid);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_secret_buffers);
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return _cmocka_run_group_tests("imap_parse", tests, n, NULL, NULL);
}
