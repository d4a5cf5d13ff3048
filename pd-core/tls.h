/* SPDX-License-Identifier: MIT */
/*
 * tls.h - the server-side TLS context for clients, from [tls] and any
 * [tls NAME] sections (certificate chosen by SNI), plus the plaintext-auth
 * policy (plaintext_auth, trusted_networks).  Startup errors name the file
 * and the pd.conf line.  Sessions are neither cached nor ticketed: in a
 * forking server each process would keep its own cache and ticket keys, so
 * neither could ever be reused.
 */
#ifndef PD_TLS_H
#define PD_TLS_H

#include "pd-core/conf.h"
#include "pd-core/err.h"

#include <openssl/ssl.h>

struct pd_tls;

/*
 * Build the contexts.  Returns 0 with *tls_r NULL when [tls] has no cert
 * (TLS not configured), 0 with a context, or -1 naming the file and line.
 */
int pd_tls_server_new(const struct pd_conf *conf, struct pd_tls **tls_r,
		      struct pd_err *err);
void pd_tls_free(struct pd_tls **tls);
/* A new server SSL for one client (never NULL). */
SSL *pd_tls_ssl_new(struct pd_tls *tls);
/* "TLSv1.3/TLS_AES_256_GCM_SHA384" of an established SSL, for logs. */
void pd_tls_describe(SSL *ssl, char *dst, size_t dstsz);

/* Parsed trusted_networks; pd_tls_policy_allows answers for one client. */
struct pd_tls_policy;
int pd_tls_policy_new(const struct pd_conf *conf, struct pd_tls_policy **p_r,
		      struct pd_err *err);
void pd_tls_policy_free(struct pd_tls_policy **p);
/*
 * Whether a client at ip may send a plaintext password on a connection that
 * is (tls true) or is not encrypted.  ip "local" (stdio without
 * --client-ip) counts as trusted: the operator started it by hand.
 */
bool pd_tls_policy_allows(const struct pd_tls_policy *p, const char *ip,
			  bool tls);

#endif
