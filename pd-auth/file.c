/* SPDX-License-Identifier: MIT */
/*
 * file.c - the "file" driver: Dovecot's passwd-file format,
 * user:{SCHEME}hash:uid:gid:gecos:home:shell:extra, read afresh on each
 * lookup so edits take effect at once.  A malformed line for the user asked
 * for is a temporary failure naming file:line; other lines are not judged.
 */
#include "pd-auth/auth.h"
#include "pd-core/log.h"
#include "pd-core/mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FILE_LINE_MAX 8192

struct file_state {
	char *path;
};

static int
file_open(const struct pd_conf_section *sec, void **state_r, struct pd_err *err)
{
	struct file_state *st;
	const char *path = pd_conf_str(sec, "path");
	FILE *fp;

	/* Fail at startup, not at the first login, if the file is unreadable. */
	if ((fp = fopen(path, "re")) == NULL)
		return pd_err_sys(err, "%s: passwd-file %s",
				  pd_conf_where(sec, "path"), path);
	fclose(fp);
	st = pd_xcalloc(1, sizeof(*st));
	st->path = pd_xstrdup(path);
	*state_r = st;
	return 0;
}

static void
file_close(void *state)
{
	struct file_state *st = state;

	free(st->path);
	free(st);
}

/* Split line on ':' into at most 8 fields; the 8th takes the rest. */
static size_t
file_split(char *line, char *f[8])
{
	size_t n = 0;

	f[n++] = line;
	while (n < 8) {
		char *c = strchr(f[n - 1], ':');

		if (c == NULL)
			break;
		*c = '\0';
		f[n++] = c + 1;
	}
	return n;
}

static int
file_lookup(void *state, const char *login, struct pd_user *u,
	    struct pd_err *err)
{
	struct file_state *st = state;
	char *line = pd_xmalloc(FILE_LINE_MAX);
	char *f[8];
	size_t loginlen = strlen(login), n;
	unsigned lineno = 0;
	FILE *fp;
	int ret = 0;

	if ((fp = fopen(st->path, "re")) == NULL) {
		free(line);
		return pd_err_sys(err, "open %s", st->path);
	}
	while (fgets(line, FILE_LINE_MAX, fp) != NULL) {
		lineno++;
		if (strncmp(line, login, loginlen) != 0 || line[loginlen] != ':')
			continue;
		if (strchr(line, '\n') == NULL && !feof(fp)) {
			ret = pd_err_set(err, PD_ERR_TEMP, "%s:%u: line too long",
					 st->path, lineno);
			break;
		}
		line[strcspn(line, "\r\n")] = '\0';
		n = file_split(line, f);
		if (n < 2) {
			ret = pd_err_set(err, PD_ERR_TEMP, "%s:%u: no password field",
					 st->path, lineno);
			break;
		}
		pd_user_set(u, "user", f[0]);
		pd_user_set(u, "password", f[1]);
		if ((n > 2 && f[2][0] != '\0' && pd_user_set(u, "uid", f[2]) < 0) ||
		    (n > 3 && f[3][0] != '\0' && pd_user_set(u, "gid", f[3]) < 0)) {
			ret = pd_err_set(err, PD_ERR_TEMP, "%s:%u: bad uid or gid",
					 st->path, lineno);
			break;
		}
		if (n > 5)
			pd_user_set(u, "home", f[5]);
		if (n > 7 && pd_user_set(u, "extra", f[7]) < 0) {
			ret = pd_err_set(err, PD_ERR_TEMP, "%s:%u: bad extra field",
					 st->path, lineno);
			break;
		}
		ret = 1;
		break;
	}
	if (ret == 0 && ferror(fp))
		ret = pd_err_sys(err, "read %s", st->path);
	fclose(fp);
	pd_wipe(line, FILE_LINE_MAX);
	free(line);
	return ret;
}

const struct pd_auth_driver pd_auth_file = {
	.abi = PD_AUTH_ABI,
	.name = "file",
	.open = file_open,
	.lookup = file_lookup,
	.close = file_close,
};
