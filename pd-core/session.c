/* SPDX-License-Identifier: MIT */
/*
 * session.c - the pre-login session state machine.  States:
 *   PRELOGIN  parsing commands (the protocol's input handler runs)
 *   AUTHING   waiting for the auth client's reply; input is held unparsed
 *   DELAY     a failed login waits auth_failure_delay before its answer
 *   LAUNCH    login succeeded: output is flushed, then the launcher runs
 *   TLS_FLUSH STARTTLS accepted: the OK is flushed, client input dropped
 *   HANDSHAKE TLS handshake (STARTTLS, or implicit TLS before the greeting)
 *   RELAY     the mail server runs in a child; bytes are relayed (TLS)
 *   CLOSING   flushing the last output; then DONE
 * Every failure the client causes ends in a protocol reply or a close,
 * never an exit.  Bytes the client pipelines after the login command stay
 * in the input buffer and reach the backend.
 */
#include "pd-core/session.h"
#include "pd-core/dispatch.h"
#include "pd-core/log.h"
#include "pd-core/mem.h"
#include "pd-core/relay.h"
#include "pd-core/stream.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SESSION_READ_CHUNK 4096
#define SESSION_IN_MIN 16384
#define SESSION_OUT_MAX (256 * 1024)
#define SESSION_OUT_HIGH (16 * 1024)	/* stop parsing above this */
#define SESSION_RELAY_BUF (16 * 1024)

enum session_state { S_PRELOGIN, S_AUTHING, S_DELAY, S_LAUNCH, S_TLS_FLUSH,
		     S_HANDSHAKE, S_RELAY, S_CLOSING, S_DONE };

struct pd_session {
	struct pd_session_params p;
	const struct pd_proto *proto;
	void *pst;
	enum session_state state;
	struct pd_event_io *rio, *wio;	/* wio == rio for a socket */
	struct pd_stream st;
	struct pd_relay *relay;
	struct pd_relay_stats relay_stats;
	struct pd_timer relay_timer;
	pid_t child;
	size_t in_by_env;
	uint64_t auth_started_ms;
	char tls_desc[96];
	bool greeted;
	bool parsing;		/* inside the protocol's input handler */
	struct pd_buf in, out;
	struct pd_timer login_timer, delay_timer;
	unsigned long bad, max_bad;
	uint64_t started_ms;
	void *auth_req;
	enum pd_auth_result failed_result;
	struct pd_user user;
	bool have_user;
	char id[17];
	char method[16];
	char tag[PD_TAG_MAX + 1];
	char login_q[PD_LOGIN_MAX + 8];	/* quoted for the log */
	char client_id_q[200];
	const char *end_reason;
	bool read_eof;
};

static void session_update_io(struct pd_session *s);
static void session_finish(struct pd_session *s);
static void session_io(void *ctx, unsigned events);

/* Let the protocol parse; a half-closed client is ended only after it. */
static void
session_input(struct pd_session *s)
{
	s->parsing = true;
	s->proto->input(s, s->pst);
	s->parsing = false;
}

