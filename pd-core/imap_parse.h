/* SPDX-License-Identifier: MIT */
/*
 * imap_parse.h - the pure, resumable IMAP pre-login command parser (RFC 9051
 * §4/§9 subset: atoms, quoted strings with escapes, synchronising {n} and
 * non-synchronising {n+} literals, parenthesised lists for ID).  No I/O: it
 * is fed bytes and says what they were.  A whole command, literals included,
 * is bounded by line_max; a literal that does not fit is refused before the
 * client is told to send it.
 */
#ifndef PD_IMAP_PARSE_H
#define PD_IMAP_PARSE_H

#include "pd-core/buf.h"
#include "pd-core/line.h"

#define PD_IMAP_TOKENS_MAX 64	/* ID: 30 pairs + parens, with room */

enum pd_imap_result {
	PD_IMAP_NEED_MORE,	/* feed more bytes */
	PD_IMAP_COMMAND,	/* *cmd_r holds a command */
	PD_IMAP_CONTINUE,	/* sync literal accepted: send "+ " and feed more */
	PD_IMAP_LINE,		/* raw line (SASL response mode): cmd_r->line */
	PD_IMAP_BAD,		/* answer "<tag> BAD <msg>" (tag may be empty: "*") */
	PD_IMAP_FATAL,		/* answer "* BYE <msg>" and close */
};

enum pd_imap_token_kind { PD_IMAP_ATOM, PD_IMAP_STRING, PD_IMAP_LPAREN,
			  PD_IMAP_RPAREN };

struct pd_imap_token {
	enum pd_imap_token_kind kind;
	struct pd_str s;	/* value (quoted strings unescaped) */
	bool literal;		/* came as a literal */
};

struct pd_imap_cmd {
	struct pd_str tag;	/* empty when unknown */
	struct pd_str name;	/* command name, as sent */
	struct pd_imap_token args[PD_IMAP_TOKENS_MAX];
	size_t nargs;		/* tokens after the name */
	struct pd_str line;	/* PD_IMAP_LINE: the raw line */
	const char *msg;	/* PD_IMAP_BAD / PD_IMAP_FATAL: reason */
};

struct imap_tok { enum pd_imap_token_kind kind; size_t off, len; bool literal; };

struct pd_imap_parser {
	size_t line_max;
	struct pd_line_reader lines;	/* current line segment */
	struct pd_buf vals;		/* token values of the command */
	struct imap_tok toks[PD_IMAP_TOKENS_MAX + 2];	/* + tag and name */
	size_t ntoks;
	size_t lit_left;		/* bytes of literal still to come */
	bool in_literal;
	bool raw_line;			/* next line is a SASL response */
	bool done;			/* last result ended a command */
	bool lit_nul;			/* a literal held a NUL byte */
	char tag[PD_TAG_MAX + 1];	/* tag of the command being parsed */
};

/* line_max bounds one command including its literals (imap_line_max). */
void pd_imap_parser_init(struct pd_imap_parser *p, size_t line_max);
void pd_imap_parser_deinit(struct pd_imap_parser *p);
/* Forget any partial command (after STARTTLS, nothing carries over). */
void pd_imap_parser_reset(struct pd_imap_parser *p);
/* The next line is returned raw as PD_IMAP_LINE (AUTHENTICATE responses). */
void pd_imap_parser_expect_line(struct pd_imap_parser *p);
/*
 * Consume from data[0..len), setting *used_r.  Views in *cmd_r stay valid
 * until the next call.  Call again with the rest while *used_r < len.
 */
enum pd_imap_result pd_imap_parse(struct pd_imap_parser *p,
				  const unsigned char *data, size_t len,
				  size_t *used_r, struct pd_imap_cmd *cmd_r);
/* Whether s is a valid tag (1..64 of [A-Za-z0-9._-]). */
bool pd_imap_tag_is_valid(struct pd_str s);

#endif
