/* SPDX-License-Identifier: MIT */
/*
 * relay.h - moving bytes between the client stream (plain or TLS) and a
 * backend socket after login, on the event loop: one lazily allocated
 * bounded buffer per direction, half-close passed on, both sides ended when
 * the backend ends, byte counts for the end-of-session log line.
 */
#ifndef PD_RELAY_H
#define PD_RELAY_H

#include "pd-core/event.h"
#include "pd-core/stream.h"

#include <stdint.h>

struct pd_relay;

struct pd_relay_stats {
	uint64_t in;		/* bytes from the client */
	uint64_t out;		/* bytes to the client */
	const char *reason;	/* "backend-closed", "client-error", ... */
};

/* Called once when the relay is over; the relay may be freed inside. */
typedef void pd_relay_done_cb(void *ctx, const struct pd_relay_stats *stats);

/*
 * Start relaying; client stays owned by the caller, backend_fd is closed
 * by pd_relay_free.  The first ninput bytes of input (client bytes read
 * before the relay began; at most bufsize) go to the backend first.
 */
struct pd_relay *pd_relay_new(struct pd_event_loop *loop,
			      struct pd_stream *client, int backend_fd,
			      size_t bufsize, const void *input, size_t ninput,
			      pd_relay_done_cb *cb, void *ctx);
void pd_relay_free(struct pd_relay **relay);

#endif
