/* SPDX-License-Identifier: MIT */
/*
 * pwscheme.c - {SCHEME} password verification.  crypt(3) schemes go through
 * libcrypt's crypt_rn; salted SHA schemes are base64(digest || salt) as
 * Dovecot and OpenLDAP store them.  Never logs or copies the password
 * beyond wiped stack/heap buffers.
 */
#include "pd-auth/pwscheme.h"
#include "pd-core/buf.h"
#include "pd-core/mem.h"
#include "pd-core/sasl.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A SHA512-CRYPT hash of a random string, for pd_pwscheme_dummy_verify. */
#define DUMMY_HASH "$6$pdpdpdpdpdpdpdpd$QWzqsHqpDIRqz.hQPYCA/Im9y4ZLWcD6xMYsDG2hebuhX8B.hmIzjmbNrqY/pYntLGPeZ3XTXHFsre0nBFP9i."

static int
verify_crypt(const char *hash, const char *password, struct pd_err *err)
{
	struct crypt_data *cd = pd_xcalloc(1, sizeof(*cd));
	const char *out;
	size_t n;
	int ret;

	out = crypt_rn(password, hash, cd, (int)sizeof(*cd));
	if (out == NULL || out[0] == '*') {
		ret = pd_err_set(err, PD_ERR_TEMP,
				 "crypt hash not supported or malformed");
	} else {
		n = strlen(hash);
		ret = strlen(out) == n && CRYPTO_memcmp(out, hash, n) == 0;
	}
	pd_wipe(cd, sizeof(*cd));
	free(cd);
	return ret;
}

/* Check the crypt prefix matches the scheme name, as Dovecot does not. */
static int
verify_crypt_prefixed(const char *hash, const char *prefix,
		      const char *password, struct pd_err *err)
{
	if (strncmp(hash, prefix, strlen(prefix)) != 0)
		return pd_err_set(err, PD_ERR_TEMP,
				  "hash does not start with '%s'", prefix);
	return verify_crypt(hash, password, err);
}

static int
verify_sha(const char *b64, const EVP_MD *md, bool salted,
	   const char *password, struct pd_err *err)
{
	struct pd_buf raw;
	struct pd_str in;
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;
	size_t mdlen = (size_t)EVP_MD_get_size(md);
	EVP_MD_CTX *ctx;
	int ret = -1;

	pd_buf_init(&raw, 1024);
	in.p = (const unsigned char *)b64;
	in.len = strlen(b64);
	if (pd_base64_decode(in, &raw) < 0 || raw.len < mdlen ||
	    (!salted && raw.len != mdlen) || (salted && raw.len == mdlen)) {
		pd_err_set(err, PD_ERR_TEMP, "malformed %s hash",
			   salted ? "salted SHA" : "SHA");
		goto out;
	}
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL || EVP_DigestInit_ex(ctx, md, NULL) != 1 ||
	    EVP_DigestUpdate(ctx, password, strlen(password)) != 1 ||
	    (salted && EVP_DigestUpdate(ctx, raw.data + mdlen,
					raw.len - mdlen) != 1) ||
	    EVP_DigestFinal_ex(ctx, digest, &dlen) != 1) {
		EVP_MD_CTX_free(ctx);
		pd_err_set(err, PD_ERR_TEMP, "digest failed");
		goto out;
	}
	EVP_MD_CTX_free(ctx);
	ret = dlen == mdlen && CRYPTO_memcmp(digest, raw.data, mdlen) == 0;
	pd_wipe(digest, sizeof(digest));
out:
	pd_buf_deinit(&raw);
	return ret;
}

static int
verify_plain(const char *stored, const char *password)
{
	size_t a = strlen(stored), b = strlen(password);
	/* Compare the full length of the stored value; length leaks only
	 * whether they differ, which the result says anyway. */
	int same = CRYPTO_memcmp(stored, password, a < b ? a : b) == 0;

	return same && a == b;
}

int
pd_pwscheme_verify(const char *stored, const char *password,
		   struct pd_err *err)
{
	const char *end, *hash;
	char scheme[32];
	size_t n;

	/* No scheme lets an empty password in (RFC 4616 §2 wants 1*SAFE). */
	if (password[0] == '\0')
		return 0;
	if (stored[0] != '{') {
		if (stored[0] == '\0')
			return pd_err_set(err, PD_ERR_TEMP, "empty password field");
		return verify_crypt(stored, password, err);
	}
	end = strchr(stored, '}');
	n = end != NULL ? (size_t)(end - stored - 1) : 0;
	if (end == NULL || n == 0 || n >= sizeof(scheme))
		return pd_err_set(err, PD_ERR_TEMP, "malformed {SCHEME} prefix");
	memcpy(scheme, stored + 1, n);
	scheme[n] = '\0';
	hash = end + 1;
	if (strcasecmp(scheme, "PLAIN") == 0 || strcasecmp(scheme, "CLEARTEXT") == 0)
		return verify_plain(hash, password);
	if (strcasecmp(scheme, "CRYPT") == 0)
		return verify_crypt(hash, password, err);
	if (strcasecmp(scheme, "MD5-CRYPT") == 0)
		return verify_crypt_prefixed(hash, "$1$", password, err);
	if (strcasecmp(scheme, "SHA256-CRYPT") == 0)
		return verify_crypt_prefixed(hash, "$5$", password, err);
	if (strcasecmp(scheme, "SHA512-CRYPT") == 0)
		return verify_crypt_prefixed(hash, "$6$", password, err);
	if (strcasecmp(scheme, "BLF-CRYPT") == 0)
		return verify_crypt_prefixed(hash, "$2", password, err);
	if (strcasecmp(scheme, "SHA") == 0 || strcasecmp(scheme, "SHA1") == 0)
		return verify_sha(hash, EVP_sha1(), false, password, err);
	if (strcasecmp(scheme, "SSHA") == 0)
		return verify_sha(hash, EVP_sha1(), true, password, err);
	if (strcasecmp(scheme, "SHA256") == 0)
		return verify_sha(hash, EVP_sha256(), false, password, err);
	if (strcasecmp(scheme, "SSHA256") == 0)
		return verify_sha(hash, EVP_sha256(), true, password, err);
	if (strcasecmp(scheme, "SHA512") == 0)
		return verify_sha(hash, EVP_sha512(), false, password, err);
	if (strcasecmp(scheme, "SSHA512") == 0)
		return verify_sha(hash, EVP_sha512(), true, password, err);
	return pd_err_set(err, PD_ERR_TEMP, "unknown password scheme {%s}",
			  scheme);
}

void
pd_pwscheme_dummy_verify(const char *password)
{
	(void)verify_crypt(DUMMY_HASH, password, NULL);
}
