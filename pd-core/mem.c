/* SPDX-License-Identifier: MIT */
/*
 * mem.c - checked allocation; an allocation failure is a pd_panic (abort),
 * never a NULL the caller might forget to test.
 */
#include "pd-core/mem.h"
#include "pd-core/log.h"

#include <openssl/crypto.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void *
pd_xmalloc(size_t n)
{
	void *p = malloc(n == 0 ? 1 : n);

	if (p == NULL)
		pd_panic("out of memory (%zu bytes)", n);
	return p;
}

void *
pd_xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb == 0 ? 1 : nmemb, size == 0 ? 1 : size);

	if (p == NULL)
		pd_panic("out of memory (%zu x %zu bytes)", nmemb, size);
	return p;
}

void *
pd_xreallocarray(void *p, size_t nmemb, size_t size)
{
	void *q;

	if (size != 0 && nmemb > SIZE_MAX / size)
		pd_panic("allocation overflow (%zu x %zu)", nmemb, size);
	q = realloc(p, nmemb * size == 0 ? 1 : nmemb * size);
	if (q == NULL)
		pd_panic("out of memory (%zu x %zu bytes)", nmemb, size);
	return q;
}

char *
pd_xstrdup(const char *s)
{
	return pd_xstrndup(s, strlen(s));
}

char *
pd_xstrndup(const char *s, size_t n)
{
	char *p = pd_xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void
pd_wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		OPENSSL_cleanse(p, n);
}
