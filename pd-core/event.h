/* SPDX-License-Identifier: MIT */
/*
 * event.h - the small event loop every session runs on: epoll for fds and a
 * binary heap of timers.  One loop per process; callbacks run one at a time.
 * The stdio/inet forkers run one session on it, the daemon thousands.
 * An fd epoll refuses (a regular file on stdin) is treated as always ready.
 */
#ifndef PD_EVENT_H
#define PD_EVENT_H

#include "pd-core/pd.h"

#include <stdint.h>

struct pd_event_loop;
struct pd_event_io;

#define PD_EVENT_READ  0x1
#define PD_EVENT_WRITE 0x2

/*
 * events: PD_EVENT_READ and/or PD_EVENT_WRITE; a hangup or error reports
 * whichever of them the io wants, so its read or write sees the failure.
 */
typedef void pd_event_io_cb(void *ctx, unsigned events);
typedef void pd_timer_cb(void *ctx);

/* A one-shot timer, embedded in its owner (zero it before first use). */
struct pd_timer {
	struct pd_event_loop *loop;
	uint64_t due;
	uint64_t seq;		/* FIFO order among equal due times */
	size_t slot;		/* index in the heap while active */
	bool active;
	pd_timer_cb *cb;
	void *ctx;
};

struct pd_event_loop *pd_event_loop_new(void);
void pd_event_loop_free(struct pd_event_loop **loop);
/* Run until pd_event_loop_stop or nothing is left to wait for. */
void pd_event_loop_run(struct pd_event_loop *loop);
void pd_event_loop_stop(struct pd_event_loop *loop);
/* Monotonic milliseconds, refreshed once per loop iteration. */
uint64_t pd_event_now_ms(struct pd_event_loop *loop);

/* Watch fd (it is not closed by pd_event_io_remove); starts with no interest. */
struct pd_event_io *pd_event_io_add(struct pd_event_loop *loop, int fd,
				    pd_event_io_cb *cb, void *ctx);
/* Set the interest: PD_EVENT_READ | PD_EVENT_WRITE, or 0. */
void pd_event_io_want(struct pd_event_io *io, unsigned events);
void pd_event_io_remove(struct pd_event_io **io);

/* (Re)arm t to call cb once, msecs from now (0: on the next iteration). */
void pd_timer_start(struct pd_event_loop *loop, struct pd_timer *t,
		    uint64_t msecs, pd_timer_cb *cb, void *ctx);
/* Disarm t if it is pending; safe on an idle or zeroed timer. */
void pd_timer_stop(struct pd_timer *t);

#endif
