/* SPDX-License-Identifier: MIT */
/*
 * conf.c - the pd.conf parser and lookups.  Values are checked against the
 * key table at load time, so a lookup is a plain read.  Errors name the file
 * and line; includes nest at most CONF_INCLUDE_DEPTH deep.
 */
#include "pd-core/conf.h"
#include "pd-core/buf.h"
#include "pd-core/log.h"
#include "pd-core/mem.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CONF_INCLUDE_DEPTH 8
#define CONF_LINE_MAX 8192

struct conf_value {
	const struct pd_conf_key *key;
	char *value;
	char where[300];	/* "file:line" */
};

struct pd_conf_section {
	const struct pd_conf_schema *schema;
	char *header;		/* "auth", "backend dovecot", "host mx2" */
	char *name;		/* NAME of a named section, else NULL */
	struct conf_value *values;
	size_t nvalues;
	struct pd_conf_section *next;
	bool implicit;		/* not in the file; all defaults */
	char where[300];	/* "file:line" of the header */
};

struct pd_conf {
	struct pd_conf_section *sections;
	struct pd_conf_section *last;
	/* sections handed out for types not present in the file */
	struct pd_conf_section *implicit;
};

int
pd_parse_uint(const char *s, unsigned long min, unsigned long max,
	      unsigned long *v_r)
{
	unsigned long v = 0;

	if (*s == '\0') {
		errno = EINVAL;
		return -1;
	}
	for (; *s != '\0'; s++) {
		unsigned d;

		if (*s < '0' || *s > '9') {
			errno = EINVAL;
			return -1;
		}
		d = (unsigned)(*s - '0');
		if (v > max / 10 || (v == max / 10 && d > max % 10)) {
			errno = ERANGE;
			return -1;
		}
		v = v * 10 + d;
	}
	if (v < min) {
		errno = ERANGE;
		return -1;
	}
	*v_r = v;
	return 0;
}

static bool
conf_parse_bool(const char *s, bool *v_r)
{
	if (strcasecmp(s, "yes") == 0 || strcasecmp(s, "true") == 0 ||
	    strcmp(s, "1") == 0) {
		*v_r = true;
		return true;
	}
	if (strcasecmp(s, "no") == 0 || strcasecmp(s, "false") == 0 ||
	    strcmp(s, "0") == 0) {
		*v_r = false;
		return true;
	}
	return false;
}

static bool
conf_enum_has(const char *choices, const char *v)
{
	size_t n = strlen(v);
	const char *p = choices;

	while (*p != '\0') {
		size_t len = strcspn(p, "|");

		if (len == n && strncmp(p, v, n) == 0)
			return true;
		p += len;
		if (*p == '|')
			p++;
	}
	return false;
}

static const struct pd_conf_schema *
conf_find_schema(const char *header, char **name_r)
{
	const struct pd_conf_schema *sc;
	size_t tlen;

	*name_r = NULL;
	for (sc = pd_conf_schemas; sc->type != NULL; sc++) {
		if (!sc->named) {
			if (strcmp(sc->type, header) == 0)
				return sc;
			continue;
		}
		tlen = strlen(sc->type);
		if (strncmp(header, sc->type, tlen) == 0 && header[tlen] == ' ' &&
		    header[tlen + 1] != '\0') {
			*name_r = pd_xstrdup(header + tlen + 1);
			return sc;
		}
	}
	return NULL;
}

static const struct pd_conf_key *
conf_find_key(const struct pd_conf_schema *sc, const char *name)
{
	const struct pd_conf_key *k;

	for (k = sc->keys; k->name != NULL; k++)
		if (strcmp(k->name, name) == 0)
			return k;
	return NULL;
}

static int
conf_check_value(const struct pd_conf_key *k, const char *v, const char *where,
		 struct pd_err *err)
{
	unsigned long n;
	bool b;

