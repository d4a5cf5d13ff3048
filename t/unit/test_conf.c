/* SPDX-License-Identifier: MIT */
/*
 * test_conf.c - unit tests of the pd.conf parser (pd-core/conf.c): defaults
 * of the declared keys, values and where they were set, comments,
 * continuation lines, includes, every error path (which must name file:line)
 * and pd_parse_uint.  Each row writes its files (mkstemp) into a private
 * directory under /tmp and removes them; failures are TAP "not ok" lines.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "pd-core/conf.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

_Static_assert(ULONG_MAX == 18446744073709551615UL,
	       "the pd_parse_uint rows assume a 64-bit unsigned long");

/*
 * One expected value.  type/name select the section as pd_conf_section
 * does; kind is 's' (pd_conf_str), 'u' (pd_conf_uint, val in decimal) or
 * 'b' (pd_conf_bool, val "yes" or "no").  where, when not NULL, is what
 * pd_conf_where must say.
 */
struct want {
	const char *type, *name, *key;
	char kind;
	const char *val, *where;
};

/*
 * In text and inc, "@I" is replaced by the include file's name (relative)
 * and "@F" by the main file's.  In want_err and where, "@f" is the main
 * file's path, "@i" the include file's path and "@d" their directory.
 */
struct tcase {
	const char *name;
	const char *text;
	size_t len;		/* of text; 0: strlen */
	const char *inc;	/* the include file's text, or NULL */
	const char *want_err;	/* substring of err.msg; NULL: loads */
	struct want want[8];
};

#define IN(s) s, sizeof(s) - 1
#define NOWANT { { NULL, NULL, NULL, 0, NULL, NULL } }
#define TOP(k, kd, v, w)	{ "", NULL, k, kd, v, w }
#define AUTH(k, kd, v, w)	{ "auth", NULL, k, kd, v, w }
#define DOVECOT(k, kd, v, w)	{ "backend", "dovecot", k, kd, v, w }

