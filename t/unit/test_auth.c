/* SPDX-License-Identifier: MIT */
/*
 * test_auth.c - pd-auth end to end without a session: passwd-file parsing
 * (Dovecot's format, extras, userdb_ prefixes, short lines, comments),
 * the sqlite driver with the default and a custom query, login rewriting,
 * and the verify outcomes (ok, unknown user, wrong password, disabled,
 * temporary failure) with the hash dropped from a successful record.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "pd-auth/auth.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[64];

static void
write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static struct pd_conf *
load_conf(const char *text)
{
	char path[128];
	struct pd_conf *conf = NULL;
	struct pd_err err;

	snprintf(path, sizeof(path), "%s/pd.conf", tmpdir);
	write_file(path, text);
	if (pd_conf_load(path, &conf, &err) < 0)
		fail_msg("conf: %s", err.msg);
	return conf;
}

static struct pd_auth *
open_file_auth(const char *users, const char *extra_conf)
{
	char path[128], conf_text[1024];
	struct pd_conf *conf;
	struct pd_auth *auth = NULL;
	struct pd_err err;

	snprintf(path, sizeof(path), "%s/users", tmpdir);
	write_file(path, users);
	snprintf(conf_text, sizeof(conf_text), "[auth]\ndriver = file\npath = %s\n%s",
		 path, extra_conf);
	conf = load_conf(conf_text);
	if (pd_auth_open(conf, &auth, &err) < 0)
		fail_msg("auth open: %s", err.msg);
	pd_conf_free(&conf);
	return auth;
}

static const char passwd[] =
	"# a comment line\n"
	"\n"
	"alice:{PLAIN}secret:5000:5001::/home/alice::mail=/var/mail/alice quota=1G userdb_mailhost=mx1 LANG=C\n"
	"bob:{PLAIN}pw:5002:5002::/home/bob::status=disabled\n"
	"carol:{PLAIN}pw:5003:5003::/home/carol\n"
	"dave:{NOSUCH}x:5004:5004::/home/dave::\n"
	"erin:{PLAIN}pw:notanumber:5005::/home/erin::\n"
	"alicex:{PLAIN}other:6000:6000::/home/alicex::\n";

static void
test_file_ok(void **state)
{
	struct pd_auth *auth = open_file_auth(passwd, "");
	struct pd_auth_reply r;
	size_t i;
	bool lang = false;

	(void)state;
	pd_auth_verify(auth, "Alice", "secret", &r);
	assert_int_equal(r.result, PD_AUTH_OK);
	assert_string_equal(r.user.user, "alice");
	assert_int_equal(r.user.uid, 5000);
	assert_int_equal(r.user.gid, 5001);
	assert_string_equal(r.user.home, "/home/alice");
	assert_string_equal(r.user.mail, "/var/mail/alice");
	assert_string_equal(r.user.quota, "1G");
	assert_string_equal(r.user.mailhost, "mx1");
	assert_string_equal(r.user.password, "");	/* hash dropped */
	for (i = 0; i < r.user.nextra; i++)
		if (strcmp(r.user.extra[i].key, "LANG") == 0 &&
		    strcmp(r.user.extra[i].value, "C") == 0)
			lang = true;
	assert_true(lang);
	pd_user_deinit(&r.user);
	/* short line with no extra field */
	pd_auth_verify(auth, "carol", "pw", &r);
	assert_int_equal(r.result, PD_AUTH_OK);
	assert_string_equal(r.user.home, "/home/carol");
	pd_user_deinit(&r.user);
	pd_auth_close(&auth);
}

