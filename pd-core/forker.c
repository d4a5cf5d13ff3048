/* SPDX-License-Identifier: MIT */
/*
 * forker.c - the common body of pd-forker-stdio and pd-forker-inet: parse
 * argv, load pd.conf (-n prints it), set up logging, find the client's
 * address, open the auth client, run one session on the event loop, and
 * exec the backend on the client's fds when the login succeeds.  Startup
 * errors exit 78 (config) or 75 (temporary), before any client byte is read.
 */
#include "pd-core/forker.h"
#include "pd-core/dispatch.h"
#include "pd-core/event.h"
#include "pd-core/log.h"
#include "pd-core/session.h"
#include "pd-core/tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct forker_run {
	const struct pd_conf *conf;
	int rfd, wfd;
};

static void
forker_usage(const char *name, bool stdio)
{
	fprintf(stderr, "usage: %s -c FILE [-p imap|pop3] [--tls] [-d] [-n]%s\n",
		name, stdio ? " [--client-ip ADDR]" : "");
}

/* "ip" and "port" of a socket address; IPv4-mapped IPv6 shown as IPv4. */
static void
forker_addr(const struct sockaddr_storage *ss, char *ip, size_t iplen,
	    char *port, size_t portlen)
{
	snprintf(ip, iplen, "unknown");
	snprintf(port, portlen, "0");
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &in->sin_addr, ip, (socklen_t)iplen);
		snprintf(port, portlen, "%u", ntohs(in->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;

		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
			inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], ip,
				  (socklen_t)iplen);
		else
			inet_ntop(AF_INET6, &in6->sin6_addr, ip, (socklen_t)iplen);
		snprintf(port, portlen, "%u", ntohs(in6->sin6_port));
	}
}

/*
 * A plaintext client gets the mail server on its own fds: pd is gone.  A TLS
 * client keeps pd in the path: the server runs in a child on one end of a
 * socketpair and this process relays (REFERENCE §5).  So does a client
 * whose pipelined bytes the server has no way to take over (Courier).
 */
static int
forker_launch(void *ctx, struct pd_session *s, const struct pd_exec_plan *plan,
	      struct pd_err *err)
{
	struct forker_run *run = ctx;
	int sp[2];
	pid_t pid;

	if (!pd_session_is_tls(s) && plan->ninput == 0)
		return pd_exec_run(run->conf, plan, run->rfd, run->wfd, err);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
		return pd_err_sys(err, "socketpair");
	if ((pid = fork()) < 0) {
		close(sp[0]);
		close(sp[1]);
		return pd_err_sys(err, "fork");
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		close(sp[0]);
		/* The mail server never holds the client's (TLS) socket, not
		 * even before the exec: only the relay in the parent does. */
		if (null >= 0) {
			dup2(null, run->rfd);
			dup2(null, run->wfd);
			close(null);
		}
		(void)pd_exec_run(run->conf, plan, sp[1], sp[1], err);
		pd_log_error("%s dispatch-failed user=%s ip=%s backend=%s "
			     "session=%s: %s", pd_session_proto(s), plan->user,
			     pd_session_client_ip(s), plan->log_tag != NULL ? plan->log_tag : "?",
			     pd_session_id(s),
			     err->msg);
		_exit(PD_EXIT_TEMP);
	}
	close(sp[1]);
	/* The relay parses hostile TLS for hours: not as root. */
	if (pd_exec_drop_to(pd_conf_str(pd_conf_section(run->conf, "", NULL),
					"relay_user"), err) < 0) {
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		close(sp[0]);
		return -1;
	}
	return pd_session_relay(s, sp[0], pid, plan->input, plan->ninput);
}

