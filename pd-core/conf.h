/* SPDX-License-Identifier: MIT */
/*
 * conf.h - pd.conf: "key = value" lines, "#" comments, "[type]" or
 * "[type NAME]" section headers, "include FILE", and indented continuation
 * lines.  Every key is declared once in conf_keys.c with its type, default
 * and range; an unknown key, a bad value or an unreadable file is an error
 * naming file:line.  Lookups of declared keys never fail.
 */
#ifndef PD_CONF_H
#define PD_CONF_H

#include "pd-core/err.h"

#include <stdio.h>

struct pd_conf;
struct pd_conf_section;

enum pd_conf_type { PD_CONF_STR, PD_CONF_UINT, PD_CONF_BOOL, PD_CONF_ENUM };

struct pd_conf_key {
	const char *name;
	enum pd_conf_type type;
	const char *def;	/* default, as text */
	unsigned long min, max;	/* PD_CONF_UINT */
	const char *choices;	/* PD_CONF_ENUM: "a|b|c" */
};

struct pd_conf_schema {
	const char *type;	/* section type, "" for the top level */
	bool named;		/* [type NAME] (true) or [type] (false) */
	const struct pd_conf_key *keys;
};

/* The schema, terminated by an entry with type NULL (conf_keys.c). */
extern const struct pd_conf_schema pd_conf_schemas[];

/* Parse path (and its includes) into *conf_r. */
int pd_conf_load(const char *path, struct pd_conf **conf_r, struct pd_err *err);
/* Parse text held in memory; name is used in messages (fuzzing, tests). */
int pd_conf_load_string(const char *name, const char *text, size_t len,
			struct pd_conf **conf_r, struct pd_err *err);
void pd_conf_free(struct pd_conf **conf);

/*
 * The section [type name] (name NULL for unnamed types; type "" is the top
 * level).  A section that is not in the file yields an empty one whose keys
 * all have their defaults, so the result is never NULL for declared types.
 */
const struct pd_conf_section *pd_conf_section(const struct pd_conf *conf,
					       const char *type,
					       const char *name);
/* Whether [type name] appears in the file. */
bool pd_conf_has_section(const struct pd_conf *conf, const char *type,
			 const char *name);

/*
 * Iterate the named sections of type ("tls", "host"): pass NULL first,
 * then the previous result; NULL at the end.
 */
const struct pd_conf_section *pd_conf_next_named(const struct pd_conf *conf,
						  const char *type,
						  const struct pd_conf_section *prev);
/* NAME of a named section, NULL for an unnamed one. */
const char *pd_conf_section_name(const struct pd_conf_section *sec);
/* "file:line" of the section's header ("default" if not in the file). */
const char *pd_conf_section_where(const struct pd_conf_section *sec);

/* Effective value of a declared key; pd_panic on an undeclared key (a bug). */
const char *pd_conf_str(const struct pd_conf_section *sec, const char *key);
unsigned long pd_conf_uint(const struct pd_conf_section *sec, const char *key);
bool pd_conf_bool(const struct pd_conf_section *sec, const char *key);
/* Whether key's effective value is its default (set or not). */
bool pd_conf_is_default(const struct pd_conf_section *sec, const char *key);
/* "file:line" where key was set, or "default" (for error messages). */
const char *pd_conf_where(const struct pd_conf_section *sec, const char *key);

/* Print every declared section that applies, with effective values. */
void pd_conf_print(const struct pd_conf *conf, FILE *fp);

/*
 * Parse a decimal unsigned number in [min, max], no sign, no junk.
 * Returns 0, or -1 (errno ERANGE or EINVAL).
 */
int pd_parse_uint(const char *s, unsigned long min, unsigned long max,
		  unsigned long *v_r);

#endif
