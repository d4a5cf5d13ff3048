/* SPDX-License-Identifier: MIT */
/*
 * buf.c - struct pd_buf.  Growth doubles up to max; secret buffers grow by
 * allocate-copy-wipe-free so no stale copy of a password stays in the heap.
 */
#include "pd-core/buf.h"
#include "pd-core/mem.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void
pd_buf_init(struct pd_buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void
pd_buf_init_secret(struct pd_buf *b, size_t max)
{
	pd_buf_init(b, max);
	b->secret = true;
}

void
pd_buf_deinit(struct pd_buf *b)
{
	if (b->data != NULL && b->secret)
		pd_wipe(b->data, b->cap + 1);
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void
pd_buf_reset(struct pd_buf *b)
{
	if (b->data == NULL)
		return;
	if (b->secret)
		pd_wipe(b->data, b->len);
	b->len = 0;
	b->data[0] = '\0';
}

size_t
pd_buf_room(const struct pd_buf *b)
{
	return b->max - b->len;
}

static int
buf_grow(struct pd_buf *b, size_t need)
{
	size_t cap;
	unsigned char *p;

	if (need > b->max) {
		errno = ENOBUFS;
		return -1;
	}
	if (b->data != NULL && need <= b->cap)
		return 0;
	cap = b->cap < 64 ? 64 : b->cap;
	while (cap < need)
		cap = cap > b->max / 2 ? b->max : cap * 2;
	/* UNSAFE: cap <= max, and max is a configured bound far below SIZE_MAX */
	p = pd_xmalloc(cap + 1);
	if (b->data != NULL) {
		memcpy(p, b->data, b->len + 1);
		if (b->secret)
			pd_wipe(b->data, b->cap + 1);
		free(b->data);
	} else {
		p[0] = '\0';
	}
	b->data = p;
	b->cap = cap;
	return 0;
}

unsigned char *
pd_buf_reserve(struct pd_buf *b, size_t n)
{
	if (n > b->max - b->len) {
		errno = ENOBUFS;
		return NULL;
	}
	if (buf_grow(b, b->len + n) < 0)
		return NULL;
	return b->data + b->len;
}

void
pd_buf_commit(struct pd_buf *b, size_t n)
{
	b->len += n;
	b->data[b->len] = '\0';
}

int
pd_buf_append(struct pd_buf *b, const void *p, size_t n)
{
	unsigned char *dst = pd_buf_reserve(b, n);

	if (dst == NULL)
		return -1;
	if (n > 0)
		memcpy(dst, p, n);
	pd_buf_commit(b, n);
	return 0;
}

int
pd_buf_append_str(struct pd_buf *b, const char *s)
{
	return pd_buf_append(b, s, strlen(s));
}

int
pd_buf_printf(struct pd_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;
	unsigned char *dst;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if ((dst = pd_buf_reserve(b, (size_t)n)) == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf((char *)dst, (size_t)n + 1, fmt, ap);
	va_end(ap);
	pd_buf_commit(b, (size_t)n);
	return 0;
}

void
pd_buf_consume(struct pd_buf *b, size_t n)
{
	if (n >= b->len) {
		pd_buf_reset(b);
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	if (b->secret)
		pd_wipe(b->data + b->len - n, n);
	b->len -= n;
	b->data[b->len] = '\0';
}

const char *
pd_buf_cstr(const struct pd_buf *b)
{
	return b->data == NULL ? "" : (const char *)b->data;
}

bool
pd_str_eq_nocase(struct pd_str s, const char *lit)
{
	size_t n = strlen(lit);

	return s.len == n && strncasecmp((const char *)s.p, lit, n) == 0;
}