static bool
forker_fd_is_socket(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

/* The client must hear something rather than see a silent close. */
static void
forker_refuse(int fd, const char *proto)
{
	const char *msg = strcmp(proto, "pop3") == 0
		? "-ERR [SYS/TEMP] Server configuration error.\r\n"
		: "* BYE [UNAVAILABLE] Server configuration error.\r\n";

	if (write(fd, msg, strlen(msg)) < 0) {
		/* nothing more to do */
	}
}

int
pd_forker_setup(const struct pd_forker *f, const struct pd_forker_opts *o,
		bool refuse_on_fd0, struct pd_forker_ctx *ctx)
{
	const struct pd_conf_section *top;
	const char *target;
	struct pd_err err;

	memset(ctx, 0, sizeof(*ctx));
	ctx->f = f;
	ctx->o = *o;
	pd_err_clear(&err);
	if (pd_conf_load(o->conf_path, &ctx->conf, &err) < 0 ||
	    /* TLS files are checked now, so -n finds a bad key or certificate. */
	    pd_tls_server_new(ctx->conf, &ctx->tls, &err) < 0 ||
	    pd_tls_policy_new(ctx->conf, &ctx->policy, &err) < 0 ||
	    pd_backend_check_all(ctx->conf, &err) < 0) {
		if (!o->print_conf && refuse_on_fd0) {
			pd_log_open("syslog", f->name);
			forker_refuse(0, o->proto);
		}
		pd_fatal(PD_EXIT_CONFIG, "%s", err.msg);
	}
	if (o->implicit_tls && ctx->tls == NULL)
		pd_fatal(PD_EXIT_CONFIG, "--tls: no [tls] cert in %s", o->conf_path);
	if (o->print_conf) {
		printf("# this host: %s\n", pd_dispatch_hostname(ctx->conf));
		pd_conf_print(ctx->conf, stdout);
		pd_forker_cleanup(ctx);
		return 1;
	}
	top = pd_conf_section(ctx->conf, "", NULL);
	target = o->debug ? "stderr" : pd_conf_str(top, "log");
	if (pd_log_open(target, f->name) < 0) {
		pd_log_open("stderr", f->name);
		pd_fatal(PD_EXIT_CONFIG, "%s: log = %s: cannot open it",
			 pd_conf_where(top, "log"), target);
	}
	pd_log_set_debug(o->debug || pd_conf_bool(top, "debug"));
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

void
pd_forker_cleanup(struct pd_forker_ctx *ctx)
{
	pd_tls_free(&ctx->tls);
	pd_tls_policy_free(&ctx->policy);
	pd_conf_free(&ctx->conf);
}

int
pd_forker_serve(struct pd_forker_ctx *ctx, int rfd, int wfd, bool is_socket)
{
	const struct pd_forker *f = ctx->f;
	struct pd_err err;
	struct pd_auth_client auth;
	void (*auth_close)(struct pd_auth_client *) = NULL;
	struct pd_event_loop *loop;
	struct pd_session *s;
	struct pd_session_params sp;
	struct forker_run run;
	struct sockaddr_storage ss;
	socklen_t sslen;
	char cip[PD_ADDR_MAX], cport[8], lip[PD_ADDR_MAX], lport[8];

	run.conf = ctx->conf;
	run.rfd = rfd;
	run.wfd = wfd;
	snprintf(cip, sizeof(cip), "%s",
		 ctx->o.client_ip != NULL ? ctx->o.client_ip : "local");
	snprintf(cport, sizeof(cport), "0");
	snprintf(lip, sizeof(lip), "local");
	snprintf(lport, sizeof(lport), "0");
	if (is_socket) {
		sslen = sizeof(ss);
		memset(&ss, 0, sizeof(ss));
		if (getpeername(rfd, (struct sockaddr *)&ss, &sslen) < 0) {
			pd_log_error("fd %d is not a connected socket", rfd);
			return PD_EXIT_CONFIG;
		}
		forker_addr(&ss, cip, sizeof(cip), cport, sizeof(cport));
		sslen = sizeof(ss);
		memset(&ss, 0, sizeof(ss));
		if (getsockname(rfd, (struct sockaddr *)&ss, &sslen) == 0)
			forker_addr(&ss, lip, sizeof(lip), lport, sizeof(lport));
	}
	pd_err_clear(&err);
	if (f->auth_open(ctx->conf, &auth, &auth_close, &err) < 0) {
		forker_refuse(wfd, ctx->o.proto);
		pd_log_error("%s", err.msg);
		return err.kind == PD_ERR_CONFIG ? PD_EXIT_CONFIG : PD_EXIT_TEMP;
	}
	loop = pd_event_loop_new();
	memset(&sp, 0, sizeof(sp));
	sp.conf = ctx->conf;
	sp.loop = loop;
	sp.proto = ctx->o.proto;
	sp.rfd = rfd;
	sp.wfd = wfd;
	sp.client_ip = cip;
	sp.client_port = cport;
	sp.local_ip = lip;
	sp.local_port = lport;
	sp.auth = auth;
	sp.launcher.ctx = &run;
	sp.launcher.launch = forker_launch;
	sp.tls = ctx->tls;
	sp.implicit_tls = ctx->o.implicit_tls;
	sp.policy = ctx->policy;
	s = pd_session_new(&sp);
	pd_event_loop_run(loop);
	pd_session_free(&s);
	pd_event_loop_free(&loop);
	auth_close(&auth);
	return 0;
}

int
pd_forker_parse_proto(const char *name, const char *arg)
{
	if (strcmp(arg, "imap") != 0 && strcmp(arg, "pop3") != 0) {
		fprintf(stderr, "%s: -p wants imap or pop3, not '%s'\n", name, arg);
		return -1;
	}
	return 0;
}

int
pd_forker_main(const struct pd_forker *f, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "client-ip", required_argument, NULL, 'I' },
		{ "tls", no_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct pd_forker_opts o = { "/etc/pd/pd.conf", "imap", NULL, false,
				    false, false };
	struct pd_forker_ctx ctx;
	bool stdio = f->kind == PD_FORKER_STDIO, stderr_was_socket = false;
	int c, fd, ret;

	/* inetd: fd 2 is the client socket; nothing may reach it by accident.
	 * Run by hand (-n, a config check) stderr is the terminal: keep it. */
	if (f->kind == PD_FORKER_INET && forker_fd_is_socket(STDERR_FILENO) &&
	    (fd = open("/dev/null", O_WRONLY)) >= 0) {
		stderr_was_socket = true;
		dup2(fd, STDERR_FILENO);
		if (fd != STDERR_FILENO)
			close(fd);
	}
	pd_log_open("stderr", f->name);
	while ((c = getopt_long(argc, argv, "c:p:dnhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o.conf_path = optarg;
			break;
		case 'p':
			if (pd_forker_parse_proto(f->name, optarg) < 0)
				return PD_EXIT_CONFIG;
			o.proto = optarg;
			break;
		case 'd':
			o.debug = true;
			break;
		case 'n':
			o.print_conf = true;
			break;
		case 'I':
			if (!stdio) {
				forker_usage(f->name, stdio);
				return PD_EXIT_CONFIG;
			}
			o.client_ip = optarg;
			break;
		case 'T':
			o.implicit_tls = true;
			break;
		case 'V':
			printf("%s %s\n", f->name, PD_VERSION);
			return 0;
		default:
			forker_usage(f->name, stdio);
			return c == 'h' ? 0 : PD_EXIT_CONFIG;
		}
	}
	if (optind != argc) {
		forker_usage(f->name, stdio);
		return PD_EXIT_CONFIG;
	}
	if (pd_forker_setup(f, &o, stderr_was_socket, &ctx) > 0)
		return 0;
	if (!stdio && !forker_fd_is_socket(0))
		pd_fatal(PD_EXIT_CONFIG, "fd 0 is not a connected socket "
			 "(run me from inetd, or use pd-forker-stdio)");
	ret = pd_forker_serve(&ctx, 0, stdio ? 1 : 0, !stdio);
	pd_forker_cleanup(&ctx);
	return ret;
}
