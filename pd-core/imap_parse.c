/* SPDX-License-Identifier: MIT */
/*
 * imap_parse.c - IMAP pre-login parsing.  Each complete line segment is
 * tokenized into p->vals; a segment ending in {n} or {n+} switches to
 * literal mode for n raw bytes, after which the command's line continues.
 * Untrusted input: every count is checked before use, every copy is bounded
 * by the pd_buf maximum, and a refused non-synchronising literal ends the
 * session because its bytes are already on the way (as Dovecot does).
 */
#include "pd-core/imap_parse.h"

#include "pd-core/mem.h"

#include <stdint.h>
#include <string.h>

void
pd_imap_parser_init(struct pd_imap_parser *p, size_t line_max)
{
	memset(p, 0, sizeof(*p));
	p->line_max = line_max;
	/* Lines and values may hold a password: wipe them. */
	pd_line_init(&p->lines, line_max, true);
	pd_buf_init_secret(&p->vals, line_max);
}

void
pd_imap_parser_deinit(struct pd_imap_parser *p)
{
	pd_line_deinit(&p->lines);
	pd_buf_deinit(&p->vals);
}

void
pd_imap_parser_reset(struct pd_imap_parser *p)
{
	size_t max = p->line_max;

	pd_imap_parser_deinit(p);
	pd_imap_parser_init(p, max);
}

void
pd_imap_parser_expect_line(struct pd_imap_parser *p)
{
	p->raw_line = true;
}

