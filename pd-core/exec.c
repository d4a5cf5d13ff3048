/* SPDX-License-Identifier: MIT */
/*
 * exec.c - exec plans and carrying them out (REFERENCE §1 recipe): full
 * privilege drop (setgroups via initgroups, setresgid, setresuid, and a
 * check that root cannot come back), chdir(home), maildir check/creation
 * as the user, fd 2 to the log sink, every other fd close-on-exec, signals
 * reset, execve.  On failure it returns with err set and logging intact.
 */
#include "pd-core/exec.h"
#include "pd-core/log.h"
#include "pd-core/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define EXEC_WRITE_TIMEOUT_MS 30000

void
pd_exec_plan_init(struct pd_exec_plan *plan, const char *path)
{
	memset(plan, 0, sizeof(*plan));
	plan->path = pd_xstrdup(path);
	plan->argv = pd_xcalloc(1, sizeof(char *));
	plan->envp = pd_xcalloc(1, sizeof(char *));
	plan->uid = (uid_t)-1;
	plan->gid = (gid_t)-1;
}

static void
exec_free_vec(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void
pd_exec_plan_deinit(struct pd_exec_plan *plan)
{
	free(plan->path);
	exec_free_vec(plan->argv, plan->argc);
	exec_free_vec(plan->envp, plan->envc);
	free(plan->user);
	free(plan->home);
	free(plan->maildir);
	free(plan->mail_options);
	free(plan->first_output);
	free(plan->input);
	free(plan->log_tag);
	memset(plan, 0, sizeof(*plan));
}

void
pd_exec_plan_arg(struct pd_exec_plan *plan, const char *arg)
{
	plan->argv = pd_xreallocarray(plan->argv, plan->argc + 2, sizeof(char *));
	plan->argv[plan->argc++] = pd_xstrdup(arg);
	plan->argv[plan->argc] = NULL;
}

void
pd_exec_plan_env(struct pd_exec_plan *plan, const char *key, const char *value)
{
	size_t kl = strlen(key), vl = strlen(value), i;
	char *kv = pd_xmalloc(kl + vl + 2);

	memcpy(kv, key, kl);
	kv[kl] = '=';
	memcpy(kv + kl + 1, value, vl + 1);
	/* A later setting of the same key replaces the earlier one. */
	for (i = 0; i < plan->envc; i++) {
		if (strncmp(plan->envp[i], kv, kl + 1) == 0) {
			free(plan->envp[i]);
			plan->envp[i] = kv;
			return;
		}
	}
	plan->envp = pd_xreallocarray(plan->envp, plan->envc + 2, sizeof(char *));
	plan->envp[plan->envc++] = kv;
	plan->envp[plan->envc] = NULL;
}

bool
pd_exec_env_name_is_safe(const char *key)
{
	static const char *const banned[] = { "PATH", "IFS", "ENV", "BASH_ENV",
		"SHELL", "GCONV_PATH", "HOSTALIASES", "LOCALDOMAIN", "RES_OPTIONS",
		"TMPDIR", "MALLOC_CHECK_", "NLSPATH", "GENERATION" };
	const char *p;
	size_t i;

	if (!((key[0] >= 'A' && key[0] <= 'Z') || (key[0] >= 'a' && key[0] <= 'z') ||
	      key[0] == '_'))
		return false;
	for (p = key; *p != '\0'; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= '0' && *p <= '9') || *p == '_'))
			return false;
	if (strncmp(key, "LD_", 3) == 0 || strncmp(key, "DOVECOT_", 8) == 0)
		return false;
	for (i = 0; i < PD_N_ELEMENTS(banned); i++)
		if (strcmp(key, banned[i]) == 0)
			return false;
	return true;
}

const char *
pd_exec_plan_getenv(const struct pd_exec_plan *plan, const char *key)
{
	size_t i, kl = strlen(key);

	for (i = 0; i < plan->envc; i++)
		if (strncmp(plan->envp[i], key, kl) == 0 && plan->envp[i][kl] == '=')
			return plan->envp[i] + kl + 1;
	return NULL;
}

void
pd_exec_plan_env_extras(struct pd_exec_plan *plan, const struct pd_user *user)
{
	size_t i;

	for (i = 0; i < user->nextra; i++) {
		if (pd_exec_env_name_is_safe(user->extra[i].key))
			pd_exec_plan_env(plan, user->extra[i].key, user->extra[i].value);
		else
			pd_log_warn("user %s: extra '%s' not passed to the mail server",
				    user->user, user->extra[i].key);
	}
}

void
pd_exec_plan_input(struct pd_exec_plan *plan, const void *p, size_t n)
{
	free(plan->input);
	plan->input = NULL;
	plan->ninput = n;
	if (n > 0) {
		plan->input = pd_xmalloc(n);
		memcpy(plan->input, p, n);
	}
}

