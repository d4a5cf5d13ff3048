/* SPDX-License-Identifier: MIT */
/*
 * module.c - the static table of backends and the loader for optional
 * drivers in shared objects (STYLE §2.8).  Backends are linked in; the
 * ldap and mysql auth drivers are loaded, so only their users need
 * libldap or libmariadb.
 */
#include "pd-core/dispatch.h"
#include "pd-core/module.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

int
pd_backend_check_all(const struct pd_conf *conf, struct pd_err *err)
{
	const struct pd_conf_section *top = pd_conf_section(conf, "", NULL);
	const char *def = pd_conf_str(top, "default_backend");
	size_t i;

	if (pd_backend_find(def) == NULL)
		return pd_err_set(err, PD_ERR_CONFIG, "%s: default_backend = %s: "
				  "no such backend", pd_conf_where(top, "default_backend"),
				  def);
	for (i = 0; i < PD_N_ELEMENTS(module_backends); i++)
		if (module_backends[i]->check != NULL &&
		    module_backends[i]->check(conf, err) < 0)
			return -1;
	return 0;
}

const void *
pd_module_load(const char *kind, const char *name, const char *dir,
	       struct pd_err *err)
{
	char path[4096], sym[128];
	struct stat st;
	const char *p;
	void *h, *desc;

	for (p = name; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_')) {
			pd_err_set(err, PD_ERR_CONFIG, "%s module name '%s' is not "
				   "[a-z0-9_]", kind, name);
			return NULL;
		}
	snprintf(path, sizeof(path), "%s/pd_%s_%s.so", dir, kind, name);
	snprintf(sym, sizeof(sym), "pd_%s_%s", kind, name);
	if (stat(path, &st) < 0) {
		if (errno == ENOENT)
			pd_err_set(err, PD_ERR_CONFIG, "%s driver '%s' is not "
				   "installed: no %s", kind, name, path);
		else
			pd_err_sys(err, "%s driver '%s': %s", kind, name, path);
		return NULL;
	}
	/* Code that will run as root must not be someone else's to change. */
	if (!S_ISREG(st.st_mode) || (st.st_mode & (S_IWGRP | S_IWOTH)) ||
	    (st.st_uid != 0 && st.st_uid != geteuid())) {
		pd_err_set(err, PD_ERR_CONFIG, "%s driver '%s': %s must be a "
			   "regular file owned by root (or by uid %lu) and "
			   "writable by nobody else", kind, name, path,
			   (unsigned long)geteuid());
		return NULL;
	}
	if ((h = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		pd_err_set(err, PD_ERR_CONFIG, "%s driver '%s': %s", kind, name,
			   dlerror());
		return NULL;
	}
	if ((desc = dlsym(h, sym)) == NULL) {
		pd_err_set(err, PD_ERR_CONFIG, "%s driver '%s': %s has no symbol "
			   "%s", kind, name, path, sym);
		dlclose(h);
		return NULL;
	}
	return desc;
}