/* Now, read afresh: the in-process lookup runs between loop turns. */
static uint64_t
session_clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
session_set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0 && !(fl & O_NONBLOCK))
		(void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

const struct pd_conf *
pd_session_conf(const struct pd_session *s)
{
	return s->p.conf;
}

struct pd_buf *
pd_session_input(struct pd_session *s)
{
	return &s->in;
}

const char *
pd_session_id(const struct pd_session *s)
{
	return s->id;
}

const char *
pd_session_proto(const struct pd_session *s)
{
	return s->proto->name;
}

const char *
pd_session_client_ip(const struct pd_session *s)
{
	return s->p.client_ip;
}

bool
pd_session_is_done(const struct pd_session *s)
{
	return s->state == S_DONE;
}

bool
pd_session_is_tls(const struct pd_session *s)
{
	return pd_stream_is_tls(&s->st);
}

bool
pd_session_tls_available(const struct pd_session *s)
{
	return s->p.tls != NULL && !pd_stream_is_tls(&s->st);
}

bool
pd_session_plaintext_ok(const struct pd_session *s)
{
	return s->p.policy == NULL ||
	       pd_tls_policy_allows(s->p.policy, s->p.client_ip,
				    pd_stream_is_tls(&s->st));
}

bool
pd_session_can_parse(const struct pd_session *s)
{
	return s->state == S_PRELOGIN && s->out.len < SESSION_OUT_HIGH;
}

void
pd_session_send(struct pd_session *s, const void *p, size_t n)
{
	if (s->state == S_DONE)
		return;
	if (pd_buf_append(&s->out, p, n) < 0) {
		/* The client does not read what it asks for: drop it. */
		pd_log_info("%s end ip=%s reason=output-overflow session=%s",
			    s->proto->name, s->p.client_ip, s->id);
		s->end_reason = NULL;
		session_finish(s);
		return;
	}
	session_update_io(s);
}

void
pd_session_printf(struct pd_session *s, const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = (int)sizeof(line) - 1;
	pd_session_send(s, line, (size_t)n);
}

void
pd_session_set_client_id(struct pd_session *s, const char *text)
{
	pd_log_quote(s->client_id_q, sizeof(s->client_id_q), text, strlen(text),
		     160);
}

static void
session_log_end(struct pd_session *s)
{
	double secs = (double)(pd_event_now_ms(s->p.loop) - s->started_ms) / 1000.0;

	if (s->end_reason == NULL)
		return;
	pd_log_info("%s end ip=%s%s%s%s reason=%s secs=%.1f session=%s",
		    s->proto->name, s->p.client_ip,
		    s->login_q[0] != '\0' ? " user=\"" : "", s->login_q,
		    s->login_q[0] != '\0' ? "\"" : "", s->end_reason, secs, s->id);
}

/* End now: no more I/O, no more timers.  The loop then has nothing to do. */
static void
session_finish(struct pd_session *s)
{
	if (s->state == S_DONE)
		return;
	session_log_end(s);
	s->state = S_DONE;
	if (s->auth_req != NULL) {
		s->p.auth.cancel(s->auth_req);
		s->auth_req = NULL;
	}
	pd_timer_stop(&s->login_timer);
	pd_timer_stop(&s->delay_timer);
	pd_timer_stop(&s->relay_timer);
	pd_relay_free(&s->relay);
	if (s->wio != s->rio)
		pd_event_io_remove(&s->wio);
	s->wio = NULL;
	pd_event_io_remove(&s->rio);
	pd_stream_deinit(&s->st);
}

void
pd_session_close(struct pd_session *s, const char *reason)
{
	if (s->state == S_DONE || s->state == S_CLOSING)
		return;
	/* A login still in flight must not revive a session that said BYE. */
	if (s->auth_req != NULL) {
		s->p.auth.cancel(s->auth_req);
		s->auth_req = NULL;
	}
	pd_timer_stop(&s->delay_timer);
	s->end_reason = reason;
	s->state = S_CLOSING;
	if (s->out.len == 0)
		session_finish(s);
	else
		session_update_io(s);
}

bool
pd_session_bad_is_last(const struct pd_session *s)
{
	return s->bad + 1 >= s->max_bad;
}

bool
pd_session_bad(struct pd_session *s)
{
	if (++s->bad < s->max_bad)
		return false;
	s->proto->bye(s, s->pst, "Too many invalid commands.");
	pd_session_close(s, "bad-commands");
	return true;
}

static void
session_launch(struct pd_session *s)
{
	struct pd_exec_plan plan;
	struct pd_login login;
	struct pd_err err;
	const char *backend = "?";

	memset(&login, 0, sizeof(login));
	login.proto = s->proto->name;
	login.tag = s->tag;
	login.pipelined = s->in.data;
	login.npipelined = s->in.len;
	login.client_ip = s->p.client_ip;
	login.client_port = s->p.client_port;
	login.local_ip = s->p.local_ip;
	login.local_port = s->p.local_port;
	login.session_id = s->id;
	login.tls = pd_stream_is_tls(&s->st);
	pd_err_clear(&err);
	pd_exec_plan_init(&plan, "");
	if (pd_dispatch_plan(s->p.conf, &login, &s->user, &plan, &backend,
			     &err) < 0)
		goto fail;
	pd_log_info("%s login user=%s ip=%s port=%s backend=%s method=%s tls=%s%s%s%s "
		    "session=%s", s->proto->name, s->user.user, s->p.client_ip,
		    s->p.client_port, backend, s->method,
		    s->tls_desc[0] != '\0' ? s->tls_desc : "no",
		    s->client_id_q[0] != '\0' ? " id=\"" : "", s->client_id_q,
		    s->client_id_q[0] != '\0' ? "\"" : "", s->id);
	/* Does not return when it execs. */
	switch (s->p.launcher.launch(s->p.launcher.ctx, s, &plan, &err)) {
	case 0:
		pd_exec_plan_deinit(&plan);
		s->end_reason = NULL;
		session_finish(s);
		return;
	case 1:
		pd_exec_plan_deinit(&plan);
		return;
	default:
		break;
	}
fail:
	pd_exec_plan_deinit(&plan);
	pd_log_error("%s dispatch-failed user=%s ip=%s backend=%s session=%s: %s",
		     s->proto->name, s->user.user, s->p.client_ip, backend, s->id,
		     err.msg);
	s->state = S_PRELOGIN;
	s->proto->login_failed(s, s->pst, PD_AUTH_TEMPFAIL);
	pd_session_close(s, "dispatch-failed");
}

static void
session_delay_done(void *ctx)
{
	struct pd_session *s = ctx;

	if (s->state != S_DELAY)
		return;
	s->state = S_PRELOGIN;
	if (!(s->proto->bye_replaces_error && pd_session_bad_is_last(s)))
		s->proto->login_failed(s, s->pst, s->failed_result);
	if (s->state != S_PRELOGIN || pd_session_bad(s))
		return;
	/* Commands the client sent meanwhile. */
	if (s->in.len > 0)
		session_input(s);
	session_update_io(s);
}

static void
session_auth_reply(void *ctx, struct pd_auth_reply *reply)
{
	struct pd_session *s = ctx;
	uint64_t delay, spent;

	s->auth_req = NULL;
	if (s->state != S_AUTHING)
		return;
	if (reply->result == PD_AUTH_OK) {
		pd_user_deinit(&s->user);
		s->user = reply->user;
		pd_user_init(&reply->user);	/* we own the record now */
		s->have_user = true;
		s->state = S_LAUNCH;
		if (s->out.len == 0)
			session_launch(s);
		else
			session_update_io(s);
		return;
	}
	if (reply->result == PD_AUTH_TEMPFAIL || reply->result == PD_AUTH_BAD_RECORD)
		pd_log_error("%s auth-failed user=\"%s\" ip=%s method=%s "
			     "reason=%s session=%s: %s", s->proto->name,
			     s->login_q, s->p.client_ip, s->method,
			     pd_auth_result_name(reply->result), s->id,
			     reply->reason);
	else
		pd_log_info("%s auth-failed user=\"%s\" ip=%s method=%s reason=%s "
			    "session=%s", s->proto->name, s->login_q,
			    s->p.client_ip, s->method,
			    pd_auth_result_name(reply->result), s->id);
	s->failed_result = reply->result;
	s->state = S_DELAY;
	/* Every failure is answered auth_failure_delay after the login
	 * command, however long the lookup and the hash took, so the answer
	 * time tells no user from another. */
	delay = pd_conf_uint(pd_conf_section(s->p.conf, "", NULL),
			     "auth_failure_delay") * 1000;
	spent = session_clock_ms() - s->auth_started_ms;
	pd_timer_start(s->p.loop, &s->delay_timer, spent < delay ? delay - spent : 0,
		       session_delay_done, s);
}

void
pd_session_login(struct pd_session *s, struct pd_creds *creds,
		 const char *method, const char *tag)
{
	struct pd_auth_request_info info;

	snprintf(s->method, sizeof(s->method), "%s", method);
	snprintf(s->tag, sizeof(s->tag), "%s", tag != NULL ? tag : "");
	pd_log_quote(s->login_q, sizeof(s->login_q), creds->login,
		     strlen(creds->login), 64);
	info.login = creds->login;
	info.password = creds->password;
	info.service = s->proto->name;
	info.client_ip = s->p.client_ip;
	s->state = S_AUTHING;
	s->auth_started_ms = session_clock_ms();
	s->auth_req = s->p.auth.start(s->p.auth.ctx, s->p.loop, &info,
				      session_auth_reply, s);
	pd_creds_clear(creds);
	s->proto->forget(s->pst);
	session_update_io(s);
}

static void
session_timeout(void *ctx)
{
	struct pd_session *s = ctx;

	if (s->state == S_CLOSING) {
		session_finish(s);
		return;
	}
	/* Mid-handshake nothing can be said: just end. */
	if (s->state == S_HANDSHAKE || s->state == S_TLS_FLUSH) {
		s->end_reason = "timeout";
		session_finish(s);
		return;
	}
	s->proto->bye(s, s->pst, "Disconnected for inactivity.");
	pd_session_close(s, "timeout");
	/* Give the goodbye a few seconds, then drop a client that won't read. */
	if (s->state == S_CLOSING)
		pd_timer_start(s->p.loop, &s->login_timer, 5000, session_timeout, s);
}

static void
session_read(struct pd_session *s)
{
	unsigned char *dst;
	size_t room = pd_buf_room(&s->in);
	ssize_t n;

	if (room == 0 || s->read_eof)
		return;
	if (room > SESSION_READ_CHUNK)
		room = SESSION_READ_CHUNK;
	dst = pd_buf_reserve(&s->in, room);
	PD_ASSERT(dst != NULL);
	n = pd_stream_read(&s->st, dst, room);
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		s->end_reason = "read-error";
		session_finish(s);
		return;
	}
	if (n == 0) {
		/* Half-closed: answer what was sent, then end (update_io). */
		s->read_eof = true;
		return;
	}
	pd_buf_commit(&s->in, (size_t)n);
	if (s->state == S_PRELOGIN)
		session_input(s);
	/* TLS may have decrypted more than we asked for; epoll won't say. */
	if (s->state != S_DONE && pd_stream_has_pending(&s->st) &&
	    (s->state == S_PRELOGIN || s->state == S_AUTHING ||
	     s->state == S_DELAY))
		session_read(s);
}

