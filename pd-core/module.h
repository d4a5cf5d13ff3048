/* SPDX-License-Identifier: MIT */
/*
 * module.h - loading optional drivers from shared objects (STYLE §2.8):
 * <dir>/pd_<kind>_<name>.so, checked to be a regular file not writable by
 * group or others and owned by root or by us, dlopen'ed with RTLD_NOW, and
 * its one exported symbol pd_<kind>_<name> returned.  Modules are never
 * unloaded.  Errors name the module and the path tried.
 */
#ifndef PD_MODULE_H
#define PD_MODULE_H

#include "pd-core/err.h"

/* The descriptor symbol of the module, or NULL with err set. */
const void *pd_module_load(const char *kind, const char *name, const char *dir,
			   struct pd_err *err);

#endif
