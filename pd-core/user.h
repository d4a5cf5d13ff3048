/* SPDX-License-Identifier: MIT */
/*
 * user.h - struct pd_user, the user record a driver returns and a backend
 * turns into a mail server's environment (DESIGN §3).  Fields are owned
 * strings ("" when unset, never NULL after pd_user_init); the password hash
 * is wiped on free and never logged.
 */
#ifndef PD_USER_H
#define PD_USER_H

#include "pd-core/pd.h"

#include <sys/types.h>

struct pd_user_extra {
	char *key;
	char *value;
};

struct pd_user {
	char *user;
	char *password;		/* {SCHEME}hash: secret */
	uid_t uid;
	gid_t gid;
	bool have_uid, have_gid;
	char *home;
	char *mail;		/* maildir path ("" = <home>/Maildir) */
	char *mailhost;
	char *backend;
	char *quota;
	char *status;		/* "active" or anything else = refused */
	struct pd_user_extra *extra;
	size_t nextra;
};

void pd_user_init(struct pd_user *u);
void pd_user_deinit(struct pd_user *u);
/*
 * Set a record field by its DESIGN §3 name (user, password, uid, gid, home,
 * mail, mailhost, backend, quota, status, extra); "extra" is parsed as
 * space-separated key=value pairs.  Any other key becomes an extra pair.
 * Returns 0, or -1 for a bad uid/gid number.
 */
int pd_user_set(struct pd_user *u, const char *key, const char *value);
/* Add one extra pair (copied). */
void pd_user_add_extra(struct pd_user *u, const char *key, const char *value);
/* Whether the account may log in (status is "" or "active"). */
bool pd_user_is_active(const struct pd_user *u);

#endif
