/* SPDX-License-Identifier: MIT */
/*
 * line.c - bounded line extraction.  Accepts CRLF and bare LF (as Dovecot
 * and nginx do); a lone CR inside a line stays part of it.
 */
#include "pd-core/line.h"

#include <string.h>

void
pd_line_init(struct pd_line_reader *r, size_t max, bool secret)
{
	memset(r, 0, sizeof(*r));
	r->max = max;
	/* One more byte for the CR of CR LF, which does not count. */
	if (secret)
		pd_buf_init_secret(&r->line, max + 1);
	else
		pd_buf_init(&r->line, max + 1);
}

void
pd_line_deinit(struct pd_line_reader *r)
{
	pd_buf_deinit(&r->line);
}

enum pd_line_result
pd_line_next(struct pd_line_reader *r, const unsigned char *data, size_t len,
	     size_t *used_r, struct pd_str *line_r)
{
	const unsigned char *lf = memchr(data, '\n', len);
	size_t n = lf != NULL ? (size_t)(lf - data) : len;

	if (r->have_line) {
		pd_buf_reset(&r->line);
		r->have_line = false;
	}
	if (r->skipping) {
		*used_r = lf != NULL ? n + 1 : len;
		if (lf != NULL)
			r->skipping = false;
		return PD_LINE_NEED_MORE;
	}
	if (pd_buf_append(&r->line, data, n) < 0) {
		pd_buf_reset(&r->line);
		*used_r = lf != NULL ? n + 1 : len;
		r->skipping = lf == NULL;
		return PD_LINE_TOOLONG;
	}
	*used_r = lf != NULL ? n + 1 : len;
	if (lf == NULL)
		return PD_LINE_NEED_MORE;
	line_r->p = r->line.data;
	line_r->len = r->line.len;
	if (line_r->len > 0 && line_r->p[line_r->len - 1] == '\r')
		line_r->len--;
	r->have_line = true;
	if (line_r->len > r->max)
		return PD_LINE_TOOLONG;	/* max + 1 bytes and a bare LF */
	return PD_LINE_OK;
}
