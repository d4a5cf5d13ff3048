/* SPDX-License-Identifier: MIT */
/*
 * test_event.c - unit tests of the event loop (pd-core/event.c): timer
 * order, stop and re-arm (also from callbacks), the heap under many timers,
 * io on pipes and on a regular file, removal inside callbacks and
 * pd_event_loop_stop.  Timers are short (at most ~50 ms) so the binary runs
 * in well under a second.  Failures are TAP "not ok" lines.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "pd-core/event.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

/*
 * Count the loop's epoll_wait calls: this definition in the executable is
 * the one event.c links to.  epoll_pwait with no mask is the same call.
 */
static unsigned long epoll_wait_calls;

int
epoll_wait(int epfd, struct epoll_event *evs, int maxevents, int timeout)
{
	epoll_wait_calls++;
	return epoll_pwait(epfd, evs, maxevents, timeout, NULL);
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- timer order ---- */

#define TIMERS_MAX 8

struct order_case {
	const char *name;
	size_t n;
	uint64_t msecs[TIMERS_MAX];
	unsigned stop_mask;	/* bit i: pd_timer_stop timer i before running */
	const char *want;	/* indices in firing order */
};

static const struct order_case order_cases[] = {
	{ "timers 30/10/20 ms fire in due order", 3, { 30, 10, 20 }, 0,
	  "1 2 0" },
	{ "equal due times fire in start order", 4, { 5, 5, 5, 5 }, 0,
	  "0 1 2 3" },
	{ "0 ms timers fire first, in start order", 3, { 0, 15, 0 }, 0,
	  "0 2 1" },
	{ "mixed delays", 7, { 25, 5, 15, 5, 0, 35, 10 }, 0, "4 1 3 6 2 0 5" },
	{ "stopped timers never fire", 4, { 10, 20, 30, 40 }, 0x5, "1 3" },
	{ "stopping the earliest timer", 3, { 20, 5, 10 }, 0x2, "2 0" },
	{ "all timers stopped: run returns at once", 2, { 10, 20 }, 0x3, "" },
};

struct fired {
	struct pd_event_loop *loop;
	char order[64];
	uint64_t at[TIMERS_MAX];	/* pd_event_now_ms when it fired */
	unsigned count[TIMERS_MAX];
};

struct timer_ctx {
	struct fired *f;
	size_t i;
};

static void
on_order_timer(void *ctx)
{
	struct timer_ctx *tc = ctx;
	struct fired *f = tc->f;
	size_t n = strlen(f->order);

	snprintf(f->order + n, sizeof(f->order) - n, "%s%zu", n > 0 ? " " : "",
		 tc->i);
	f->at[tc->i] = pd_event_now_ms(f->loop);
	f->count[tc->i]++;
}

static void
test_order(void **state)
{
	const struct order_case *c = *state;
	struct pd_timer t[TIMERS_MAX];
	struct timer_ctx tc[TIMERS_MAX];
	struct fired f;
	uint64_t start, elapsed;
	size_t i;

	memset(t, 0, sizeof(t));
	memset(&f, 0, sizeof(f));
	f.loop = pd_event_loop_new();
	start = now_ms();
	for (i = 0; i < c->n; i++) {
		tc[i].f = &f;
		tc[i].i = i;
		pd_timer_start(f.loop, &t[i], c->msecs[i], on_order_timer, &tc[i]);
		assert_true(t[i].active);
	}
	for (i = 0; i < c->n; i++) {
		if (c->stop_mask & (1u << i)) {
			pd_timer_stop(&t[i]);
			assert_false(t[i].active);
		}
	}
	pd_event_loop_run(f.loop);
	elapsed = now_ms() - start;
	pd_event_loop_free(&f.loop);
	assert_null(f.loop);
	assert_string_equal(f.order, c->want);
	for (i = 0; i < c->n; i++) {
		bool stopped = (c->stop_mask & (1u << i)) != 0;

		assert_false(t[i].active);
		assert_int_equal(f.count[i], stopped ? 0 : 1);
		/* never early: due is measured from before pd_timer_start */
		if (!stopped && f.at[i] < start + c->msecs[i])
			fail_msg("timer %zu (%ju ms) fired after %ju ms", i,
				 (uintmax_t)c->msecs[i], (uintmax_t)(f.at[i] - start));
	}
	if (c->stop_mask == (1u << c->n) - 1)
		assert_true(elapsed < 5);
}

/* ---- re-arm and stop from callbacks ---- */

struct rearm {
	struct pd_event_loop *loop;
	struct pd_timer t;
	unsigned fired;
	uint64_t last;
};

static void
on_rearm(void *ctx)
{
	struct rearm *r = ctx;

	r->fired++;
	r->last = pd_event_now_ms(r->loop);
	/* the timer is out of the heap while its callback runs */
	assert_false(r->t.active);
	if (r->fired < 3)
		pd_timer_start(r->loop, &r->t, 10, on_rearm, r);
}

static void
test_rearm_in_callback(void **state)
{
	struct rearm r;
	uint64_t start;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.loop = pd_event_loop_new();
	start = now_ms();
	pd_timer_start(r.loop, &r.t, 10, on_rearm, &r);
	pd_event_loop_run(r.loop);
	pd_event_loop_free(&r.loop);
	assert_int_equal(r.fired, 3);
	assert_false(r.t.active);
	assert_true(r.last >= start + 30);
}

/* A 0 ms timer re-armed from its own callback waits for the next turn. */
struct spin {
	struct pd_event_loop *loop;
	struct pd_timer t, stop;
	unsigned fired;
};

static void
on_spin(void *ctx)
{
	struct spin *s = ctx;

	s->fired++;
	pd_timer_start(s->loop, &s->t, 0, on_spin, s);
}

static void
on_spin_stop(void *ctx)
{
	struct spin *s = ctx;

	pd_timer_stop(&s->t);
}

static void
test_zero_rearm_no_starvation(void **state)
{
	struct spin s;
	unsigned long calls;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.loop = pd_event_loop_new();
	pd_timer_start(s.loop, &s.t, 0, on_spin, &s);
	pd_timer_start(s.loop, &s.stop, 20, on_spin_stop, &s);
	calls = epoll_wait_calls;
	pd_event_loop_run(s.loop);
	calls = epoll_wait_calls - calls;
	pd_event_loop_free(&s.loop);
	/* one firing per loop iteration, not a loop inside the timer pass */
	assert_true(s.fired >= 1);
	assert_true(s.fired <= calls);
	assert_false(s.t.active);
}

struct stopper {
	struct pd_timer a, b;
	unsigned a_fired, b_fired;
};

static void
on_a_stops_b(void *ctx)
{
	struct stopper *s = ctx;

	s->a_fired++;
	pd_timer_stop(&s->b);
}

static void
on_b(void *ctx)
{
	struct stopper *s = ctx;

	s->b_fired++;
}

static void
test_stop_from_callback(void **state)
{
	struct pd_event_loop *loop = pd_event_loop_new();
	struct stopper s;

	(void)state;
	memset(&s, 0, sizeof(s));
	pd_timer_start(loop, &s.a, 5, on_a_stops_b, &s);
	pd_timer_start(loop, &s.b, 15, on_b, &s);
	pd_event_loop_run(loop);
	pd_event_loop_free(&loop);
	assert_int_equal(s.a_fired, 1);
	assert_int_equal(s.b_fired, 0);
	assert_false(s.b.active);
}

/* Stopping an idle, zeroed or already stopped timer is harmless. */
static void
test_stop_idle(void **state)
{
	struct pd_event_loop *loop = pd_event_loop_new();
	struct pd_timer t, u;
	struct stopper s;

	(void)state;
	memset(&t, 0, sizeof(t));
	memset(&s, 0, sizeof(s));
	pd_timer_stop(&t);
	pd_timer_start(loop, &t, 10, on_b, &s);
	pd_timer_stop(&t);
	pd_timer_stop(&t);
	assert_false(t.active);
	/* restarting an active timer moves it: u (20 ms) then t (40 ms) */
	memset(&u, 0, sizeof(u));
	pd_timer_start(loop, &t, 5, on_b, &s);
	pd_timer_start(loop, &u, 20, on_a_stops_b, &s);
	pd_timer_start(loop, &t, 40, on_b, &s);
	pd_event_loop_run(loop);
	pd_event_loop_free(&loop);
	/* u stopped s.b, which is not armed: only t counted */
	assert_int_equal(s.a_fired, 1);
	assert_int_equal(s.b_fired, 1);
}

/* Freeing the loop leaves pending timers inactive. */
static void
test_free_with_pending_timer(void **state)
{
	struct pd_event_loop *loop = pd_event_loop_new();
	struct pd_timer t;
	struct stopper s;

	(void)state;
	memset(&t, 0, sizeof(t));
	memset(&s, 0, sizeof(s));
	pd_timer_start(loop, &t, 10000, on_b, &s);
	pd_event_loop_free(&loop);
	assert_null(loop);
	assert_false(t.active);
	pd_timer_stop(&t);
	pd_event_loop_free(&loop);
}

/* ---- many timers: the heap keeps (due, start order) ---- */

#define MANY 100

struct many {
	struct pd_timer t[MANY];
	size_t order[MANY];
	size_t n;
	uint64_t due[MANY], seq[MANY];
};

struct many_ctx {
	struct many *m;
	size_t i;
};

static void
on_many(void *ctx)
{
	struct many_ctx *mc = ctx;
	struct many *m = mc->m;

	m->due[m->n] = m->t[mc->i].due;
	m->seq[m->n] = m->t[mc->i].seq;
	m->order[m->n++] = mc->i;
}

static void
test_many_timers(void **state)
{
	static struct many m;
	static struct many_ctx mc[MANY];
	struct pd_event_loop *loop = pd_event_loop_new();
	unsigned seed = 12345;
	size_t i, stopped = 0;

	(void)state;
	memset(&m, 0, sizeof(m));
	for (i = 0; i < MANY; i++) {
		seed = seed * 1103515245u + 12345u;
		mc[i].m = &m;
		mc[i].i = i;
		pd_timer_start(loop, &m.t[i], (seed >> 16) % 31, on_many, &mc[i]);
	}
	for (i = 0; i < MANY; i += 3) {
		pd_timer_stop(&m.t[i]);
		stopped++;
	}
	pd_event_loop_run(loop);
	pd_event_loop_free(&loop);
	assert_int_equal(m.n, MANY - stopped);
	for (i = 0; i < m.n; i++) {
		assert_true(m.order[i] % 3 != 0);
		if (i > 0 && (m.due[i] < m.due[i - 1] ||
			      (m.due[i] == m.due[i - 1] && m.seq[i] < m.seq[i - 1])))
			fail_msg("timer %zu fired out of order", m.order[i]);
	}
}

/* ---- io ---- */

struct pipe_io {
	struct pd_event_loop *loop;
	struct pd_event_io *io;
	struct pd_timer t;
	int fds[2];
	unsigned calls, events;
	char got[8];
	ssize_t nread;
};

static void
on_pipe_read(void *ctx, unsigned events)
{
	struct pipe_io *p = ctx;

	p->calls++;
	p->events |= events;
	p->nread = read(p->fds[0], p->got, sizeof(p->got));
	pd_event_io_remove(&p->io);
	assert_null(p->io);
}

static void
on_write_later(void *ctx)
{
	struct pipe_io *p = ctx;

	assert_int_equal(write(p->fds[1], "x", 1), 1);
}

static void
test_io_pipe_read(void **state)
{
	struct pipe_io p;

	(void)state;
	memset(&p, 0, sizeof(p));
	assert_int_equal(pipe(p.fds), 0);
	p.loop = pd_event_loop_new();
	p.io = pd_event_io_add(p.loop, p.fds[0], on_pipe_read, &p);
	pd_event_io_want(p.io, PD_EVENT_READ);
	pd_timer_start(p.loop, &p.t, 10, on_write_later, &p);
	/* returns once the io is removed and no timer is left */
	pd_event_loop_run(p.loop);
	pd_event_loop_free(&p.loop);
	close(p.fds[0]);
	close(p.fds[1]);
	assert_int_equal(p.calls, 1);
	assert_int_equal(p.events, PD_EVENT_READ);
	assert_int_equal(p.nread, 1);
	assert_int_equal(p.got[0], 'x');
}

static void
on_pipe_write(void *ctx, unsigned events)
{
	struct pipe_io *p = ctx;

	p->calls++;
	p->events |= events;
	pd_event_io_want(p->io, 0);
	pd_event_io_remove(&p->io);
}

static void
test_io_pipe_write(void **state)
{
	struct pipe_io p;

	(void)state;
	memset(&p, 0, sizeof(p));
	assert_int_equal(pipe(p.fds), 0);
	p.loop = pd_event_loop_new();
	p.io = pd_event_io_add(p.loop, p.fds[1], on_pipe_write, &p);
	pd_event_io_want(p.io, PD_EVENT_READ | PD_EVENT_WRITE);
	pd_event_loop_run(p.loop);
	pd_event_loop_free(&p.loop);
	close(p.fds[0]);
	close(p.fds[1]);
	assert_int_equal(p.calls, 1);
	/* an empty pipe is writable, the write end is never readable */
	assert_int_equal(p.events, PD_EVENT_WRITE);
}

static void
on_count(void *ctx, unsigned events)
{
	unsigned *n = ctx;

	(void)events;
	(*n)++;
}

static void
on_stop_loop(void *ctx)
{
	pd_event_loop_stop(ctx);
}

/* No interest, no callback, even with bytes waiting. */
static void
test_io_no_interest(void **state)
{
	struct pd_event_loop *loop = pd_event_loop_new();
	struct pd_event_io *io;
	struct pd_timer t;
	unsigned n = 0;
	int fds[2];

	(void)state;
	memset(&t, 0, sizeof(t));
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(write(fds[1], "x", 1), 1);
	io = pd_event_io_add(loop, fds[0], on_count, &n);
	pd_event_io_want(io, PD_EVENT_READ);
	pd_event_io_want(io, 0);
	pd_timer_start(loop, &t, 20, on_stop_loop, loop);
	pd_event_loop_run(loop);
	pd_event_io_remove(&io);
	pd_event_loop_free(&loop);
	close(fds[0]);
	close(fds[1]);
	assert_int_equal(n, 0);
}

/* Two ready ios; whichever runs first removes both: the other must not run. */
struct pair {
	struct pd_event_io *io[2];
	unsigned calls;
};

static void
on_remove_both(void *ctx, unsigned events)
{
	struct pair *p = ctx;

	(void)events;
	p->calls++;
	pd_event_io_remove(&p->io[0]);
	pd_event_io_remove(&p->io[1]);
}

static void
test_io_remove_other_in_callback(void **state)
{
	struct pd_event_loop *loop = pd_event_loop_new();
	struct pair p;
	int a[2], b[2];

	(void)state;
	memset(&p, 0, sizeof(p));
	assert_int_equal(pipe(a), 0);
	assert_int_equal(pipe(b), 0);
	assert_int_equal(write(a[1], "x", 1), 1);
	assert_int_equal(write(b[1], "y", 1), 1);
	p.io[0] = pd_event_io_add(loop, a[0], on_remove_both, &p);
	p.io[1] = pd_event_io_add(loop, b[0], on_remove_both, &p);
	pd_event_io_want(p.io[0], PD_EVENT_READ);
	pd_event_io_want(p.io[1], PD_EVENT_READ);
	pd_event_loop_run(loop);
	pd_event_loop_free(&loop);
	close(a[0]);
	close(a[1]);
	close(b[0]);
	close(b[1]);
	assert_int_equal(p.calls, 1);
}

/* epoll refuses a regular file: it is treated as always ready. */
struct file_io {
	struct pd_event_io *io;
	unsigned calls, events;
};

static void
on_file(void *ctx, unsigned events)
{
	struct file_io *f = ctx;

	f->calls++;
	f->events |= events;
	pd_event_io_remove(&f->io);
}

static void
test_io_regular_file(void **state)
{
	struct pd_event_loop *loop = pd_event_loop_new();
	struct file_io f;
	FILE *fp = tmpfile();

	(void)state;
	memset(&f, 0, sizeof(f));
	assert_non_null(fp);
	f.io = pd_event_io_add(loop, fileno(fp), on_file, &f);
	pd_event_io_want(f.io, PD_EVENT_READ);
	pd_event_loop_run(loop);
	pd_event_loop_free(&loop);
	fclose(fp);
	assert_int_equal(f.calls, 1);
	assert_int_equal(f.events, PD_EVENT_READ);
}

/* ---- pd_event_loop_stop ---- */

static void
on_io_stop(void *ctx, unsigned events)
{
	struct pipe_io *p = ctx;

	(void)events;
	p->calls++;
	pd_event_loop_stop(p->loop);
}

static void
test_loop_stop(void **state)
{
	struct pipe_io p;
	struct pd_timer far, soon;
	struct stopper s;
	uint64_t start;

	(void)state;
	memset(&p, 0, sizeof(p));
	memset(&far, 0, sizeof(far));
	memset(&soon, 0, sizeof(soon));
	memset(&s, 0, sizeof(s));
	assert_int_equal(pipe(p.fds), 0);
	assert_int_equal(write(p.fds[1], "x", 1), 1);
	p.loop = pd_event_loop_new();
	p.io = pd_event_io_add(p.loop, p.fds[0], on_io_stop, &p);
	pd_event_io_want(p.io, PD_EVENT_READ);
	pd_timer_start(p.loop, &far, 10000, on_b, &s);
	start = now_ms();
	pd_event_loop_run(p.loop);
	/* stopped by the io callback, long before the 10 s timer */
	assert_true(now_ms() - start < 1000);
	assert_int_equal(p.calls, 1);
	assert_true(far.active);
	assert_int_equal(s.b_fired, 0);
	/* a later run starts afresh: it runs until stopped again */
	pd_event_io_want(p.io, 0);
	pd_timer_start(p.loop, &soon, 5, on_stop_loop, p.loop);
	pd_event_loop_run(p.loop);
	assert_false(soon.active);
	assert_true(far.active);
	pd_timer_stop(&far);
	pd_event_io_remove(&p.io);
	pd_event_loop_free(&p.loop);
	close(p.fds[0]);
	close(p.fds[1]);
}

/* A stop from a timer callback keeps later due timers for the next run. */
static void
test_loop_stop_from_timer(void **state)
{
	struct pd_event_loop *loop = pd_event_loop_new();
	struct pd_timer a, b;
	struct stopper s;

	(void)state;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	memset(&s, 0, sizeof(s));
	pd_timer_start(loop, &a, 0, on_stop_loop, loop);
	pd_timer_start(loop, &b, 0, on_b, &s);
	pd_event_loop_run(loop);
	assert_int_equal(s.b_fired, 0);
	assert_true(b.active);
	pd_event_loop_run(loop);
	assert_int_equal(s.b_fired, 1);
	pd_event_loop_free(&loop);
}

static void
test_now_ms(void **state)
{
	struct pd_event_loop *loop = pd_event_loop_new();
	struct pd_timer t;
	struct stopper s;
	uint64_t before = pd_event_now_ms(loop);

	(void)state;
	memset(&t, 0, sizeof(t));
	memset(&s, 0, sizeof(s));
	assert_true(before > 0);
	pd_timer_start(loop, &t, 20, on_b, &s);
	pd_event_loop_run(loop);
	assert_true(pd_event_now_ms(loop) >= before + 20);
	pd_event_loop_free(&loop);
}

/*
 * Was a bug (fixed): an io whose interest is 0 still gets EPOLLHUP/EPOLLERR from epoll
 * (they cannot be masked), which the loop neither delivers nor clears, so
 * epoll_wait returns at once forever: a busy loop until something else
 * happens (here a 50 ms timer; ~90000 epoll_wait calls were seen).
 */
static void
test_hangup_without_interest_no_spin(void **state)
{
	struct pd_event_loop *loop = pd_event_loop_new();
	struct pd_event_io *io;
	struct pd_timer t;
	unsigned n = 0;
	unsigned long calls;
	int fds[2];

	(void)state;
	memset(&t, 0, sizeof(t));
	assert_int_equal(pipe(fds), 0);
	close(fds[1]);		/* the read end now reports EPOLLHUP */
	io = pd_event_io_add(loop, fds[0], on_count, &n);
	pd_timer_start(loop, &t, 50, on_stop_loop, loop);
	calls = epoll_wait_calls;
	pd_event_loop_run(loop);
	calls = epoll_wait_calls - calls;
	pd_event_io_remove(&io);
	pd_event_loop_free(&loop);
	close(fds[0]);
	if (calls > 20)
		fail_msg("%lu epoll_wait calls in 50 ms: the loop spins", calls);
}

#define N_TESTS (PD_N_ELEMENTS(order_cases) + 16)

int
main(void)
{
	static struct CMUnitTest tests[N_TESTS];
	static const struct CMUnitTest more[] = {
		cmocka_unit_test(test_rearm_in_callback),
		cmocka_unit_test(test_zero_rearm_no_starvation),
		cmocka_unit_test(test_stop_from_callback),
		cmocka_unit_test(test_stop_idle),
		cmocka_unit_test(test_free_with_pending_timer),
		cmocka_unit_test(test_many_timers),
		cmocka_unit_test(test_io_pipe_read),
		cmocka_unit_test(test_io_pipe_write),
		cmocka_unit_test(test_io_no_interest),
		cmocka_unit_test(test_io_remove_other_in_callback),
		cmocka_unit_test(test_io_regular_file),
		cmocka_unit_test(test_loop_stop),
		cmocka_unit_test(test_loop_stop_from_timer),
		cmocka_unit_test(test_now_ms),
		{ "fixed: hangup on an io without interest makes the loop spin",
		  test_hangup_without_interest_no_spin, NULL, NULL, NULL },
	};
	size_t i, n = 0;

	for (i = 0; i < PD_N_ELEMENTS(order_cases); i++) {
		tests[n].name = order_cases[i].name;
		tests[n].test_func = test_order;
		tests[n++].initial_state = (void *)&order_cases[i];
	}
	for (i = 0; i < PD_N_ELEMENTS(more) && n < N_TESTS; i++)
		tests[n++] = more[i];
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return _cmocka_run_group_tests("event", tests, n, NULL, NULL);
}