	switch (k->type) {
	case PD_CONF_UINT:
		if (pd_parse_uint(v, k->min, k->max, &n) < 0)
			return pd_err_set(err, PD_ERR_CONFIG,
					  "%s: %s = '%s': want a number from %lu to %lu",
					  where, k->name, v, k->min, k->max);
		break;
	case PD_CONF_BOOL:
		if (!conf_parse_bool(v, &b))
			return pd_err_set(err, PD_ERR_CONFIG,
					  "%s: %s = '%s': want yes or no",
					  where, k->name, v);
		break;
	case PD_CONF_ENUM:
		if (!conf_enum_has(k->choices, v))
			return pd_err_set(err, PD_ERR_CONFIG,
					  "%s: %s = '%s': want one of %s",
					  where, k->name, v, k->choices);
		break;
	case PD_CONF_STR:
		break;
	}
	return 0;
}

static struct pd_conf_section *
conf_section_new(const struct pd_conf_schema *sc, const char *header,
		 char *name)
{
	struct pd_conf_section *sec = pd_xcalloc(1, sizeof(*sec));

	sec->schema = sc;
	sec->header = pd_xstrdup(header);
	sec->name = name;
	return sec;
}

static struct pd_conf_section *
conf_find_section(struct pd_conf_section *list, const char *header)
{
	for (; list != NULL; list = list->next)
		if (strcmp(list->header, header) == 0)
			return list;
	return NULL;
}

static void
conf_section_set(struct pd_conf_section *sec, const struct pd_conf_key *k,
		 const char *value, const char *where)
{
	size_t i;

	for (i = 0; i < sec->nvalues; i++) {
		if (sec->values[i].key == k) {
			free(sec->values[i].value);
			break;
		}
	}
	if (i == sec->nvalues) {
		sec->values = pd_xreallocarray(sec->values, sec->nvalues + 1,
					       sizeof(*sec->values));
		sec->nvalues++;
		sec->values[i].key = k;
	}
	sec->values[i].value = pd_xstrdup(value);
	snprintf(sec->values[i].where, sizeof(sec->values[i].where), "%s", where);
}

struct conf_parser {
	struct pd_conf *conf;
	struct pd_conf_section *cur;
	/* pending "key = value", completed when the next non-continuation comes */
	const struct pd_conf_key *pkey;
	struct pd_buf pval;
	char pwhere[300];
};

static char *
conf_trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/* Cut a comment: '#' at the start or after blank space. */
static void
conf_strip_comment(char *s)
{
	char *p;

	for (p = s; *p != '\0'; p++) {
		if (*p == '#' && (p == s || p[-1] == ' ' || p[-1] == '\t')) {
			*p = '\0';
			return;
		}
	}
}

static int
conf_flush(struct conf_parser *cp, struct pd_err *err)
{
	if (cp->pkey == NULL)
		return 0;
	if (conf_check_value(cp->pkey, pd_buf_cstr(&cp->pval), cp->pwhere,
			     err) < 0)
		return -1;
	conf_section_set(cp->cur, cp->pkey, pd_buf_cstr(&cp->pval), cp->pwhere);
	cp->pkey = NULL;
	pd_buf_reset(&cp->pval);
	return 0;
}

static int conf_parse_text(struct conf_parser *cp, const char *name,
			   const char *text, size_t len, int depth,
			   struct pd_err *err);

static int
conf_include(struct conf_parser *cp, const char *from, const char *arg,
	     const char *where, int depth, struct pd_err *err)
{
	struct pd_buf path, text;
	FILE *fp;
	const char *slash;
	int ret = -1;

	if (depth >= CONF_INCLUDE_DEPTH)
		return pd_err_set(err, PD_ERR_CONFIG,
				  "%s: include nested too deeply", where);
	pd_buf_init(&path, 4096);
	pd_buf_init(&text, 1024 * 1024);
	slash = strrchr(from, '/');
	if (arg[0] != '/' && slash != NULL) {
		if (pd_buf_append(&path, from, (size_t)(slash - from + 1)) < 0)
			goto toolong;
	}
	if (pd_buf_append_str(&path, arg) < 0)
		goto toolong;
	if ((fp = fopen(pd_buf_cstr(&path), "re")) == NULL) {
		pd_err_sys(err, "%s: include %s", where, pd_buf_cstr(&path));
		goto out;
	}
	for (;;) {
		unsigned char *dst = pd_buf_reserve(&text, 4096);
		size_t n;

		if (dst == NULL) {
			fclose(fp);
			pd_err_set(err, PD_ERR_CONFIG, "%s: file too large",
				   pd_buf_cstr(&path));
			goto out;
		}
		n = fread(dst, 1, 4096, fp);
		pd_buf_commit(&text, n);
		if (n < 4096)
			break;
	}
	if (ferror(fp)) {
		fclose(fp);
		pd_err_sys(err, "read %s", pd_buf_cstr(&path));
		goto out;
	}
	fclose(fp);
	ret = conf_parse_text(cp, pd_buf_cstr(&path), (const char *)text.data,
			      text.len, depth + 1, err);
	goto out;
toolong:
	pd_err_set(err, PD_ERR_CONFIG, "%s: include path too long", where);
out:
	pd_buf_deinit(&path);
	pd_buf_deinit(&text);
	return ret;
}