static const struct tcase cases[] = {
	{ "empty file: every key has its default", "", 0, NULL, NULL, {
		TOP("login_timeout", 'u', "60", "default"),
		TOP("max_bad_commands", 'u', "5", "default"),
		TOP("imap_line_max", 'u', "8192", "default"),
		TOP("debug", 'b', "no", "default"),
		TOP("hostname", 's', "", "default"),
		AUTH("driver", 's', "sqlite", "default"),
		AUTH("lowercase", 'b', "yes", "default"),
		DOVECOT("imap", 's', "/usr/lib/dovecot/imap", "default") } },
	{ "module_dir defaults to PD_MODDIR", "# nothing\n", 0, NULL, NULL, {
		AUTH("module_dir", 's', PD_MODDIR, "default"),
		TOP("pop3_line_max", 'u', "1024", "default"),
		TOP("last_valid_uid", 'u', "0", "default") } },
	{ "values set, with file:line",
	  "# pd.conf\nlogin_timeout = 120\ndebug = yes\n\n[auth]\n"
	  "driver = file\nlowercase = false\n", 0, NULL, NULL, {
		TOP("login_timeout", 'u', "120", "@f:2"),
		TOP("debug", 'b', "yes", "@f:3"),
		AUTH("driver", 's', "file", "@f:6"),
		AUTH("lowercase", 'b', "no", "@f:7"),
		TOP("max_bad_commands", 'u', "5", "default") } },
	{ "a later value wins", "login_timeout = 10\nlogin_timeout = 20\n", 0,
	  NULL, NULL, { TOP("login_timeout", 'u', "20", "@f:2") } },
	{ "blanks around '=', none at all", "\tdebug\t=\tTRUE \nlog=stderr\n", 0,
	  NULL, NULL, { TOP("debug", 'b', "yes", "@f:1"),
			TOP("log", 's', "stderr", "@f:2") } },
	{ "bool spellings", "debug = 1\n[auth]\nlowercase = No\n", 0, NULL, NULL,
	  { TOP("debug", 'b', "yes", NULL), AUTH("lowercase", 'b', "no", NULL) } },
	{ "CRLF line ends", "login_timeout = 30\r\n[auth]\r\ndriver = ldap\r\n",
	  0, NULL, NULL, { TOP("login_timeout", 'u', "30", "@f:1"),
			   AUTH("driver", 's', "ldap", "@f:3") } },
	{ "comment after a value",
	  "hostname = mx1 # primary\nlog = /var/log/pd.log\t# a file\n", 0, NULL,
	  NULL, { TOP("hostname", 's', "mx1", NULL),
		  TOP("log", 's', "/var/log/pd.log", NULL) } },
	{ "'#' inside a value without a blank before it is kept",
	  "hostname = mx#1\n[auth]\nquery = SELECT pw FROM u WHERE n='%u'#x\n",
	  0, NULL, NULL, { TOP("hostname", 's', "mx#1", NULL),
			   AUTH("query", 's', "SELECT pw FROM u WHERE n='%u'#x",
				NULL) } },
	{ "'=' inside a value is kept", "[auth]\nquery = a = b\n", 0, NULL, NULL,
	  { AUTH("query", 's', "a = b", NULL) } },
	{ "empty string value", "hostname =\n", 0, NULL, NULL,
	  { TOP("hostname", 's', "", "@f:1") } },
	{ "indented continuation lines join with one space",
	  "[auth]\nquery = SELECT password\n    FROM users   \n\tWHERE login = '%u'\n"
	  "driver = file\n", 0, NULL, NULL, {
		AUTH("query", 's', "SELECT password FROM users WHERE login = '%u'",
		     "@f:2"),
		AUTH("driver", 's', "file", "@f:5") } },
	{ "indented line after a section header is a key",
	  "[auth]\n  driver = mysql\n", 0, NULL, NULL,
	  { AUTH("driver", 's', "mysql", "@f:2") } },
	{ "a section may be reopened",
	  "[auth]\ndriver = file\n[backend dovecot]\nimap = /x\n[auth]\n"
	  "path = /y\n", 0, NULL, NULL, {
		AUTH("driver", 's', "file", "@f:2"),
		AUTH("path", 's', "/y", "@f:6"),
		DOVECOT("imap", 's', "/x", "@f:4") } },
	{ "blanks inside a section header",
	  "[  backend \t dovecot ]\npop3 = /bin/pop3\n", 0, NULL, NULL,
	  { DOVECOT("pop3", 's', "/bin/pop3", "@f:2") } },
	{ "comment after a section header",
	  "[auth] # the auth service\ndriver = file\n", 0, NULL, NULL,
	  { AUTH("driver", 's', "file", "@f:2") } },
	{ "uint at the top of its range", "first_valid_uid = 4294967294\n", 0,
	  NULL, NULL, { TOP("first_valid_uid", 'u', "4294967294", "@f:1") } },
	{ "uint at the bottom of its range", "auth_failure_delay = 0\n", 0, NULL,
	  NULL, { TOP("auth_failure_delay", 'u', "0", "@f:1") } },
	{ "include of a relative file",
	  "login_timeout = 5\n[auth]\ninclude @I\nlowercase = no\n",
	  0, "driver = mysql\n\n[backend dovecot]\nimap = /opt/imap\n", NULL, {
		TOP("login_timeout", 'u', "5", "@f:1"),
		AUTH("driver", 's', "mysql", "@i:1"),
		DOVECOT("imap", 's', "/opt/imap", "@i:4"),
		/* the included [backend dovecot] did not leak out */
		AUTH("lowercase", 'b', "no", "@f:4") } },
	{ "included value then an indented line is not a continuation",
	  "include @I\n  hostname = b\n", 0, "log = stderr\n", NULL, {
		TOP("log", 's', "stderr", "@i:1"),
		TOP("hostname", 's', "b", "@f:2") } },

	/* errors: each names file:line */
	{ "unknown key", "login_timeout = 5\n\n  \nbogus = 1\n", 0, NULL,
	  "@f:4: unknown key 'bogus'", NOWANT },
	{ "unknown key in a section names the section",
	  "[auth]\n\nlogin_timeout = 5\n", 0, NULL,
	  "@f:3: unknown key 'login_timeout' in [auth]", NOWANT },
	{ "key names are case-sensitive", "Debug = yes\n", 0, NULL,
	  "@f:1: unknown key 'Debug'", NOWANT },
	{ "bad uint", "max_bad_commands = five\n", 0, NULL,
	  "@f:1: max_bad_commands = 'five': want a number from 1 to 1000",
	  NOWANT },
	{ "uint below its minimum", "\nlogin_timeout = 0\n", 0, NULL,
	  "@f:2: login_timeout = '0': want a number from 1 to 86400",
	  NOWANT },
	{ "uint above its maximum", "max_bad_commands = 1001\n", 0, NULL,
	  "@f:1: max_bad_commands = '1001'", NOWANT },
	{ "uint past its 32-bit maximum", "first_valid_uid = 4294967295\n", 0,
	  NULL, "@f:1: first_valid_uid = '4294967295'", NOWANT },
	{ "uint past ULONG_MAX", "login_timeout = 18446744073709551616\n", 0,
	  NULL, "@f:1: login_timeout = '18446744073709551616'", NOWANT },
	{ "negative uint", "auth_failure_delay = -1\n", 0, NULL,
	  "@f:1: auth_failure_delay = '-1'", NOWANT },
	{ "empty uint", "login_timeout =\n", 0, NULL,
	  "@f:1: login_timeout = '': want a number", NOWANT },
	{ "uint with a comment glued on", "login_timeout = 60#x\n", 0, NULL,
	  "@f:1: login_timeout = '60#x'", NOWANT },
	{ "continued uint is checked whole, at the key's line",
	  "login_timeout = 1\n  2\n", 0, NULL,
	  "@f:1: login_timeout = '1 2'", NOWANT },
	{ "bad bool", "\n\ndebug = maybe\n", 0, NULL,
	  "@f:3: debug = 'maybe': want yes or no", NOWANT },
	{ "bad enum", "[auth]\ndriver = foo\n", 0, NULL,
	  "@f:2: driver = 'foo': want one of file|sqlite|ldap|mysql",
	  NOWANT },
	{ "enum prefix is refused", "[auth]\ndriver = fil\n", 0, NULL,
	  "@f:2: driver = 'fil'", NOWANT },
	{ "enum with a suffix is refused", "[auth]\ndriver = files\n", 0, NULL,
	  "@f:2: driver = 'files'", NOWANT },
	{ "enum is case-sensitive", "[auth]\ndriver = FILE\n", 0, NULL,
	  "@f:2: driver = 'FILE'", NOWANT },
	{ "unknown section", "debug = no\n[bogus]\n", 0, NULL,
	  "@f:2: unknown section [bogus]", NOWANT },
	{ "unknown backend", "[backend nosuch]\n", 0, NULL,
	  "@f:1: unknown section [backend nosuch]", NOWANT },
	{ "malformed header: no ']'", "[auth\n", 0, NULL,
	  "@f:1: malformed section header", NOWANT },
	{ "malformed header: text after ']'", "\n[auth] x\n", 0, NULL,
	  "@f:2: malformed section header", NOWANT },
	{ "line without '='", "\nlogin_timeout 60\n", 0, NULL,
	  "@f:2: expected 'key = value'", NOWANT },
	{ "NUL byte in a line", IN("debug = yes\nde\0bug = no\n"), NULL,
	  "@f:2: NUL byte in line", NOWANT },
	{ "error in an included file names that file and line",
	  "hostname = a\ninclude @I\n", 0, "debug = yes\nbogus = 1\n",
	  "@i:2: unknown key 'bogus'", NOWANT },
	{ "bad value in an included file", "include @I\n", 0,
	  "\n\n[auth]\ndriver = foo\n", "@i:4: driver = 'foo'", NOWANT },
	{ "missing include file names its path",
	  "\ninclude no-such-file.conf\n", 0, NULL,
	  "@f:2: include @d/no-such-file.conf: No such file or directory",
	  NOWANT },
	{ "include nested too deeply", "include @F\n", 0, NULL,
	  "@f:1: include nested too deeply", NOWANT },
};

