/* SPDX-License-Identifier: MIT */
/*
 * sasl.c - PLAIN and LOGIN exchanges and base64.  Base64 decoding is done by
 * OpenSSL's EVP_DecodeBlock after a strict shape check (alphabet, length a
 * multiple of 4, padding only at the end), since EVP_DecodeBlock alone
 * accepts whitespace and pads its output.
 */
#include "pd-core/sasl.h"
#include "pd-core/mem.h"

#include <openssl/evp.h>
#include <string.h>

/* LOGIN's customary challenges: "Username:" and "Password:". */
#define SASL_LOGIN_USER "VXNlcm5hbWU6"
#define SASL_LOGIN_PASS "UGFzc3dvcmQ6"

enum pd_sasl_mech
pd_sasl_mech_parse(struct pd_str name)
{
	if (pd_str_eq_nocase(name, "PLAIN"))
		return PD_SASL_PLAIN;
	if (pd_str_eq_nocase(name, "LOGIN"))
		return PD_SASL_LOGIN;
	return PD_SASL_NONE;
}

void
pd_creds_clear(struct pd_creds *c)
{
	pd_wipe(c, sizeof(*c));
}

void
pd_sasl_clear(struct pd_sasl *s)
{
	pd_creds_clear(&s->creds);
	s->mech = PD_SASL_NONE;
	s->step = 0;
}

int
pd_creds_set(char *dst, size_t max, struct pd_str s)
{
	if (s.len > max || (s.len > 0 && memchr(s.p, '\0', s.len) != NULL))
		return -1;
	if (s.len > 0)
		memcpy(dst, s.p, s.len);
	dst[s.len] = '\0';
	return 0;
}

static bool
b64_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '+' || c == '/';
}

int
pd_base64_decode(struct pd_str in, struct pd_buf *out)
{
	size_t i, pad = 0, n;
	unsigned char *dst, last[3];
	int r;

	if (in.len % 4 != 0)
		return -1;
	for (i = 0; i < in.len; i++) {
		if (in.p[i] == '=') {
			if (i < in.len - 2)
				return -1;
			pad++;
		} else if (pad > 0 || !b64_char(in.p[i])) {
			return -1;
		}
	}
	if (in.len == 0)
		return 0;
	/* Reserve exactly what the output needs: the last quantum goes
	 * through a small buffer since EVP_DecodeBlock writes its padding. */
	n = in.len / 4 * 3 - pad;
	if ((dst = pd_buf_reserve(out, n)) == NULL)
		return -1;
	if (in.len > 4 && EVP_DecodeBlock(dst, in.p, (int)(in.len - 4)) !=
	    (int)((in.len - 4) / 4 * 3))
		return -1;
	r = EVP_DecodeBlock(last, in.p + in.len - 4, 4);
	if (r != 3)
		return -1;
	memcpy(dst + (in.len - 4) / 4 * 3, last, 3 - pad);
	pd_wipe(last, sizeof(last));
	pd_buf_commit(out, n);
	return 0;
}

int
pd_base64_encode(const void *p, size_t n, struct pd_buf *out)
{
	size_t need = (n + 2) / 3 * 4;
	/* EVP_EncodeBlock's NUL lands on pd_buf's spare terminator byte. */
	unsigned char *dst = pd_buf_reserve(out, need);

	if (dst == NULL)
		return -1;
	EVP_EncodeBlock(dst, p, (int)n);
	pd_buf_commit(out, need);
	return 0;
}

/* Decode a response into a secret buffer; "=" is the empty response. */
static int
sasl_decode(struct pd_str line, struct pd_buf *out)
{
	if (line.len == 1 && line.p[0] == '=')
		return 0;
	return pd_base64_decode(line, out);
}