bool
pd_imap_tag_is_valid(struct pd_str s)
{
	size_t i;

	if (s.len == 0 || s.len > PD_TAG_MAX)
		return false;
	for (i = 0; i < s.len; i++) {
		unsigned char c = s.p[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

static void
imap_reset(struct pd_imap_parser *p)
{
	pd_buf_reset(&p->vals);
	p->ntoks = 0;
	p->in_literal = false;
	p->lit_left = 0;
	p->tag[0] = '\0';
	p->done = false;
	p->lit_nul = false;
}

/* ATOM-CHAR minus the ones pre-login never needs; 8-bit is refused. */
static bool
imap_is_atom_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != '(' && c != ')' && c != '{' &&
	       c != '"' && c != '\\';
}

static int
imap_add_tok(struct pd_imap_parser *p, enum pd_imap_token_kind kind,
	     const unsigned char *v, size_t n, bool literal)
{
	struct imap_tok *t;

	if (p->ntoks == PD_N_ELEMENTS(p->toks))
		return -1;
	t = &p->toks[p->ntoks];
	t->kind = kind;
	t->off = p->vals.len;
	t->len = n;
	t->literal = literal;
	if (pd_buf_append(&p->vals, v, n) < 0)
		return -1;
	p->ntoks++;
	return 0;
}

/* Record the tag once the first token is known, for tagged BAD replies. */
static void
imap_note_tag(struct pd_imap_parser *p)
{
	struct pd_str s;

	if (p->ntoks == 0 || p->tag[0] != '\0' || p->toks[0].kind != PD_IMAP_ATOM)
		return;
	s.p = p->vals.data + p->toks[0].off;
	s.len = p->toks[0].len;
	if (pd_imap_tag_is_valid(s)) {
		memcpy(p->tag, s.p, s.len);
		p->tag[s.len] = '\0';
	}
}

/*
 * Parse a trailing "{digits}" or "{digits+}" in seg[start..len).  Returns 1
 * and the count, 0 if there is none.  Overflow is checked before each x10.
 */
static int
imap_literal_marker(const unsigned char *s, size_t len, size_t *n_r,
		    bool *nonsync_r, bool *overflow_r)
{
	size_t i = 1, v = 0;

	*overflow_r = false;
	if (len < 3 || s[0] != '{' || s[len - 1] != '}')
		return 0;
	*nonsync_r = s[len - 2] == '+';
	if (len - 1 - (*nonsync_r ? 1 : 0) <= 1)
		return 0;
	for (; i < len - 1 - (*nonsync_r ? 1 : 0); i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		if (v > (SIZE_MAX - 9) / 10)
			*overflow_r = true;
		else
			v = v * 10 + (size_t)(s[i] - '0');
	}
	*n_r = v;
	return 1;
}

enum seg_result { SEG_END, SEG_LITERAL, SEG_BAD, SEG_FATAL };

/*
 * Tokenize one line segment.  On SEG_LITERAL *lit_r is the count and
 * *nonsync_r tells the kind; the count is already checked against the room
 * left.  *msg_r explains SEG_BAD/SEG_FATAL.
 */
static enum seg_result
imap_tokenize(struct pd_imap_parser *p, struct pd_str seg, size_t *lit_r,
	      bool *nonsync_r, const char **msg_r)
{
	const unsigned char *s = seg.p;
	size_t i = 0, n = seg.len;
	unsigned char qbuf[1024];
	const unsigned char *nul = n > 0 ? memchr(s, '\0', n) : NULL;

	/* The tag comes first, with nothing before it (RFC 9051 §2.2.1). */
	if (p->ntoks == 0 && n > 0 && s[0] == ' ') {
		*msg_r = "invalid tag";
		return SEG_BAD;
	}
	if (nul != NULL) {
		/* Answer with the tag when it precedes the NUL (§7.1.3). */
		if (p->ntoks == 0) {
			struct pd_str t = { s, 0 };

			while (t.p + t.len < nul && t.p[t.len] != ' ')
				t.len++;
			if (pd_imap_tag_is_valid(t)) {
				memcpy(p->tag, t.p, t.len);
				p->tag[t.len] = '\0';
			}
		}
		*msg_r = "NUL byte in command";
		return SEG_BAD;
	}
	while (i < n) {
		if (s[i] == ' ') {
			i++;
			continue;
		}
		if (s[i] == '(' || s[i] == ')') {
			if (imap_add_tok(p, s[i] == '(' ? PD_IMAP_LPAREN : PD_IMAP_RPAREN,
					 s + i, 1, false) < 0)
				goto toomany;
			i++;
			continue;
		}
		if (s[i] == '"') {
			size_t q = 0;

			i++;
			/* Unescape into the value buffer in bounded chunks. */
			if (p->ntoks == PD_N_ELEMENTS(p->toks))
				goto toomany;
			p->toks[p->ntoks].kind = PD_IMAP_STRING;
			p->toks[p->ntoks].off = p->vals.len;
			p->toks[p->ntoks].literal = false;
			for (;;) {
				unsigned char c;

				if (i >= n) {
					*msg_r = "unterminated quoted string";
					return SEG_BAD;
				}
				c = s[i++];
				if (c == '"')
					break;
				if (c == '\\') {
					if (i >= n || (s[i] != '"' && s[i] != '\\')) {
						*msg_r = "bad escape in quoted string";
						return SEG_BAD;
					}
					c = s[i++];
				} else if (c == '\r' || c == '\n') {
					*msg_r = "CR or LF in quoted string";
					return SEG_BAD;
				}
				qbuf[q++] = c;
				if (q == sizeof(qbuf)) {
					if (pd_buf_append(&p->vals, qbuf, q) < 0)
						goto toolong;
					q = 0;
				}
			}
			if (pd_buf_append(&p->vals, qbuf, q) < 0)
				goto toolong;
			p->toks[p->ntoks].len = p->vals.len - p->toks[p->ntoks].off;
			p->ntoks++;
			pd_wipe(qbuf, sizeof(qbuf));
			if (i < n && s[i] != ' ' && s[i] != ')') {
				*msg_r = "missing space after quoted string";
				return SEG_BAD;
			}
			continue;
		}
		if (s[i] == '{') {
			bool overflow;

			if (!imap_literal_marker(s + i, n - i, lit_r, nonsync_r,
						 &overflow)) {
				*msg_r = "bad literal";
				return SEG_BAD;
			}
			imap_note_tag(p);
			if (overflow || *lit_r > pd_buf_room(&p->vals)) {
				*msg_r = "literal too large";
				return *nonsync_r ? SEG_FATAL : SEG_BAD;
			}
			return SEG_LITERAL;
		}
		{
			size_t start = i;

			while (i < n && s[i] != ' ' && s[i] != ')' && s[i] != '(') {
				if (!imap_is_atom_char(s[i])) {
					imap_note_tag(p);
					*msg_r = "invalid character in command";
					return SEG_BAD;
				}
				i++;
			}
			if (imap_add_tok(p, PD_IMAP_ATOM, s + start, i - start,
					 false) < 0)
				goto toomany;
			imap_note_tag(p);
		}
	}
	return SEG_END;
toomany:
	pd_wipe(qbuf, sizeof(qbuf));
	*msg_r = p->vals.len >= p->line_max ? "command too long"
					    : "too many arguments";
	return SEG_BAD;
toolong:
	pd_wipe(qbuf, sizeof(qbuf));
	*msg_r = "command too long";
	return SEG_BAD;
}

static void
imap_view(struct pd_imap_parser *p, size_t i, struct pd_str *s)
{
	s->p = p->vals.data + p->toks[i].off;
	s->len = p->toks[i].len;
}

static enum pd_imap_result
imap_finish(struct pd_imap_parser *p, struct pd_imap_cmd *cmd)
{
	size_t i;

	p->done = true;
	if (p->ntoks == 0) {
		cmd->msg = "empty command";
		return PD_IMAP_BAD;
	}
	if (p->tag[0] == '\0') {
		cmd->msg = "invalid tag";
		return PD_IMAP_BAD;
	}
	cmd->tag.p = (const unsigned char *)p->tag;
	cmd->tag.len = strlen(p->tag);
	if (p->lit_nul) {
		cmd->msg = "NUL byte in literal";
		return PD_IMAP_BAD;
	}
	if (p->ntoks < 2 || p->toks[1].kind != PD_IMAP_ATOM) {
		cmd->msg = "missing command";
		return PD_IMAP_BAD;
	}
	imap_view(p, 1, &cmd->name);
	for (i = 2; i < p->ntoks; i++) {
		cmd->args[i - 2].kind = p->toks[i].kind;
		cmd->args[i - 2].literal = p->toks[i].literal;
		imap_view(p, i, &cmd->args[i - 2].s);
	}
	cmd->nargs = p->ntoks - 2;
	return PD_IMAP_COMMAND;
}

static enum pd_imap_result
imap_bad(struct pd_imap_parser *p, struct pd_imap_cmd *cmd, const char *msg)
{
	p->done = true;
	cmd->msg = msg;
	if (p->tag[0] != '\0') {
		cmd->tag.p = (const unsigned char *)p->tag;
		cmd->tag.len = strlen(p->tag);
	}
	return PD_IMAP_BAD;
}

enum pd_imap_result
pd_imap_parse(struct pd_imap_parser *p, const unsigned char *data, size_t len,
	      size_t *used_r, struct pd_imap_cmd *cmd)
{
	struct pd_str seg;
	size_t used, lit = 0;
	bool nonsync = false;
	const char *msg = NULL;

	memset(cmd, 0, sizeof(*cmd));
	*used_r = 0;
	if (p->done)
		imap_reset(p);
	if (p->in_literal) {
		size_t n = len < p->lit_left ? len : p->lit_left;

		/* Room was checked when the literal was announced. */
		if (pd_buf_append(&p->vals, data, n) < 0)
			return imap_bad(p, cmd, "command too long");
		/* RFC 9051 §4.3: a literal holds no NUL; refused at the end. */
		if (n > 0 && memchr(data, '\0', n) != NULL)
			p->lit_nul = true;
		p->toks[p->ntoks - 1].len += n;
		p->lit_left -= n;
		*used_r = n;
		if (p->lit_left == 0)
			p->in_literal = false;
		return PD_IMAP_NEED_MORE;
	}
	switch (pd_line_next(&p->lines, data, len, &used, &seg)) {
	case PD_LINE_NEED_MORE:
		*used_r = used;
		return PD_IMAP_NEED_MORE;
	case PD_LINE_TOOLONG:
		*used_r = used;
		p->raw_line = false;
		return imap_bad(p, cmd, "line too long");
	case PD_LINE_OK:
		break;
	}
	*used_r = used;
	if (p->raw_line) {
		p->raw_line = false;
		p->done = true;
		cmd->line = seg;
		return PD_IMAP_LINE;
	}
	switch (imap_tokenize(p, seg, &lit, &nonsync, &msg)) {
	case SEG_END:
		return imap_finish(p, cmd);
	case SEG_BAD:
		return imap_bad(p, cmd, msg);
	case SEG_FATAL:
		p->done = true;
		cmd->msg = msg;
		return PD_IMAP_FATAL;
	case SEG_LITERAL:
		break;
	}
	if (p->ntoks == PD_N_ELEMENTS(p->toks) || p->ntoks < 2)
		return nonsync ? (p->done = true, cmd->msg = "bad literal",
				  PD_IMAP_FATAL)
			       : imap_bad(p, cmd, p->ntoks < 2 ? "missing command"
							       : "too many arguments");
	p->toks[p->ntoks].kind = PD_IMAP_STRING;
	p->toks[p->ntoks].off = p->vals.len;
	p->toks[p->ntoks].len = 0;
	p->toks[p->ntoks].literal = true;
	p->ntoks++;
	p->lit_left = lit;
	p->in_literal = lit > 0;
	return nonsync ? PD_IMAP_NEED_MORE : PD_IMAP_CONTINUE;
}
