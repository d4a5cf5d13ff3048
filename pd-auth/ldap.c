/* SPDX-License-Identifier: MIT */
/*
 * ldap.c - the "ldap" driver, built as pd_auth_ldap.so (libldap): a URI
 * list tried in order, StartTLS or ldaps with CA verification, a service
 * bind, one search per login with the name RFC 4515-escaped into the
 * filter, attributes mapped to record fields, and the password either
 * compared with the {SCHEME} value of an attribute or checked by binding
 * as the user's DN (auth_bind).  Connections open at the first lookup and
 * are reopened once when the server went away; a server that is down is a
 * temporary failure, never "wrong password".
 */
#include "pd-auth/auth.h"
#include "pd-auth/pwscheme.h"
#include "pd-core/buf.h"
#include "pd-core/mem.h"

#include <ldap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DIR_MAP_MAX 32

struct dir_map {
	char *field;	/* record field (DESIGN §3 name) */
	char *attr;	/* LDAP attribute */
};

struct dir_state {
	char *uri, *base, *filter, *bind_dn, *ca, *where;
	char bind_pw[256];
	int scope;
	bool starttls, auth_bind;
	int timeout;
	struct dir_map map[DIR_MAP_MAX];
	size_t nmap;
	char *attrs[DIR_MAP_MAX + 1];
	LDAP *ld;		/* service connection */
	char *last_dn;		/* DN of the last user found (auth_bind) */
};

static void
dir_state_free(void *p)
{
	struct dir_state *st = p;
	size_t i;

	if (st->ld != NULL)
		ldap_unbind_ext_s(st->ld, NULL, NULL);
	for (i = 0; i < st->nmap; i++) {
		free(st->map[i].field);
		free(st->map[i].attr);
	}
	pd_wipe(st->bind_pw, sizeof(st->bind_pw));
	free(st->uri);
	free(st->base);
	free(st->filter);
	free(st->bind_dn);
	free(st->ca);
	free(st->where);
	free(st->last_dn);
	free(st);
}

static int
dir_parse_map(struct dir_state *st, const char *map, const char *where,
	       struct pd_err *err)
{
	const char *p = map;

	while (*p != '\0') {
		size_t n;
		char *pair, *eq;

		p += strspn(p, " \t");
		n = strcspn(p, " \t");
		if (n == 0)
			break;
		if (st->nmap == DIR_MAP_MAX)
			return pd_err_set(err, PD_ERR_CONFIG, "%s: map: more than %d "
					  "fields", where, DIR_MAP_MAX);
		pair = pd_xstrndup(p, n);
		p += n;
		if ((eq = strchr(pair, '=')) == NULL || eq == pair || eq[1] == '\0') {
			pd_err_set(err, PD_ERR_CONFIG, "%s: map: '%s' is not "
				   "field=attribute", where, pair);
			free(pair);
			return -1;
		}
		*eq = '\0';
		st->map[st->nmap].field = pd_xstrdup(pair);
		st->map[st->nmap].attr = pd_xstrdup(eq + 1);
		st->attrs[st->nmap] = st->map[st->nmap].attr;
		st->nmap++;
		free(pair);
	}
	st->attrs[st->nmap] = NULL;
	return 0;
}

static int
dir_open_state(const struct pd_conf_section *sec, void **state_r,
		struct pd_err *err)
{
	struct dir_state *st = pd_xcalloc(1, sizeof(*st));
	const char *scope = pd_conf_str(sec, "scope");
	const char *pwfile = pd_conf_str(sec, "bind_password_file");

	st->uri = pd_xstrdup(pd_conf_str(sec, "uri"));
	st->base = pd_xstrdup(pd_conf_str(sec, "base"));
	st->filter = pd_xstrdup(pd_conf_str(sec, "filter"));
	st->bind_dn = pd_xstrdup(pd_conf_str(sec, "bind_dn"));
	st->ca = pd_xstrdup(pd_conf_str(sec, "ca"));
	st->where = pd_xstrdup(pd_conf_where(sec, "uri"));
	st->starttls = pd_conf_bool(sec, "starttls");
	st->auth_bind = pd_conf_bool(sec, "auth_bind");
	st->timeout = (int)pd_conf_uint(sec, "timeout");
	st->scope = strcmp(scope, "base") == 0 ? LDAP_SCOPE_BASE
		  : strcmp(scope, "one") == 0 ? LDAP_SCOPE_ONELEVEL
		  : LDAP_SCOPE_SUBTREE;
	if (strstr(st->filter, "%u") == NULL) {
		pd_err_set(err, PD_ERR_CONFIG, "%s: filter '%s' has no %%u",
			   pd_conf_where(sec, "filter"), st->filter);
		goto fail;
	}
	if (dir_parse_map(st, pd_conf_str(sec, "map"), pd_conf_where(sec, "map"),
			   err) < 0)
		goto fail;
	if (pwfile[0] != '\0' &&
	    pd_auth_read_secret(pwfile, pd_conf_where(sec, "bind_password_file"),
				st->bind_pw, sizeof(st->bind_pw), err) < 0)
		goto fail;
	*state_r = st;
	return 0;
fail:
	dir_state_free(st);
	return -1;
}