/* Replace each two-byte key of subst (e.g. "@f") by its value. */
static void
expand(char *dst, size_t size, const char *src, const char *const *subst)
{
	size_t n = 0, i;

	while (*src != '\0' && n + 1 < size) {
		for (i = 0; subst[i] != NULL; i += 2) {
			if (strncmp(src, subst[i], 2) == 0)
				break;
		}
		if (subst[i] != NULL) {
			n += (size_t)snprintf(dst + n, size - n, "%s", subst[i + 1]);
			if (n >= size)
				n = size - 1;
			src += 2;
		} else {
			dst[n++] = *src++;
		}
	}
	dst[n] = '\0';
}

static void
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		assert_true(w > 0);
		p += w;
		n -= (size_t)w;
	}
}

struct files {
	char dir[64];
	char main[128], inc[128];
	const char *main_base, *inc_base;
};

static void
files_make(struct files *f)
{
	int fd;

	snprintf(f->dir, sizeof(f->dir), "/tmp/pd-test-conf-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->main, sizeof(f->main), "%s/main-XXXXXX", f->dir);
	snprintf(f->inc, sizeof(f->inc), "%s/inc-XXXXXX", f->dir);
	assert_true((fd = mkstemp(f->inc)) >= 0);
	close(fd);
	assert_true((fd = mkstemp(f->main)) >= 0);
	close(fd);
	f->main_base = strrchr(f->main, '/') + 1;
	f->inc_base = strrchr(f->inc, '/') + 1;
}

static void
files_write(const char *path, const char *text, size_t len)
{
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);

	assert_true(fd >= 0);
	write_all(fd, text, len);
	close(fd);
}

