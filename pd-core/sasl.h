/* SPDX-License-Identifier: MIT */
/*
 * sasl.h - server side of SASL PLAIN (RFC 4616) and LOGIN, shared by IMAP
 * AUTHENTICATE (RFC 9051 §6.2.2) and POP3 AUTH (RFC 5034), and strict
 * base64 (RFC 4648 §4).  Pure: the protocol handlers send the challenges.
 * Credentials land in struct pd_creds, which its users must wipe.
 */
#ifndef PD_SASL_H
#define PD_SASL_H

#include "pd-core/buf.h"

struct pd_creds {
	char login[PD_LOGIN_MAX + 1];
	char password[PD_PASSWORD_MAX + 1];
};

enum pd_sasl_mech { PD_SASL_NONE, PD_SASL_PLAIN, PD_SASL_LOGIN };

enum pd_sasl_result {
	PD_SASL_CHALLENGE,	/* send the challenge (base64 text) and a new line */
	PD_SASL_DONE,		/* creds filled in */
	PD_SASL_CANCEL,		/* client sent "*" */
	PD_SASL_BAD,		/* malformed response: *msg_r says why */
};

struct pd_sasl {
	enum pd_sasl_mech mech;
	unsigned step;
	struct pd_creds creds;
};

/* "PLAIN", "LOGIN" (case-insensitive), else PD_SASL_NONE. */
enum pd_sasl_mech pd_sasl_mech_parse(struct pd_str name);
/*
 * Begin mech; ir is the initial response ("=" means empty) or NULL.  On
 * PD_SASL_CHALLENGE the base64 challenge is in *challenge_r (a static string).
 */
enum pd_sasl_result pd_sasl_start(struct pd_sasl *s, enum pd_sasl_mech mech,
				  const struct pd_str *ir,
				  const char **challenge_r, const char **msg_r);
/* Feed one response line. */
enum pd_sasl_result pd_sasl_continue(struct pd_sasl *s, struct pd_str line,
				     const char **challenge_r,
				     const char **msg_r);
/* Wipe the credentials. */
void pd_sasl_clear(struct pd_sasl *s);
void pd_creds_clear(struct pd_creds *c);
/* Copy a view into a NUL-free C string of at most max bytes; -1 otherwise. */
int pd_creds_set(char *dst, size_t max, struct pd_str s);

/* Strict base64: -1 on a bad character, bad padding or output past out->max. */
int pd_base64_decode(struct pd_str in, struct pd_buf *out) PD_WARN_UNUSED;
int pd_base64_encode(const void *p, size_t n, struct pd_buf *out) PD_WARN_UNUSED;

#endif
