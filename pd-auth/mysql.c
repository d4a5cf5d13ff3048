/* SPDX-License-Identifier: MIT */
/*
 * mysql.c - the "mysql" driver, built as pd_auth_mysql.so (libmariadb):
 * one connection (host/port or socket, optional TLS with CA verification,
 * password from a file) and one prepared statement with the login as its
 * only bound parameter - never SQL built from strings.  Result columns are
 * matched to record fields by name, as in the sqlite driver.  The
 * connection opens at the first lookup and is reopened once when the
 * server went away; a server that is down is a temporary failure.
 */
#include "pd-auth/auth.h"
#include "pd-core/mem.h"

#include <errmsg.h>
#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MYSQL_DEFAULT_QUERY \
	"SELECT user, password, uid, gid, home, mail, mailhost, backend, " \
	"quota, status, extra FROM users WHERE user = ?"
#define MYSQL_COLS_MAX 32
#define MYSQL_VALUE_MAX 4096

struct db_state {
	char *host, *socket, *database, *user, *query, *ca, *where;
	char password[256];
	unsigned port, timeout;
	bool tls;
	MYSQL *db;
	MYSQL_STMT *stmt;
};

static void
db_disconnect(struct db_state *st)
{
	if (st->stmt != NULL)
		mysql_stmt_close(st->stmt);
	st->stmt = NULL;
	if (st->db != NULL)
		mysql_close(st->db);
	st->db = NULL;
}

static void
db_state_free(void *p)
{
	struct db_state *st = p;

	db_disconnect(st);
	pd_wipe(st->password, sizeof(st->password));
	free(st->host);
	free(st->socket);
	free(st->database);
	free(st->user);
	free(st->query);
	free(st->ca);
	free(st->where);
	free(st);
}

static int
db_open_state(const struct pd_conf_section *sec, void **state_r,
		 struct pd_err *err)
{
	struct db_state *st = pd_xcalloc(1, sizeof(*st));
	const char *pwfile = pd_conf_str(sec, "password_file");
	const char *q = pd_conf_str(sec, "query");

	st->host = pd_xstrdup(pd_conf_str(sec, "host"));
	st->socket = pd_xstrdup(pd_conf_str(sec, "socket"));
	st->database = pd_xstrdup(pd_conf_str(sec, "database"));
	st->user = pd_xstrdup(pd_conf_str(sec, "user"));
	st->query = pd_xstrdup(q[0] != '\0' ? q : MYSQL_DEFAULT_QUERY);
	st->ca = pd_xstrdup(pd_conf_str(sec, "ca"));
	st->where = pd_xstrdup(pd_conf_where(sec, "host"));
	st->port = (unsigned)pd_conf_uint(sec, "port");
	st->timeout = (unsigned)pd_conf_uint(sec, "timeout");
	st->tls = pd_conf_bool(sec, "tls");
	if (pwfile[0] != '\0' &&
	    pd_auth_read_secret(pwfile, pd_conf_where(sec, "password_file"),
				st->password, sizeof(st->password), err) < 0) {
		db_state_free(st);
		return -1;
	}
	*state_r = st;
	return 0;
}

static const char *
db_where(const struct db_state *st, char *buf, size_t n)
{
	if (st->socket[0] != '\0')
		snprintf(buf, n, "%s", st->socket);
	else
		snprintf(buf, n, "%s:%u", st->host, st->port);
	return buf;
}

static int
db_connect(struct db_state *st, struct pd_err *err)
{
	char where[300];
	my_bool on = 1;

	if ((st->db = mysql_init(NULL)) == NULL)
		return pd_err_set(err, PD_ERR_TEMP, "mysql_init: out of memory");
	mysql_options(st->db, MYSQL_OPT_CONNECT_TIMEOUT, &st->timeout);
	mysql_options(st->db, MYSQL_OPT_READ_TIMEOUT, &st->timeout);
	mysql_options(st->db, MYSQL_OPT_WRITE_TIMEOUT, &st->timeout);
	if (st->tls) {
		mysql_options(st->db, MYSQL_OPT_SSL_ENFORCE, &on);
		if (st->ca[0] != '\0') {
			mysql_options(st->db, MYSQL_OPT_SSL_CA, st->ca);
			mysql_options(st->db, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &on);
		}
	}
	if (mysql_real_connect(st->db, st->socket[0] != '\0' ? NULL : st->host,
			       st->user, st->password, st->database,
			       st->socket[0] != '\0' ? 0 : st->port,
			       st->socket[0] != '\0' ? st->socket : NULL, 0) == NULL) {
		pd_err_set(err, PD_ERR_TEMP, "mysql %s: %s",
			   db_where(st, where, sizeof(where)), mysql_error(st->db));
		db_disconnect(st);
		return -1;
	}
	if ((st->stmt = mysql_stmt_init(st->db)) == NULL ||
	    mysql_stmt_prepare(st->stmt, st->query, strlen(st->query)) != 0) {
		pd_err_set(err, PD_ERR_TEMP, "mysql %s: query: %s",
			   db_where(st, where, sizeof(where)),
			   st->stmt != NULL ? mysql_stmt_error(st->stmt)
					    : mysql_error(st->db));
		db_disconnect(st);
		return -1;
	}
	if (mysql_stmt_param_count(st->stmt) != 1) {
		pd_err_set(err, PD_ERR_TEMP, "%s: query must have exactly one '?' "
			   "(the login)", st->where);
		db_disconnect(st);
		return -1;
	}
	return 0;
}