static void session_handshake(struct pd_session *s);

static void
session_write(struct pd_session *s)
{
	ssize_t n;

	while (s->out.len > 0) {
		n = pd_stream_write(&s->st, s->out.data, s->out.len);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			s->end_reason = "write-error";
			session_finish(s);
			return;
		}
		pd_buf_consume(&s->out, (size_t)n);
	}
	if (s->state == S_CLOSING) {
		session_finish(s);
		return;
	}
	if (s->state == S_LAUNCH) {
		session_launch(s);
		return;
	}
	if (s->state == S_TLS_FLUSH) {
		pd_stream_start_tls(&s->st, pd_tls_ssl_new(s->p.tls));
		s->state = S_HANDSHAKE;
		session_handshake(s);
		return;
	}
	/* Output drained below the mark: parse what was held back. */
	if (s->state == S_PRELOGIN && s->in.len > 0)
		session_input(s);
}

static void
session_io(void *ctx, unsigned events)
{
	struct pd_session *s = ctx;

	/* With TLS either event may unblock either operation: try both. */
	if (pd_stream_is_tls(&s->st))
		events = PD_EVENT_READ | PD_EVENT_WRITE;
	if (s->state == S_HANDSHAKE) {
		session_handshake(s);
		return;
	}
	if ((events & PD_EVENT_WRITE) && s->state != S_DONE && s->out.len > 0)
		session_write(s);
	if ((events & PD_EVENT_READ) && s->state != S_DONE &&
	    s->state != S_CLOSING && s->state != S_TLS_FLUSH &&
	    s->state != S_HANDSHAKE && s->state != S_LAUNCH)
		session_read(s);
	if (s->state != S_DONE)
		session_update_io(s);
}