int
pd_exec_check_uid(const struct pd_conf *conf, const struct pd_exec_plan *plan,
		  struct pd_err *err)
{
	const struct pd_conf_section *top = pd_conf_section(conf, "", NULL);
	unsigned long first = pd_conf_uint(top, "first_valid_uid");
	unsigned long last = pd_conf_uint(top, "last_valid_uid");

	if (plan->uid == (uid_t)-1 || plan->gid == (gid_t)-1)
		return pd_err_set(err, PD_ERR_CONFIG,
				  "user %s has no uid or gid in the user database",
				  plan->user);
	if (plan->uid == 0 || plan->gid == 0)
		return pd_err_set(err, PD_ERR_CONFIG,
				  "user %s maps to uid/gid 0: refusing to run a "
				  "mail server as root", plan->user);
	if (plan->uid < first || (last != 0 && plan->uid > last))
		return pd_err_set(err, PD_ERR_CONFIG,
				  "user %s has uid %lu outside first_valid_uid=%lu"
				  "..last_valid_uid=%lu", plan->user,
				  (unsigned long)plan->uid, first, last);
	first = pd_conf_uint(top, "first_valid_gid");
	last = pd_conf_uint(top, "last_valid_gid");
	/* A gid like shadow's (42) would open files no mail server needs. */
	if (plan->gid < first || (last != 0 && plan->gid > last))
		return pd_err_set(err, PD_ERR_CONFIG,
				  "user %s has gid %lu outside first_valid_gid=%lu"
				  "..last_valid_gid=%lu", plan->user,
				  (unsigned long)plan->gid, first, last);
	return 0;
}

/*
 * Supplementary groups: only the primary gid, unless system_groups = yes
 * and the system account of that name has the same uid - a virtual user
 * that shares a name with a system account must not inherit its groups.
 */
static int
exec_set_groups(const struct pd_conf *conf, const struct pd_exec_plan *plan,
		struct pd_err *err)
{
	const struct pd_conf_section *top = pd_conf_section(conf, "", NULL);
	struct passwd *pw;

	if (pd_conf_bool(top, "system_groups") &&
	    (pw = getpwnam(plan->user)) != NULL && pw->pw_uid == plan->uid &&
	    initgroups(plan->user, plan->gid) == 0)
		return 0;
	if (setgroups(1, &plan->gid) < 0)
		return pd_err_sys(err, "setgroups for %s", plan->user);
	return 0;
}

static int
exec_drop_privileges(const struct pd_conf *conf, const struct pd_exec_plan *plan,
		     struct pd_err *err)
{
	if (geteuid() == 0) {
		if (exec_set_groups(conf, plan, err) < 0)
			return -1;
		if (setresgid(plan->gid, plan->gid, plan->gid) < 0)
			return pd_err_sys(err, "setresgid %lu", (unsigned long)plan->gid);
		if (setresuid(plan->uid, plan->uid, plan->uid) < 0)
			return pd_err_sys(err, "setresuid %lu", (unsigned long)plan->uid);
		/* Paranoia: root must be gone for good. */
		if (setuid(0) == 0 || geteuid() == 0)
			return pd_err_set(err, PD_ERR_SYS, "could not drop root");
	} else if (geteuid() != plan->uid) {
		return pd_err_set(err, PD_ERR_CONFIG,
				  "not root (euid %lu): cannot become uid %lu for %s",
				  (unsigned long)geteuid(), (unsigned long)plan->uid,
				  plan->user);
	}
	return 0;
}

/* Make dir (mode 0700) or check an existing one is ours. */
static int
exec_make_dir(const char *path, const struct pd_exec_plan *plan,
	      struct pd_err *err)
{
	struct stat st;

	if (mkdir(path, 0700) == 0)
		return 1;
	if (errno != EEXIST)
		return pd_err_sys(err, "mkdir %s for %s", path, plan->user);
	if (stat(path, &st) < 0)
		return pd_err_sys(err, "stat %s for %s", path, plan->user);
	if (!S_ISDIR(st.st_mode))
		return pd_err_set(err, PD_ERR_CONFIG, "%s of %s is not a directory",
				  path, plan->user);
	if (st.st_uid != plan->uid ||
	    (plan->maildir_gid_check && st.st_gid != plan->gid))
		return pd_err_set(err, PD_ERR_CONFIG,
				  "%s is owned by %lu:%lu, not by %s (%lu:%lu)", path,
				  (unsigned long)st.st_uid, (unsigned long)st.st_gid,
				  plan->user, (unsigned long)plan->uid,
				  (unsigned long)plan->gid);
	return 0;
}

