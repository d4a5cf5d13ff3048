/* SPDX-License-Identifier: MIT */
/*
 * event.c - epoll and a timer heap.  Removing an io or timer from inside a
 * callback is safe: removed ios are parked until the iteration ends, and a
 * timer is out of the heap before its callback runs, so the callback may
 * re-arm it.  Timers are embedded in their owners; the loop never frees one.
 */
#include "pd-core/event.h"
#include "pd-core/log.h"
#include "pd-core/mem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#define EVENT_BATCH 64

struct pd_event_io {
	struct pd_event_loop *loop;
	int fd;
	unsigned want;
	bool registered;	/* in the epoll set (only while want != 0) */
	bool always_ready;	/* epoll refused the fd (regular file) */
	bool dead;
	pd_event_io_cb *cb;
	void *ctx;
	struct pd_event_io *next;	/* all ios, or the dead list */
};

struct pd_event_loop {
	int epfd;
	bool stop;
	uint64_t now;
	uint64_t seq;
	struct pd_event_io *ios;
	struct pd_event_io *dead;
	size_t nios;
	struct pd_timer **heap;
	size_t nheap, capheap;
};

static uint64_t
event_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct pd_event_loop *
pd_event_loop_new(void)
{
	struct pd_event_loop *loop = pd_xcalloc(1, sizeof(*loop));

	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0)
		pd_fatal(PD_EXIT_TEMP, "epoll_create1: %s", strerror(errno));
	loop->now = event_clock();
	return loop;
}

static void
event_reap(struct pd_event_loop *loop)
{
	while (loop->dead != NULL) {
		struct pd_event_io *io = loop->dead;

		loop->dead = io->next;
		free(io);
	}
}

void
pd_event_loop_free(struct pd_event_loop **loopp)
{
	struct pd_event_loop *loop = *loopp;
	size_t i;

	if (loop == NULL)
		return;
	while (loop->ios != NULL) {
		struct pd_event_io *io = loop->ios;

		pd_event_io_remove(&io);
	}
	event_reap(loop);
	for (i = 0; i < loop->nheap; i++)
		loop->heap[i]->active = false;
	free(loop->heap);
	close(loop->epfd);
	free(loop);
	*loopp = NULL;
}

uint64_t
pd_event_now_ms(struct pd_event_loop *loop)
{
	return loop->now;
}

void
pd_event_loop_stop(struct pd_event_loop *loop)
{
	loop->stop = true;
}

struct pd_event_io *
pd_event_io_add(struct pd_event_loop *loop, int fd, pd_event_io_cb *cb,
		void *ctx)
{
	struct pd_event_io *io = pd_xcalloc(1, sizeof(*io));
	struct epoll_event ev;

	io->loop = loop;
	io->fd = fd;
	io->cb = cb;
	io->ctx = ctx;
	/* Probe once whether epoll takes this fd at all. */
	memset(&ev, 0, sizeof(ev));
	ev.data.ptr = io;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		if (errno != EPERM)
			pd_panic("epoll_ctl add fd %d: %s", fd, strerror(errno));
		io->always_ready = true;
	} else {
		/* Not kept while idle: epoll reports HUP/ERR even with no
		 * interest, which would spin the loop. */
		(void)epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
	}
	io->next = loop->ios;
	loop->ios = io;
	loop->nios++;
	return io;
}

void
pd_event_io_want(struct pd_event_io *io, unsigned events)
{
	struct epoll_event ev;

	if (io->want == events)
		return;
	io->want = events;
	if (io->always_ready)
		return;
	if (events == 0) {
		if (io->registered &&
		    epoll_ctl(io->loop->epfd, EPOLL_CTL_DEL, io->fd, NULL) < 0)
			pd_panic("epoll_ctl del fd %d: %s", io->fd, strerror(errno));
		io->registered = false;
		return;
	}
	memset(&ev, 0, sizeof(ev));
	ev.data.ptr = io;
	if (events & PD_EVENT_READ)
		ev.events |= EPOLLIN;
	if (events & PD_EVENT_WRITE)
		ev.events |= EPOLLOUT;
	if (epoll_ctl(io->loop->epfd, io->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD,
		      io->fd, &ev) < 0)
		pd_panic("epoll_ctl fd %d: %s", io->fd, strerror(errno));
	io->registered = true;
}

void
pd_event_io_remove(struct pd_event_io **iop)
{
	struct pd_event_io *io = *iop, **pp;
	struct pd_event_loop *loop;

	if (io == NULL)
		return;
	*iop = NULL;
	loop = io->loop;
	if (io->registered)
		(void)epoll_ctl(loop->epfd, EPOLL_CTL_DEL, io->fd, NULL);
	for (pp = &loop->ios; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == io) {
			*pp = io->next;
			break;
		}
	}
	loop->nios--;
	io->dead = true;
	io->next = loop->dead;
	loop->dead = io;
}

