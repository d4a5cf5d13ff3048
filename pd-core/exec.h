/* SPDX-License-Identifier: MIT */
/*
 * exec.h - the plan a backend makes for starting a mail server (path, argv,
 * environment, uid/gid, home, maildir, bytes to send first) and carrying it
 * out on the client's fds: privilege drop, maildir check/creation as the
 * user, fd 2 to the log sink, fds >= 3 closed, signals reset, execve.
 * The plan is plain data so the daemon's master can carry it out later.
 */
#ifndef PD_EXEC_H
#define PD_EXEC_H

#include "pd-core/conf.h"
#include "pd-core/err.h"
#include "pd-core/user.h"

#include <sys/types.h>

struct pd_exec_plan {
	char *path;
	char **argv;		/* NULL-terminated, owned */
	size_t argc;
	char **envp;		/* NULL-terminated, owned */
	size_t envc;
	char *user;		/* for initgroups */
	uid_t uid;
	gid_t gid;
	char *home;		/* chdir target; must exist */
	char *maildir;		/* checked or created (cur new tmp, 0700); may be NULL */
	bool maildir_gid_check;	/* it must belong to gid as well as uid */
	char *mail_options;	/* ":LAYOUT=fs:..." after the path in mail, or "" */
	char *first_output;	/* written to the client right before exec; may be NULL */
	unsigned char *input;	/* client bytes the server must read first (a
				 * server with no hand-over mechanism): the
				 * launcher relays them; NULL if none */
	size_t ninput;
	char *log_tag;		/* syslog tag for the server's stderr */
};

void pd_exec_plan_init(struct pd_exec_plan *plan, const char *path);
void pd_exec_plan_deinit(struct pd_exec_plan *plan);
void pd_exec_plan_arg(struct pd_exec_plan *plan, const char *arg);
void pd_exec_plan_env(struct pd_exec_plan *plan, const char *key,
		      const char *value);
/* The value plan's environment has for key, or NULL. */
const char *pd_exec_plan_getenv(const struct pd_exec_plan *plan, const char *key);
/* The record's extra pairs whose names are safe (pd_exec_env_name_is_safe). */
void pd_exec_plan_env_extras(struct pd_exec_plan *plan, const struct pd_user *user);
/* Set plan->input to a copy of n bytes (n may be 0). */
void pd_exec_plan_input(struct pd_exec_plan *plan, const void *p, size_t n);

/*
 * Whether key may be set from a user record's extra pairs: a shell-style
 * name, and not one that changes how programs load or run (LD_*, PATH,
 * IFS, ...).
 */
bool pd_exec_env_name_is_safe(const char *key);

/*
 * Check plan->uid against first_valid_uid/last_valid_uid (never 0).
 * Returns 0 or -1 with err naming the user and uid.
 */
int pd_exec_check_uid(const struct pd_conf *conf,
		      const struct pd_exec_plan *plan, struct pd_err *err);

/*
 * Drop this process (a relay that needs no privilege after the fork) to
 * the system account name: its uid, gid and no other group, not dumpable.
 * A no-op when not root.  0, or -1 with err naming the account.
 */
int pd_exec_drop_to(const char *name, struct pd_err *err);

/*
 * In this process: drop to the plan's user, chdir home, prepare the
 * maildir, send first_output on out_fd, then exec with in_fd on 0 and out_fd
 * on 1.  Returns only on failure (-1, err set) - by then privileges may be
 * gone, so the caller only reports and ends the session.
 */
int pd_exec_run(const struct pd_conf *conf, const struct pd_exec_plan *plan,
		int in_fd, int out_fd, struct pd_err *err);

#endif
