/* SPDX-License-Identifier: MIT */
/*
 * stream.c - plain or TLS reads and writes on non-blocking fds.  OpenSSL's
 * WANT_READ/WANT_WRITE become EAGAIN plus the event to wait for; every other
 * failure becomes -1 with a reason in st->error and the OpenSSL error queue
 * cleared, so one client's bad handshake leaves nothing for the next call.
 */
#include "pd-core/stream.h"
#include "pd-core/event.h"

#include <errno.h>
#include <openssl/err.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

void
pd_stream_init(struct pd_stream *st, int rfd, int wfd)
{
	memset(st, 0, sizeof(*st));
	st->rfd = rfd;
	st->wfd = wfd;
	st->read_wants = PD_EVENT_READ;
	st->write_wants = PD_EVENT_WRITE;
}

void
pd_stream_deinit(struct pd_stream *st)
{
	if (st->ssl != NULL) {
		if (st->handshaken)
			(void)SSL_shutdown(st->ssl);
		SSL_free(st->ssl);
		st->ssl = NULL;
	}
	ERR_clear_error();
}

void
pd_stream_start_tls(struct pd_stream *st, SSL *ssl)
{
	st->ssl = ssl;
	SSL_set_rfd(ssl, st->rfd);
	SSL_set_wfd(ssl, st->wfd);
	SSL_set_accept_state(ssl);
}

bool
pd_stream_is_tls(const struct pd_stream *st)
{
	return st->ssl != NULL;
}

/* Map an SSL result; sets *wants for WANT_*, returns -1 with errno set. */
static int
stream_ssl_fail(struct pd_stream *st, int r, unsigned *wants)
{
	int e = SSL_get_error(st->ssl, r);
	unsigned long code;

	switch (e) {
	case SSL_ERROR_WANT_READ:
		*wants = PD_EVENT_READ;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_WANT_WRITE:
		*wants = PD_EVENT_WRITE;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		if (errno == 0)
			errno = EPIPE;
		snprintf(st->error, sizeof(st->error), "%s",
			 errno == EPIPE ? "connection closed" : strerror(errno));
		break;
	default:
		code = ERR_peek_error();
		if (code != 0)
			ERR_error_string_n(code, st->error, sizeof(st->error));
		else
			snprintf(st->error, sizeof(st->error), "TLS error %d", e);
		errno = EPROTO;
		break;
	}
	ERR_clear_error();
	return -1;
}

int
pd_stream_handshake(struct pd_stream *st)
{
	int r;

	ERR_clear_error();
	errno = 0;
	r = SSL_do_handshake(st->ssl);
	if (r == 1) {
		st->handshaken = true;
		st->read_wants = PD_EVENT_READ;
		st->write_wants = PD_EVENT_WRITE;
		return 1;
	}
	if (stream_ssl_fail(st, r, &st->read_wants) < 0 && errno == EAGAIN) {
		st->write_wants = st->read_wants;
		return 0;
	}
	if (st->error[0] == '\0')
		snprintf(st->error, sizeof(st->error), "handshake failed");
	return -1;
}

ssize_t
pd_stream_read(struct pd_stream *st, void *p, size_t n)
{
	int r;

	if (st->ssl == NULL)
		return read(st->rfd, p, n);
	ERR_clear_error();
	errno = 0;
	st->read_wants = PD_EVENT_READ;
	r = SSL_read(st->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);
	if (r > 0)
		return r;
	return stream_ssl_fail(st, r, &st->read_wants);
}

ssize_t
pd_stream_write(struct pd_stream *st, const void *p, size_t n)
{
	int r;

	if (st->ssl == NULL)
		return write(st->wfd, p, n);
	ERR_clear_error();
	errno = 0;
	st->write_wants = PD_EVENT_WRITE;
	r = SSL_write(st->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);
	if (r > 0)
		return r;
	if (stream_ssl_fail(st, r, &st->write_wants) == 0)
		errno = EPIPE;
	return -1;
}

bool
pd_stream_has_pending(const struct pd_stream *st)
{
	return st->ssl != NULL && SSL_pending(st->ssl) > 0;
}

void
pd_stream_shutdown_write(struct pd_stream *st)
{
	if (st->ssl != NULL) {
		ERR_clear_error();
		(void)SSL_shutdown(st->ssl);
		ERR_clear_error();
	} else {
		(void)shutdown(st->wfd, SHUT_WR);
	}
}