/* Heap order: earlier due first, then insertion order. */
static bool
timer_before(const struct pd_timer *a, const struct pd_timer *b)
{
	return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static void
heap_swap(struct pd_event_loop *loop, size_t i, size_t j)
{
	struct pd_timer *t = loop->heap[i];

	loop->heap[i] = loop->heap[j];
	loop->heap[j] = t;
	loop->heap[i]->slot = i;
	loop->heap[j]->slot = j;
}

static void
heap_up(struct pd_event_loop *loop, size_t i)
{
	while (i > 0 && timer_before(loop->heap[i], loop->heap[(i - 1) / 2])) {
		heap_swap(loop, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void
heap_down(struct pd_event_loop *loop, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < loop->nheap && timer_before(loop->heap[l], loop->heap[m]))
			m = l;
		if (r < loop->nheap && timer_before(loop->heap[r], loop->heap[m]))
			m = r;
		if (m == i)
			return;
		heap_swap(loop, i, m);
		i = m;
	}
}

static void
heap_remove(struct pd_event_loop *loop, struct pd_timer *t)
{
	size_t i = t->slot;

	loop->nheap--;
	if (i != loop->nheap) {
		heap_swap(loop, i, loop->nheap);
		heap_down(loop, i);
		heap_up(loop, i);
	}
}

void
pd_timer_start(struct pd_event_loop *loop, struct pd_timer *t, uint64_t msecs,
	       pd_timer_cb *cb, void *ctx)
{
	pd_timer_stop(t);
	t->loop = loop;
	t->due = event_clock() + msecs;
	t->seq = loop->seq++;
	t->cb = cb;
	t->ctx = ctx;
	if (loop->nheap == loop->capheap) {
		loop->capheap = loop->capheap == 0 ? 16 : loop->capheap * 2;
		loop->heap = pd_xreallocarray(loop->heap, loop->capheap,
					      sizeof(*loop->heap));
	}
	t->slot = loop->nheap;
	t->active = true;
	loop->heap[loop->nheap++] = t;
	heap_up(loop, t->slot);
}

void
pd_timer_stop(struct pd_timer *t)
{
	if (!t->active)
		return;
	heap_remove(t->loop, t);
	t->active = false;
}

static void
event_run_timers(struct pd_event_loop *loop)
{
	/* Only timers already due when we start: a callback adding a 0 ms
	 * timer does not starve the fds. */
	uint64_t now = loop->now;
	uint64_t seq_limit = loop->seq;

	while (loop->nheap > 0 && loop->heap[0]->due <= now &&
	       loop->heap[0]->seq < seq_limit && !loop->stop) {
		struct pd_timer *t = loop->heap[0];

		heap_remove(loop, t);
		t->active = false;
		t->cb(t->ctx);
	}
}

static bool
event_any_always_ready(struct pd_event_loop *loop)
{
	struct pd_event_io *io;

	for (io = loop->ios; io != NULL; io = io->next)
		if (io->always_ready && io->want != 0)
			return true;
	return false;
}

void
pd_event_loop_run(struct pd_event_loop *loop)
{
	struct epoll_event evs[EVENT_BATCH];

	loop->stop = false;
	while (!loop->stop && (loop->nios > 0 || loop->nheap > 0)) {
		int timeout = -1, n, i;
		struct pd_event_io *io, *next;

		loop->now = event_clock();
		if (loop->nheap > 0) {
			uint64_t due = loop->heap[0]->due;

			timeout = due <= loop->now ? 0 : (int)(due - loop->now);
		}
		if (event_any_always_ready(loop))
			timeout = 0;
		n = epoll_wait(loop->epfd, evs, EVENT_BATCH, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			pd_panic("epoll_wait: %s", strerror(errno));
		}
		loop->now = event_clock();
		for (i = 0; i < n && !loop->stop; i++) {
			unsigned e = 0;

			io = evs[i].data.ptr;
			if (io->dead)
				continue;
			if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
				e |= PD_EVENT_READ;
			if (evs[i].events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
				e |= PD_EVENT_WRITE;
			/* A hangup or error wakes whatever the io waits for. */
			e &= io->want;
			if (e != 0)
				io->cb(io->ctx, e);
		}
		for (io = loop->ios; io != NULL && !loop->stop; io = next) {
			next = io->next;
			if (io->always_ready && io->want != 0 && !io->dead)
				io->cb(io->ctx, io->want);
			if (next != NULL && next->dead)
				break;
		}
		if (!loop->stop)
			event_run_timers(loop);
		event_reap(loop);
	}
}
