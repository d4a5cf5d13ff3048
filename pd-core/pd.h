/* SPDX-License-Identifier: MIT */
/*
 * pd.h - attribute macros and compile-time limits shared by every part of pd.
 * Holds no code; every other header includes it first.
 */
#ifndef PD_H
#define PD_H

#include <stdbool.h>
#include <stddef.h>

#define PD_PRINTF(f, a)   __attribute__((format(printf, f, a)))
#define PD_NORETURN       __attribute__((noreturn))
#define PD_UNUSED         __attribute__((unused))
#define PD_WARN_UNUSED    __attribute__((warn_unused_result))
#define PD_EXPORT         __attribute__((visibility("default")))

#define PD_VERSION "0.1.0"

#define PD_N_ELEMENTS(a)  (sizeof(a) / sizeof((a)[0]))

/* Upper bounds that are not settings: they size fixed arrays. */
#define PD_TAG_MAX        64	/* IMAP tag bytes */
#define PD_LOGIN_MAX      256	/* login name bytes */
#define PD_PASSWORD_MAX   1024	/* password bytes */
#define PD_ADDR_MAX       64	/* "addr" text of an IPv4/IPv6 address */

#endif
