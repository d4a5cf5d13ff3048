/* SPDX-License-Identifier: MIT */
/*
 * master.h - the child side of the Postfix master protocol (REFERENCE §3):
 * the argv master adds, the status record on fd 5 (TAKEN after accept,
 * AVAIL when the connection is done), listening sockets from fd 6 on, and
 * the max_use / max_idle limits a child enforces itself.
 */
#ifndef PD_POSTFIX_MASTER_H
#define PD_POSTFIX_MASTER_H

#include "pd-core/forker.h"

#define PD_MASTER_STATUS_FD 5
#define PD_MASTER_LISTEN_FD 6
#define PD_MASTER_LISTEN_MAX 64

struct pd_master_args {
	const char *service;		/* -n, or the program name */
	const char *transport;		/* -t: inet, unix, ... */
	unsigned nlisten;		/* -s, default 1 */
	bool unpriv, chroot;		/* -u, -c without a file */
	bool verbose;			/* -v: debug lines, in pd.conf's log */
	unsigned long max_use;		/* -o max_use= or main.cf, default 100 */
	unsigned long max_idle;		/* seconds (0: none); -o max_idle= or main.cf, 100 */
	struct pd_forker_opts opts;	/* -c FILE, -p, --tls */
};

/*
 * Parse argv as master builds it: its flags, then the master.cf command
 * line.  "-c" followed by a word that is no option is pd.conf; a bare "-c"
 * is master's chroot flag.  Returns 0, or -1 with a message in err.
 */
int pd_master_parse_args(int argc, char **argv, struct pd_master_args *a,
			 struct pd_err *err);
/* Fill max_use/max_idle not given by -o from $MAIL_CONFIG/main.cf. */
void pd_master_read_main_cf(struct pd_master_args *a, bool have_use,
			    bool have_idle);
/* GENERATION from the environment (octal, as master writes it). */
int pd_master_generation(unsigned *gen_r, struct pd_err *err);
/* Write one status record: avail 0 = TAKEN, 1 = AVAIL.  0 or -1. */
int pd_master_notify(unsigned gen, int avail);
/* Postfix time value ("100", "100s", "5m", "1h", "1d") in seconds. */
int pd_master_parse_time(const char *s, unsigned long *secs_r);

#endif