static void
files_remove(struct files *f)
{
	unlink(f->main);
	unlink(f->inc);
	rmdir(f->dir);
}

/* Compare one wanted value; returns NULL or what differs. */
static const char *
check_want(const struct pd_conf *conf, const struct want *w,
	   const char *const *subst, char *why, size_t size)
{
	const struct pd_conf_section *sec = pd_conf_section(conf, w->type,
							    w->name);
	char got[512], where[512];

	switch (w->kind) {
	case 's':
		snprintf(got, sizeof(got), "%s", pd_conf_str(sec, w->key));
		break;
	case 'u':
		snprintf(got, sizeof(got), "%lu", pd_conf_uint(sec, w->key));
		break;
	default:
		snprintf(got, sizeof(got), "%s",
			 pd_conf_bool(sec, w->key) ? "yes" : "no");
		break;
	}
	if (strcmp(got, w->val) != 0) {
		snprintf(why, size, "%s: got '%s', want '%s'", w->key, got,
			 w->val);
		return why;
	}
	if (w->where != NULL) {
		expand(where, sizeof(where), w->where, subst);
		if (strcmp(pd_conf_where(sec, w->key), where) != 0) {
			snprintf(why, size, "%s: set at '%s', want '%s'", w->key,
				 pd_conf_where(sec, w->key), where);
			return why;
		}
	}
	return NULL;
}

