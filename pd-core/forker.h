/* SPDX-License-Identifier: MIT */
/*
 * forker.h - what the one-session forkers (stdio, inet) share: argv, config,
 * logging, client addresses, the auth client and the exec launcher.  Each
 * forker's main.c only says how its connection arrives.
 */
#ifndef PD_FORKER_H
#define PD_FORKER_H

#include "pd-core/authc.h"
#include "pd-core/conf.h"
#include "pd-core/err.h"

enum pd_forker_kind {
	PD_FORKER_STDIO,	/* client on stdin/stdout (pipes or a tty) */
	PD_FORKER_INET,		/* client socket on fd 0 (and 1, 2) */
};

struct pd_forker {
	const char *name;
	enum pd_forker_kind kind;
	/* Open the auth client for conf (pd-auth supplies it). */
	int (*auth_open)(const struct pd_conf *conf, struct pd_auth_client *client_r,
			 void (**close_r)(struct pd_auth_client *),
			 struct pd_err *err);
};

/* Run one session as the forker says; returns the process exit code. */
int pd_forker_main(const struct pd_forker *f, int argc, char **argv);

#endif
