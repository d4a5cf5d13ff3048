/* SPDX-License-Identifier: MIT */
/*
 * session.h - one client session before login: a non-blocking state machine
 * on the event loop (DESIGN §7).  It reads into a bounded buffer, lets the
 * protocol (struct pd_proto) parse and answer, enforces login_timeout,
 * max_bad_commands and auth_failure_delay, asks the auth client, and on
 * success dispatches.  Nothing here blocks; the only exit is the final exec.
 */
#ifndef PD_SESSION_H
#define PD_SESSION_H

#include "pd-core/authc.h"
#include "pd-core/buf.h"
#include "pd-core/conf.h"
#include "pd-core/event.h"
#include "pd-core/exec.h"
#include "pd-core/sasl.h"
#include "pd-core/tls.h"

#include <sys/types.h>

struct pd_session;

/* How the session's login ends up running a mail server. */
struct pd_launcher {
	void *ctx;
	/*
	 * Carry out plan for the session's client.  Does not return on
	 * success when it execs in this process; returns -1 (err set) when it
	 * could not, 0 when the client was handed on elsewhere, and 1 when it
	 * started the mail server elsewhere and called pd_session_relay.
	 */
	int (*launch)(void *ctx, struct pd_session *s,
		      const struct pd_exec_plan *plan, struct pd_err *err);
};

struct pd_session_params {
	const struct pd_conf *conf;
	struct pd_event_loop *loop;
	const char *proto;		/* "imap" or "pop3" */
	int rfd, wfd;			/* client; equal for a socket */
	const char *client_ip, *client_port;
	const char *local_ip, *local_port;
	struct pd_auth_client auth;
	struct pd_launcher launcher;
	struct pd_tls *tls;			/* NULL: TLS not configured */
	bool implicit_tls;			/* handshake before the greeting */
	const struct pd_tls_policy *policy;	/* NULL: plaintext always allowed */
};

/* The per-protocol table (nginx's ngx_mail_protocol_t). */
struct pd_proto {
	const char *name;
	void *(*init)(struct pd_session *s);
	void (*deinit)(void *st);
	void (*greet)(struct pd_session *s, void *st);
	/* Parse and answer what is in the input buffer (see pd_session_input). */
	void (*input)(struct pd_session *s, void *st);
	/* Answer a failed login; result is never PD_AUTH_OK. */
	void (*login_failed)(struct pd_session *s, void *st,
			     enum pd_auth_result result);
	/* Say goodbye before a server-side close (timeout, limit, shutdown). */
	void (*bye)(struct pd_session *s, void *st, const char *text);
	/* Wipe what the parser still holds of the login command (password). */
	void (*forget)(void *st);
	/* One reply per command (POP3): the goodbye at the bad-command limit
	 * replaces the command's own error instead of following it. */
	bool bye_replaces_error;
};

extern const struct pd_proto pd_proto_imap;
extern const struct pd_proto pd_proto_pop3;

/* Create a session and greet the client; it runs on params->loop. */
struct pd_session *pd_session_new(const struct pd_session_params *params);
void pd_session_free(struct pd_session **s);
/* Whether the session has ended (the loop may stop). */
bool pd_session_is_done(const struct pd_session *s);

/* For protocol handlers. */
const struct pd_conf *pd_session_conf(const struct pd_session *s);
/* Unparsed client bytes; handlers consume what they parse. */
struct pd_buf *pd_session_input(struct pd_session *s);
/* Whether handlers should parse more now (not waiting, output not full). */
bool pd_session_can_parse(const struct pd_session *s);
/* Queue output for the client. */
void pd_session_send(struct pd_session *s, const void *p, size_t n);
void pd_session_printf(struct pd_session *s, const char *fmt, ...)
	PD_PRINTF(2, 3);
/* Count one bad command; true when the limit is reached (session closing). */
bool pd_session_bad(struct pd_session *s);
/* Whether the next pd_session_bad reaches the limit. */
bool pd_session_bad_is_last(const struct pd_session *s);
/*
 * Start the login with creds (wiped here); the protocol answers in
 * login_failed, or the backend answers on success.  method is for the log
 * ("LOGIN", "PLAIN", "USER"); tag is the IMAP tag or NULL.
 */
void pd_session_login(struct pd_session *s, struct pd_creds *creds,
		      const char *method, const char *tag);
/* Whether STARTTLS/STLS may be offered now (configured, not yet on). */
bool pd_session_tls_available(const struct pd_session *s);
bool pd_session_is_tls(const struct pd_session *s);
/* Whether a plaintext password may be sent now (policy, network, TLS). */
bool pd_session_plaintext_ok(const struct pd_session *s);
/*
 * After the protocol queued its "begin TLS" reply: drop every byte the
 * client sent after the command (never run plaintext inside TLS), flush the
 * reply, then handshake.
 */
void pd_session_starttls(struct pd_session *s);
/*
 * For launchers: the mail server runs elsewhere (pid) on the other end of
 * backend_fd; relay the client to it until it ends, sending input (the
 * plan's pending client bytes) first.  Returns 1.
 */
int pd_session_relay(struct pd_session *s, int backend_fd, pid_t pid,
		     const void *input, size_t ninput);
/* Remember the client's ID (RFC 2971) text for the log (quoted, bounded). */
void pd_session_set_client_id(struct pd_session *s, const char *text);
/* Close after the queued output is written; reason goes in the end line. */
void pd_session_close(struct pd_session *s, const char *reason);
const char *pd_session_id(const struct pd_session *s);
const char *pd_session_proto(const struct pd_session *s);
const char *pd_session_client_ip(const struct pd_session *s);

#endif
