/* SPDX-License-Identifier: MIT */
/*
 * render.h - shared by the parser unit tests: renders parse results as
 * text twice, shortened for the table row and byte-exact for comparing
 * whole and chunked feeds.  Test support only; included by one .c each.
 */
#ifndef PD_TEST_RENDER_H
#define PD_TEST_RENDER_H

#include "pd-core/buf.h"

#include <stdarg.h>
#include <stdio.h>

#define OUT_MAX (256 * 1024)

struct out {
	char s[OUT_MAX];	/* for the row: long values shortened */
	char full[OUT_MAX];	/* for comparing feeds: every byte */
	size_t n, nfull;
	size_t first_used;	/* bytes used by the first call */
	bool error;		/* a broken contract; s says which */
};

static inline void
str_add(char *s, size_t *n, const char *fmt, ...) PD_PRINTF(3, 4);

static inline void
str_add(char *s, size_t *n, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (*n >= OUT_MAX - 1)
		return;
	va_start(ap, fmt);
	r = vsnprintf(s + *n, OUT_MAX - *n, fmt, ap);
	va_end(ap);
	if (r > 0)
		*n += (size_t)r < OUT_MAX - *n ? (size_t)r : OUT_MAX - *n - 1;
}

/* Text both renderings share. */
static inline void
out_text(struct out *o, const char *text)
{
	str_add(o->s, &o->n, "%s", text);
	str_add(o->full, &o->nfull, "%s", text);
}

static inline void
esc_bytes(char *s, size_t *n, const unsigned char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (p[i] > 0x20 && p[i] < 0x7f && p[i] != '\\')
			str_add(s, n, "%c", p[i]);
		else
			str_add(s, n, "\\x%02x", p[i]);
	}
}

static inline void
out_value(struct out *o, struct pd_str v)
{
	esc_bytes(o->full, &o->nfull, v.p, v.len);
	if (v.len > 32) {
		esc_bytes(o->s, &o->n, v.p, 8);
		str_add(o->s, &o->n, "...(%zu)", v.len);
	} else {
		esc_bytes(o->s, &o->n, v.p, v.len);
	}
}

static inline void
out_error(struct out *o, const char *what)
{
	o->error = true;
	out_text(o, "\nERROR: ");
	out_text(o, what);
}

#endif
