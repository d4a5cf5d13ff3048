/* SPDX-License-Identifier: MIT */
/*
 * dispatch.h - after login: choose the backend from the user record
 * (record.backend or default_backend) and have it make the exec plan.
 * Backends share struct pd_backend; the static table lives in module.c.
 * Remote mailhosts (the peer hand-off, foreign servers) come with
 * pd-backend-proxy; until then a user whose mailhost is another host is
 * refused with a clear log line.
 */
#ifndef PD_DISPATCH_H
#define PD_DISPATCH_H

#include "pd-core/conf.h"
#include "pd-core/err.h"
#include "pd-core/exec.h"
#include "pd-core/user.h"

#define PD_BACKEND_ABI 1

/* What the session knows at dispatch time. */
struct pd_login {
	const char *proto;		/* "imap" or "pop3" */
	const char *tag;		/* IMAP tag of the LOGIN/AUTHENTICATE */
	const unsigned char *pipelined;	/* client bytes after the login command */
	size_t npipelined;
	const char *client_ip, *client_port;
	const char *local_ip, *local_port;
	const char *session_id;
	bool tls;
};

struct pd_backend {
	unsigned int abi;
	const char *name;
	/* Fill plan for user; -1 with err on a record the server cannot use. */
	int (*plan)(const struct pd_conf *conf, const struct pd_login *login,
		    const struct pd_user *user, struct pd_exec_plan *plan,
		    struct pd_err *err);
	/* Optional startup check of the backend's pd.conf section. */
	int (*check)(const struct pd_conf *conf, struct pd_err *err);
};

/* The backend called name, or NULL. */
const struct pd_backend *pd_backend_find(const char *name);
/* Run every backend's startup check, and that default_backend exists. */
int pd_backend_check_all(const struct pd_conf *conf, struct pd_err *err);

/*
 * The backend for user, and whether the user is local.  Returns 0, or -1
 * with err naming the user and the backend or mailhost.
 */
int pd_dispatch_plan(const struct pd_conf *conf, const struct pd_login *login,
		     const struct pd_user *user, struct pd_exec_plan *plan,
		     const char **backend_r, struct pd_err *err);

/* This host's name: hostname from pd.conf, else gethostname(). */
const char *pd_dispatch_hostname(const struct pd_conf *conf);

#endif
