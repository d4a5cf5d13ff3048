/* SPDX-License-Identifier: MIT */
/*
 * test_pwscheme.c - {SCHEME} verification against known vectors made by
 * mkpasswd (crypt schemes) and by hashing per RFC 2307 / Dovecot's
 * base64(digest || salt) layout (SHA schemes), with wrong passwords,
 * malformed hashes and unknown schemes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "pd-auth/pwscheme.h"

#include <string.h>

struct pw_case {
	const char *stored;
	const char *password;
	int want;		/* 1 match, 0 mismatch, -1 error */
};

static const struct pw_case cases[] = {
	{ "{PLAIN}hunter2", "hunter2", 1 },
	{ "{PLAIN}hunter2", "hunter3", 0 },
	{ "{PLAIN}hunter2", "hunter", 0 },
	{ "{PLAIN}hunter2", "hunter22", 0 },
	{ "{plain}hunter2", "hunter2", 1 },
	{ "{CLEARTEXT}x y", "x y", 1 },
	{ "{PLAIN}", "", 0 },	/* an empty password never logs in */
	{ "{SHA512-CRYPT}$6$saltsaltsalt1234$mqug1BBf2Cz7iQTFtoEWJ/BeDk77cJfVUxuYD2P6ch9.m8bv8k5pMaVeq0D0ZfBTyfAKltfqOObCr7JOUpk/b0", "hunter2", 1 },
	{ "{SHA512-CRYPT}$6$saltsaltsalt1234$mqug1BBf2Cz7iQTFtoEWJ/BeDk77cJfVUxuYD2P6ch9.m8bv8k5pMaVeq0D0ZfBTyfAKltfqOObCr7JOUpk/b0", "Hunter2", 0 },
	{ "{SHA256-CRYPT}$5$saltsaltsalt1234$7vGdyjuQrNoAPO90am8rhOZN57GnPsumm1wRjyBux/2", "hunter2", 1 },
	{ "{SHA256-CRYPT}$5$saltsaltsalt1234$7vGdyjuQrNoAPO90am8rhOZN57GnPsumm1wRjyBux/2", "hunter", 0 },
	{ "{BLF-CRYPT}$2b$05$abcdefghijklmnopqrstuuoXuKqgZXLiJqzfmMXDDhSFPIvxV7t8.", "hunter2", 1 },
	{ "{BLF-CRYPT}$2b$05$abcdefghijklmnopqrstuuoXuKqgZXLiJqzfmMXDDhSFPIvxV7t8.", "hunter1", 0 },
	{ "{MD5-CRYPT}$1$saltsalt$ZliGyAN3DciDHEkDboonh/", "hunter2", 1 },
	{ "{CRYPT}$6$saltsaltsalt1234$mqug1BBf2Cz7iQTFtoEWJ/BeDk77cJfVUxuYD2P6ch9.m8bv8k5pMaVeq0D0ZfBTyfAKltfqOObCr7JOUpk/b0", "hunter2", 1 },
	/* no prefix: CRYPT, as in Dovecot's passwd-file */
	{ "$1$saltsalt$ZliGyAN3DciDHEkDboonh/", "hunter2", 1 },
	{ "$1$saltsalt$ZliGyAN3DciDHEkDboonh/", "hunter3", 0 },
	{ "{SSHA256}5LY0snHSoctOcsGXrdm/K2x15TgiSNyshzbjJ3zgMfsBAgMEc2FsdA==", "hunter2", 1 },
	{ "{SSHA256}5LY0snHSoctOcsGXrdm/K2x15TgiSNyshzbjJ3zgMfsBAgMEc2FsdA==", "hunter3", 0 },
	{ "{SHA256}9S+9MrKzuG/4jvbEkGKChfSCrxXdyylUH5S89Saj9sc=", "hunter2", 1 },
	{ "{SSHA512}mW0xyIt57R0HyKhsN8ppVYA0jLc4mvwLAqZ+Sr8mqmqBeh/QotALspgCodjgUe3IqBi/AUA12NeijLfbEAcXUAECAwRzYWx0", "hunter2", 1 },
	{ "{SSHA512}mW0xyIt57R0HyKhsN8ppVYA0jLc4mvwLAqZ+Sr8mqmqBeh/QotALspgCodjgUe3IqBi/AUA12NeijLfbEAcXUAECAwRzYWx0", "", 0 },
	{ "{SHA512}a5ftaNFOs/GqlZzl1Jx9xhLh6x2v1zsecFhHSD/WpsgJ8s606N9v+ZhMYpj/AoXKzmYUv42qnwBwEBtsiYmeIg==", "hunter2", 1 },
	{ "{SSHA}nMXvaUvmxq88IFGAR2vO6mFM/qEBAgMEc2FsdA==", "hunter2", 1 },
	{ "{SHA}87u9ZqY9S/F0eUBXjsPQEDUw4h0=", "hunter2", 1 },
	/* hostile or broken stored values: errors, never a match */
	{ "{SSHA256}not base64!", "hunter2", -1 },
	{ "{SSHA256}9S+9MrKzuG/4jvbEkGKChfSCrxXdyylUH5S89Saj9sc=", "hunter2", -1 },	/* no salt */
	{ "{SHA256}AAAA", "hunter2", -1 },
	{ "{SHA512-CRYPT}$5$saltsaltsalt1234$7vGdyjuQrNoAPO90am8rhOZN57GnPsumm1wRjyBux/2", "hunter2", -1 },
	{ "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$c2FsdA$aGFzaA", "hunter2", -1 },
	{ "{NOSUCH}abc", "hunter2", -1 },
	{ "{}abc", "hunter2", -1 },
	{ "{PLAIN", "hunter2", -1 },
	{ "", "", 0 },
	{ "", "x", -1 },
	{ "{CRYPT}*", "hunter2", -1 },
};

static void
test_vectors(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pd_err err;
		int r;

		memset(&err, 0, sizeof(err));
		r = pd_pwscheme_verify(cases[i].stored, cases[i].password, &err);
		if (r != cases[i].want)
			fail_msg("case %zu (%s / %s): got %d want %d (%s)", i,
				 cases[i].stored, cases[i].password, r,
				 cases[i].want, err.msg);
		if (r < 0) {
			assert_true(err.msg[0] != '\0');
			/* the password never appears in the message */
			if (cases[i].password[0] != '\0')
				assert_null(strstr(err.msg, cases[i].password));
		}
	}
}

static void
test_unknown_scheme_names_it(void **state)
{
	struct pd_err err;

	(void)state;
	memset(&err, 0, sizeof(err));
	assert_int_equal(pd_pwscheme_verify("{FOO-BAR}x", "pw", &err), -1);
	assert_non_null(strstr(err.msg, "FOO-BAR"));
}

static void
test_dummy_verify_runs(void **state)
{
	(void)state;
	pd_pwscheme_dummy_verify("anything");	/* must not crash or leak */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_unknown_scheme_names_it),
		cmocka_unit_test(test_dummy_verify_runs),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests_name("pwscheme", tests, NULL, NULL);
}
