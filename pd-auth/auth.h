/* SPDX-License-Identifier: MIT */
/*
 * auth.h - pd-auth: the driver interface (STYLE §2.8), login-name rewriting
 * and the in-process auth client (pd-core/authc.h) used by the stdio and
 * inet forkers.  Drivers only look users up; verifying the password and
 * checking the status happen here, the same for every driver.
 */
#ifndef PD_AUTH_H
#define PD_AUTH_H

#include "pd-core/authc.h"
#include "pd-core/conf.h"
#include "pd-core/err.h"
#include "pd-core/user.h"

#define PD_AUTH_ABI 1	/* bump on any change to this struct or struct pd_user */

struct pd_auth_driver {
	unsigned int abi;	/* PD_AUTH_ABI as compiled into the driver */
	const char *name;	/* "file", "sqlite", "ldap", "mysql" */
	int (*open)(const struct pd_conf_section *sec, void **state_r,
		    struct pd_err *err);
	/* 1 found (user_r filled), 0 no such user, -1 error (temporary) */
	int (*lookup)(void *state, const char *login, struct pd_user *user_r,
		      struct pd_err *err);
	void (*close)(void *state);
	/*
	 * Optional: verify password for the user just looked up (LDAP bind
	 * as the user); NULL = compare with the record's {SCHEME} hash.
	 * 1 match, 0 mismatch, -1 error.
	 */
	int (*verify)(void *state, const struct pd_user *user,
		      const char *password, struct pd_err *err);
};

extern const struct pd_auth_driver pd_auth_file;
extern const struct pd_auth_driver pd_auth_sqlite;

struct pd_auth;

/* Open the driver named in [auth]; errors name the driver and file. */
int pd_auth_open(const struct pd_conf *conf, struct pd_auth **auth_r,
		 struct pd_err *err);
void pd_auth_close(struct pd_auth **auth);
/*
 * Rewrite a login as configured (lowercase, default_domain).  Returns 0, or
 * -1 if the result would not fit dstsz or the login has bytes pd refuses in
 * names (controls, space, '"', '\\').
 */
int pd_auth_rewrite_login(const struct pd_auth *auth, const char *login,
			  char *dst, size_t dstsz);
/*
 * Look the user up once and verify the password; synchronous.  On PD_AUTH_OK
 * reply->user holds the record (the caller deinits it).
 */
void pd_auth_verify(struct pd_auth *auth, const char *login,
		    const char *password, struct pd_auth_reply *reply);
/*
 * Read a one-line secret (a bind or database password) from path into dst,
 * without its line end; the file must not be readable by others.  For
 * drivers; 0 or -1 naming the file and the config line (where).
 */
int pd_auth_read_secret(const char *path, const char *where, char *dst,
			size_t dstsz, struct pd_err *err);

/* The in-process auth client over pd_auth_verify. */
struct pd_auth_client pd_auth_inproc_client(struct pd_auth *auth);
/*
 * Open [auth]'s driver and return its in-process client (struct pd_forker's
 * auth_open); *close_r releases it.
 */
int pd_auth_client_open(const struct pd_conf *conf,
			struct pd_auth_client *client_r,
			void (**close_r)(struct pd_auth_client *),
			struct pd_err *err);

#endif
