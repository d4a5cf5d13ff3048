/* SPDX-License-Identifier: MIT */
/*
 * mem.h - allocation that never returns NULL (pd aborts on out of memory, as
 * Postfix's mymalloc does) and wiping of secrets.
 */
#ifndef PD_MEM_H
#define PD_MEM_H

#include "pd-core/pd.h"

void *pd_xmalloc(size_t n);
void *pd_xcalloc(size_t nmemb, size_t size);
void *pd_xreallocarray(void *p, size_t nmemb, size_t size);
char *pd_xstrdup(const char *s);
char *pd_xstrndup(const char *s, size_t n);
/* Overwrite n bytes at p in a way the compiler cannot drop. */
void pd_wipe(void *p, size_t n);

#endif
