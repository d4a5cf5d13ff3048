/* SPDX-License-Identifier: MIT */
/*
 * auth.c - opening the configured driver, rewriting logins, verifying the
 * password and status once per login, and the in-process auth client.  An
 * unknown user costs a dummy hash so its timing matches a wrong password.
 */
#include "pd-auth/auth.h"
#include "pd-auth/pwscheme.h"
#include "pd-core/log.h"
#include "pd-core/mem.h"
#include "pd-core/module.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct pd_auth {
	const struct pd_auth_driver *driver;
	void *state;
	bool lowercase;
	char *default_domain;
};

static const struct pd_auth_driver *const auth_static_drivers[] = {
	&pd_auth_file,
	&pd_auth_sqlite,
};

const char *
pd_auth_result_name(enum pd_auth_result r)
{
	switch (r) {
	case PD_AUTH_OK:
		return "ok";
	case PD_AUTH_UNKNOWN_USER:
		return "unknown-user";
	case PD_AUTH_BAD_PASSWORD:
		return "password-mismatch";
	case PD_AUTH_DISABLED:
		return "disabled";
	case PD_AUTH_TEMPFAIL:
		return "tempfail";
	case PD_AUTH_BAD_RECORD:
		return "bad-record";
	}
	return "?";
}

int
pd_auth_open(const struct pd_conf *conf, struct pd_auth **auth_r,
	     struct pd_err *err)
{
	const struct pd_conf_section *sec = pd_conf_section(conf, "auth", NULL);
	const char *name = pd_conf_str(sec, "driver");
	const struct pd_auth_driver *drv = NULL;
	struct pd_auth *auth;
	size_t i;

	for (i = 0; i < PD_N_ELEMENTS(auth_static_drivers); i++)
		if (strcmp(auth_static_drivers[i]->name, name) == 0)
			drv = auth_static_drivers[i];
	if (drv == NULL) {
		struct pd_err lerr;

		pd_err_clear(&lerr);
		drv = pd_module_load("auth", name, pd_conf_str(sec, "module_dir"),
				     &lerr);
		if (drv == NULL)
			return pd_err_set(err, PD_ERR_CONFIG, "%s: %s",
					  pd_conf_where(sec, "driver"), lerr.msg);
		if (drv->abi != PD_AUTH_ABI || drv->name == NULL ||
		    strcmp(drv->name, name) != 0)
			return pd_err_set(err, PD_ERR_CONFIG,
					  "%s: auth driver '%s' was built for another "
					  "version of pd (ABI %u, want %u)",
					  pd_conf_where(sec, "driver"), name, drv->abi,
					  PD_AUTH_ABI);
	}
	auth = pd_xcalloc(1, sizeof(*auth));
	auth->driver = drv;
	auth->lowercase = pd_conf_bool(sec, "lowercase");
	auth->default_domain = pd_xstrdup(pd_conf_str(sec, "default_domain"));
	if (drv->open(sec, &auth->state, err) < 0) {
		free(auth->default_domain);
		free(auth);
		return -1;
	}
	*auth_r = auth;
	return 0;
}

void
pd_auth_close(struct pd_auth **authp)
{
	struct pd_auth *auth = *authp;

	if (auth == NULL)
		return;
	auth->driver->close(auth->state);
	free(auth->default_domain);
	free(auth);
	*authp = NULL;
}

int
pd_auth_read_secret(const char *path, const char *where, char *dst,
		    size_t dstsz, struct pd_err *err)
{
	struct stat st;
	FILE *fp;
	size_t n;

	if ((fp = fopen(path, "re")) == NULL) {
		pd_err_sys(err, "%s: secret file %s", where, path);
		if (err != NULL)
			err->kind = PD_ERR_CONFIG;	/* a startup error */
		return -1;
	}
	if (fstat(fileno(fp), &st) == 0 && (st.st_mode & S_IROTH)) {
		fclose(fp);
		return pd_err_set(err, PD_ERR_CONFIG, "%s: secret file %s is "
				  "readable by others (chmod o-r)", where, path);
	}
	if (fgets(dst, (int)dstsz, fp) == NULL)
		dst[0] = '\0';
	fclose(fp);
	n = strcspn(dst, "\r\n");
	dst[n] = '\0';
	if (n == 0)
		return pd_err_set(err, PD_ERR_CONFIG, "%s: secret file %s is empty",
				  where, path);
	return 0;
}

