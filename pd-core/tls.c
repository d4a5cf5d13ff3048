/* SPDX-License-Identifier: MIT */
/*
 * tls.c - server SSL_CTXs (the default from [tls], one per [tls NAME] or per
 * NAME.pem in sni_dir, picked by SNI) and the plaintext-auth policy.
 * Every error names the file it was reading and, where there is one, the
 * pd.conf line that named it.
 */
#include "pd-core/tls.h"
#include "pd-core/log.h"
#include "pd-core/mem.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct tls_name {
	char *name;
	SSL_CTX *ctx;
};

struct pd_tls {
	SSL_CTX *def;
	struct tls_name *names;
	size_t nnames;
};

static void
tls_openssl_error(char *dst, size_t n)
{
	unsigned long e = ERR_get_error();

	if (e == 0)
		snprintf(dst, n, "unknown OpenSSL error");
	else
		ERR_error_string_n(e, dst, n);
	ERR_clear_error();
}

static int
tls_version(const char *v)
{
	if (strcmp(v, "TLSv1") == 0)
		return TLS1_VERSION;
	if (strcmp(v, "TLSv1.1") == 0)
		return TLS1_1_VERSION;
	if (strcmp(v, "TLSv1.3") == 0)
		return TLS1_3_VERSION;
	return TLS1_2_VERSION;
}

static int
tls_load_pair(SSL_CTX *ctx, const char *cert, const char *key,
	      const char *where, const char *kwhere, struct pd_err *err)
{
	char e[256];
	FILE *fp;

	/* Name an unreadable file plainly, before OpenSSL's codes. */
	if ((fp = fopen(cert, "re")) == NULL)
		return pd_err_sys(err, "%s: certificate %s", where, cert);
	fclose(fp);
	if ((fp = fopen(key, "re")) == NULL)
		return pd_err_sys(err, "%s: key %s", kwhere, key);
	fclose(fp);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		tls_openssl_error(e, sizeof(e));
		return pd_err_set(err, PD_ERR_CONFIG, "%s: certificate %s: %s",
				  where, cert, e);
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		tls_openssl_error(e, sizeof(e));
		return pd_err_set(err, PD_ERR_CONFIG, "%s: key %s: %s", kwhere, key, e);
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		tls_openssl_error(e, sizeof(e));
		return pd_err_set(err, PD_ERR_CONFIG,
				  "%s: key %s does not match certificate %s: %s",
				  kwhere, key, cert, e);
	}
	return 0;
}

static SSL_CTX *
tls_ctx_new(const struct pd_conf_section *sec, struct pd_err *err)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	const char *ciphers = pd_conf_str(sec, "ciphers");
	const char *suites = pd_conf_str(sec, "ciphersuites");
	char e[256];

	if (ctx == NULL) {
		tls_openssl_error(e, sizeof(e));
		pd_err_set(err, PD_ERR_SYS, "SSL_CTX_new: %s", e);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, tls_version(pd_conf_str(sec, "min_version")));
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_CIPHER_SERVER_PREFERENCE |
				 SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
			      SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
			      SSL_MODE_RELEASE_BUFFERS);
	if (ciphers[0] != '\0' && SSL_CTX_set_cipher_list(ctx, ciphers) != 1) {
		pd_err_set(err, PD_ERR_CONFIG, "%s: ciphers = '%s': no usable cipher",
			   pd_conf_where(sec, "ciphers"), ciphers);
		goto fail;
	}
	if (suites[0] != '\0' && SSL_CTX_set_ciphersuites(ctx, suites) != 1) {
		pd_err_set(err, PD_ERR_CONFIG,
			   "%s: ciphersuites = '%s': no usable TLSv1.3 suite",
			   pd_conf_where(sec, "ciphersuites"), suites);
		goto fail;
	}
	return ctx;
fail:
	ERR_clear_error();
	SSL_CTX_free(ctx);
	return NULL;
}

static int
tls_servername(SSL *ssl, int *alert PD_UNUSED, void *arg)
{
	struct pd_tls *tls = arg;
	const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	size_t i;

	if (name == NULL)
		return SSL_TLSEXT_ERR_NOACK;
	for (i = 0; i < tls->nnames; i++) {
		if (strcasecmp(tls->names[i].name, name) == 0) {
			SSL_set_SSL_CTX(ssl, tls->names[i].ctx);
			return SSL_TLSEXT_ERR_OK;
		}
	}
	return SSL_TLSEXT_ERR_NOACK;	/* the default certificate serves */
}