static int
exec_prepare_maildir(const struct pd_exec_plan *plan, struct pd_err *err)
{
	static const char *const sub[] = { "cur", "new", "tmp" };
	char path[4096];
	size_t i;
	int r, created;

	if (plan->maildir == NULL || plan->maildir[0] == '\0')
		return 0;
	if ((created = exec_make_dir(plan->maildir, plan, err)) < 0)
		return -1;
	for (i = 0; i < PD_N_ELEMENTS(sub); i++) {
		r = snprintf(path, sizeof(path), "%s/%s", plan->maildir, sub[i]);
		if (r < 0 || (size_t)r >= sizeof(path))
			return pd_err_set(err, PD_ERR_CONFIG, "maildir path too long");
		if (exec_make_dir(path, plan, err) < 0)
			return -1;
	}
	if (created)
		pd_log_info("created maildir %s for %s", plan->maildir, plan->user);
	return 0;
}

static int
exec_write_all(int fd, const char *p, size_t n, struct pd_err *err)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	ssize_t w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EINTR)
			return pd_err_sys(err, "write to client");
		if (poll(&pfd, 1, EXEC_WRITE_TIMEOUT_MS) == 0)
			return pd_err_set(err, PD_ERR_SYS, "write to client timed out");
	}
	return 0;
}

static void
exec_set_blocking(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0 && (fl & O_NONBLOCK))
		(void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
}

/* Put in_fd on 0, out_fd on 1 and log_fd on 2, whatever their numbers. */
static int
exec_setup_fds(int in_fd, int out_fd, int log_fd, struct pd_err *err)
{
	int fds[3] = { in_fd, out_fd, log_fd }, i;

	/* Move each source above 2 first so no dup2 clobbers another. */
	for (i = 0; i < 3; i++) {
		if (fds[i] <= 2) {
			int n = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);

			if (n < 0)
				return pd_err_sys(err, "dup fd %d", fds[i]);
			fds[i] = n;
		}
	}
	for (i = 0; i < 3; i++)
		if (dup2(fds[i], i) < 0)
			return pd_err_sys(err, "dup2 fd %d", i);
	exec_set_blocking(0);
	exec_set_blocking(1);
	/* The kernel closes the rest at exec; a failed exec keeps the log. */
	if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
		int fd;

		for (fd = 3; fd < 65536; fd++)
			(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	}
	return 0;
}

static void
exec_reset_signals(void)
{
	sigset_t all;
	int sig;

	for (sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			(void)signal(sig, SIG_DFL);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
}

int
pd_exec_drop_to(const char *name, struct pd_err *err)
{
	struct passwd *pw;

	if (geteuid() != 0)
		return 0;
	if ((pw = getpwnam(name)) == NULL || pw->pw_uid == 0)
		return pd_err_set(err, PD_ERR_CONFIG, "relay_user %s: no such "
				  "unprivileged account", name);
	if (setgroups(1, &pw->pw_gid) < 0 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0)
		return pd_err_sys(err, "drop to relay_user %s", name);
	if (setuid(0) == 0)
		return pd_err_set(err, PD_ERR_SYS, "could not drop root");
	/* Nobody of the same uid may read the TLS keys from our memory. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	return 0;
}

int
pd_exec_run(const struct pd_conf *conf, const struct pd_exec_plan *plan,
	    int in_fd, int out_fd, struct pd_err *err)
{
	int log_fd;

	if (pd_exec_check_uid(conf, plan, err) < 0)
		return -1;
	if (access(plan->path, X_OK) < 0)
		return pd_err_sys(err, "mail server %s", plan->path);
	log_fd = pd_log_fd();
	if (log_fd < 0 &&
	    (log_fd = pd_log_spawn_reader(plan->log_tag != NULL ? plan->log_tag
							       : "pd-backend")) < 0)
		return pd_err_sys(err, "log pipe");
	if (exec_drop_privileges(conf, plan, err) < 0)
		return -1;
	if (plan->home == NULL || chdir(plan->home) < 0)
		return pd_err_sys(err, "home directory %s of %s",
				  plan->home != NULL ? plan->home : "(none)",
				  plan->user);
	if (exec_prepare_maildir(plan, err) < 0)
		return -1;
	if (plan->first_output != NULL &&
	    exec_write_all(out_fd, plan->first_output, strlen(plan->first_output),
			   err) < 0)
		return -1;
	if (exec_setup_fds(in_fd, out_fd, log_fd, err) < 0)
		return -1;
	exec_reset_signals();
	execve(plan->path, plan->argv, plan->envp);
	return pd_err_sys(err, "exec %s", plan->path);
}
