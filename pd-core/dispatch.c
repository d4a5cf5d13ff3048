/* SPDX-License-Identifier: MIT */
/*
 * dispatch.c - from a verified user record to an exec plan: local or not
 * (DESIGN §4), which backend, and the parts of the plan every local backend
 * shares (user, uid, gid, home, maildir).  Refusals name the user and why.
 */
#include "pd-core/dispatch.h"
#include "pd-core/log.h"
#include "pd-core/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

const char *
pd_dispatch_hostname(const struct pd_conf *conf)
{
	static char host[256];
	const char *h = pd_conf_str(pd_conf_section(conf, "", NULL), "hostname");

	if (h[0] != '\0')
		return h;
	if (host[0] == '\0' && gethostname(host, sizeof(host) - 1) < 0)
		snprintf(host, sizeof(host), "localhost");
	return host;
}

int
pd_dispatch_plan(const struct pd_conf *conf, const struct pd_login *login,
		 const struct pd_user *user, struct pd_exec_plan *plan,
		 const char **backend_r, struct pd_err *err)
{
	const char *name = user->backend;
	const struct pd_backend *be;
	const char *mail = user->mail;
	char buf[4096];
	size_t plen;
	int r;

	if (name[0] == '\0')
		name = pd_conf_str(pd_conf_section(conf, "", NULL), "default_backend");
	*backend_r = name;
	if (user->mailhost[0] != '\0' &&
	    strcasecmp(user->mailhost, pd_dispatch_hostname(conf)) != 0)
		return pd_err_set(err, PD_ERR_CONFIG,
				  "user %s lives on mailhost %s, not on %s: "
				  "remote dispatch is not available in this build",
				  user->user, user->mailhost,
				  pd_dispatch_hostname(conf));
	if ((be = pd_backend_find(name)) == NULL)
		return pd_err_set(err, PD_ERR_CONFIG,
				  "user %s: unknown backend '%s'", user->user, name);
	if (user->home[0] != '/')
		return pd_err_set(err, PD_ERR_CONFIG,
				  "user %s: home '%s' is not an absolute path",
				  user->user, user->home);
	free(plan->user);
	plan->user = pd_xstrdup(user->user);
	plan->uid = user->have_uid ? user->uid : (uid_t)-1;
	plan->gid = user->have_gid ? user->gid : (gid_t)-1;
	free(plan->home);
	plan->home = pd_xstrdup(user->home);
	/* Dovecot-style "maildir:PATH[:OPTIONS]" is accepted ("~/" is the
	 * home): PATH is the maildir pd checks, OPTIONS go to Dovecot as
	 * they are (LAYOUT=fs:INDEX=...). */
	if (strncmp(mail, "maildir:", 8) == 0)
		mail += 8;
	plen = strcspn(mail, ":");
	if (plen == 0) {
		r = snprintf(buf, sizeof(buf), "%s/Maildir", user->home);
	} else if (mail[0] == '~' && mail[1] == '/') {
		r = snprintf(buf, sizeof(buf), "%s/%.*s", user->home,
			     (int)(plen - 2), mail + 2);
	} else if (mail[0] == '/') {
		r = snprintf(buf, sizeof(buf), "%.*s", (int)plen, mail);
	} else {
		return pd_err_set(err, PD_ERR_CONFIG,
				  "user %s: mail '%s' is not an absolute maildir path",
				  user->user, user->mail);
	}
	if (r < 0 || (size_t)r >= sizeof(buf))
		return pd_err_set(err, PD_ERR_CONFIG, "user %s: maildir path too long",
				  user->user);
	free(plan->maildir);
	plan->maildir = pd_xstrdup(buf);
	free(plan->mail_options);
	plan->mail_options = pd_xstrdup(mail + plen);
	if (be->plan(conf, login, user, plan, err) < 0)
		return -1;
	return pd_exec_check_uid(conf, plan, err);
}
