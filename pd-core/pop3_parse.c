/* SPDX-License-Identifier: MIT */
/*
 * pop3_parse.c - POP3 line splitting.  Keywords are 3-4 printable ASCII
 * characters (RFC 1939 §3; RFC 2449 allows up to 40 for extensions, which we
 * accept); NUL anywhere is refused.
 */
#include "pd-core/pop3_parse.h"

#include <string.h>

#define POP3_KEYWORD_MAX 40

void
pd_pop3_parser_init(struct pd_pop3_parser *p, size_t line_max)
{
	memset(p, 0, sizeof(*p));
	pd_line_init(&p->lines, line_max, true);
}

void
pd_pop3_parser_deinit(struct pd_pop3_parser *p)
{
	pd_line_deinit(&p->lines);
}

void
pd_pop3_parser_reset(struct pd_pop3_parser *p)
{
	size_t max = p->lines.max;

	pd_pop3_parser_deinit(p);
	pd_pop3_parser_init(p, max);
}

void
pd_pop3_parser_expect_line(struct pd_pop3_parser *p)
{
	p->raw_line = true;
}

enum pd_pop3_result
pd_pop3_parse(struct pd_pop3_parser *p, const unsigned char *data, size_t len,
	      size_t *used_r, struct pd_pop3_cmd *cmd)
{
	struct pd_str line;
	size_t i, start;

	memset(cmd, 0, sizeof(*cmd));
	switch (pd_line_next(&p->lines, data, len, used_r, &line)) {
	case PD_LINE_NEED_MORE:
		return PD_POP3_NEED_MORE;
	case PD_LINE_TOOLONG:
		p->raw_line = false;
		cmd->msg = "Line too long";
		return PD_POP3_BAD;
	case PD_LINE_OK:
		break;
	}
	if (line.len > 0 && memchr(line.p, '\0', line.len) != NULL) {
		p->raw_line = false;
		cmd->msg = "NUL byte in command";
		return PD_POP3_BAD;
	}
	if (p->raw_line) {
		p->raw_line = false;
		cmd->rest = line;
		return PD_POP3_LINE;
	}
	for (i = 0; i < line.len && line.p[i] != ' '; i++) {
		if (line.p[i] <= 0x20 || line.p[i] >= 0x7f) {
			cmd->msg = "Invalid command";
			return PD_POP3_BAD;
		}
	}
	if (i == 0 || i > POP3_KEYWORD_MAX) {
		cmd->msg = i == 0 ? "Empty command" : "Invalid command";
		return PD_POP3_BAD;
	}
	cmd->name.p = line.p;
	cmd->name.len = i;
	if (i < line.len) {
		cmd->rest.p = line.p + i + 1;
		cmd->rest.len = line.len - i - 1;
	}
	/* Split the arguments on single spaces (RFC 1939 §3). */
	start = i + 1;
	while (start <= line.len && i < line.len) {
		size_t e = start;

		while (e < line.len && line.p[e] != ' ')
			e++;
		if (cmd->nargs == PD_POP3_ARGS_MAX) {
			cmd->too_many = true;
			break;
		}
		cmd->args[cmd->nargs].p = line.p + start;
		cmd->args[cmd->nargs].len = e - start;
		cmd->nargs++;
		if (e >= line.len)
			break;
		start = e + 1;
	}
	return PD_POP3_COMMAND;
}
