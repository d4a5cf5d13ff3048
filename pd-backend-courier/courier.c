/* SPDX-License-Identifier: MIT */
/*
 * courier.c - the Courier backend: a user record becomes the argv and
 * environment of Courier-IMAP's post-login "imapd MAILDIR" or
 * "courierpop3d MAILDIR" (REFERENCE §2): AUTHENTICATED, IMAPLOGINTAG,
 * TCPREMOTEIP and TCPREMOTEPORT (imapd exits silently without both),
 * TCPLOCALIP/PORT, OPTIONS, IMAP_TLS/POP3_TLS, the site's settings file
 * (parsed here, never by a shell) and the record's extra pairs.  Courier
 * answers the login itself ("<tag> OK LOGIN Ok.", "+OK logged in.") and has
 * no way to take over pipelined bytes, so those go into plan->input for
 * the launcher to relay.  The maildir must belong to the user's uid and gid.
 */
#include "pd-core/conf.h"
#include "pd-core/dispatch.h"
#include "pd-core/log.h"
#include "pd-core/mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COURIER_SETTINGS_LINE_MAX 4096

/*
 * Read a Courier settings file (/etc/courier/imapd style: shell KEY=value
 * lines read with "set -a; . FILE").  Plain assignments only: a value may
 * be bare, "double" or 'single' quoted; anything else (commands, $
 * expansion) is skipped with a warning naming file:line.  A missing file
 * is an error only when the operator named it (required).
 */
static int
courier_read_settings(struct pd_exec_plan *plan, const char *path,
		      bool required, struct pd_err *err)
{
	char *line = pd_xmalloc(COURIER_SETTINGS_LINE_MAX);
	unsigned lineno = 0;
	FILE *fp;

	if ((fp = fopen(path, "re")) == NULL) {
		free(line);
		if (!required && errno == ENOENT)
			return 0;
		return pd_err_sys(err, "Courier settings %s", path);
	}
	while (fgets(line, COURIER_SETTINGS_LINE_MAX, fp) != NULL) {
		char *k = line, *eq, *v, *e;

		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		k += strspn(k, " \t");
		if (*k == '#' || *k == '\0')
			continue;
		if ((eq = strchr(k, '=')) == NULL) {
			pd_log_warn("%s:%u: not KEY=value, ignored", path, lineno);
			continue;
		}
		*eq = '\0';
		v = eq + 1;
		if (!pd_exec_env_name_is_safe(k)) {
			pd_log_warn("%s:%u: '%s' not taken", path, lineno, k);
			continue;
		}
		e = v + strlen(v);
		if ((*v == '"' || *v == '\'') && e > v + 1 && e[-1] == *v) {
			e[-1] = '\0';
			v++;
			if (v[-1] == '"' && strpbrk(v, "$`\\") != NULL) {
				pd_log_warn("%s:%u: %s uses shell expansion, ignored",
					    path, lineno, k);
				continue;
			}
		} else if (strpbrk(v, " \t$`\\\"';|&<>()") != NULL) {
			pd_log_warn("%s:%u: %s is not a plain value, ignored",
				    path, lineno, k);
			continue;
		}
		pd_exec_plan_env(plan, k, v);
	}
	fclose(fp);
	free(line);
	return 0;
}

static int
courier_plan(const struct pd_conf *conf, const struct pd_login *login,
	     const struct pd_user *user, struct pd_exec_plan *plan,
	     struct pd_err *err)
{
	const struct pd_conf_section *sec =
		pd_conf_section(conf, "backend", "courier");
	bool imap = strcmp(login->proto, "imap") == 0;
	const char *settings = pd_conf_str(sec, imap ? "settings" : "pop3d_settings");

	free(plan->path);
	plan->path = pd_xstrdup(pd_conf_str(sec, imap ? "imapd" : "pop3d"));
	pd_exec_plan_arg(plan, imap ? "imapd" : "courierpop3d");
	pd_exec_plan_arg(plan, plan->maildir);
	plan->maildir_gid_check = true;
	/* Site settings first, then the record, then what pd must set. */
	if (settings[0] != '\0' &&
	    courier_read_settings(plan, settings,
				  strcmp(pd_conf_where(sec, imap ? "settings"
						       : "pop3d_settings"),
					 "default") != 0, err) < 0)
		return -1;
	pd_exec_plan_env_extras(plan, user);
	pd_exec_plan_env(plan, "AUTHENTICATED", user->user);
	pd_exec_plan_env(plan, "USER", user->user);
	pd_exec_plan_env(plan, "HOME", user->home);
	pd_exec_plan_env(plan, "MAILDIR", plan->maildir);
	pd_exec_plan_env(plan, "TCPREMOTEIP", login->client_ip);
	pd_exec_plan_env(plan, "TCPREMOTEPORT", login->client_port);
	pd_exec_plan_env(plan, "TCPLOCALIP", login->local_ip);
	pd_exec_plan_env(plan, "TCPLOCALPORT", login->local_port);
	if (user->quota[0] != '\0')
		pd_exec_plan_env(plan, "MAILDIRQUOTA", user->quota);
	if (imap)
		pd_exec_plan_env(plan, "IMAPLOGINTAG", login->tag);
	if (login->tls)
		pd_exec_plan_env(plan, imap ? "IMAP_TLS" : "POP3_TLS", "1");
	/* Bytes after the login line: Courier cannot take them over. */
	pd_exec_plan_input(plan, login->pipelined, login->npipelined);
	free(plan->log_tag);
	plan->log_tag = pd_xstrdup(imap ? "courier-imapd" : "courier-pop3d");
	return 0;
}

const struct pd_backend pd_backend_courier = {
	.abi = PD_BACKEND_ABI,
	.name = "courier",
	.plan = courier_plan,
};