static int
conf_parse_line(struct conf_parser *cp, const char *name, unsigned lineno,
		char *line, int depth, struct pd_err *err)
{
	char where[300], *s, *eq, *key, *val;
	const struct pd_conf_key *k;

	snprintf(where, sizeof(where), "%s:%u", name, lineno);
	conf_strip_comment(line);
	/* An indented line continues the previous value. */
	if ((line[0] == ' ' || line[0] == '\t') && cp->pkey != NULL) {
		s = conf_trim(line);
		if (*s == '\0')
			return 0;
		if (pd_buf_append(&cp->pval, " ", 1) < 0 ||
		    pd_buf_append_str(&cp->pval, s) < 0)
			return pd_err_set(err, PD_ERR_CONFIG,
					  "%s: value too long", where);
		return 0;
	}
	s = conf_trim(line);
	if (*s == '\0')
		return 0;
	if (conf_flush(cp, err) < 0)
		return -1;
	if (*s == '[') {
		char *e = strchr(s, ']'), *hdr, *sname;
		const struct pd_conf_schema *sc;
		struct pd_conf_section *sec;

		if (e == NULL || conf_trim(e + 1)[0] != '\0')
			return pd_err_set(err, PD_ERR_CONFIG,
					  "%s: malformed section header", where);
		*e = '\0';
		hdr = conf_trim(s + 1);
		/* collapse inner blanks to one space */
		{
			char *r = hdr, *w = hdr;
			bool sp = false;

			for (; *r != '\0'; r++) {
				if (*r == ' ' || *r == '\t') {
					sp = true;
					continue;
				}
				if (sp && w != hdr)
					*w++ = ' ';
				sp = false;
				*w++ = *r;
			}
			*w = '\0';
		}
		if ((sc = conf_find_schema(hdr, &sname)) == NULL)
			return pd_err_set(err, PD_ERR_CONFIG,
					  "%s: unknown section [%s]", where, hdr);
		sec = conf_find_section(cp->conf->sections, hdr);
		if (sec == NULL) {
			sec = conf_section_new(sc, hdr, sname);
			snprintf(sec->where, sizeof(sec->where), "%s", where);
			cp->conf->last->next = sec;
			cp->conf->last = sec;
		} else {
			free(sname);
		}
		cp->cur = sec;
		return 0;
	}
	if (strncmp(s, "include", 7) == 0 && (s[7] == ' ' || s[7] == '\t'))
		return conf_include(cp, name, conf_trim(s + 8), where, depth,
				    err);
	if ((eq = strchr(s, '=')) == NULL)
		return pd_err_set(err, PD_ERR_CONFIG,
				  "%s: expected 'key = value'", where);
	*eq = '\0';
	key = conf_trim(s);
	val = conf_trim(eq + 1);
	k = conf_find_key(cp->cur->schema, key);
	if (k == NULL)
		return pd_err_set(err, PD_ERR_CONFIG, "%s: unknown key '%s'%s%s%s",
				  where, key, cp->cur->header[0] ? " in [" : "",
				  cp->cur->header, cp->cur->header[0] ? "]" : "");
	cp->pkey = k;
	snprintf(cp->pwhere, sizeof(cp->pwhere), "%s", where);
	pd_buf_reset(&cp->pval);
	if (pd_buf_append_str(&cp->pval, val) < 0)
		return pd_err_set(err, PD_ERR_CONFIG, "%s: value too long",
				  where);
	return 0;
}