/* Read while there is room and something to read for; write while queued. */
static void
session_update_io(struct pd_session *s)
{
	unsigned r = 0, w = 0;

	if (s->state == S_DONE)
		return;
	if (s->read_eof && s->state == S_PRELOGIN && s->in.len == 0 &&
	    !s->parsing) {
		pd_session_close(s, "disconnected");
		if (s->state == S_DONE)
			return;
	}
	if (s->state == S_RELAY)
		return;
	if (s->state == S_HANDSHAKE) {
		r = s->st.read_wants;
	} else {
		if (s->state != S_CLOSING && s->state != S_LAUNCH &&
		    s->state != S_TLS_FLUSH && !s->read_eof &&
		    pd_buf_room(&s->in) > 0)
			r = s->st.read_wants;
		if (s->out.len > 0)
			w = s->st.write_wants;
	}
	/* A TLS operation may wait for the other direction's event. */
	r |= w;
	w = r & PD_EVENT_WRITE;
	r &= PD_EVENT_READ;
	if (s->rio == s->wio) {
		pd_event_io_want(s->rio, r | w);
	} else {
		pd_event_io_want(s->rio, r);
		pd_event_io_want(s->wio, w);
	}
}

static void
session_handshake(struct pd_session *s)
{
	switch (pd_stream_handshake(&s->st)) {
	case 0:
		session_update_io(s);
		return;
	case -1:
		pd_log_info("%s tls-failed ip=%s session=%s: %s", s->proto->name,
			    s->p.client_ip, s->id, s->st.error);
		s->end_reason = "tls-failed";
		session_finish(s);
		return;
	default:
		break;
	}
	pd_tls_describe(s->st.ssl, s->tls_desc, sizeof(s->tls_desc));
	pd_log_debug("%s tls ip=%s %s session=%s", s->proto->name, s->p.client_ip,
		     s->tls_desc, s->id);
	s->state = S_PRELOGIN;
	/* Implicit TLS greets inside TLS; after STARTTLS the client asks. */
	if (!s->greeted) {
		s->greeted = true;
		s->proto->greet(s, s->pst);
	}
	session_update_io(s);
}

