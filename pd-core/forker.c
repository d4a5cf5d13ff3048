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
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
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
 * socketpair and this process relays (REFERENCE §5).
 */
static int
forker_launch(void *ctx, struct pd_session *s, const struct pd_exec_plan *plan,
	      struct pd_err *err)
{
	struct forker_run *run = ctx;
	int sp[2];
	pid_t pid;

	if (!pd_session_is_tls(s))
		return pd_exec_run(run->conf, plan, run->rfd, run->wfd, err);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
		return pd_err_sys(err, "socketpair");
	if ((pid = fork()) < 0) {
		close(sp[0]);
		close(sp[1]);
		return pd_err_sys(err, "fork");
	}
	if (pid == 0) {
		close(sp[0]);
		(void)pd_exec_run(run->conf, plan, sp[1], sp[1], err);
		pd_log_error("dispatch-failed user=%s session=%s: %s", plan->user,
			     pd_session_id(s), err->msg);
		_exit(PD_EXIT_TEMP);
	}
	close(sp[1]);
	return pd_session_relay(s, sp[0], pid);
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
pd_forker_main(const struct pd_forker *f, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "client-ip", required_argument, NULL, 'I' },
		{ "tls", no_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	const char *conf_path = "/etc/pd/pd.conf", *proto = "imap";
	const char *client_ip_opt = NULL;
	bool print_conf = false, debug = false, stdio = f->kind == PD_FORKER_STDIO;
	bool stderr_was_socket = false, implicit_tls = false;
	struct pd_tls *tls = NULL;
	struct pd_tls_policy *policy = NULL;
	struct pd_conf *conf = NULL;
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
	int c, fd;

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
			conf_path = optarg;
			break;
		case 'p':
			if (strcmp(optarg, "imap") != 0 && strcmp(optarg, "pop3") != 0) {
				fprintf(stderr, "%s: -p wants imap or pop3, not '%s'\n",
					f->name, optarg);
				return PD_EXIT_CONFIG;
			}
			proto = optarg;
			break;
		case 'd':
			debug = true;
			break;
		case 'n':
			print_conf = true;
			break;
		case 'I':
			if (!stdio) {
				forker_usage(f->name, stdio);
				return PD_EXIT_CONFIG;
			}
			client_ip_opt = optarg;
			break;
		case 'T':
			implicit_tls = true;
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
	pd_err_clear(&err);
	if (pd_conf_load(conf_path, &conf, &err) < 0) {
		if (!print_conf && stderr_was_socket) {
			pd_log_open("syslog", f->name);
			forker_refuse(0, proto);
		}
		pd_fatal(PD_EXIT_CONFIG, "%s", err.msg);
	}
	/* TLS files are checked now, so -n finds a bad key or certificate. */
	if (pd_tls_server_new(conf, &tls, &err) < 0 ||
	    pd_tls_policy_new(conf, &policy, &err) < 0) {
		if (!print_conf && stderr_was_socket) {
			pd_log_open("syslog", f->name);
			forker_refuse(0, proto);
		}
		pd_fatal(PD_EXIT_CONFIG, "%s", err.msg);
	}
	if (implicit_tls && tls == NULL)
		pd_fatal(PD_EXIT_CONFIG, "--tls: no [tls] cert in %s", conf_path);
	if (print_conf) {
		printf("# this host: %s\n", pd_dispatch_hostname(conf));
		pd_conf_print(conf, stdout);
		pd_tls_free(&tls);
		pd_tls_policy_free(&policy);
		pd_conf_free(&conf);
		return 0;
	}
	{
		const struct pd_conf_section *top = pd_conf_section(conf, "", NULL);
		const char *target = debug ? "stderr" : pd_conf_str(top, "log");

		if (pd_log_open(target, f->name) < 0) {
			pd_log_open("stderr", f->name);
			pd_fatal(PD_EXIT_CONFIG, "%s: log = %s: cannot open it",
				 pd_conf_where(top, "log"), target);
		}
		pd_log_set_debug(debug || pd_conf_bool(top, "debug"));
	}
	signal(SIGPIPE, SIG_IGN);

	run.conf = conf;
	run.rfd = 0;
	run.wfd = stdio ? 1 : 0;
	snprintf(cip, sizeof(cip), "%s", client_ip_opt != NULL ? client_ip_opt : "local");
	snprintf(cport, sizeof(cport), "0");
	snprintf(lip, sizeof(lip), "local");
	snprintf(lport, sizeof(lport), "0");
	if (!stdio) {
		sslen = sizeof(ss);
		memset(&ss, 0, sizeof(ss));
		if (getpeername(0, (struct sockaddr *)&ss, &sslen) < 0)
			pd_fatal(PD_EXIT_CONFIG, "fd 0 is not a connected socket "
				 "(run me from inetd, or use pd-forker-stdio)");
		forker_addr(&ss, cip, sizeof(cip), cport, sizeof(cport));
		sslen = sizeof(ss);
		memset(&ss, 0, sizeof(ss));
		if (getsockname(0, (struct sockaddr *)&ss, &sslen) == 0)
			forker_addr(&ss, lip, sizeof(lip), lport, sizeof(lport));
	}
	if (f->auth_open(conf, &auth, &auth_close, &err) < 0) {
		forker_refuse(run.wfd, proto);
		pd_fatal(err.kind == PD_ERR_CONFIG ? PD_EXIT_CONFIG : PD_EXIT_TEMP,
			 "%s", err.msg);
	}

	loop = pd_event_loop_new();
	memset(&sp, 0, sizeof(sp));
	sp.conf = conf;
	sp.loop = loop;
	sp.proto = proto;
	sp.rfd = run.rfd;
	sp.wfd = run.wfd;
	sp.client_ip = cip;
	sp.client_port = cport;
	sp.local_ip = lip;
	sp.local_port = lport;
	sp.auth = auth;
	sp.launcher.ctx = &run;
	sp.launcher.launch = forker_launch;
	sp.tls = tls;
	sp.implicit_tls = implicit_tls;
	sp.policy = policy;
	s = pd_session_new(&sp);
	pd_event_loop_run(loop);
	pd_session_free(&s);
	pd_event_loop_free(&loop);
	auth_close(&auth);
	pd_tls_free(&tls);
	pd_tls_policy_free(&policy);
	pd_conf_free(&conf);
	return 0;
}
