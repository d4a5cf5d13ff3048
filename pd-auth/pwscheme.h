/* SPDX-License-Identifier: MIT */
/*
 * pwscheme.h - verifying a password against a "{SCHEME}hash" value with
 * Dovecot's scheme names: PLAIN, CLEARTEXT, CRYPT, MD5-CRYPT, SHA256-CRYPT,
 * SHA512-CRYPT, BLF-CRYPT (libcrypt), SHA, SSHA, SHA256, SSHA256, SHA512,
 * SSHA512 (OpenSSL).  A value without a prefix is CRYPT, as in Dovecot's
 * passwd-file.  All comparisons are constant-time.
 */
#ifndef PD_PWSCHEME_H
#define PD_PWSCHEME_H

#include "pd-core/err.h"

/*
 * 1 the password matches, 0 it does not, -1 the stored value is unusable
 * (unknown scheme, malformed hash): err says which, without the password.
 */
int pd_pwscheme_verify(const char *stored, const char *password,
		       struct pd_err *err);
/* Burn about the time of a real verify (for unknown users). */
void pd_pwscheme_dummy_verify(const char *password);

#endif
