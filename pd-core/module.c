/* SPDX-License-Identifier: MIT */
/*
 * module.c - the static table of backends (STYLE §2.8).  Backends are
 * linked in; loadable auth drivers (ldap, mysql) come with their issue.
 */
#include "pd-core/dispatch.h"

#include <string.h>

extern const struct pd_backend pd_backend_dovecot;
extern const struct pd_backend pd_backend_courier;

static const struct pd_backend *const module_backends[] = {
	&pd_backend_dovecot,
	&pd_backend_courier,
};

const struct pd_backend *
pd_backend_find(const char *name)
{
	size_t i;

	for (i = 0; i < PD_N_ELEMENTS(module_backends); i++)
		if (module_backends[i]->abi == PD_BACKEND_ABI &&
		    strcmp(module_backends[i]->name, name) == 0)
			return module_backends[i];
	return NULL;
}
