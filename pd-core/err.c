/* SPDX-License-Identifier: MIT */
/*
 * err.c - fills struct pd_err.  Never allocates; truncates long messages.
 */
#include "pd-core/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void
err_vset(struct pd_err *err, enum pd_err_kind kind, int e, const char *fmt,
	 va_list ap)
{
	err->kind = kind;
	err->sys_errno = e;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
}

int
pd_err_set(struct pd_err *err, enum pd_err_kind kind, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	err_vset(err, kind, 0, fmt, ap);
	va_end(ap);
	return -1;
}

int
pd_err_sys(struct pd_err *err, const char *fmt, ...)
{
	int e = errno;
	size_t n;
	va_list ap;

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	err_vset(err, PD_ERR_SYS, e, fmt, ap);
	va_end(ap);
	n = strlen(err->msg);
	snprintf(err->msg + n, sizeof(err->msg) - n, ": %s", strerror(e));
	errno = e;
	return -1;
}

void
pd_err_clear(struct pd_err *err)
{
	err->kind = PD_ERR_NONE;
	err->sys_errno = 0;
	err->msg[0] = '\0';
}