static int
tls_add_name(struct pd_tls *tls, const struct pd_conf_section *base,
	     const char *name, const char *cert, const char *key,
	     const char *where, const char *kwhere, struct pd_err *err)
{
	SSL_CTX *ctx = tls_ctx_new(base, err);

	if (ctx == NULL)
		return -1;
	if (tls_load_pair(ctx, cert, key, where, kwhere, err) < 0) {
		SSL_CTX_free(ctx);
		return -1;
	}
	tls->names = pd_xreallocarray(tls->names, tls->nnames + 1,
				      sizeof(*tls->names));
	tls->names[tls->nnames].name = pd_xstrdup(name);
	tls->names[tls->nnames].ctx = ctx;
	tls->nnames++;
	return 0;
}

/* sni_dir: NAME.pem holds the chain and the key for NAME. */
static int
tls_load_dir(struct pd_tls *tls, const struct pd_conf_section *sec,
	     struct pd_err *err)
{
	const char *dir = pd_conf_str(sec, "sni_dir");
	struct dirent *de;
	DIR *d;
	char path[4096], name[256], where[512];
	int ret = 0;

	if (dir[0] == '\0')
		return 0;
	if ((d = opendir(dir)) == NULL)
		return pd_err_sys(err, "%s: sni_dir %s", pd_conf_where(sec, "sni_dir"),
				  dir);
	while (ret == 0 && (de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);

		if (n <= 4 || n - 4 >= sizeof(name) ||
		    strcmp(de->d_name + n - 4, ".pem") != 0 || de->d_name[0] == '.')
			continue;
		memcpy(name, de->d_name, n - 4);
		name[n - 4] = '\0';
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		snprintf(where, sizeof(where), "%s (sni_dir)",
			 pd_conf_where(sec, "sni_dir"));
		ret = tls_add_name(tls, sec, name, path, path, where, where, err);
	}
	closedir(d);
	return ret;
}

int
pd_tls_server_new(const struct pd_conf *conf, struct pd_tls **tls_r,
		  struct pd_err *err)
{
	const struct pd_conf_section *sec = pd_conf_section(conf, "tls", NULL);
	const struct pd_conf_section *named = NULL;
	const char *cert = pd_conf_str(sec, "cert"), *key = pd_conf_str(sec, "key");
	struct pd_tls *tls;

	*tls_r = NULL;
	if (cert[0] == '\0') {
		if (key[0] != '\0')
			return pd_err_set(err, PD_ERR_CONFIG, "%s: key without cert",
					  pd_conf_where(sec, "key"));
		return 0;
	}
	if (key[0] == '\0')
		key = cert;	/* one PEM file with both */
	tls = pd_xcalloc(1, sizeof(*tls));
	if ((tls->def = tls_ctx_new(sec, err)) == NULL ||
	    tls_load_pair(tls->def, cert, key, pd_conf_where(sec, "cert"),
			  pd_conf_where(sec, key == cert ? "cert" : "key"), err) < 0)
		goto fail;
	while ((named = pd_conf_next_named(conf, "tls", named)) != NULL) {
		const char *nc = pd_conf_str(named, "cert");
		const char *nk = pd_conf_str(named, "key");

		if (nc[0] == '\0') {
			pd_err_set(err, PD_ERR_CONFIG, "%s: [tls %s] has no cert",
				   pd_conf_section_where(named),
				   pd_conf_section_name(named));
			goto fail;
		}
		if (tls_add_name(tls, sec, pd_conf_section_name(named), nc,
				 nk[0] != '\0' ? nk : nc, pd_conf_where(named, "cert"),
				 pd_conf_where(named, nk[0] != '\0' ? "key" : "cert"),
				 err) < 0)
			goto fail;
	}
	if (tls_load_dir(tls, sec, err) < 0)
		goto fail;
	if (tls->nnames > 0) {
		SSL_CTX_set_tlsext_servername_callback(tls->def, tls_servername);
		SSL_CTX_set_tlsext_servername_arg(tls->def, tls);
	}
	*tls_r = tls;
	return 0;
fail:
	pd_tls_free(&tls);
	return -1;
}

void
pd_tls_free(struct pd_tls **tlsp)
{
	struct pd_tls *tls = *tlsp;
	size_t i;

	if (tls == NULL)
		return;
	for (i = 0; i < tls->nnames; i++) {
		free(tls->names[i].name);
		SSL_CTX_free(tls->names[i].ctx);
	}
	free(tls->names);
	SSL_CTX_free(tls->def);
	free(tls);
	*tlsp = NULL;
}