static int
conf_parse_text(struct conf_parser *cp, const char *name, const char *text,
		size_t len, int depth, struct pd_err *err)
{
	char line[CONF_LINE_MAX];
	unsigned lineno = 0;
	size_t pos = 0;
	struct pd_conf_section *saved = cp->cur;

	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl != NULL ? (size_t)(nl - (text + pos)) : len - pos;

		lineno++;
		if (n >= sizeof(line))
			return pd_err_set(err, PD_ERR_CONFIG, "%s:%u: line too long",
					  name, lineno);
		if (memchr(text + pos, '\0', n) != NULL)
			return pd_err_set(err, PD_ERR_CONFIG,
					  "%s:%u: NUL byte in line", name, lineno);
		memcpy(line, text + pos, n);
		line[n] = '\0';
		pos += n + (nl != NULL);
		if (conf_parse_line(cp, name, lineno, line, depth, err) < 0)
			return -1;
	}
	if (conf_flush(cp, err) < 0)
		return -1;
	/* An included file's sections do not leak into the includer. */
	if (depth > 0)
		cp->cur = saved;
	return 0;
}

static struct pd_conf *
conf_new(void)
{
	struct pd_conf *conf = pd_xcalloc(1, sizeof(*conf));

	conf->sections = conf_section_new(&pd_conf_schemas[0], "", NULL);
	conf->last = conf->sections;
	return conf;
}

int
pd_conf_load_string(const char *name, const char *text, size_t len,
		    struct pd_conf **conf_r, struct pd_err *err)
{
	struct conf_parser cp;
	int ret;

	memset(&cp, 0, sizeof(cp));
	cp.conf = conf_new();
	cp.cur = cp.conf->sections;
	pd_buf_init(&cp.pval, 65536);
	ret = conf_parse_text(&cp, name, text, len, 0, err);
	pd_buf_deinit(&cp.pval);
	if (ret < 0) {
		pd_conf_free(&cp.conf);
		return -1;
	}
	*conf_r = cp.conf;
	return 0;
}

int
pd_conf_load(const char *path, struct pd_conf **conf_r, struct pd_err *err)
{
	struct conf_parser cp;
	int ret;

	memset(&cp, 0, sizeof(cp));
	cp.conf = conf_new();
	cp.cur = cp.conf->sections;
	pd_buf_init(&cp.pval, 65536);
	/* depth -1 so the file itself parses at depth 0 */
	ret = conf_include(&cp, "", path, "command line", -1, err);
	pd_buf_deinit(&cp.pval);
	if (ret < 0) {
		pd_conf_free(&cp.conf);
		return -1;
	}
	*conf_r = cp.conf;
	return 0;
}

static void
conf_sections_free(struct pd_conf_section *sec)
{
	while (sec != NULL) {
		struct pd_conf_section *next = sec->next;
		size_t i;

		for (i = 0; i < sec->nvalues; i++)
			free(sec->values[i].value);
		free(sec->values);
		free(sec->header);
		free(sec->name);
		free(sec);
		sec = next;
	}
}

void
pd_conf_free(struct pd_conf **conf)
{
	if (*conf == NULL)
		return;
	conf_sections_free((*conf)->sections);
	conf_sections_free((*conf)->implicit);
	free(*conf);
	*conf = NULL;
}

static void
conf_header(char *dst, size_t n, const char *type, const char *name)
{
	if (name != NULL)
		snprintf(dst, n, "%s %s", type, name);
	else
		snprintf(dst, n, "%s", type);
}

bool
pd_conf_has_section(const struct pd_conf *conf, const char *type,
		    const char *name)
{
	char hdr[512];

	conf_header(hdr, sizeof(hdr), type, name);
	return conf_find_section(conf->sections, hdr) != NULL;
}

const struct pd_conf_section *
pd_conf_section(const struct pd_conf *conf, const char *type, const char *name)
{
	char hdr[512];
	struct pd_conf_section *sec;
	struct pd_conf *mut = (struct pd_conf *)conf;
	const struct pd_conf_schema *sc;
	char *sname;

	conf_header(hdr, sizeof(hdr), type, name);
	if ((sec = conf_find_section(conf->sections, hdr)) != NULL)
		return sec;
	if ((sec = conf_find_section(conf->implicit, hdr)) != NULL)
		return sec;
	if ((sc = conf_find_schema(hdr, &sname)) == NULL)
		pd_panic("pd_conf_section: undeclared section [%s]", hdr);
	/* Cache an all-defaults section; lookups stay const for callers. */
	sec = conf_section_new(sc, hdr, sname);
	sec->implicit = true;
	sec->next = mut->implicit;
	mut->implicit = sec;
	return sec;
}

