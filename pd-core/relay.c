/* SPDX-License-Identifier: MIT */
/*
 * relay.c - the post-login byte pump.  Each wake-up tries every transfer
 * that has data and room until none progresses, which is what TLS needs
 * (a read may have to write, a write may have to read) and costs a plain
 * socket at most one EAGAIN per direction.  The client's end of stream is
 * passed on as a half-close; the backend's end ends the session once
 * everything it said has reached the client.
 */
#include "pd-core/relay.h"
#include "pd-core/buf.h"
#include "pd-core/log.h"
#include "pd-core/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct pd_relay {
	struct pd_event_loop *loop;
	struct pd_stream *client;
	int bfd;
	struct pd_event_io *crio, *cwio, *bio;
	struct pd_buf c2b, b2c;
	bool client_eof, backend_eof, backend_shut, done;
	struct pd_relay_stats stats;
	pd_relay_done_cb *cb;
	void *ctx;
};

static void relay_pump(struct pd_relay *r);

static void
relay_end(struct pd_relay *r, const char *reason)
{
	if (r->done)
		return;
	r->done = true;
	r->stats.reason = reason;
	pd_event_io_want(r->crio, 0);
	if (r->cwio != r->crio)
		pd_event_io_want(r->cwio, 0);
	pd_event_io_want(r->bio, 0);
	r->cb(r->ctx, &r->stats);
}

/* -1 failed, 0 nothing moved, 1 moved bytes or saw an end. */
static int
relay_client_read(struct pd_relay *r)
{
	unsigned char *dst;
	size_t room = pd_buf_room(&r->c2b);
	ssize_t n;

	if (r->client_eof || room == 0)
		return 0;
	dst = pd_buf_reserve(&r->c2b, room);
	n = pd_stream_read(r->client, dst, room);
	if (n > 0) {
		pd_buf_commit(&r->c2b, (size_t)n);
		r->stats.in += (uint64_t)n;
		return 1;
	}
	if (n == 0) {
		r->client_eof = true;
		return 1;
	}
	return errno == EAGAIN || errno == EINTR ? 0 : -1;
}

static int
relay_client_write(struct pd_relay *r)
{
	ssize_t n;

	if (r->b2c.len == 0)
		return 0;
	n = pd_stream_write(r->client, r->b2c.data, r->b2c.len);
	if (n > 0) {
		pd_buf_consume(&r->b2c, (size_t)n);
		r->stats.out += (uint64_t)n;
		return 1;
	}
	return errno == EAGAIN || errno == EINTR ? 0 : -1;
}

static int
relay_backend_read(struct pd_relay *r)
{
	unsigned char *dst;
	size_t room = pd_buf_room(&r->b2c);
	ssize_t n;

	if (r->backend_eof || room == 0)
		return 0;
	dst = pd_buf_reserve(&r->b2c, room);
	n = read(r->bfd, dst, room);
	if (n > 0) {
		pd_buf_commit(&r->b2c, (size_t)n);
		return 1;
	}
	if (n == 0) {
		r->backend_eof = true;
		return 1;
	}
	return errno == EAGAIN || errno == EINTR ? 0 : -1;
}

static int
relay_backend_write(struct pd_relay *r)
{
	ssize_t n;

	if (r->c2b.len == 0)
		return 0;
	n = write(r->bfd, r->c2b.data, r->c2b.len);
	if (n > 0) {
		pd_buf_consume(&r->c2b, (size_t)n);
		return 1;
	}
	return errno == EAGAIN || errno == EINTR ? 0 : -1;
}

static void
relay_update_io(struct pd_relay *r)
{
	unsigned c = 0, cr = 0, cw = 0, b = 0;

	if (!r->client_eof && pd_buf_room(&r->c2b) > 0)
		c |= r->client->read_wants;
	if (r->b2c.len > 0)
		c |= r->client->write_wants;
	if (r->crio == r->cwio) {
		pd_event_io_want(r->crio, c);
	} else {
		cr = c & PD_EVENT_READ;
		cw = c & PD_EVENT_WRITE;
		pd_event_io_want(r->crio, cr);
		pd_event_io_want(r->cwio, cw);
	}
	if (!r->backend_eof && pd_buf_room(&r->b2c) > 0)
		b |= PD_EVENT_READ;
	if (r->c2b.len > 0)
		b |= PD_EVENT_WRITE;
	pd_event_io_want(r->bio, b);
}

static void
relay_pump(struct pd_relay *r)
{
	int progress;

	do {
		int a, b, c, d;

		progress = 0;
		if ((a = relay_client_read(r)) < 0)
			return relay_end(r, "client-error");
		if ((b = relay_backend_write(r)) < 0)
			return relay_end(r, "backend-error");
		if ((c = relay_backend_read(r)) < 0)
			return relay_end(r, "backend-error");
		if ((d = relay_client_write(r)) < 0)
			return relay_end(r, "client-error");
		progress = a + b + c + d;
		/* TLS may hold decrypted bytes epoll knows nothing of. */
		if (progress == 0 && pd_stream_has_pending(r->client) &&
		    pd_buf_room(&r->c2b) > 0)
			progress = 1;
	} while (progress > 0);
	/* Pass the client's end on once its last bytes are out. */
	if (r->client_eof && r->c2b.len == 0 && !r->backend_shut) {
		r->backend_shut = true;
		(void)shutdown(r->bfd, SHUT_WR);
	}
	if (r->backend_eof && r->b2c.len == 0) {
		pd_stream_shutdown_write(r->client);
		return relay_end(r, r->client_eof ? "client-closed" : "backend-closed");
	}
	relay_update_io(r);
}

static void
relay_io(void *ctx, unsigned events PD_UNUSED)
{
	struct pd_relay *r = ctx;

	if (!r->done)
		relay_pump(r);
}

struct pd_relay *
pd_relay_new(struct pd_event_loop *loop, struct pd_stream *client,
	     int backend_fd, size_t bufsize, const void *input, size_t ninput,
	     pd_relay_done_cb *cb, void *ctx)
{
	struct pd_relay *r = pd_xcalloc(1, sizeof(*r));
	int fl = fcntl(backend_fd, F_GETFL);

	if (fl >= 0)
		(void)fcntl(backend_fd, F_SETFL, fl | O_NONBLOCK);
	r->loop = loop;
	r->client = client;
	r->bfd = backend_fd;
	r->cb = cb;
	r->ctx = ctx;
	pd_buf_init(&r->c2b, bufsize > ninput ? bufsize : ninput);
	pd_buf_init(&r->b2c, bufsize);
	if (ninput > 0 && pd_buf_append(&r->c2b, input, ninput) < 0)
		pd_panic("relay: initial input does not fit");
	r->stats.in = ninput;
	r->crio = pd_event_io_add(loop, client->rfd, relay_io, r);
	r->cwio = client->wfd == client->rfd ? r->crio
		: pd_event_io_add(loop, client->wfd, relay_io, r);
	r->bio = pd_event_io_add(loop, backend_fd, relay_io, r);
	relay_pump(r);
	return r;
}

void
pd_relay_free(struct pd_relay **rp)
{
	struct pd_relay *r = *rp;

	if (r == NULL)
		return;
	if (r->cwio != r->crio)
		pd_event_io_remove(&r->cwio);
	pd_event_io_remove(&r->crio);
	pd_event_io_remove(&r->bio);
	close(r->bfd);
	pd_buf_deinit(&r->c2b);
	pd_buf_deinit(&r->b2c);
	free(r);
	*rp = NULL;
}