/* authzid NUL authcid NUL passwd (RFC 4616 §2). */
static enum pd_sasl_result
sasl_plain(struct pd_sasl *s, struct pd_str line, const char **msg_r)
{
	struct pd_buf msg;
	const unsigned char *p, *nul1, *nul2, *end;
	struct pd_str authz, authc, pass;
	enum pd_sasl_result ret = PD_SASL_BAD;

	pd_buf_init_secret(&msg, PD_LOGIN_MAX * 2 + PD_PASSWORD_MAX + 2);
	if (sasl_decode(line, &msg) < 0) {
		*msg_r = "Invalid base64 data";
		goto out;
	}
	if (msg.len == 0) {
		*msg_r = "Invalid PLAIN response";
		goto out;
	}
	p = msg.data;
	end = p + msg.len;
	if ((nul1 = memchr(p, '\0', msg.len)) == NULL ||
	    (nul2 = memchr(nul1 + 1, '\0', (size_t)(end - nul1 - 1))) == NULL ||
	    memchr(nul2 + 1, '\0', (size_t)(end - nul2 - 1)) != NULL) {
		*msg_r = "Invalid PLAIN response";
		goto out;
	}
	authz.p = p;
	authz.len = (size_t)(nul1 - p);
	authc.p = nul1 + 1;
	authc.len = (size_t)(nul2 - nul1 - 1);
	pass.p = nul2 + 1;
	pass.len = (size_t)(end - nul2 - 1);
	/* No master users yet: an authzid must name the same user. */
	if (authz.len != 0 &&
	    (authz.len != authc.len || memcmp(authz.p, authc.p, authc.len) != 0)) {
		*msg_r = "Authorization identity not permitted";
		goto out;
	}
	if (authc.len == 0 ||
	    pd_creds_set(s->creds.login, PD_LOGIN_MAX, authc) < 0 ||
	    pd_creds_set(s->creds.password, PD_PASSWORD_MAX, pass) < 0) {
		*msg_r = "Invalid PLAIN response";
		goto out;
	}
	ret = PD_SASL_DONE;
out:
	pd_buf_deinit(&msg);
	return ret;
}

static enum pd_sasl_result
sasl_login_step(struct pd_sasl *s, struct pd_str line, const char **challenge_r,
		const char **msg_r)
{
	struct pd_buf v;
	enum pd_sasl_result ret = PD_SASL_BAD;
	struct pd_str val;

	pd_buf_init_secret(&v, PD_PASSWORD_MAX);
	if (sasl_decode(line, &v) < 0) {
		*msg_r = "Invalid base64 data";
		goto out;
	}
	val.p = v.data;
	val.len = v.len;
	if (s->step == 0) {
		if (v.len == 0 ||
		    pd_creds_set(s->creds.login, PD_LOGIN_MAX, val) < 0) {
			*msg_r = "Invalid user name";
			goto out;
		}
		s->step = 1;
		*challenge_r = SASL_LOGIN_PASS;
		ret = PD_SASL_CHALLENGE;
	} else {
		if (pd_creds_set(s->creds.password, PD_PASSWORD_MAX, val) < 0) {
			*msg_r = "Invalid password";
			goto out;
		}
		ret = PD_SASL_DONE;
	}
out:
	pd_buf_deinit(&v);
	return ret;
}

enum pd_sasl_result
pd_sasl_start(struct pd_sasl *s, enum pd_sasl_mech mech,
	      const struct pd_str *ir, const char **challenge_r,
	      const char **msg_r)
{
	pd_sasl_clear(s);
	s->mech = mech;
	*challenge_r = "";
	if (mech == PD_SASL_PLAIN) {
		if (ir == NULL)
			return PD_SASL_CHALLENGE;
		return sasl_plain(s, *ir, msg_r);
	}
	if (mech == PD_SASL_LOGIN) {
		/* An initial response to LOGIN is the user name. */
		if (ir != NULL)
			return sasl_login_step(s, *ir, challenge_r, msg_r);
		*challenge_r = SASL_LOGIN_USER;
		return PD_SASL_CHALLENGE;
	}
	*msg_r = "Unsupported authentication mechanism";
	return PD_SASL_BAD;
}

enum pd_sasl_result
pd_sasl_continue(struct pd_sasl *s, struct pd_str line,
		 const char **challenge_r, const char **msg_r)
{
	*challenge_r = "";
	if (line.len == 1 && line.p[0] == '*')
		return PD_SASL_CANCEL;
	if (s->mech == PD_SASL_PLAIN)
		return sasl_plain(s, line, msg_r);
	if (s->mech == PD_SASL_LOGIN)
		return sasl_login_step(s, line, challenge_r, msg_r);
	*msg_r = "No authentication in progress";
	return PD_SASL_BAD;
}
