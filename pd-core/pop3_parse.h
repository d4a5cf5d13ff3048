/* SPDX-License-Identifier: MIT */
/*
 * pop3_parse.h - the pure POP3 pre-login command parser (RFC 1939 §3,
 * RFC 2449, RFC 5034): one keyword and its arguments per bounded line.
 * No I/O.  A line longer than pop3_line_max is refused and skipped.
 */
#ifndef PD_POP3_PARSE_H
#define PD_POP3_PARSE_H

#include "pd-core/line.h"

#define PD_POP3_ARGS_MAX 2

enum pd_pop3_result {
	PD_POP3_NEED_MORE,
	PD_POP3_COMMAND,	/* *cmd_r holds a command */
	PD_POP3_LINE,		/* raw line (SASL response mode): cmd_r->rest */
	PD_POP3_BAD,		/* answer "-ERR <msg>" */
};

struct pd_pop3_cmd {
	struct pd_str name;			/* keyword, as sent */
	struct pd_str args[PD_POP3_ARGS_MAX];	/* space-separated arguments */
	size_t nargs;
	bool too_many;				/* more than PD_POP3_ARGS_MAX */
	struct pd_str rest;			/* everything after "NAME " */
	const char *msg;			/* PD_POP3_BAD: reason */
};

struct pd_pop3_parser {
	struct pd_line_reader lines;
	bool raw_line;
};

void pd_pop3_parser_init(struct pd_pop3_parser *p, size_t line_max);
void pd_pop3_parser_deinit(struct pd_pop3_parser *p);
void pd_pop3_parser_expect_line(struct pd_pop3_parser *p);
/* Forget any partial line (after STLS, nothing carries over). */
void pd_pop3_parser_reset(struct pd_pop3_parser *p);
/* As pd_imap_parse: consume from data, views valid until the next call. */
enum pd_pop3_result pd_pop3_parse(struct pd_pop3_parser *p,
				  const unsigned char *data, size_t len,
				  size_t *used_r, struct pd_pop3_cmd *cmd_r);

#endif