/* A new connection, TLS as configured; bound as bind_dn (or anonymous). */
static int
dir_connect(struct dir_state *st, const char *dn, const char *pw, LDAP **ld_r,
	     struct pd_err *err)
{
	LDAP *ld = NULL;
	int v3 = LDAP_VERSION3, demand = LDAP_OPT_X_TLS_DEMAND, zero = 0, rc;
	struct timeval tv = { st->timeout, 0 };
	struct berval cred;

	if ((rc = ldap_initialize(&ld, st->uri)) != LDAP_SUCCESS)
		return pd_err_set(err, PD_ERR_TEMP, "ldap uri %s: %s", st->uri,
				  ldap_err2string(rc));
	ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v3);
	ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv);
	ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv);
	ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
	if (st->ca[0] != '\0') {
		ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, st->ca);
		ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand);
		ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &zero);
	}
	if (st->starttls && (rc = ldap_start_tls_s(ld, NULL, NULL)) != LDAP_SUCCESS) {
		pd_err_set(err, PD_ERR_TEMP, "ldap %s: StartTLS: %s", st->uri,
			   ldap_err2string(rc));
		ldap_unbind_ext_s(ld, NULL, NULL);
		return -1;
	}
	cred.bv_val = (char *)pw;
	cred.bv_len = strlen(pw);
	rc = ldap_sasl_bind_s(ld, dn[0] != '\0' ? dn : NULL, LDAP_SASL_SIMPLE,
			      &cred, NULL, NULL, NULL);
	if (rc != LDAP_SUCCESS) {
		ldap_unbind_ext_s(ld, NULL, NULL);
		if (rc == LDAP_INVALID_CREDENTIALS)
			return pd_err_set(err, PD_ERR_AUTH, "ldap %s: bind as '%s': %s",
					  st->uri, dn, ldap_err2string(rc));
		return pd_err_set(err, PD_ERR_TEMP, "ldap %s: bind as '%s': %s",
				  st->uri, dn[0] != '\0' ? dn : "(anonymous)",
				  ldap_err2string(rc));
	}
	*ld_r = ld;
	return 0;
}

/* RFC 4515 §3: the login as a filter value, %u replaced, %% a percent. */
static int
dir_build_filter(const char *tmpl, const char *login, struct pd_buf *out)
{
	const char *p;
	char esc[4];

	for (p = tmpl; *p != '\0'; p++) {
		if (p[0] == '%' && p[1] == 'u') {
			const unsigned char *l;

			for (l = (const unsigned char *)login; *l != '\0'; l++) {
				if (*l == '*' || *l == '(' || *l == ')' || *l == '\\' ||
				    *l < 0x20 || *l >= 0x7f) {
					snprintf(esc, sizeof(esc), "\\%02x", *l);
					if (pd_buf_append(out, esc, 3) < 0)
						return -1;
				} else if (pd_buf_append(out, l, 1) < 0) {
					return -1;
				}
			}
			p++;
		} else if (p[0] == '%' && p[1] == '%') {
			if (pd_buf_append(out, "%", 1) < 0)
				return -1;
			p++;
		} else if (pd_buf_append(out, p, 1) < 0) {
			return -1;
		}
	}
	return 0;
}

static bool
dir_is_down(int rc)
{
	return rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR ||
	       rc == LDAP_TIMEOUT || rc == LDAP_UNAVAILABLE || rc == LDAP_BUSY;
}

/* Worth a second try: the kept connection was dropped, not timed out. */
static bool
dir_is_gone(int rc)
{
	return rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR;
}

static int
dir_search_once(struct dir_state *st, const char *filter, LDAPMessage **res_r,
		 int *rc_r)
{
	struct timeval tv = { st->timeout, 0 };

	*res_r = NULL;
	*rc_r = ldap_search_ext_s(st->ld, st->base, st->scope, filter, st->attrs,
				  0, NULL, NULL, &tv, 2, res_r);
	return *rc_r == LDAP_SUCCESS || *rc_r == LDAP_SIZELIMIT_EXCEEDED ? 0 : -1;
}