static void
test_case(void **state)
{
	const struct tcase *c = *state;
	struct files f;
	struct pd_conf *conf = NULL;
	struct pd_err err;
	char text[4096], want_err[1024], why[1024] = "";
	const char *tsubst[5], *wsubst[7];
	const char *bad = NULL;
	size_t len, i;
	int ret;

	files_make(&f);
	tsubst[0] = "@I"; tsubst[1] = f.inc_base;
	tsubst[2] = "@F"; tsubst[3] = f.main_base;
	tsubst[4] = NULL;
	wsubst[0] = "@f"; wsubst[1] = f.main;
	wsubst[2] = "@i"; wsubst[3] = f.inc;
	wsubst[4] = "@d"; wsubst[5] = f.dir;
	wsubst[6] = NULL;
	if (c->len != 0) {
		/* binary rows are written as they are */
		memcpy(text, c->text, c->len);
		len = c->len;
	} else {
		expand(text, sizeof(text), c->text, tsubst);
		len = strlen(text);
	}
	files_write(f.main, text, len);
	if (c->inc != NULL) {
		expand(text, sizeof(text), c->inc, tsubst);
		files_write(f.inc, text, strlen(text));
	}
	memset(&err, 0, sizeof(err));
	ret = pd_conf_load(f.main, &conf, &err);
	if (ret == 0) {
		for (i = 0; i < PD_N_ELEMENTS(c->want) && c->want[i].key != NULL &&
		     bad == NULL; i++)
			bad = check_want(conf, &c->want[i], wsubst, why,
					 sizeof(why));
	}
	if (c->want_err != NULL)
		expand(want_err, sizeof(want_err), c->want_err, wsubst);
	pd_conf_free(&conf);
	files_remove(&f);
	if (c->want_err == NULL) {
		if (ret != 0)
			fail_msg("load failed: %s", err.msg);
		if (bad != NULL)
			fail_msg("%s", bad);
	} else {
		if (ret != -1)
			fail_msg("loaded, want error \"%s\"", want_err);
		if (strstr(err.msg, want_err) == NULL)
			fail_msg("error \"%s\" does not contain \"%s\"", err.msg,
				 want_err);
		assert_true(err.kind == PD_ERR_CONFIG || err.kind == PD_ERR_SYS);
	}
}

static void
test_missing_file(void **state)
{
	struct pd_conf *conf = NULL;
	struct pd_err err;
	const char *path = "/tmp/pd-test-conf-no-such-dir/pd.conf";

	(void)state;
	memset(&err, 0, sizeof(err));
	assert_int_equal(pd_conf_load(path, &conf, &err), -1);
	assert_null(conf);
	assert_int_equal(err.kind, PD_ERR_SYS);
	assert_int_equal(err.sys_errno, ENOENT);
	assert_non_null(strstr(err.msg, path));
}

static void
test_load_string(void **state)
{
	static const char ok[] = "debug = yes\n[auth]\ndriver = file";
	static const char bad[] = "debug = yes\nbogus = 1\n";
	struct pd_conf *conf = NULL;
	struct pd_err err;
	const struct pd_conf_section *sec;

	(void)state;
	memset(&err, 0, sizeof(err));
	/* no newline at the end: the last line still counts */
	assert_int_equal(pd_conf_load_string("mem", ok, sizeof(ok) - 1, &conf,
					     &err), 0);
	assert_true(pd_conf_bool(pd_conf_section(conf, "", NULL), "debug"));
	sec = pd_conf_section(conf, "auth", NULL);
	assert_string_equal(pd_conf_str(sec, "driver"), "file");
	assert_string_equal(pd_conf_where(sec, "driver"), "mem:3");
	pd_conf_free(&conf);
	assert_null(conf);
	pd_conf_free(&conf);
	assert_int_equal(pd_conf_load_string("mem", bad, sizeof(bad) - 1,
					     &conf, &err), -1);
	assert_null(conf);
	assert_int_equal(err.kind, PD_ERR_CONFIG);
	assert_non_null(strstr(err.msg, "mem:2: unknown key 'bogus'"));
}

/* A line of 8192 bytes or more is refused, with its number. */
static void
test_line_too_long(void **state)
{
	static char text[9000];
	struct pd_conf *conf = NULL;
	struct pd_err err;
	size_t n;

	(void)state;
	n = (size_t)snprintf(text, sizeof(text), "debug = no\nhostname = ");
	memset(text + n, 'h', 8200);
	n += 8200;
	text[n++] = '\n';
	memset(&err, 0, sizeof(err));
	assert_int_equal(pd_conf_load_string("long", text, n, &conf, &err), -1);
	assert_non_null(strstr(err.msg, "long:2: line too long"));
	/* 8191 bytes of line fit */
	n = (size_t)snprintf(text, sizeof(text), "hostname = ");
	memset(text + n, 'h', 8191 - n);
	n = 8191;
	text[n++] = '\n';
	assert_int_equal(pd_conf_load_string("long", text, n, &conf, &err), 0);
	assert_int_equal(strlen(pd_conf_str(pd_conf_section(conf, "", NULL),
					    "hostname")), 8191 - 11);
	pd_conf_free(&conf);
}