void
pd_session_starttls(struct pd_session *s)
{
	PD_ASSERT(pd_session_tls_available(s));
	/* RFC 9051 §6.2.1, RFC 2595 §4: nothing sent before the handshake may
	 * be taken as a command inside TLS (the STARTTLS injection attack). */
	if (s->in.len > 0)
		pd_log_info("%s starttls ip=%s discarded=%zu session=%s: client "
			    "pipelined bytes after STARTTLS", s->proto->name,
			    s->p.client_ip, s->in.len, s->id);
	pd_buf_reset(&s->in);
	s->state = S_TLS_FLUSH;
	if (s->out.len == 0)
		session_write(s);
	else
		session_update_io(s);
}

static void
session_relay_over(void *ctx)
{
	struct pd_session *s = ctx;
	int status = 0;
	bool failed;

	pd_relay_free(&s->relay);
	/* The backend closed its end: it is exiting; collect it. */
	while (s->child > 0 && waitpid(s->child, &status, 0) < 0 && errno == EINTR)
		;
	failed = s->child > 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	s->child = 0;
	pd_log_info("%s end user=%s ip=%s in=%llu out=%llu secs=%.1f reason=%s%s "
		    "session=%s", s->proto->name, s->user.user, s->p.client_ip,
		    (unsigned long long)s->relay_stats.in,
		    (unsigned long long)s->relay_stats.out,
		    (double)(pd_event_now_ms(s->p.loop) - s->started_ms) / 1000.0,
		    s->relay_stats.reason, failed ? " backend-status=failed" : "",
		    s->id);
	s->end_reason = NULL;
	/* A mail server that died before saying a word: tell the client. */
	if (failed && s->relay_stats.out == 0 && !s->read_eof) {
		s->rio = pd_event_io_add(s->p.loop, s->p.rfd, session_io, s);
		s->wio = s->p.wfd == s->p.rfd ? s->rio
			: pd_event_io_add(s->p.loop, s->p.wfd, session_io, s);
		s->state = S_PRELOGIN;
		s->proto->login_failed(s, s->pst, PD_AUTH_TEMPFAIL);
		pd_session_close(s, NULL);
		/* A client that will not read the answer is dropped soon. */
		if (s->state == S_CLOSING)
			pd_timer_start(s->p.loop, &s->login_timer, 5000,
				       session_timeout, s);
		return;
	}
	session_finish(s);
}

