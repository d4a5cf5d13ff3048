/* SPDX-License-Identifier: MIT */
/*
 * test_modules.c - every built driver module loads through pd_module_load
 * and carries the descriptor pd expects (ABI, name, functions); the
 * loader refuses a missing module, a group-writable one and a file without
 * the symbol, naming the path.  PD_MODULE_DIR says where the build put
 * the modules (the Makefile sets it).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "pd-auth/auth.h"
#include "pd-core/module.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *
moddir(void)
{
	const char *d = getenv("PD_MODULE_DIR");

	if (d == NULL || d[0] == '\0')
		fail_msg("PD_MODULE_DIR is not set (run through make unit)");
	return d;
}

static void
test_each_module(void **state)
{
	static const char *const names[] = { "ldap", "mysql" };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct pd_err err;
		const struct pd_auth_driver *d;

		memset(&err, 0, sizeof(err));
		d = pd_module_load("auth", names[i], moddir(), &err);
		if (d == NULL)
			fail_msg("%s: %s", names[i], err.msg);
		assert_int_equal(d->abi, PD_AUTH_ABI);
		assert_string_equal(d->name, names[i]);
		assert_non_null(d->open);
		assert_non_null(d->lookup);
		assert_non_null(d->close);
	}
}

static void
test_missing(void **state)
{
	struct pd_err err;

	(void)state;
	memset(&err, 0, sizeof(err));
	assert_null(pd_module_load("auth", "nosuch", moddir(), &err));
	assert_non_null(strstr(err.msg, "pd_auth_nosuch.so"));
	assert_non_null(strstr(err.msg, "not installed"));
	memset(&err, 0, sizeof(err));
	assert_null(pd_module_load("auth", "../evil", moddir(), &err));
	assert_non_null(strstr(err.msg, "../evil"));
}

static void
test_unsafe_and_wrong(void **state)
{
	char dir[] = "/tmp/pd-test-modules.XXXXXX", src[4096], dst[4096];
	char cmd[8300];
	struct pd_err err;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(src, sizeof(src), "%s/pd_auth_ldap.so", moddir());
	snprintf(dst, sizeof(dst), "%s/pd_auth_ldap.so", dir);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", src, dst);
	assert_int_equal(system(cmd), 0);
	/* group-writable: refused before dlopen */
	assert_int_equal(chmod(dst, 0664), 0);
	memset(&err, 0, sizeof(err));
	assert_null(pd_module_load("auth", "ldap", dir, &err));
	assert_non_null(strstr(err.msg, dst));
	assert_non_null(strstr(err.msg, "writable by nobody else"));
	/* a file under the other name has no pd_auth_mysql symbol */
	assert_int_equal(chmod(dst, 0644), 0);
	snprintf(src, sizeof(src), "%s/pd_auth_mysql.so", dir);
	assert_int_equal(rename(dst, src), 0);
	memset(&err, 0, sizeof(err));
	assert_null(pd_module_load("auth", "mysql", dir, &err));
	assert_non_null(strstr(err.msg, "has no symbol pd_auth_mysql"));
	/* not a shared object at all */
	unlink(src);
	snprintf(cmd, sizeof(cmd), "echo junk > '%s'", src);
	assert_int_equal(system(cmd), 0);
	memset(&err, 0, sizeof(err));
	assert_null(pd_module_load("auth", "mysql", dir, &err));
	assert_non_null(strstr(err.msg, "mysql"));
	unlink(src);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_each_module),
		cmocka_unit_test(test_missing),
		cmocka_unit_test(test_unsafe_and_wrong),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests_name("modules", tests, NULL, NULL);
}