const struct pd_conf_section *
pd_conf_next_named(const struct pd_conf *conf, const char *type,
		   const struct pd_conf_section *prev)
{
	const struct pd_conf_section *sec = prev != NULL ? prev->next
							 : conf->sections;

	for (; sec != NULL; sec = sec->next)
		if (sec->name != NULL && strcmp(sec->schema->type, type) == 0)
			return sec;
	return NULL;
}

const char *
pd_conf_section_name(const struct pd_conf_section *sec)
{
	return sec->name;
}

const char *
pd_conf_section_where(const struct pd_conf_section *sec)
{
	return sec->where[0] != '\0' ? sec->where : "default";
}

static const struct conf_value *
conf_lookup(const struct pd_conf_section *sec, const char *key,
	    const struct pd_conf_key **k_r)
{
	size_t i;
	const struct pd_conf_key *k = conf_find_key(sec->schema, key);

	if (k == NULL)
		pd_panic("pd_conf: undeclared key '%s' in [%s]", key, sec->header);
	*k_r = k;
	for (i = 0; i < sec->nvalues; i++)
		if (sec->values[i].key == k)
			return &sec->values[i];
	return NULL;
}

const char *
pd_conf_str(const struct pd_conf_section *sec, const char *key)
{
	const struct pd_conf_key *k;
	const struct conf_value *v = conf_lookup(sec, key, &k);

	return v != NULL ? v->value : k->def;
}

unsigned long
pd_conf_uint(const struct pd_conf_section *sec, const char *key)
{
	const struct pd_conf_key *k;
	const struct conf_value *v = conf_lookup(sec, key, &k);
	unsigned long n = 0;

	PD_ASSERT(k->type == PD_CONF_UINT);
	if (pd_parse_uint(v != NULL ? v->value : k->def, k->min, k->max, &n) < 0)
		pd_panic("pd_conf: bad default for %s", key);
	return n;
}

bool
pd_conf_bool(const struct pd_conf_section *sec, const char *key)
{
	const struct pd_conf_key *k;
	const struct conf_value *v = conf_lookup(sec, key, &k);
	bool b = false;

	PD_ASSERT(k->type == PD_CONF_BOOL);
	if (!conf_parse_bool(v != NULL ? v->value : k->def, &b))
		pd_panic("pd_conf: bad default for %s", key);
	return b;
}

bool
pd_conf_is_default(const struct pd_conf_section *sec, const char *key)
{
	const struct pd_conf_key *k;
	const struct conf_value *v = conf_lookup(sec, key, &k);

	return v == NULL || strcmp(v->value, k->def) == 0;
}

const char *
pd_conf_where(const struct pd_conf_section *sec, const char *key)
{
	const struct pd_conf_key *k;
	const struct conf_value *v = conf_lookup(sec, key, &k);

	return v != NULL ? v->where : "default";
}

static void
conf_print_section(const struct pd_conf_section *sec, FILE *fp)
{
	const struct pd_conf_key *k;

	if (sec->header[0] != '\0')
		fprintf(fp, "\n[%s]\n", sec->header);
	for (k = sec->schema->keys; k->name != NULL; k++)
		fprintf(fp, "%s = %s\n", k->name, pd_conf_str(sec, k->name));
}

void
pd_conf_print(const struct pd_conf *conf, FILE *fp)
{
	const struct pd_conf_schema *sc;
	const struct pd_conf_section *sec;

	/* Unnamed sections in schema order (defaults included), then named ones. */
	for (sc = pd_conf_schemas; sc->type != NULL; sc++)
		if (!sc->named)
			conf_print_section(pd_conf_section(conf, sc->type, NULL), fp);
	for (sec = conf->sections; sec != NULL; sec = sec->next)
		if (sec->name != NULL)
			conf_print_section(sec, fp);
}