static void
session_relay_done(void *ctx, const struct pd_relay_stats *stats)
{
	struct pd_session *s = ctx;

	s->relay_stats = *stats;
	s->relay_stats.in += s->in_by_env;
	/* Not from inside the relay's own callback: on the next turn. */
	pd_timer_start(s->p.loop, &s->relay_timer, 0, session_relay_over, s);
}

int
pd_session_relay(struct pd_session *s, int backend_fd, pid_t pid,
		 const void *input, size_t ninput)
{
	s->state = S_RELAY;
	s->child = pid;
	/* Pipelined bytes the server took from its environment count as in. */
	s->in_by_env = s->in.len > ninput ? s->in.len - ninput : 0;
	pd_timer_stop(&s->login_timer);
	/* The relay watches the client fds now. */
	if (s->wio != s->rio)
		pd_event_io_remove(&s->wio);
	s->wio = NULL;
	pd_event_io_remove(&s->rio);
	s->relay = pd_relay_new(s->p.loop, &s->st, backend_fd, SESSION_RELAY_BUF,
				input, ninput, session_relay_done, s);
	return 1;
}

struct pd_session *
pd_session_new(const struct pd_session_params *params)
{
	struct pd_session *s = pd_xcalloc(1, sizeof(*s));
	const struct pd_conf_section *top = pd_conf_section(params->conf, "", NULL);
	unsigned char rnd[8];
	size_t i, line_max;

	s->p = *params;
	s->proto = strcmp(params->proto, "pop3") == 0 ? &pd_proto_pop3
						      : &pd_proto_imap;
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		pd_panic("getrandom: %s", strerror(errno));
	for (i = 0; i < sizeof(rnd); i++)
		snprintf(s->id + 2 * i, 3, "%02x", rnd[i]);
	s->max_bad = pd_conf_uint(top, "max_bad_commands");
	line_max = pd_conf_uint(top, s->proto == &pd_proto_pop3 ?
				"pop3_line_max" : "imap_line_max");
	/* Client bytes hold passwords: wiped whenever they are dropped. */
	pd_buf_init_secret(&s->in, line_max > SESSION_IN_MIN ? line_max : SESSION_IN_MIN);
	pd_buf_init(&s->out, SESSION_OUT_MAX);
	pd_user_init(&s->user);
	s->started_ms = pd_event_now_ms(params->loop);
	session_set_nonblock(params->rfd);
	session_set_nonblock(params->wfd);
	s->rio = pd_event_io_add(params->loop, params->rfd, session_io, s);
	s->wio = params->wfd == params->rfd ? s->rio
		: pd_event_io_add(params->loop, params->wfd, session_io, s);
	pd_timer_start(params->loop, &s->login_timer,
		       pd_conf_uint(top, "login_timeout") * 1000,
		       session_timeout, s);
	s->pst = s->proto->init(s);
	pd_stream_init(&s->st, params->rfd, params->wfd);
	pd_log_debug("%s connect ip=%s port=%s session=%s", s->proto->name,
		     s->p.client_ip, s->p.client_port, s->id);
	if (params->implicit_tls && params->tls != NULL) {
		pd_stream_start_tls(&s->st, pd_tls_ssl_new(params->tls));
		s->state = S_HANDSHAKE;
		session_handshake(s);
		return s;
	}
	s->greeted = true;
	s->proto->greet(s, s->pst);
	session_update_io(s);
	return s;
}

void
pd_session_free(struct pd_session **sp)
{
	struct pd_session *s = *sp;

	if (s == NULL)
		return;
	if (s->state != S_DONE) {
		s->end_reason = NULL;
		session_finish(s);
	}
	s->proto->deinit(s->pst);
	pd_buf_deinit(&s->in);
	pd_buf_deinit(&s->out);
	pd_user_deinit(&s->user);
	free(s);
	*sp = NULL;
}