static void
test_sections(void **state)
{
	static const char text[] = "[auth]\ndriver = file\n";
	struct pd_conf *conf = NULL;
	struct pd_err err;
	const struct pd_conf_section *a, *b;

	(void)state;
	assert_int_equal(pd_conf_load_string("s", text, sizeof(text) - 1, &conf,
					     &err), 0);
	assert_true(pd_conf_has_section(conf, "auth", NULL));
	assert_true(pd_conf_has_section(conf, "", NULL));
	assert_false(pd_conf_has_section(conf, "backend", "dovecot"));
	/* an absent section: all defaults, and the same one every time */
	a = pd_conf_section(conf, "backend", "dovecot");
	b = pd_conf_section(conf, "backend", "dovecot");
	assert_non_null(a);
	assert_ptr_equal(a, b);
	assert_string_equal(pd_conf_str(a, "pop3"), "/usr/lib/dovecot/pop3");
	assert_string_equal(pd_conf_where(a, "pop3"), "default");
	assert_false(pd_conf_has_section(conf, "backend", "dovecot"));
	pd_conf_free(&conf);
}

static void
print_to_string(const struct pd_conf *conf, char **out)
{
	size_t size = 0;
	FILE *fp = open_memstream(out, &size);

	assert_non_null(fp);
	pd_conf_print(conf, fp);
	assert_int_equal(fclose(fp), 0);
}

static void
test_print(void **state)
{
	static const char set[] = "login_timeout = 90\n[auth]\ndriver = file\n";
	static const char *const want_default[] = {
		"login_timeout = 60\n", "max_bad_commands = 5\n", "debug = no\n",
		"\n[auth]\n", "driver = sqlite\n", "lowercase = yes\n",
		"\n[backend dovecot]\n", "imap = /usr/lib/dovecot/imap\n",
	};
	struct pd_conf *conf = NULL;
	struct pd_err err;
	char *out = NULL;
	size_t i;
	bool ok;

	(void)state;
	assert_int_equal(pd_conf_load_string("p", "", 0, &conf, &err), 0);
	print_to_string(conf, &out);
	pd_conf_free(&conf);
	for (i = 0; i < PD_N_ELEMENTS(want_default); i++) {
		ok = strstr(out, want_default[i]) != NULL;
		if (!ok) {
			free(out);
			fail_msg("pd_conf_print lacks \"%s\"", want_default[i]);
		}
	}
	/* the top level comes first, without a header */
	ok = strncmp(out, "hostname = \n", 12) == 0;
	free(out);
	assert_true(ok);

	assert_int_equal(pd_conf_load_string("p", set, sizeof(set) - 1, &conf,
					     &err), 0);
	print_to_string(conf, &out);
	pd_conf_free(&conf);
	ok = strstr(out, "login_timeout = 90\n") != NULL &&
	     strstr(out, "login_timeout = 60\n") == NULL &&
	     strstr(out, "\n[auth]\ndriver = file\n") != NULL;
	free(out);
	assert_true(ok);
}

/* An undeclared key is a bug in pd: pd_panic, which aborts. */
static void
test_undeclared_key_panics(void **state)
{
	struct pd_conf *conf = NULL;
	struct pd_err err;
	pid_t pid;
	int st;

	(void)state;
	assert_int_equal(pd_conf_load_string("u", "", 0, &conf, &err), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		if (fd >= 0)
			dup2(fd, STDERR_FILENO);
		(void)pd_conf_str(pd_conf_section(conf, "", NULL), "no_such_key");
		_exit(0);
	}
	pd_conf_free(&conf);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGABRT);
}

struct uint_case {
	const char *s;
	unsigned long min, max;
	int want_errno;		/* 0: parses to want */
	unsigned long want;
	bool bug;		/* a row of the BUG test */
};

