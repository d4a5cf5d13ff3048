/* SPDX-License-Identifier: MIT */
/*
 * master.c - the Postfix master protocol pieces: argv, GENERATION, the
 * status record and the limits from main.cf.  Nothing here accepts or
 * serves a connection; main.c does.
 */
#include "pd-forker-postfix/master.h"
#include "pd-core/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Postfix's struct MASTER_STATUS (master_proto.h). */
struct master_status {
	int pid;
	unsigned gen;
	int avail;
};

int
pd_master_parse_time(const char *s, unsigned long *secs_r)
{
	char num[32];
	size_t n = strlen(s);
	unsigned long mult = 1, v;

	if (n == 0 || n >= sizeof(num))
		return -1;
	memcpy(num, s, n + 1);
	switch (num[n - 1]) {
	case 's': mult = 1; num[--n] = '\0'; break;
	case 'm': mult = 60; num[--n] = '\0'; break;
	case 'h': mult = 3600; num[--n] = '\0'; break;
	case 'd': mult = 86400; num[--n] = '\0'; break;
	case 'w': mult = 604800; num[--n] = '\0'; break;
	default: break;
	}
	if (pd_parse_uint(num, 0, 100000000UL, &v) < 0)
		return -1;
	*secs_r = v * mult;
	return 0;
}

static int
master_option(struct pd_master_args *a, const char *raw, bool *have_use,
	      bool *have_idle, struct pd_err *err)
{
	char kv[256], *w = kv;
	const char *r;

	/* "-o { max_use = 1 }" reaches us as "max_use = 1": drop the blanks,
	 * as Postfix's own daemons accept them. */
	for (r = raw; *r != '\0' && w < kv + sizeof(kv) - 1; r++)
		if (*r != ' ' && *r != '\t')
			*w++ = *r;
	*w = '\0';
	if (strncmp(kv, "max_use=", 8) == 0) {
		if (pd_parse_uint(kv + 8, 0, 1000000000UL, &a->max_use) < 0)
			return pd_err_set(err, PD_ERR_CONFIG, "bad -o %s", kv);
		*have_use = true;
	} else if (strncmp(kv, "max_idle=", 9) == 0) {
		if (pd_master_parse_time(kv + 9, &a->max_idle) < 0)
			return pd_err_set(err, PD_ERR_CONFIG, "bad -o %s", kv);
		*have_idle = true;
	}
	/* Others (stress=, ...) concern Postfix daemons, not pd. */
	return 0;
}

int
pd_master_parse_args(int argc, char **argv, struct pd_master_args *a,
		     struct pd_err *err)
{
	bool have_use = false, have_idle = false;
	unsigned long n;
	int i;

	memset(a, 0, sizeof(*a));
	a->service = argc > 0 ? argv[0] : "pd-forker-postfix";
	a->nlisten = 1;
	a->max_use = 100;
	a->max_idle = 100;
	a->opts.conf_path = "/etc/pd/pd.conf";
	a->opts.proto = "imap";
	for (i = 1; i < argc; i++) {
		const char *arg = argv[i];
		const char *next = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(arg, "-l") == 0 || strcmp(arg, "-z") == 0 ||
		    strcmp(arg, "-d") == 0 || strcmp(arg, "-v") == 0) {
			if (arg[1] == 'v')
				a->verbose = true;
		} else if (strcmp(arg, "-u") == 0) {
			a->unpriv = true;
		} else if (strcmp(arg, "-c") == 0) {
			if (next != NULL && next[0] != '-') {
				a->opts.conf_path = next;
				i++;
			} else {
				a->chroot = true;
			}
		} else if (strcmp(arg, "--tls") == 0) {
			a->opts.implicit_tls = true;
		} else if ((strcmp(arg, "-n") == 0 || strcmp(arg, "-t") == 0 ||
			    strcmp(arg, "-s") == 0 || strcmp(arg, "-o") == 0 ||
			    strcmp(arg, "-p") == 0) && next != NULL) {
			i++;
			switch (arg[1]) {
			case 'n':
				a->service = next;
				break;
			case 't':
				a->transport = next;
				break;
			case 's':
				if (pd_parse_uint(next, 1, PD_MASTER_LISTEN_MAX, &n) < 0)
					return pd_err_set(err, PD_ERR_CONFIG,
							  "bad -s %s", next);
				a->nlisten = (unsigned)n;
				break;
			case 'o':
				if (master_option(a, next, &have_use, &have_idle,
						  err) < 0)
					return -1;
				break;
			case 'p':
				if (strcmp(next, "imap") != 0 && strcmp(next, "pop3") != 0)
					return pd_err_set(err, PD_ERR_CONFIG,
							  "-p wants imap or pop3, not '%s'",
							  next);
				a->opts.proto = next;
				break;
			}
		} else {
			return pd_err_set(err, PD_ERR_CONFIG,
					  "unexpected argument '%s' (master.cf: "
					  "pd-forker-postfix -c PD.CONF -p imap|pop3 "
					  "[--tls] [-o max_idle=N])", arg);
		}
	}
	pd_master_read_main_cf(a, have_use, have_idle);
	return 0;
}

void
pd_master_read_main_cf(struct pd_master_args *a, bool have_use, bool have_idle)
{
	const char *dir = getenv("MAIL_CONFIG");
	char path[4096], line[1024];
	FILE *fp;

	if (have_use && have_idle)
		return;
	snprintf(path, sizeof(path), "%s/main.cf",
		 dir != NULL && dir[0] != '\0' ? dir : "/etc/postfix");
	if ((fp = fopen(path, "re")) == NULL)
		return;
	while (fgets(line, sizeof(line), fp) != NULL) {
		char *k = line, *v, *e;
		unsigned long x;

		k += strspn(k, " \t");
		if ((v = strchr(k, '=')) == NULL || *k == '#')
			continue;
		*v++ = '\0';
		for (e = v + strlen(v); e > v && (e[-1] == '\n' || e[-1] == ' ' ||
						  e[-1] == '\t' || e[-1] == '\r');)
			*--e = '\0';
		v += strspn(v, " \t");
		for (e = k + strlen(k); e > k && (e[-1] == ' ' || e[-1] == '\t');)
			*--e = '\0';
		if (!have_use && strcmp(k, "max_use") == 0 &&
		    pd_parse_uint(v, 0, 1000000000UL, &x) == 0)
			a->max_use = x;
		if (!have_idle && strcmp(k, "max_idle") == 0 &&
		    pd_master_parse_time(v, &x) == 0)
			a->max_idle = x;
	}
	fclose(fp);
}

int
pd_master_generation(unsigned *gen_r, struct pd_err *err)
{
	const char *g = getenv("GENERATION");
	char *end;
	unsigned long v;

	if (g == NULL || g[0] == '\0')
		return pd_err_set(err, PD_ERR_CONFIG,
				  "no GENERATION in the environment: run me from "
				  "the Postfix master (master.cf)");
	/* Octal, as master_spawn.c writes it ("%o"). */
	errno = 0;
	v = strtoul(g, &end, 8);
	if (errno != 0 || *end != '\0' || v > 0xffffffffUL)
		return pd_err_set(err, PD_ERR_CONFIG, "bad GENERATION '%s'", g);
	*gen_r = (unsigned)v;
	return 0;
}

int
pd_master_notify(unsigned gen, int avail)
{
	struct master_status st;
	ssize_t n;

	memset(&st, 0, sizeof(st));
	st.pid = (int)getpid();
	st.gen = gen;
	st.avail = avail;
	do
		n = write(PD_MASTER_STATUS_FD, &st, sizeof(st));
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)sizeof(st) ? 0 : -1;
}
