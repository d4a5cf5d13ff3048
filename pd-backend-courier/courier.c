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
#include "pd-core/buf.h"
#include "pd-core/conf.h"
#include "pd-core/dispatch.h"
#include "pd-core/log.h"
#include "pd-core/mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define COURIER_SETTINGS_LINE_MAX 4096

/*
 * Expand $NAME and ${NAME} in v from what the file set before (as the
 * shell would); a name never set expands to nothing.  Command
 * substitution, backquotes and escapes are not for pd: -1.
 */
static int
courier_expand(const struct pd_exec_plan *plan, const char *v, struct pd_buf *out)
{
	const char *p = v;

	while (*p != '\0') {
		const char *name, *val;
		size_t n;
		bool brace;
		char key[128];

		if (*p == '`' || *p == '\\')
			return -1;
		if (*p != '$') {
			if (pd_buf_append(out, p++, 1) < 0)
				return -1;
			continue;
		}
		p++;
		brace = *p == '{';
		name = brace ? p + 1 : p;
		for (n = 0; (name[n] >= 'A' && name[n] <= 'Z') ||
			    (name[n] >= 'a' && name[n] <= 'z') ||
			    (name[n] >= '0' && name[n] <= '9') || name[n] == '_'; n++)
			;
		if (n == 0 || n >= sizeof(key) || (brace && name[n] != '}'))
			return -1;
		memcpy(key, name, n);
		key[n] = '\0';
		if ((val = pd_exec_plan_getenv(plan, key)) != NULL &&
		    pd_buf_append_str(out, val) < 0)
			return -1;
		p = name + n + (brace ? 1 : 0);
	}
	return 0;
}

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
	struct pd_buf val;
	FILE *fp;

	if ((fp = fopen(path, "re")) == NULL) {
		free(line);
		if (!required && errno == ENOENT)
			return 0;
		return pd_err_sys(err, "Courier settings %s", path);
	}
	pd_buf_init(&val, 2 * COURIER_SETTINGS_LINE_MAX);
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
		if (*v == '\'' && e > v + 1 && e[-1] == '\'') {
			e[-1] = '\0';	/* single quotes: literally */
			pd_exec_plan_env(plan, k, v + 1);
			continue;
		}
		if (*v == '"' && e > v + 1 && e[-1] == '"') {
			e[-1] = '\0';
			v++;
		} else if (strpbrk(v, " \t\"';|&<>()") != NULL) {
			pd_log_warn("%s:%u: %s is not a plain value, ignored",
				    path, lineno, k);
			continue;
		}
		pd_buf_reset(&val);
		if (courier_expand(plan, v, &val) < 0) {
			pd_log_warn("%s:%u: %s uses shell features pd does not "
				    "run, ignored", path, lineno, k);
			continue;
		}
		pd_exec_plan_env(plan, k, pd_buf_cstr(&val));
	}
	fclose(fp);
	free(line);
	pd_buf_deinit(&val);
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
				  !pd_conf_is_default(sec, imap ? "settings"
						      : "pop3d_settings"), err) < 0)
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

/* At startup: what the operator named in [backend courier] must exist. */
static int
courier_check(const struct pd_conf *conf, struct pd_err *err)
{
	const struct pd_conf_section *sec =
		pd_conf_section(conf, "backend", "courier");
	static const char *const keys[] = { "imapd", "pop3d", "settings",
					    "pop3d_settings" };
	size_t i;

	for (i = 0; i < PD_N_ELEMENTS(keys); i++) {
		const char *v = pd_conf_str(sec, keys[i]);
		int mode = i < 2 ? X_OK : R_OK;

		if (pd_conf_is_default(sec, keys[i]) ||
		    v[0] == '\0')
			continue;
		if (access(v, mode) < 0)
			return pd_err_sys(err, "%s: %s = %s",
					  pd_conf_where(sec, keys[i]), keys[i], v);
	}
	return 0;
}

const struct pd_backend pd_backend_courier = {
	.abi = PD_BACKEND_ABI,
	.name = "courier",
	.plan = courier_plan,
	.check = courier_check,
};