SSL *
pd_tls_ssl_new(struct pd_tls *tls)
{
	SSL *ssl = SSL_new(tls->def);

	if (ssl == NULL)
		pd_panic("SSL_new: out of memory");
	return ssl;
}

void
pd_tls_describe(SSL *ssl, char *dst, size_t dstsz)
{
	snprintf(dst, dstsz, "%s/%s", SSL_get_version(ssl),
		 SSL_CIPHER_get_name(SSL_get_current_cipher(ssl)));
}

/* trusted_networks: "addr/bits" or "addr", IPv4 or IPv6. */
struct tls_net {
	int family;
	unsigned char addr[16];
	unsigned bits;
};

struct pd_tls_policy {
	bool allow_plaintext;
	struct tls_net *nets;
	size_t nnets;
};

static int
tls_parse_net(const char *s, struct tls_net *net)
{
	char buf[INET6_ADDRSTRLEN + 8], *slash;
	unsigned long bits;

	if (strlen(s) >= sizeof(buf))
		return -1;
	memcpy(buf, s, strlen(s) + 1);
	slash = strchr(buf, '/');
	if (slash != NULL)
		*slash++ = '\0';
	if (inet_pton(AF_INET, buf, net->addr) == 1) {
		net->family = AF_INET;
		bits = 32;
	} else if (inet_pton(AF_INET6, buf, net->addr) == 1) {
		net->family = AF_INET6;
		bits = 128;
	} else {
		return -1;
	}
	if (slash != NULL && pd_parse_uint(slash, 0, bits, &bits) < 0)
		return -1;
	net->bits = (unsigned)bits;
	return 0;
}

int
pd_tls_policy_new(const struct pd_conf *conf, struct pd_tls_policy **p_r,
		  struct pd_err *err)
{
	const struct pd_conf_section *sec = pd_conf_section(conf, "tls", NULL);
	const char *list = pd_conf_str(sec, "trusted_networks");
	struct pd_tls_policy *p = pd_xcalloc(1, sizeof(*p));
	char word[128];

	p->allow_plaintext = strcmp(pd_conf_str(sec, "plaintext_auth"), "allow") == 0;
	while (*list != '\0') {
		size_t n;

		list += strspn(list, " \t,");
		n = strcspn(list, " \t,");
		if (n == 0)
			break;
		if (n >= sizeof(word))
			goto bad;
		memcpy(word, list, n);
		word[n] = '\0';
		list += n;
		p->nets = pd_xreallocarray(p->nets, p->nnets + 1, sizeof(*p->nets));
		if (tls_parse_net(word, &p->nets[p->nnets]) < 0)
			goto bad;
		p->nnets++;
	}
	*p_r = p;
	return 0;
bad:
	pd_err_set(err, PD_ERR_CONFIG, "%s: trusted_networks: '%.100s' is not "
		   "an address or addr/bits", pd_conf_where(sec, "trusted_networks"),
		   word);
	pd_tls_policy_free(&p);
	return -1;
}

void
pd_tls_policy_free(struct pd_tls_policy **pp)
{
	if (*pp == NULL)
		return;
	free((*pp)->nets);
	free(*pp);
	*pp = NULL;
}

static bool
tls_net_has(const struct tls_net *net, int family, const unsigned char *a)
{
	unsigned full = net->bits / 8, rest = net->bits % 8;

	if (net->family != family)
		return false;
	if (memcmp(net->addr, a, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((net->addr[full] ^ a[full]) & (0xff << (8 - rest))) == 0;
}

bool
pd_tls_policy_allows(const struct pd_tls_policy *p, const char *ip, bool tls)
{
	unsigned char a[16];
	int family;
	size_t i;

	if (tls || p->allow_plaintext || strcmp(ip, "local") == 0)
		return true;
	if (inet_pton(AF_INET, ip, a) == 1) {
		family = AF_INET;
	} else if (inet_pton(AF_INET6, ip, a) == 1) {
		family = AF_INET6;
		/* ::ffff:a.b.c.d is the IPv4 client a.b.c.d */
		if (IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)a)) {
			memmove(a, a + 12, 4);
			family = AF_INET;
		}
	} else {
		return false;
	}
	for (i = 0; i < p->nnets; i++)
		if (tls_net_has(&p->nets[i], family, a))
			return true;
	return false;
}
