/* SPDX-License-Identifier: MIT */
/*
 * authc.h - the auth client interface the session talks to.  The session
 * asks, the answer arrives later as a callback on the event loop (never from
 * inside start), so the same session code works with the in-process driver
 * call of the stdio/inet forkers and with the daemon's asynchronous auth
 * service.  pd-core knows no database: pd-auth supplies the implementation.
 */
#ifndef PD_AUTHC_H
#define PD_AUTHC_H

#include "pd-core/event.h"
#include "pd-core/user.h"

enum pd_auth_result {
	PD_AUTH_OK,		/* password verified, account active */
	PD_AUTH_UNKNOWN_USER,
	PD_AUTH_BAD_PASSWORD,
	PD_AUTH_DISABLED,	/* right password, status not active */
	PD_AUTH_TEMPFAIL,	/* database down, broken connection */
	PD_AUTH_BAD_RECORD,	/* the user's record is unusable (unknown scheme,
				 * malformed hash): logged as an error, answered
				 * like a wrong password so it reveals nothing */
};

struct pd_auth_reply {
	enum pd_auth_result result;
	struct pd_user user;	/* filled on PD_AUTH_OK; the callback may take it */
	char reason[640];	/* for the log: never contains the password */
};

/* Called once per request; reply is valid during the call only. */
typedef void pd_auth_reply_cb(void *ctx, struct pd_auth_reply *reply);

struct pd_auth_request_info {
	const char *login;	/* as the client sent it */
	const char *password;
	const char *service;	/* "imap" or "pop3" */
	const char *client_ip;
};

struct pd_auth_client {
	void *ctx;
	/* Start a request; returns a handle for cancel (never NULL). */
	void *(*start)(void *ctx, struct pd_event_loop *loop,
		       const struct pd_auth_request_info *info,
		       pd_auth_reply_cb *cb, void *cbctx);
	/* Forget a request whose reply has not arrived; its cb is not called. */
	void (*cancel)(void *handle);
};

const char *pd_auth_result_name(enum pd_auth_result r);

#endif
