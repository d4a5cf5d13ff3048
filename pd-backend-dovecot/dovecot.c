/* SPDX-License-Identifier: MIT */
/*
 * dovecot.c - the Dovecot backend: a user record becomes the argv and
 * environment of Dovecot's standalone imap/pop3 (REFERENCE §1): "-O" so no
 * config file strips the environment, USER HOME MAIL IP LOCAL_IP, and
 * IMAPLOGINTAG, or CLIENT_INPUT when the client pipelined bytes after its
 * login.  POP3's "+OK" is pd's to send (Dovecot's pop3 says nothing).
 */
#include "pd-core/buf.h"
#include "pd-core/dispatch.h"
#include "pd-core/mem.h"
#include "pd-core/sasl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Fits the kernel's per-string limit (MAX_ARG_STRLEN, 128 KiB) encoded. */
#define DOVECOT_CLIENT_INPUT_MAX (64 * 1024)

static int
dovecot_client_input(struct pd_exec_plan *plan, const struct pd_login *login,
		     bool imap, struct pd_err *err)
{
	struct pd_buf raw, b64;
	int ret = -1;

	pd_buf_init(&raw, DOVECOT_CLIENT_INPUT_MAX + PD_TAG_MAX + 2);
	pd_buf_init(&b64, (DOVECOT_CLIENT_INPUT_MAX + PD_TAG_MAX + 4) / 3 * 4 + 8);
	/* imap: flag '0' (no untagged CAPABILITY), tag, NUL, bytes */
	if ((imap && (pd_buf_append(&raw, "0", 1) < 0 ||
		      pd_buf_append_str(&raw, login->tag) < 0 ||
		      pd_buf_append(&raw, "", 1) < 0)) ||
	    pd_buf_append(&raw, login->pipelined, login->npipelined) < 0 ||
	    pd_base64_encode(raw.data, raw.len, &b64) < 0) {
		pd_err_set(err, PD_ERR_PROTO, "client pipelined more than %d bytes",
			   DOVECOT_CLIENT_INPUT_MAX);
		goto out;
	}
	pd_exec_plan_env(plan, "CLIENT_INPUT", pd_buf_cstr(&b64));
	ret = 0;
out:
	pd_buf_deinit(&raw);
	pd_buf_deinit(&b64);
	return ret;
}

static int
dovecot_plan(const struct pd_conf *conf, const struct pd_login *login,
	     const struct pd_user *user, struct pd_exec_plan *plan,
	     struct pd_err *err)
{
	const struct pd_conf_section *sec = pd_conf_section(conf, "backend", "dovecot");
	bool imap = strcmp(login->proto, "imap") == 0;
	const char *path = pd_conf_str(sec, imap ? "imap" : "pop3");
	char mail[4200];

	free(plan->path);
	plan->path = pd_xstrdup(path);
	pd_exec_plan_arg(plan, imap ? "imap" : "pop3");
	pd_exec_plan_arg(plan, "-O");
	if (snprintf(mail, sizeof(mail), "maildir:%s%s", plan->maildir,
		     plan->mail_options != NULL ? plan->mail_options : "") >=
	    (int)sizeof(mail))
		return pd_err_set(err, PD_ERR_CONFIG, "user %s: mail location too long",
				  user->user);
	/* Record extras first, so pd's own keys always win. */
	pd_exec_plan_env_extras(plan, user);
	pd_exec_plan_env(plan, "USER", user->user);
	pd_exec_plan_env(plan, "HOME", user->home);
	pd_exec_plan_env(plan, "MAIL", mail);
	pd_exec_plan_env(plan, "IP", login->client_ip);
	pd_exec_plan_env(plan, "LOCAL_IP", login->local_ip);
	if (login->tls)
		pd_exec_plan_env(plan, imap ? "IMAP_TLS" : "POP3_TLS", "1");
	if (user->quota[0] != '\0')
		pd_exec_plan_env(plan, "QUOTA", user->quota);
	if (login->npipelined > 0) {
		if (dovecot_client_input(plan, login, imap, err) < 0)
			return -1;
	} else if (imap) {
		pd_exec_plan_env(plan, "IMAPLOGINTAG", login->tag);
	}
	if (!imap) {
		free(plan->first_output);
		plan->first_output = pd_xstrdup("+OK Logged in.\r\n");
	}
	free(plan->log_tag);
	plan->log_tag = pd_xstrdup(imap ? "dovecot-imap" : "dovecot-pop3");
	return 0;
}

/* At startup: binaries the operator named in [backend dovecot] must exist. */
static int
dovecot_check(const struct pd_conf *conf, struct pd_err *err)
{
	const struct pd_conf_section *sec = pd_conf_section(conf, "backend", "dovecot");
	static const char *const keys[] = { "imap", "pop3" };
	size_t i;

	for (i = 0; i < PD_N_ELEMENTS(keys); i++) {
		const char *v = pd_conf_str(sec, keys[i]);

		if (pd_conf_is_default(sec, keys[i]))
			continue;
		if (access(v, X_OK) < 0)
			return pd_err_sys(err, "%s: %s = %s",
					  pd_conf_where(sec, keys[i]), keys[i], v);
	}
	return 0;
}

const struct pd_backend pd_backend_dovecot = {
	.abi = PD_BACKEND_ABI,
	.name = "dovecot",
	.plan = dovecot_plan,
	.check = dovecot_check,
};
