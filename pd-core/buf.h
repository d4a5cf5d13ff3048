/* SPDX-License-Identifier: MIT */
/*
 * buf.h - the one buffer type: growable up to a hard maximum set at init.
 * Going past the maximum is an error return (ENOBUFS), never a crash, so
 * hostile input can only earn a protocol error.  data[len] is always 0.
 * A secret buffer is wiped whenever its bytes are released or moved.
 */
#ifndef PD_BUF_H
#define PD_BUF_H

#include "pd-core/pd.h"

struct pd_buf {
	unsigned char *data;	/* NULL until the first append */
	size_t len;		/* bytes used */
	size_t cap;		/* allocated, terminator excluded */
	size_t max;		/* hard limit on len */
	bool secret;		/* wipe on reset, grow and deinit */
};

/* A view into bytes owned by someone else (usually a pd_buf). */
struct pd_str {
	const unsigned char *p;
	size_t len;
};

void pd_buf_init(struct pd_buf *b, size_t max);
/* As pd_buf_init, for passwords and other secrets. */
void pd_buf_init_secret(struct pd_buf *b, size_t max);
void pd_buf_deinit(struct pd_buf *b);
/* Drop the contents (wiping a secret buffer), keep the allocation. */
void pd_buf_reset(struct pd_buf *b);
/* Append n bytes; -1 with errno ENOBUFS if len would pass max. */
int pd_buf_append(struct pd_buf *b, const void *p, size_t n) PD_WARN_UNUSED;
int pd_buf_append_str(struct pd_buf *b, const char *s) PD_WARN_UNUSED;
int pd_buf_printf(struct pd_buf *b, const char *fmt, ...) PD_PRINTF(2, 3)
	PD_WARN_UNUSED;
/* Make room for n more bytes; returns a pointer to them, or NULL (ENOBUFS). */
unsigned char *pd_buf_reserve(struct pd_buf *b, size_t n);
/* After writing n bytes into pd_buf_reserve's space, count them. */
void pd_buf_commit(struct pd_buf *b, size_t n);
/* Drop n bytes from the front. */
void pd_buf_consume(struct pd_buf *b, size_t n);
/* Room left before max. */
size_t pd_buf_room(const struct pd_buf *b);
const char *pd_buf_cstr(const struct pd_buf *b);

bool pd_str_eq_nocase(struct pd_str s, const char *lit);

#endif
