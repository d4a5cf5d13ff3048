/* SPDX-License-Identifier: MIT */
/*
 * line.h - CRLF (or bare LF) line extraction with a maximum length.  An
 * overlong line is reported once and then skipped up to its LF, so one bad
 * line costs one protocol error and never unbounded memory.  Pure: no I/O.
 */
#ifndef PD_LINE_H
#define PD_LINE_H

#include "pd-core/buf.h"

enum pd_line_result {
	PD_LINE_NEED_MORE,	/* no complete line yet: call again with the
				 * bytes after *used_r (all of them were used
				 * unless an overlong line ended inside) */
	PD_LINE_OK,		/* *line_r is a line (without CR LF) */
	PD_LINE_TOOLONG,	/* the line passed max; its rest will be skipped */
};

struct pd_line_reader {
	struct pd_buf line;	/* the line being collected */
	bool skipping;		/* discarding an overlong line up to LF */
	bool have_line;		/* line holds a returned line: clear first */
	size_t max;		/* without CR LF */
};

/* max bounds the line without its CR LF. */
void pd_line_init(struct pd_line_reader *r, size_t max, bool secret);
void pd_line_deinit(struct pd_line_reader *r);
/*
 * Consume bytes from data[0..len); *used_r tells how many.  On PD_LINE_OK the
 * line is valid until the next call.  A NUL inside a line is returned as is;
 * callers that make C strings must check.
 */
enum pd_line_result pd_line_next(struct pd_line_reader *r,
				 const unsigned char *data, size_t len,
				 size_t *used_r, struct pd_str *line_r);

#endif
