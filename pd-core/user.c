/* SPDX-License-Identifier: MIT */
/*
 * user.c - filling struct pd_user by field name, so every driver maps its
 * columns or attributes through one function.
 */
#include "pd-core/user.h"
#include "pd-core/conf.h"
#include "pd-core/mem.h"

#include <stdlib.h>
#include <string.h>

static char **
user_field(struct pd_user *u, const char *key)
{
	static const struct { const char *name; size_t off; } fields[] = {
		{ "user", offsetof(struct pd_user, user) },
		{ "password", offsetof(struct pd_user, password) },
		{ "home", offsetof(struct pd_user, home) },
		{ "mail", offsetof(struct pd_user, mail) },
		{ "mailhost", offsetof(struct pd_user, mailhost) },
		{ "backend", offsetof(struct pd_user, backend) },
		{ "quota", offsetof(struct pd_user, quota) },
		{ "status", offsetof(struct pd_user, status) },
	};
	size_t i;

	for (i = 0; i < PD_N_ELEMENTS(fields); i++)
		if (strcmp(fields[i].name, key) == 0)
			return (char **)((char *)u + fields[i].off);
	return NULL;
}

void
pd_user_init(struct pd_user *u)
{
	memset(u, 0, sizeof(*u));
	u->user = pd_xstrdup("");
	u->password = pd_xstrdup("");
	u->home = pd_xstrdup("");
	u->mail = pd_xstrdup("");
	u->mailhost = pd_xstrdup("");
	u->backend = pd_xstrdup("");
	u->quota = pd_xstrdup("");
	u->status = pd_xstrdup("active");
}

void
pd_user_deinit(struct pd_user *u)
{
	size_t i;

	if (u->password != NULL)
		pd_wipe(u->password, strlen(u->password));
	free(u->user);
	free(u->password);
	free(u->home);
	free(u->mail);
	free(u->mailhost);
	free(u->backend);
	free(u->quota);
	free(u->status);
	for (i = 0; i < u->nextra; i++) {
		free(u->extra[i].key);
		free(u->extra[i].value);
	}
	free(u->extra);
	memset(u, 0, sizeof(*u));
}

void
pd_user_add_extra(struct pd_user *u, const char *key, const char *value)
{
	u->extra = pd_xreallocarray(u->extra, u->nextra + 1, sizeof(*u->extra));
	u->extra[u->nextra].key = pd_xstrdup(key);
	u->extra[u->nextra].value = pd_xstrdup(value);
	u->nextra++;
}

static int
user_set_extra_list(struct pd_user *u, const char *list)
{
	const char *p = list;

	while (*p != '\0') {
		size_t n;
		char *pair, *eq, *key;
		int r = 0;

		while (*p == ' ' || *p == '\t')
			p++;
		n = strcspn(p, " \t");
		if (n == 0)
			break;
		pair = pd_xstrndup(p, n);
		p += n;
		key = pair;
		/* Dovecot's passwd-file writes userdb fields as userdb_KEY. */
		if (strncmp(key, "userdb_", 7) == 0)
			key += 7;
		if ((eq = strchr(key, '=')) != NULL) {
			*eq = '\0';
			/* "extra" inside extra would recurse: keep it as a pair. */
			if (strcmp(key, "extra") == 0)
				pd_user_add_extra(u, key, eq + 1);
			else
				r = pd_user_set(u, key, eq + 1);
		} else {
			pd_user_add_extra(u, key, "");
		}
		free(pair);
		if (r < 0)
			return -1;
	}
	return 0;
}

static int
user_parse_id(const char *value, unsigned long *id_r)
{
	return pd_parse_uint(value, 0, 4294967294UL, id_r);
}

int
pd_user_set(struct pd_user *u, const char *key, const char *value)
{
	char **f;
	unsigned long id;

	if (strcmp(key, "uid") == 0 || strcmp(key, "gid") == 0) {
		if (user_parse_id(value, &id) < 0)
			return -1;
		if (key[0] == 'u') {
			u->uid = (uid_t)id;
			u->have_uid = true;
		} else {
			u->gid = (gid_t)id;
			u->have_gid = true;
		}
		return 0;
	}
	if (strcmp(key, "extra") == 0)
		return user_set_extra_list(u, value);
	if ((f = user_field(u, key)) != NULL) {
		if (*f != NULL && f == &u->password)
			pd_wipe(*f, strlen(*f));
		free(*f);
		*f = pd_xstrdup(value);
		return 0;
	}
	pd_user_add_extra(u, key, value);
	return 0;
}

bool
pd_user_is_active(const struct pd_user *u)
{
	return u->status[0] == '\0' || strcmp(u->status, "active") == 0;
}
