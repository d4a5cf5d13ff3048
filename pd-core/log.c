/* SPDX-License-Identifier: MIT */
/*
 * log.c - the log sink (syslog, stderr or a file) and pd_log_quote for client
 * text.  A write error to the sink is ignored: logging never ends a session.
 */
#include "pd-core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <grp.h>
#include <sys/prctl.h>
#include <unistd.h>

enum sink { SINK_STDERR, SINK_SYSLOG, SINK_FILE };

static enum sink log_sink = SINK_STDERR;
static int log_file_fd = -1;
static bool log_debug;
static char log_ident[32] = "pd";

int
pd_log_open(const char *target, const char *ident)
{
	int fd;

	if (ident != NULL)
		snprintf(log_ident, sizeof(log_ident), "%s", ident);
	if (log_sink == SINK_SYSLOG)
		closelog();
	if (log_file_fd >= 0) {
		close(log_file_fd);
		log_file_fd = -1;
	}
	log_sink = SINK_STDERR;
	if (strcmp(target, "syslog") == 0) {
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
		log_sink = SINK_SYSLOG;
	} else if (target[0] == '/') {
		fd = open(target, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
		if (fd < 0)
			return -1;
		log_file_fd = fd;
		log_sink = SINK_FILE;
	}
	return 0;
}

void
pd_log_set_debug(bool on)
{
	log_debug = on;
}

int
pd_log_fd(void)
{
	/* Only a terminal-style stderr is handed over as it is. */
	return log_sink == SINK_STDERR ? STDERR_FILENO : -1;
}

int
pd_log_spawn_reader(const char *tag)
{
	int p[2];
	pid_t pid;
	FILE *fp;
	char line[1024];

	if (pipe(p) < 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid > 0) {
		close(p[0]);
		return p[1];
	}
	/* Reader: lives until the mail server closes its stderr.  It must hold
	 * no other fd (the client socket least of all, or the client would
	 * not see the server's close) but the pipe and the log sink, and no
	 * privilege: the server's bytes are the user's, so they go through
	 * pd_log (one sanitised line each), never straight into the sink. */
	{
		int keep = log_sink == SINK_FILE ? log_file_fd : -1;
		int fd;

		for (fd = 0; fd < 1024; fd++)
			if (fd != p[0] && fd != keep)
				close(fd);
		close_range(1024, ~0U, 0);
	}
	signal(SIGPIPE, SIG_IGN);
	if (log_sink == SINK_SYSLOG) {
		closelog();
		openlog(tag, LOG_PID | LOG_NDELAY, LOG_MAIL);
	}
	if (getuid() == 0) {
		gid_t nogroup = 65534;

		if (setgroups(1, &nogroup) < 0 || setresgid(65534, 65534, 65534) < 0 ||
		    setresuid(65534, 65534, 65534) < 0)
			_exit(0);
	}
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	if ((fp = fdopen(p[0], "r")) == NULL)
		_exit(0);
	while (fgets(line, sizeof(line), fp) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (log_sink == SINK_SYSLOG)
			pd_log_info("%s", line);
		else
			pd_log_info("%s: %s", tag, line);
	}
	_exit(0);
}

static void
log_vwrite(enum pd_log_level level, const char *fmt, va_list ap)
{
	static const int prio[] = { LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR };
	static const char *const name[] = { "debug", "info", "warning", "error" };
	char msg[2048], line[2200], stamp[32];
	unsigned char *p;
	struct tm tm;
	time_t now;
	int n;
	int e = errno;

	if (level == PD_LOG_DEBUG && !log_debug)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* One event, one line: whatever a client, a database or a backend
	 * put into the text, no control byte can forge another line. */
	for (p = (unsigned char *)msg; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			*p = '?';
	if (log_sink == SINK_SYSLOG) {
		syslog(prio[level], "%s", msg);
		errno = e;
		return;
	}
	now = time(NULL);
	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line, sizeof(line), "%s %s[%ld]: %s: %s\n", stamp,
		     log_ident, (long)getpid(), name[level], msg);
	if (n > (int)sizeof(line) - 1)
		n = (int)sizeof(line) - 1;
	if (write(log_sink == SINK_FILE ? log_file_fd : STDERR_FILENO, line,
		  (size_t)n) < 0) {
		/* nowhere left to report it */
	}
	errno = e;
}

void
pd_log(enum pd_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(level, fmt, ap);
	va_end(ap);
}

void
pd_fatal(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(PD_LOG_ERROR, fmt, ap);
	va_end(ap);
	/* A startup error also goes to stderr when the sink is elsewhere. */
	if (log_sink != SINK_STDERR && isatty(STDERR_FILENO)) {
		va_start(ap, fmt);
		fprintf(stderr, "%s: fatal: ", log_ident);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
		va_end(ap);
	}
	exit(code);
}

void
pd_panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(PD_LOG_ERROR, fmt, ap);
	va_end(ap);
	abort();
}

char *
pd_log_quote(char *dst, size_t dstsz, const void *src, size_t srclen,
	     size_t max)
{
	const unsigned char *s = src;
	size_t i, o = 0;
	bool cut = false;

	if (dstsz == 0)
		return dst;
	if (srclen > max) {
		srclen = max;
		cut = true;
	}
	for (i = 0; i < srclen && o + 1 < dstsz; i++) {
		unsigned char c = s[i];

		dst[o++] = (c < 0x20 || c == 0x7f || c == '"' || c == '\\')
			? '?' : (char)c;
	}
	if (i < srclen)
		cut = true;
	if (cut) {
		if (o + 4 > dstsz)
			o = dstsz > 4 ? dstsz - 4 : 0;
		memcpy(dst + o, "...", dstsz - o > 3 ? 3 : dstsz - o - 1);
		o += dstsz - o > 3 ? 3 : dstsz - o - 1;
	}
	dst[o] = '\0';
	return dst;
}
