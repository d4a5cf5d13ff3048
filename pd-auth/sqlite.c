/* SPDX-License-Identifier: MIT */
/*
 * sqlite.c - the "sqlite" driver: one read-only connection and one prepared
 * statement with a single '?' bound to the login.  Result columns are
 * matched to record fields by name (DESIGN §3), so a site's own query only
 * has to alias its columns.  A busy or broken database is a temporary failure.
 */
#include "pd-auth/auth.h"
#include "pd-core/mem.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#define SQLITE_DEFAULT_QUERY \
	"SELECT user, password, uid, gid, home, mail, mailhost, backend, " \
	"quota, status, extra FROM users WHERE user = ?"

struct sqlite_state {
	sqlite3 *db;
	sqlite3_stmt *stmt;
	char *path;
};

static void
sqlite_close_state(void *state)
{
	struct sqlite_state *st = state;

	sqlite3_finalize(st->stmt);
	sqlite3_close(st->db);
	free(st->path);
	free(st);
}

static int
sqlite_open_state(const struct pd_conf_section *sec, void **state_r,
		  struct pd_err *err)
{
	struct sqlite_state *st = pd_xcalloc(1, sizeof(*st));
	const char *path = pd_conf_str(sec, "path");
	const char *query = pd_conf_str(sec, "query");

	if (query[0] == '\0')
		query = SQLITE_DEFAULT_QUERY;
	st->path = pd_xstrdup(path);
	if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		pd_err_set(err, PD_ERR_CONFIG, "%s: sqlite database %s: %s",
			   pd_conf_where(sec, "path"), path,
			   st->db != NULL ? sqlite3_errmsg(st->db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(st->db, 5000);
	if (sqlite3_prepare_v2(st->db, query, -1, &st->stmt, NULL) != SQLITE_OK) {
		pd_err_set(err, PD_ERR_CONFIG, "%s: query in %s: %s",
			   pd_conf_where(sec, "query"), path, sqlite3_errmsg(st->db));
		goto fail;
	}
	if (sqlite3_bind_parameter_count(st->stmt) != 1) {
		pd_err_set(err, PD_ERR_CONFIG,
			   "%s: query must have exactly one '?' (the login)",
			   pd_conf_where(sec, "query"));
		goto fail;
	}
	*state_r = st;
	return 0;
fail:
	sqlite_close_state(st);
	return -1;
}

static int
sqlite_lookup(void *state, const char *login, struct pd_user *u,
	      struct pd_err *err)
{
	struct sqlite_state *st = state;
	int rc, i, ncol, ret = -1;

	sqlite3_reset(st->stmt);
	if (sqlite3_bind_text(st->stmt, 1, login, -1, SQLITE_TRANSIENT) != SQLITE_OK)
		return pd_err_set(err, PD_ERR_TEMP, "%s: bind: %s", st->path,
				  sqlite3_errmsg(st->db));
	rc = sqlite3_step(st->stmt);
	if (rc == SQLITE_DONE) {
		ret = 0;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		pd_err_set(err, PD_ERR_TEMP, "%s: %s", st->path,
			   sqlite3_errmsg(st->db));
		goto out;
	}
	ncol = sqlite3_column_count(st->stmt);
	for (i = 0; i < ncol; i++) {
		const char *name = sqlite3_column_name(st->stmt, i);
		const unsigned char *v = sqlite3_column_text(st->stmt, i);

		if (name == NULL || v == NULL)
			continue;	/* NULL column: field keeps its default */
		if (pd_user_set(u, name, (const char *)v) < 0) {
			pd_err_set(err, PD_ERR_TEMP, "%s: bad value in column %s for %s",
				   st->path, name, login);
			goto out;
		}
	}
	ret = 1;
out:
	sqlite3_reset(st->stmt);
	sqlite3_clear_bindings(st->stmt);
	return ret;
}

const struct pd_auth_driver pd_auth_sqlite = {
	.abi = PD_AUTH_ABI,
	.name = "sqlite",
	.open = sqlite_open_state,
	.lookup = sqlite_lookup,
	.close = sqlite_close_state,
};