static const struct uint_case uint_cases[] = {
	{ "", 0, 10, EINVAL, 0, false },
	{ "-1", 0, ULONG_MAX, EINVAL, 0, false },
	{ "+1", 0, ULONG_MAX, EINVAL, 0, false },
	{ " 1", 0, 10, EINVAL, 0, false },
	{ "1 ", 0, 10, EINVAL, 0, false },
	{ "x1", 0, 10, EINVAL, 0, false },
	{ "1x", 0, 10, EINVAL, 0, false },
	{ "0x10", 0, 100, EINVAL, 0, false },
	{ "1.5", 0, 10, EINVAL, 0, false },
	{ "18446744073709551615", 0, ULONG_MAX, 0, ULONG_MAX, false },
	{ "18446744073709551616", 0, ULONG_MAX, ERANGE, 0, false },
	{ "99999999999999999999999", 0, ULONG_MAX, ERANGE, 0, false },
	{ "0", 0, 10, 0, 0, false },
	{ "0000000000000000000000000042", 0, 100, 0, 42, false },
	{ "5", 5, 10, 0, 5, false },
	{ "4", 5, 10, ERANGE, 0, false },
	{ "10", 5, 10, 0, 10, false },
	{ "11", 5, 10, ERANGE, 0, false },
	{ "100", 0, 99, ERANGE, 0, false },
	{ "4294967294", 1, 4294967294UL, 0, 4294967294UL, false },
	{ "4294967295", 1, 4294967294UL, ERANGE, 0, false },
	{ "9", 0, 9, 0, 9, false },
	/*
	 * Was a bug (fixed): the overflow test "v > (max - d) / 10" wraps when the digit d
	 * is larger than max, so a single digit above a max below 9 passes.
	 */
	{ "7", 0, 5, ERANGE, 0, true },
	{ "1", 0, 0, ERANGE, 0, true },
	{ "06", 0, 5, ERANGE, 0, true },
};

/* The rows with bug == *state. */
static void
test_parse_uint(void **state)
{
	const bool *bug = *state;
	size_t i;
	int failed = 0;

	for (i = 0; i < PD_N_ELEMENTS(uint_cases); i++) {
		const struct uint_case *c = &uint_cases[i];
		unsigned long v = 12345;
		int ret;

		if (c->bug != *bug)
			continue;
		errno = 0;
		ret = pd_parse_uint(c->s, c->min, c->max, &v);
		if (c->want_errno == 0 && (ret != 0 || v != c->want)) {
			print_message("# pd_parse_uint(\"%s\", %lu, %lu) = %d, %lu;"
				      " want %lu\n", c->s, c->min, c->max, ret, v,
				      c->want);
			failed++;
		} else if (c->want_errno != 0 &&
			   (ret != -1 || errno != c->want_errno || v != 12345)) {
			print_message("# pd_parse_uint(\"%s\", %lu, %lu) = %d "
				      "(errno %d, v %lu); want -1, errno %d, v "
				      "untouched\n", c->s, c->min, c->max, ret,
				      errno, v, c->want_errno);
			failed++;
		}
	}
	if (failed > 0)
		fail_msg("%d pd_parse_uint rows failed", failed);
}

int
main(void)
{
	static struct CMUnitTest tests[PD_N_ELEMENTS(cases) + 8];
	static const bool no = false, yes = true;
	size_t i, n = 0;

	for (i = 0; i < PD_N_ELEMENTS(cases); i++) {
		tests[n].name = cases[i].name;
		tests[n].test_func = test_case;
		tests[n].initial_state = (void *)&cases[i];
		n++;
	}
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_missing_file);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_load_string);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_line_too_long);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_sections);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_print);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_undeclared_key_panics);
	tests[n].name = "pd_parse_uint edge cases";
	tests[n].test_func = test_parse_uint;
	tests[n++].initial_state = (void *)&no;
	tests[n].name = "fixed: pd_parse_uint with a digit above a max below 9";
	tests[n].test_func = test_parse_uint;
	tests[n++].initial_state = (void *)&yes;
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return _cmocka_run_group_tests("conf", tests, n, NULL, NULL);
}
