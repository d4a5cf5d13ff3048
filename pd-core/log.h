/* SPDX-License-Identifier: MIT */
/*
 * log.h - pd's one log call: to syslog (mail facility), to stderr or appended
 * to a file.  Every line is "key=value" text; client text must go through
 * pd_log_quote first.  Passwords never reach these functions.
 */
#ifndef PD_LOG_H
#define PD_LOG_H

#include "pd-core/pd.h"

enum pd_log_level { PD_LOG_DEBUG, PD_LOG_INFO, PD_LOG_WARN, PD_LOG_ERROR };

/* Exit codes of pd_fatal (sysexits.h values). */
#define PD_EXIT_CONFIG 78
#define PD_EXIT_TEMP   75

/*
 * Select the sink: "syslog", "stderr", or an absolute file path (opened for
 * append).  ident is the program name.  Returns 0, or -1 if the file cannot
 * be opened (the sink then stays stderr).  May be called again to change it.
 */
int pd_log_open(const char *target, const char *ident);
/* Enable or disable debug lines. */
void pd_log_set_debug(bool on);
/*
 * An fd the exec'd mail server may use as its stderr as it is: stderr
 * when that is the sink (stdio debugging), else -1 - the caller then uses
 * pd_log_spawn_reader, so the server never holds pd's log file or socket.
 */
int pd_log_fd(void);
/*
 * Fork an unprivileged reader that logs each line read from the returned
 * pipe fd through pd_log (sanitised, tagged with tag); returns the write
 * end, or -1.
 */
int pd_log_spawn_reader(const char *tag);

void pd_log(enum pd_log_level level, const char *fmt, ...) PD_PRINTF(2, 3);
#define pd_log_debug(...) pd_log(PD_LOG_DEBUG, __VA_ARGS__)
#define pd_log_info(...)  pd_log(PD_LOG_INFO, __VA_ARGS__)
#define pd_log_warn(...)  pd_log(PD_LOG_WARN, __VA_ARGS__)
#define pd_log_error(...) pd_log(PD_LOG_ERROR, __VA_ARGS__)

/* Log an error and exit with code (PD_EXIT_CONFIG, PD_EXIT_TEMP): startup only. */
void pd_fatal(int code, const char *fmt, ...) PD_PRINTF(2, 3) PD_NORETURN;
/* Log a broken invariant and abort(). */
void pd_panic(const char *fmt, ...) PD_PRINTF(1, 2) PD_NORETURN;

#define PD_ASSERT(e) \
	((e) ? (void)0 : pd_panic("assertion failed: %s (%s:%d)", #e, __FILE__, __LINE__))

/*
 * Copy at most max bytes of untrusted src (srclen bytes) into dst (dstsz,
 * NUL-terminated), replacing control bytes, '"' and '\\' by '?' and marking
 * truncation with "...".  Returns dst.
 */
char *pd_log_quote(char *dst, size_t dstsz, const void *src, size_t srclen,
		   size_t max);

#endif
