/* SPDX-License-Identifier: MIT */
/*
 * err.h - the one error type of pd: a kind, an errno and a message, no malloc,
 * so it is safe to fill when memory is short.  Setters return -1 so an error
 * path is a single "return pd_err_set(...)".
 */
#ifndef PD_ERR_H
#define PD_ERR_H

#include "pd-core/pd.h"

enum pd_err_kind {
	PD_ERR_NONE,
	PD_ERR_CONFIG,	/* bad configuration: a startup error */
	PD_ERR_SYS,	/* a system call failed */
	PD_ERR_TEMP,	/* temporary failure (database down, ...) */
	PD_ERR_AUTH,	/* authentication refused */
	PD_ERR_PROTO,	/* peer or client broke the protocol */
};

struct pd_err {
	enum pd_err_kind kind;
	int sys_errno;
	char msg[256];
};

/* Fill err (may be NULL) with kind and a formatted message; return -1. */
int pd_err_set(struct pd_err *err, enum pd_err_kind kind, const char *fmt, ...)
	PD_PRINTF(3, 4);
/* As pd_err_set with PD_ERR_SYS, appending ": strerror(errno)"; return -1. */
int pd_err_sys(struct pd_err *err, const char *fmt, ...) PD_PRINTF(2, 3);
/* Reset err to PD_ERR_NONE. */
void pd_err_clear(struct pd_err *err);

#endif
