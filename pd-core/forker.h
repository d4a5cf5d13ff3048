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
#include "pd-core/tls.h"

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

/* Parse argv (-c -p --tls -d -n, --client-ip for stdio) and run one
 * session as the forker says; returns the process exit code. */
int pd_forker_main(const struct pd_forker *f, int argc, char **argv);

/* For forkers with argv of their own (postfix): the parts of main. */
struct pd_forker_opts {
	const char *conf_path;
	const char *proto;		/* "imap" or "pop3" */
	const char *client_ip;		/* stdio --client-ip, or NULL */
	bool implicit_tls, debug, print_conf;
};

struct pd_forker_ctx {
	const struct pd_forker *f;
	struct pd_forker_opts o;
	struct pd_conf *conf;
	struct pd_tls *tls;
	struct pd_tls_policy *policy;
};

/* 0 unless proto is imap or pop3 (then -1, message on stderr). */
int pd_forker_parse_proto(const char *name, const char *proto);
/*
 * Load pd.conf, TLS and the log sink (pd_fatal on errors, telling a client
 * on fd 0 first if refuse_on_fd0).  With print_conf, prints the effective
 * configuration and returns 1; otherwise 0.
 */
int pd_forker_setup(const struct pd_forker *f, const struct pd_forker_opts *o,
		    bool refuse_on_fd0, struct pd_forker_ctx *ctx);
/* Run one session on rfd/wfd (a socket: addresses from it); exit code. */
int pd_forker_serve(struct pd_forker_ctx *ctx, int rfd, int wfd,
		    bool is_socket);
void pd_forker_cleanup(struct pd_forker_ctx *ctx);

#endif