static void
test_file_failures(void **state)
{
	struct pd_auth *auth = open_file_auth(passwd, "");
	struct pd_auth_reply r;
	static const struct { const char *login, *pw; enum pd_auth_result want; } c[] = {
		{ "alice", "wrong", PD_AUTH_BAD_PASSWORD },
		{ "alice", "", PD_AUTH_BAD_PASSWORD },
		{ "nobody", "secret", PD_AUTH_UNKNOWN_USER },
		{ "alic", "secret", PD_AUTH_UNKNOWN_USER },	/* prefix of a name */
		{ "bob", "pw", PD_AUTH_DISABLED },
		{ "bob", "wrong", PD_AUTH_BAD_PASSWORD },	/* status only with the password */
		/* distinctive passwords: the reason must not contain them */
		{ "dave", "Dave-pw-7731", PD_AUTH_BAD_RECORD },	/* unknown scheme */
		{ "erin", "Erin-pw-7732", PD_AUTH_TEMPFAIL },
		{ "a b", "x", PD_AUTH_UNKNOWN_USER },
		{ "a\"b", "x", PD_AUTH_UNKNOWN_USER },
		{ "", "x", PD_AUTH_UNKNOWN_USER },
		{ "# a comment line", "x", PD_AUTH_UNKNOWN_USER },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		pd_auth_verify(auth, c[i].login, c[i].pw, &r);
		if (r.result != c[i].want)
			fail_msg("case %zu (%s): got %s want %s", i, c[i].login,
				 pd_auth_result_name(r.result),
				 pd_auth_result_name(c[i].want));
		if (r.result == PD_AUTH_TEMPFAIL || r.result == PD_AUTH_BAD_RECORD) {
			assert_true(r.reason[0] != '\0');
			assert_null(strstr(r.reason, c[i].pw[0] ? c[i].pw : "\x01"));
		}
		pd_user_deinit(&r.user);
	}
	pd_auth_close(&auth);
}

static void
test_rewrite(void **state)
{
	struct pd_auth *auth = open_file_auth(passwd, "default_domain = Example.ORG\n");
	char out[64];

	(void)state;
	assert_int_equal(pd_auth_rewrite_login(auth, "Alice", out, sizeof(out)), 0);
	assert_string_equal(out, "alice@example.org");
	assert_int_equal(pd_auth_rewrite_login(auth, "Bob@Other.Net", out, sizeof(out)), 0);
	assert_string_equal(out, "bob@other.net");
	assert_int_equal(pd_auth_rewrite_login(auth, "x\ty", out, sizeof(out)), -1);
	assert_int_equal(pd_auth_rewrite_login(auth, "", out, sizeof(out)), -1);
	assert_int_equal(pd_auth_rewrite_login(auth, "a-very-long-name", out, 10), -1);
	pd_auth_close(&auth);
}

static void
test_file_missing(void **state)
{
	char text[256];
	struct pd_conf *conf;
	struct pd_auth *auth = NULL;
	struct pd_err err;

	(void)state;
	snprintf(text, sizeof(text), "[auth]\ndriver = file\npath = %s/nope\n", tmpdir);
	conf = load_conf(text);
	memset(&err, 0, sizeof(err));
	assert_int_equal(pd_auth_open(conf, &auth, &err), -1);
	assert_non_null(strstr(err.msg, "/nope"));
	assert_non_null(strstr(err.msg, "pd.conf:3"));
	pd_conf_free(&conf);
}

static void
make_db(const char *path, const char *sql)
{
	sqlite3 *db;
	char *msg = NULL;

	unlink(path);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("sqlite: %s", msg);
	sqlite3_close(db);
}

