/* SPDX-License-Identifier: MIT */
/*
 * stream.h - the client connection as the session sees it: a pair of fds
 * (one socket, or stdin/stdout pipes) with TLS switched on or not.  All
 * calls are non-blocking; after EAGAIN, pd_stream_events says which fd
 * event the blocked operation waits for (TLS may need to write to read).
 */
#ifndef PD_STREAM_H
#define PD_STREAM_H

#include "pd-core/pd.h"

#include <openssl/ssl.h>
#include <sys/types.h>

struct pd_stream {
	int rfd, wfd;
	SSL *ssl;		/* NULL: plain */
	bool handshaken;
	unsigned read_wants;	/* PD_EVENT_* the last blocked read needs */
	unsigned write_wants;	/* PD_EVENT_* the last blocked write needs */
	char error[160];	/* why the last call failed */
};

void pd_stream_init(struct pd_stream *st, int rfd, int wfd);
/* Free the SSL (after a best-effort close_notify); fds stay open. */
void pd_stream_deinit(struct pd_stream *st);
/* Switch to TLS as the server with ssl (owned by the stream now). */
void pd_stream_start_tls(struct pd_stream *st, SSL *ssl);
/* 1 done, 0 call again when pd_stream_events says, -1 failed (st->error). */
int pd_stream_handshake(struct pd_stream *st);
/* >0 bytes, 0 end of stream, -1 with errno EAGAIN (wait) or other (failed). */
ssize_t pd_stream_read(struct pd_stream *st, void *p, size_t n);
ssize_t pd_stream_write(struct pd_stream *st, const void *p, size_t n);
/* Bytes TLS holds already decrypted (epoll will not report them). */
bool pd_stream_has_pending(const struct pd_stream *st);
/* Send close_notify (TLS) or shut down writing (plain socket). */
void pd_stream_shutdown_write(struct pd_stream *st);
bool pd_stream_is_tls(const struct pd_stream *st);

#endif