static int
dir_lookup(void *state, const char *login, struct pd_user *u,
	    struct pd_err *err)
{
	struct dir_state *st = state;
	struct pd_buf filter;
	LDAPMessage *res = NULL, *e;
	char *dn;
	int rc, n, ret = -1, attempt;
	size_t i;

	pd_buf_init(&filter, 4096);
	if (dir_build_filter(st->filter, login, &filter) < 0) {
		pd_err_set(err, PD_ERR_TEMP, "ldap filter too long");
		goto out;
	}
	/* Reconnect once if the server went away since the last lookup. */
	for (attempt = 0; attempt < 2; attempt++) {
		bool fresh = st->ld == NULL;

		if (fresh &&
		    dir_connect(st, st->bind_dn, st->bind_pw, &st->ld, err) < 0) {
			if (err != NULL)
				err->kind = PD_ERR_TEMP;
			goto out;
		}
		if (dir_search_once(st, pd_buf_cstr(&filter), &res, &rc) == 0)
			break;
		if (res != NULL) {
			ldap_msgfree(res);
			res = NULL;
		}
		if (!dir_is_gone(rc) || fresh || attempt == 1) {
			pd_err_set(err, PD_ERR_TEMP, "ldap search %s: %s", st->uri,
				   ldap_err2string(rc));
			if (dir_is_down(rc)) {
				ldap_unbind_ext_s(st->ld, NULL, NULL);
				st->ld = NULL;
			}
			goto out;
		}
		ldap_unbind_ext_s(st->ld, NULL, NULL);
		st->ld = NULL;
	}
	n = ldap_count_entries(st->ld, res);
	if (n == 0) {
		ret = 0;
		goto out;
	}
	if (n > 1 || rc == LDAP_SIZELIMIT_EXCEEDED) {
		pd_err_set(err, PD_ERR_TEMP, "ldap: more than one entry for %s",
			   login);
		goto out;
	}
	e = ldap_first_entry(st->ld, res);
	if ((dn = ldap_get_dn(st->ld, e)) != NULL) {
		free(st->last_dn);
		st->last_dn = pd_xstrdup(dn);
		ldap_memfree(dn);
	}
	for (i = 0; i < st->nmap; i++) {
		struct berval **vals = ldap_get_values_len(st->ld, e, st->map[i].attr);
		char *v;
		bool nul;

		if (vals == NULL || vals[0] == NULL) {
			ldap_value_free_len(vals);
			continue;	/* missing attribute: the field's default */
		}
		v = pd_xstrndup(vals[0]->bv_val, vals[0]->bv_len);
		nul = strlen(v) != vals[0]->bv_len;
		ldap_value_free_len(vals);
		if (nul || pd_user_set(u, st->map[i].field, v) < 0) {
			pd_err_set(err, PD_ERR_TEMP, "ldap: bad %s for %s",
				   st->map[i].attr, login);
			if (strcmp(st->map[i].field, "password") == 0)
				pd_wipe(v, strlen(v));
			free(v);
			goto out;
		}
		if (strcmp(st->map[i].field, "password") == 0)
			pd_wipe(v, strlen(v));
		free(v);
	}
	ret = 1;
out:
	if (res != NULL)
		ldap_msgfree(res);
	pd_buf_deinit(&filter);
	return ret;
}

static int
dir_verify(void *state, const struct pd_user *u, const char *password,
	    struct pd_err *err)
{
	struct dir_state *st = state;
	LDAP *ld = NULL;
	struct pd_err berr;

	if (!st->auth_bind)
		return pd_pwscheme_verify(u->password, password, err);
	if (st->last_dn == NULL || password[0] == '\0')
		return 0;	/* an empty password would be an anonymous bind */
	pd_err_clear(&berr);
	if (dir_connect(st, st->last_dn, password, &ld, &berr) == 0) {
		ldap_unbind_ext_s(ld, NULL, NULL);
		return 1;
	}
	if (berr.kind == PD_ERR_AUTH)
		return 0;
	return pd_err_set(err, PD_ERR_TEMP, "%s", berr.msg);
}

PD_EXPORT const struct pd_auth_driver pd_auth_ldap = {
	.abi = PD_AUTH_ABI,
	.name = "ldap",
	.open = dir_open_state,
	.lookup = dir_lookup,
	.close = dir_state_free,
	.verify = dir_verify,
};
