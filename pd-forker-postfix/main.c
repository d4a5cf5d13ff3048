/* SPDX-License-Identifier: MIT */
/*
 * pd-forker-postfix - pd as a Postfix master.cf service:
 *   127.0.0.1:imap inet n - n - 100 pd-forker-postfix -c /etc/pd/pd.conf -p imap
 * The master's child accepts on the listening fd(s), says TAKEN, forks the
 * session process (which runs the pd-core session as under inetd and
 * becomes the mail server), waits for it, says AVAIL, and exits 0 after
 * max_use sessions, after max_idle seconds idle, or when master closes the
 * status fd (postfix reload / stop).  A client's or a backend's failure
 * never makes it exit non-zero, so master never throttles the service.
 */
#include "pd-auth/auth.h"
#include "pd-core/forker.h"
#include "pd-core/log.h"
#include "pd-forker-postfix/master.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static const struct pd_forker forker = {
	.name = "pd-forker-postfix",
	.kind = PD_FORKER_INET,
	.auth_open = pd_auth_client_open,
};

/* The session process: nothing of master's may reach the mail server. */
static void
serve_child(struct pd_forker_ctx *ctx, const struct pd_master_args *a, int cfd)
{
	unsigned i;

	close(PD_MASTER_STATUS_FD);
	close(3);
	close(4);
	for (i = 0; i < a->nlisten; i++)
		close(PD_MASTER_LISTEN_FD + (int)i);
	signal(SIGTERM, SIG_DFL);
	_exit(pd_forker_serve(ctx, cfd, cfd, true));
}

/* Accept one connection from whichever listener is ready; -1 if none. */
static int
accept_one(const struct pollfd *pfd, unsigned n)
{
	unsigned i;
	int fd;

	for (i = 0; i < n; i++) {
		if (!(pfd[i].revents & POLLIN))
			continue;
		fd = accept4(pfd[i].fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0)
			return fd;
		/* EAGAIN: another child took it; the rest are transient. */
	}
	return -1;
}

int
main(int argc, char **argv)
{
	struct pd_master_args a;
	struct pd_forker_ctx ctx;
	struct pollfd pfd[PD_MASTER_LISTEN_MAX + 1];
	struct pd_err err;
	unsigned gen = 0, i, n;
	unsigned long uses = 0;
	int cfd, status, timeout;
	pid_t pid;

	pd_log_open("syslog", forker.name);
	pd_err_clear(&err);
	if (pd_master_parse_args(argc, argv, &a, &err) < 0 ||
	    pd_master_generation(&gen, &err) < 0)
		pd_fatal(PD_EXIT_CONFIG, "%s", err.msg);
	if (a.unpriv || a.chroot)
		pd_fatal(PD_EXIT_CONFIG, "service %s: set the unpriv and chroot "
			 "columns of master.cf to n: pd starts mail servers as "
			 "their users and needs root and the real file system",
			 a.service);
	if (pd_forker_setup(&forker, &a.opts, false, &ctx) > 0)
		return 0;
	if (a.verbose)
		pd_log_set_debug(true);
	/* Postfix: max_idle 0 means no limit. */
	timeout = a.max_idle == 0 ? -1
		: a.max_idle > (unsigned long)INT_MAX / 1000 ? INT_MAX
		: (int)(a.max_idle * 1000);
	n = a.nlisten;
	for (i = 0; i < n; i++) {
		pfd[i].fd = PD_MASTER_LISTEN_FD + (int)i;
		pfd[i].events = POLLIN;
	}
	/* Master closing its end of the status fd means reload or stop. */
	pfd[n].fd = PD_MASTER_STATUS_FD;
	pfd[n].events = POLLIN;
	pd_log_debug("service %s ready: %u listener(s), max_use=%lu max_idle=%lu",
		     a.service, n, a.max_use, a.max_idle);
	for (;;) {
		int r = poll(pfd, n + 1, timeout);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			pd_fatal(PD_EXIT_TEMP, "poll: %s", strerror(errno));
		if (r == 0)
			break;		/* max_idle */
		if (pfd[n].revents != 0)
			break;		/* master went away */
		if ((cfd = accept_one(pfd, n)) < 0) {
			for (i = 0; i < n; i++)
				if (pfd[i].revents & (POLLNVAL | POLLERR))
					pd_fatal(0, "service %s: listening fd %d is "
						 "not usable", a.service, pfd[i].fd);
			/* EMFILE and friends: do not spin. */
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != ECONNABORTED && errno != EINTR)
				(void)poll(NULL, 0, 100);
			continue;
		}
		if (pd_master_notify(gen, 0) < 0)
			pd_log_warn("service %s: status fd: %s", a.service,
				    strerror(errno));
		if ((pid = fork()) < 0) {
			pd_log_error("service %s: fork: %s", a.service, strerror(errno));
			close(cfd);
		} else if (pid == 0) {
			serve_child(&ctx, &a, cfd);
		} else {
			close(cfd);
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
		}
		(void)pd_master_notify(gen, 1);
		if (a.max_use > 0 && ++uses >= a.max_use)
			break;
	}
	pd_forker_cleanup(&ctx);
	return 0;
}