static void
test_sqlite(void **state)
{
	char db[128], text[512];
	struct pd_conf *conf;
	struct pd_auth *auth = NULL;
	struct pd_auth_reply r;
	struct pd_err err;

	(void)state;
	snprintf(db, sizeof(db), "%s/users.db", tmpdir);
	make_db(db,
		"CREATE TABLE users (user TEXT PRIMARY KEY, password TEXT NOT NULL, uid INTEGER NOT NULL, "
		"gid INTEGER NOT NULL, home TEXT NOT NULL, mail TEXT NOT NULL DEFAULT '', "
		"mailhost TEXT NOT NULL DEFAULT '', backend TEXT NOT NULL DEFAULT '', "
		"quota TEXT NOT NULL DEFAULT '', status TEXT NOT NULL DEFAULT 'active', "
		"extra TEXT NOT NULL DEFAULT '');"
		"INSERT INTO users (user,password,uid,gid,home,extra) VALUES "
		"('alice','{SSHA256}5LY0snHSoctOcsGXrdm/K2x15TgiSNyshzbjJ3zgMfsBAgMEc2FsdA==',5000,5000,'/home/alice','FOO=bar');"
		"INSERT INTO users (user,password,uid,gid,home,status) VALUES "
		"('bob','{PLAIN}pw',5001,5001,'/home/bob','locked');"
		"INSERT INTO users (user,password,uid,gid,home) VALUES "
		"('x'' OR 1=1 --','{PLAIN}inj',5002,5002,'/home/x');");
	snprintf(text, sizeof(text), "[auth]\ndriver = sqlite\npath = %s\n", db);
	conf = load_conf(text);
	if (pd_auth_open(conf, &auth, &err) < 0)
		fail_msg("open: %s", err.msg);
	pd_auth_verify(auth, "ALICE", "hunter2", &r);
	assert_int_equal(r.result, PD_AUTH_OK);
	assert_string_equal(r.user.user, "alice");
	assert_int_equal(r.user.uid, 5000);
	assert_int_equal(r.user.nextra, 1);
	assert_string_equal(r.user.extra[0].key, "FOO");
	pd_user_deinit(&r.user);
	pd_auth_verify(auth, "alice", "hunter3", &r);
	assert_int_equal(r.result, PD_AUTH_BAD_PASSWORD);
	pd_user_deinit(&r.user);
	pd_auth_verify(auth, "bob", "pw", &r);
	assert_int_equal(r.result, PD_AUTH_DISABLED);
	pd_user_deinit(&r.user);
	/* the login is a bound parameter, never SQL */
	pd_auth_verify(auth, "nobody' or '1'='1", "pw", &r);
	assert_int_equal(r.result, PD_AUTH_UNKNOWN_USER);
	pd_user_deinit(&r.user);
	pd_auth_close(&auth);
	pd_conf_free(&conf);

	/* custom query with aliased columns from another table */
	make_db(db, "CREATE TABLE accts (login TEXT, pw TEXT, u INT, g INT, h TEXT);"
		"INSERT INTO accts VALUES ('carol','{PLAIN}c',5005,5006,'/srv/carol');");
	snprintf(text, sizeof(text), "[auth]\ndriver = sqlite\npath = %s\n"
		 "query = SELECT login AS user, pw AS password, u AS uid,\n"
		 "        g AS gid, h AS home FROM accts WHERE login = ?\n", db);
	conf = load_conf(text);
	if (pd_auth_open(conf, &auth, &err) < 0)
		fail_msg("open: %s", err.msg);
	pd_auth_verify(auth, "carol", "c", &r);
	assert_int_equal(r.result, PD_AUTH_OK);
	assert_int_equal(r.user.gid, 5006);
	assert_string_equal(r.user.home, "/srv/carol");
	pd_user_deinit(&r.user);
	pd_auth_close(&auth);
	pd_conf_free(&conf);

	/* a query without exactly one '?' is a startup error naming file:line */
	snprintf(text, sizeof(text), "[auth]\ndriver = sqlite\npath = %s\n"
		 "query = SELECT * FROM accts\n", db);
	conf = load_conf(text);
	memset(&err, 0, sizeof(err));
	assert_int_equal(pd_auth_open(conf, &auth, &err), -1);
	assert_non_null(strstr(err.msg, "pd.conf:4"));
	pd_conf_free(&conf);

	/* a missing database is a startup error naming it */
	snprintf(text, sizeof(text), "[auth]\ndriver = sqlite\npath = %s/none.db\n", tmpdir);
	conf = load_conf(text);
	memset(&err, 0, sizeof(err));
	assert_int_equal(pd_auth_open(conf, &auth, &err), -1);
	assert_non_null(strstr(err.msg, "none.db"));
	pd_conf_free(&conf);
}

static void
test_unknown_driver(void **state)
{
	struct pd_conf *conf = load_conf("[auth]\ndriver = ldap\n");
	struct pd_auth *auth = NULL;
	struct pd_err err;

	(void)state;
	memset(&err, 0, sizeof(err));
	assert_int_equal(pd_auth_open(conf, &auth, &err), -1);
	assert_non_null(strstr(err.msg, "pd_auth_ldap.so"));
	pd_conf_free(&conf);
}

static int
setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/pd-test-auth.XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_ok),
		cmocka_unit_test(test_file_failures),
		cmocka_unit_test(test_rewrite),
		cmocka_unit_test(test_file_missing),
		cmocka_unit_test(test_sqlite),
		cmocka_unit_test(test_unknown_driver),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests_name("auth", tests, setup, teardown);
}