static bool
db_is_gone(unsigned e)
{
	return e == CR_SERVER_GONE_ERROR || e == CR_SERVER_LOST ||
	       e == CR_CONN_HOST_ERROR || e == CR_CONNECTION_ERROR;
}

/* Execute and fetch one row into u; 1 row, 0 none, -1 error (*gone_r). */
static int
db_run(struct db_state *st, const char *login, struct pd_user *u,
	  bool *gone_r, struct pd_err *err)
{
	MYSQL_BIND param, res[MYSQL_COLS_MAX];
	MYSQL_RES *meta = NULL;
	MYSQL_FIELD *fields;
	char *vals = NULL, where[300];
	unsigned long lens[MYSQL_COLS_MAX], loginlen = strlen(login);
	my_bool nulls[MYSQL_COLS_MAX], errs[MYSQL_COLS_MAX];
	unsigned n, i;
	int rc, ret = -1;

	*gone_r = false;
	memset(&param, 0, sizeof(param));
	param.buffer_type = MYSQL_TYPE_STRING;
	param.buffer = (void *)login;
	param.buffer_length = loginlen;
	param.length = &loginlen;
	if (mysql_stmt_bind_param(st->stmt, &param) != 0 ||
	    mysql_stmt_execute(st->stmt) != 0)
		goto fail;
	if ((meta = mysql_stmt_result_metadata(st->stmt)) == NULL)
		goto fail;
	n = mysql_num_fields(meta);
	fields = mysql_fetch_fields(meta);
	if (n > MYSQL_COLS_MAX) {
		pd_err_set(err, PD_ERR_TEMP, "%s: query returns more than %d "
			   "columns", st->where, MYSQL_COLS_MAX);
		goto out;
	}
	vals = pd_xcalloc(n, MYSQL_VALUE_MAX + 1);
	memset(res, 0, sizeof(res));
	for (i = 0; i < n; i++) {
		res[i].buffer_type = MYSQL_TYPE_STRING;
		res[i].buffer = vals + (size_t)i * (MYSQL_VALUE_MAX + 1);
		res[i].buffer_length = MYSQL_VALUE_MAX;
		res[i].length = &lens[i];
		res[i].is_null = &nulls[i];
		res[i].error = &errs[i];
	}
	if (mysql_stmt_bind_result(st->stmt, res) != 0)
		goto fail;
	rc = mysql_stmt_fetch(st->stmt);
	if (rc == MYSQL_NO_DATA) {
		ret = 0;
		goto out;
	}
	if (rc == MYSQL_DATA_TRUNCATED) {
		pd_err_set(err, PD_ERR_TEMP, "%s: a value for %s is longer than %d",
			   st->where, login, MYSQL_VALUE_MAX);
		goto out;
	}
	if (rc != 0)
		goto fail;
	for (i = 0; i < n; i++) {
		char *v = res[i].buffer;

		if (nulls[i])
			continue;	/* NULL: the field keeps its default */
		v[lens[i]] = '\0';
		if (strlen(v) != lens[i] || pd_user_set(u, fields[i].name, v) < 0) {
			pd_err_set(err, PD_ERR_TEMP, "%s: bad value in column %s "
				   "for %s", st->where, fields[i].name, login);
			goto out;
		}
	}
	/* A login that matches two rows is a broken table, not a user. */
	rc = mysql_stmt_fetch(st->stmt);
	if (rc == 0 || rc == MYSQL_DATA_TRUNCATED) {
		pd_err_set(err, PD_ERR_TEMP, "%s: more than one row for %s",
			   st->where, login);
		goto out;
	}
	ret = 1;
	goto out;
fail:
	*gone_r = db_is_gone(mysql_stmt_errno(st->stmt));
	pd_err_set(err, PD_ERR_TEMP, "mysql %s: %s",
		   db_where(st, where, sizeof(where)), mysql_stmt_error(st->stmt));
out:
	if (meta != NULL)
		mysql_free_result(meta);
	mysql_stmt_free_result(st->stmt);
	mysql_stmt_reset(st->stmt);
	if (vals != NULL) {
		pd_wipe(vals, (size_t)n * (MYSQL_VALUE_MAX + 1));
		free(vals);
	}
	return ret;
}

static int
db_lookup(void *state, const char *login, struct pd_user *u,
	     struct pd_err *err)
{
	struct db_state *st = state;
	bool gone = false;
	int attempt, r = -1;

	for (attempt = 0; attempt < 2; attempt++) {
		bool fresh = st->db == NULL;
		struct timespec t0, t1;

		if (fresh && db_connect(st, err) < 0)
			return -1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		r = db_run(st, login, u, &gone, err);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (r >= 0 || !gone)
			return r;
		db_disconnect(st);
		/* Once more only for a kept connection the server dropped
		 * (restart, wait_timeout) - not after a fresh one, nor after a
		 * timeout, which would only double the wait and the load. */
		if (fresh || t1.tv_sec - t0.tv_sec >= (time_t)st->timeout)
			return r;
	}
	return r;
}

PD_EXPORT const struct pd_auth_driver pd_auth_mysql = {
	.abi = PD_AUTH_ABI,
	.name = "mysql",
	.open = db_open_state,
	.lookup = db_lookup,
	.close = db_state_free,
	.verify = NULL,
};