int
pd_auth_rewrite_login(const struct pd_auth *auth, const char *login, char *dst,
		      size_t dstsz)
{
	size_t i, n = strlen(login);
	int r;

	if (n == 0 || n >= dstsz)
		return -1;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)login[i];

		if (c <= 0x20 || c == 0x7f || c == '"' || c == '\\')
			return -1;
		dst[i] = auth->lowercase ? (char)tolower(c) : (char)c;
	}
	dst[n] = '\0';
	if (auth->default_domain[0] != '\0' && strchr(dst, '@') == NULL) {
		r = snprintf(dst + n, dstsz - n, "@%s", auth->default_domain);
		if (r < 0 || (size_t)r >= dstsz - n)
			return -1;
		if (auth->lowercase)
			for (i = n; dst[i] != '\0'; i++)
				dst[i] = (char)tolower((unsigned char)dst[i]);
	}
	return 0;
}

void
pd_auth_verify(struct pd_auth *auth, const char *login, const char *password,
	       struct pd_auth_reply *reply)
{
	char name[PD_LOGIN_MAX + 1];
	struct pd_err err;
	int r;

	memset(reply, 0, sizeof(*reply));
	pd_user_init(&reply->user);
	pd_err_clear(&err);
	if (pd_auth_rewrite_login(auth, login, name, sizeof(name)) < 0) {
		pd_pwscheme_dummy_verify(password);
		reply->result = PD_AUTH_UNKNOWN_USER;
		snprintf(reply->reason, sizeof(reply->reason), "invalid login name");
		goto fail;
	}
	r = auth->driver->lookup(auth->state, name, &reply->user, &err);
	if (r < 0) {
		reply->result = PD_AUTH_TEMPFAIL;
		snprintf(reply->reason, sizeof(reply->reason), "%.32s lookup: %.256s",
			 auth->driver->name, err.msg);
		goto fail;
	}
	if (r == 0) {
		pd_pwscheme_dummy_verify(password);
		reply->result = PD_AUTH_UNKNOWN_USER;
		goto fail;
	}
	if (reply->user.user[0] == '\0')
		pd_user_set(&reply->user, "user", name);
	r = auth->driver->verify != NULL
		? auth->driver->verify(auth->state, &reply->user, password, &err)
		: pd_pwscheme_verify(reply->user.password, password, &err);
	if (r < 0) {
		/* LDAP auth_bind may fail for want of the server: tempfail. */
		reply->result = auth->driver->verify != NULL ? PD_AUTH_TEMPFAIL
							     : PD_AUTH_BAD_RECORD;
		snprintf(reply->reason, sizeof(reply->reason),
			 "password of user %.256s: %.256s", name, err.msg);
		goto fail;
	}
	if (r == 0) {
		reply->result = PD_AUTH_BAD_PASSWORD;
		goto fail;
	}
	/* The status is told only to someone who knows the password. */
	if (!pd_user_is_active(&reply->user)) {
		reply->result = PD_AUTH_DISABLED;
		snprintf(reply->reason, sizeof(reply->reason), "status=%.100s",
			 reply->user.status);
		goto fail;
	}
	/* The hash has no business beyond this point. */
	pd_user_set(&reply->user, "password", "");
	reply->result = PD_AUTH_OK;
	return;
fail:
	pd_user_deinit(&reply->user);
	pd_user_init(&reply->user);
}

/* In-process client: verify synchronously, answer on the next loop turn. */
struct inproc_req {
	struct pd_timer timer;
	struct pd_auth_reply reply;
	pd_auth_reply_cb *cb;
	void *cbctx;
};

static void
inproc_fire(void *ctx)
{
	struct inproc_req *req = ctx;

	req->cb(req->cbctx, &req->reply);
	pd_user_deinit(&req->reply.user);
	free(req);
}

static void *
inproc_start(void *ctx, struct pd_event_loop *loop,
	     const struct pd_auth_request_info *info, pd_auth_reply_cb *cb,
	     void *cbctx)
{
	struct inproc_req *req = pd_xcalloc(1, sizeof(*req));

	pd_auth_verify(ctx, info->login, info->password, &req->reply);
	req->cb = cb;
	req->cbctx = cbctx;
	pd_timer_start(loop, &req->timer, 0, inproc_fire, req);
	return req;
}

static void
inproc_cancel(void *handle)
{
	struct inproc_req *req = handle;

	pd_timer_stop(&req->timer);
	pd_user_deinit(&req->reply.user);
	free(req);
}

struct pd_auth_client
pd_auth_inproc_client(struct pd_auth *auth)
{
	struct pd_auth_client c = { auth, inproc_start, inproc_cancel };

	return c;
}

static void
inproc_close(struct pd_auth_client *client)
{
	struct pd_auth *auth = client->ctx;

	pd_auth_close(&auth);
	client->ctx = NULL;
}

int
pd_auth_client_open(const struct pd_conf *conf, struct pd_auth_client *client_r,
		    void (**close_r)(struct pd_auth_client *), struct pd_err *err)
{
	struct pd_auth *auth;

	if (pd_auth_open(conf, &auth, err) < 0)
		return -1;
	*client_r = pd_auth_inproc_client(auth);
	*close_r = inproc_close;
	return 0;
}
