/* SPDX-License-Identifier: MIT */
/*
 * test_sasl.c - unit tests of pd-core/sasl.c: strict base64 (RFC 4648 §10
 * vectors and malformed input), SASL PLAIN (RFC 4616) and LOGIN exchanges
 * with and without an initial response, cancel, and the login and password
 * length limits.  Table-driven; no I/O.  Failures are TAP "not ok" lines.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "pd-core/sasl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IN(s) s, sizeof(s) - 1

static struct pd_str
str_of(const char *s, size_t len)
{
	struct pd_str v = { (const unsigned char *)s, len };

	return v;
}

/* ---- base64 decoding ---- */

struct b64_case {
	const char *name;
	const char *in;
	size_t inlen;
	size_t max;		/* out->max */
	int want_ret;
	const char *want;	/* decoded bytes, when want_ret is 0 */
	size_t want_len;
};

static const struct b64_case b64_decode_cases[] = {
	{ "decode RFC 4648 §10: empty", IN(""), 64, 0, IN("") },
	{ "decode RFC 4648 §10: f", IN("Zg=="), 64, 0, IN("f") },
	{ "decode RFC 4648 §10: fo", IN("Zm8="), 64, 0, IN("fo") },
	{ "decode RFC 4648 §10: foo", IN("Zm9v"), 64, 0, IN("foo") },
	{ "decode RFC 4648 §10: foob", IN("Zm9vYg=="), 64, 0, IN("foob") },
	{ "decode RFC 4648 §10: fooba", IN("Zm9vYmE="), 64, 0, IN("fooba") },
	{ "decode RFC 4648 §10: foobar", IN("Zm9vYmFy"), 64, 0, IN("foobar") },
	{ "decode binary with NULs", IN("AP8A"), 64, 0, IN("\0\xff\0") },
	{ "decode + and /", IN("+/+/"), 64, 0, IN("\xfb\xff\xbf") },
	{ "decode PLAIN response", IN("AHVzZXIAcGFzcw=="), 64, 0,
	  IN("\0user\0pass") },
	{ "decode bad length 3", IN("Zg="), 64, -1, IN("") },
	{ "decode bad length 5", IN("Zm9vY"), 64, -1, IN("") },
	{ "decode bad length 1", IN("Z"), 64, -1, IN("") },
	{ "decode bad character !", IN("Zm9v!A=="), 64, -1, IN("") },
	{ "decode URL-safe alphabet refused", IN("Zm9v-_=="), 64, -1, IN("") },
	{ "decode 8-bit character", IN("Zm9\xe9"), 64, -1, IN("") },
	{ "decode NUL byte", IN("Zm\0v"), 64, -1, IN("") },
	{ "decode '=' in the middle", IN("Zm9vYg==Zm9v"), 64, -1, IN("") },
	{ "decode '=' before data", IN("Zm=v"), 64, -1, IN("") },
	{ "decode three '='", IN("Z==="), 64, -1, IN("") },
	{ "decode only '='", IN("===="), 64, -1, IN("") },
	{ "decode embedded space", IN("Zm9v YmF"), 64, -1, IN("") },
	{ "decode leading space", IN(" Zm9"), 64, -1, IN("") },
	{ "decode trailing CR LF", IN("Zm9vYg==\r\n"), 64, -1, IN("") },
	{ "decode embedded CR LF", IN("Zm9v\r\nYm"), 64, -1, IN("") },
	{ "decode tab", IN("Zm9\t"), 64, -1, IN("") },
	{ "decode output exactly max", IN("Zm9vYmFy"), 6, 0, IN("foobar") },
	{ "decode output past max", IN("Zm9vYmFy"), 5, -1, IN("") },
	/*
	 * Was a bug (fixed): pd_base64_decode reserves in.len / 4 * 3 bytes before taking
	 * the padding off, so output that fits max is refused when the input
	 * ends in '='.  sasl.h: -1 only on "output past out->max".
	 */
	{ "fixed: decode padded output exactly max (f, max 1)", IN("Zg=="), 1, 0,
	  IN("f") },
	{ "fixed: decode padded output exactly max (fooba, max 5)", IN("Zm9vYmE="),
	  5, 0, IN("fooba") },
};

static void
test_b64_decode(void **state)
{
	const struct b64_case *c = *state;
	struct pd_buf out;
	int ret;
	size_t len;
	unsigned char got[256];

	pd_buf_init(&out, c->max);
	ret = pd_base64_decode(str_of(c->in, c->inlen), &out);
	len = out.len;
	if (len <= sizeof(got) && len > 0)
		memcpy(got, out.data, len);
	pd_buf_deinit(&out);
	assert_int_equal(ret, c->want_ret);
	if (ret == 0) {
		assert_int_equal(len, c->want_len);
		assert_memory_equal(got, c->want, len);
	} else {
		/* a refused input adds nothing */
		assert_int_equal(len, 0);
	}
}

/* Decoding appends to what the buffer holds, and a failure keeps it. */
static void
test_b64_decode_appends(void **state)
{
	struct pd_buf out;

	(void)state;
	pd_buf_init(&out, 64);
	assert_int_equal(pd_buf_append_str(&out, "pre:"), 0);
	assert_int_equal(pd_base64_decode(str_of(IN("Zm9v")), &out), 0);
	assert_string_equal(pd_buf_cstr(&out), "pre:foo");
	assert_int_equal(pd_base64_decode(str_of(IN("Zm9=v")), &out), -1);
	assert_int_equal(pd_base64_decode(str_of(IN("Zm9vY")), &out), -1);
	assert_string_equal(pd_buf_cstr(&out), "pre:foo");
	assert_int_equal(out.len, 7);
	pd_buf_deinit(&out);
}

/* ---- base64 encoding ---- */

static const struct b64_case b64_encode_cases[] = {
	{ "encode RFC 4648 §10: empty", IN(""), 64, 0, IN("") },
	{ "encode RFC 4648 §10: f", IN("f"), 64, 0, IN("Zg==") },
	{ "encode RFC 4648 §10: fo", IN("fo"), 64, 0, IN("Zm8=") },
	{ "encode RFC 4648 §10: foo", IN("foo"), 64, 0, IN("Zm9v") },
	{ "encode RFC 4648 §10: foob", IN("foob"), 64, 0, IN("Zm9vYg==") },
	{ "encode RFC 4648 §10: fooba", IN("fooba"), 64, 0, IN("Zm9vYmE=") },
	{ "encode RFC 4648 §10: foobar", IN("foobar"), 64, 0, IN("Zm9vYmFy") },
	{ "encode binary", IN("\0\xff"), 64, 0, IN("AP8=") },
	{ "encode LOGIN challenge", IN("Username:"), 64, 0,
	  IN("VXNlcm5hbWU6") },
	{ "encode output past max", IN("foobar"), 7, -1, IN("") },
	/*
	 * Was a bug (fixed): pd_base64_encode reserves one byte more than it commits (for
	 * EVP_EncodeBlock's NUL, which pd_buf already has room for), so
	 * output of exactly max bytes is refused.
	 */
	{ "fixed: encode output exactly max", IN("foobar"), 8, 0, IN("Zm9vYmFy") },
};

static void
test_b64_encode(void **state)
{
	const struct b64_case *c = *state;
	struct pd_buf out;
	int ret;
	char got[256];

	pd_buf_init(&out, c->max);
	ret = pd_base64_encode(c->in, c->inlen, &out);
	snprintf(got, sizeof(got), "%s", pd_buf_cstr(&out));
	pd_buf_deinit(&out);
	assert_int_equal(ret, c->want_ret);
	if (ret == 0)
		assert_string_equal(got, c->want);
	else
		assert_string_equal(got, "");
}

/* encode then decode gives the bytes back, for every length 0..300. */
static void
test_b64_round_trip(void **state)
{
	unsigned char bytes[300];
	struct pd_buf enc, dec;
	size_t n, i;

	(void)state;
	for (i = 0; i < sizeof(bytes); i++)
		bytes[i] = (unsigned char)(i * 37 + 11);
	for (n = 0; n <= sizeof(bytes); n++) {
		struct pd_str s;
		int ok;

		pd_buf_init(&enc, 1024);
		pd_buf_init(&dec, 1024);
		ok = pd_base64_encode(bytes, n, &enc) == 0;
		s.p = enc.data;
		s.len = enc.len;
		ok = ok && enc.len == (n + 2) / 3 * 4 &&
		     pd_base64_decode(s, &dec) == 0 && dec.len == n &&
		     (n == 0 || memcmp(dec.data, bytes, n) == 0);
		pd_buf_deinit(&enc);
		pd_buf_deinit(&dec);
		if (!ok)
			fail_msg("round trip of %zu bytes failed", n);
	}
}

/* ---- mechanism names and pd_creds_set ---- */

static void
test_mech_parse(void **state)
{
	static const struct {
		const char *s;
		enum pd_sasl_mech want;
	} rows[] = {
		{ "PLAIN", PD_SASL_PLAIN }, { "plain", PD_SASL_PLAIN },
		{ "Plain", PD_SASL_PLAIN }, { "LOGIN", PD_SASL_LOGIN },
		{ "login", PD_SASL_LOGIN }, { "CRAM-MD5", PD_SASL_NONE },
		{ "PLAINX", PD_SASL_NONE }, { "PLAI", PD_SASL_NONE },
		{ "", PD_SASL_NONE }, { "XOAUTH2", PD_SASL_NONE },
	};
	size_t i;

	(void)state;
	for (i = 0; i < PD_N_ELEMENTS(rows); i++)
		if (pd_sasl_mech_parse(str_of(rows[i].s, strlen(rows[i].s))) !=
		    rows[i].want)
			fail_msg("pd_sasl_mech_parse(\"%s\") != %d", rows[i].s,
				 rows[i].want);
}

static void
test_creds_set(void **state)
{
	static const struct {
		const char *s;
		size_t len, max;
		int want;
	} rows[] = {
		{ IN("alice"), 8, 0 },
		{ IN("12345678"), 8, 0 },
		{ IN("123456789"), 8, -1 },
		{ IN(""), 8, 0 },
		{ IN("al\0ce"), 8, -1 },
		{ IN("\0"), 8, -1 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < PD_N_ELEMENTS(rows); i++) {
		char dst[16];

		memset(dst, 'Z', sizeof(dst));
		if (pd_creds_set(dst, rows[i].max, str_of(rows[i].s,
							 rows[i].len)) !=
		    rows[i].want)
			fail_msg("row %zu: pd_creds_set != %d", i, rows[i].want);
		if (rows[i].want == 0 &&
		    (memcmp(dst, rows[i].s, rows[i].len) != 0 ||
		     dst[rows[i].len] != '\0'))
			fail_msg("row %zu: wrong copy", i);
	}
}

/* ---- PLAIN and LOGIN exchanges ---- */

struct flow_case {
	const char *name;
	enum pd_sasl_mech mech;
	const char *ir;		/* initial response, NULL for none */
	const char *lines[3];	/* responses fed to pd_sasl_continue */
	/* results, one per line: CHALLENGE:<text> DONE CANCEL BAD:<msg> */
	const char *want;
	const char *want_login, *want_password;	/* on DONE */
};

static const struct flow_case flow_cases[] = {
	{ "PLAIN \\0user\\0pass as initial response", PD_SASL_PLAIN,
	  "AHVzZXIAcGFzcw==", { NULL }, "DONE", "user", "pass" },
	{ "PLAIN user\\0user\\0pass (authzid = authcid)", PD_SASL_PLAIN,
	  "dXNlcgB1c2VyAHBhc3M=", { NULL }, "DONE", "user", "pass" },
	{ "PLAIN other\\0user\\0pass (another authzid)", PD_SASL_PLAIN,
	  "b3RoZXIAdXNlcgBwYXNz", { NULL },
	  "BAD:Authorization identity not permitted", NULL, NULL },
	{ "PLAIN use\\0user\\0pass (authzid a prefix)", PD_SASL_PLAIN,
	  "dXNlAHVzZXIAcGFzcw==", { NULL },
	  "BAD:Authorization identity not permitted", NULL, NULL },
	{ "PLAIN without initial response", PD_SASL_PLAIN, NULL,
	  { "AGphbmVAZXhhbXBsZS5vcmcAcEBzcyB3MHJkIQ==" },
	  "CHALLENGE:\nDONE", "jane@example.org", "p@ss w0rd!" },
	{ "PLAIN missing both NULs", PD_SASL_PLAIN, "dXNlcnBhc3M=", { NULL },
	  "BAD:Invalid PLAIN response", NULL, NULL },
	{ "PLAIN missing the second NUL", PD_SASL_PLAIN, "AHVzZXJwYXNz",
	  { NULL }, "BAD:Invalid PLAIN response", NULL, NULL },
	{ "PLAIN with three NULs", PD_SASL_PLAIN, "AHUAcAB4", { NULL },
	  "BAD:Invalid PLAIN response", NULL, NULL },
	{ "PLAIN empty user", PD_SASL_PLAIN, "AABwYXNz", { NULL },
	  "BAD:Invalid PLAIN response", NULL, NULL },
	{ "PLAIN \"=\" (empty response) as initial response", PD_SASL_PLAIN,
	  "=", { NULL }, "BAD:Invalid PLAIN response", NULL, NULL },
	{ "PLAIN \"=\" (empty response) after the challenge", PD_SASL_PLAIN,
	  NULL, { "=" }, "CHALLENGE:\nBAD:Invalid PLAIN response", NULL, NULL },
	{ "PLAIN bad base64", PD_SASL_PLAIN, "AHVzZXIAcGFzcw=", { NULL },
	  "BAD:Invalid base64 data", NULL, NULL },
	{ "PLAIN base64 with a trailing space", PD_SASL_PLAIN, NULL,
	  { "AHVzZXIAcGFzcw== " }, "CHALLENGE:\nBAD:Invalid base64 data", NULL,
	  NULL },
	{ "PLAIN cancelled with \"*\"", PD_SASL_PLAIN, NULL, { "*" },
	  "CHALLENGE:\nCANCEL", NULL, NULL },
	{ "LOGIN two steps without initial response", PD_SASL_LOGIN, NULL,
	  { "dXNlcg==", "cGFzcw==" },
	  "CHALLENGE:VXNlcm5hbWU6\nCHALLENGE:UGFzc3dvcmQ6\nDONE", "user",
	  "pass" },
	{ "LOGIN with the user name as initial response", PD_SASL_LOGIN,
	  "dXNlcg==", { "cGFzcw==" }, "CHALLENGE:UGFzc3dvcmQ6\nDONE", "user",
	  "pass" },
	{ "LOGIN cancelled at the user name", PD_SASL_LOGIN, NULL, { "*" },
	  "CHALLENGE:VXNlcm5hbWU6\nCANCEL", NULL, NULL },
	{ "LOGIN cancelled at the password", PD_SASL_LOGIN, NULL,
	  { "dXNlcg==", "*" },
	  "CHALLENGE:VXNlcm5hbWU6\nCHALLENGE:UGFzc3dvcmQ6\nCANCEL", NULL, NULL },
	{ "LOGIN empty user name", PD_SASL_LOGIN, "=", { NULL },
	  "BAD:Invalid user name", NULL, NULL },
	{ "LOGIN user name with a NUL", PD_SASL_LOGIN, NULL, { "dQBzZXI=" },
	  "CHALLENGE:VXNlcm5hbWU6\nBAD:Invalid user name", NULL, NULL },
	{ "LOGIN bad base64 password", PD_SASL_LOGIN, "dXNlcg==",
	  { "cGFzcw=" }, "CHALLENGE:UGFzc3dvcmQ6\nBAD:Invalid base64 data",
	  NULL, NULL },
	{ "unsupported mechanism", PD_SASL_NONE, NULL, { NULL },
	  "BAD:Unsupported authentication mechanism", NULL, NULL },
	{ "unsupported mechanism with an initial response", PD_SASL_NONE,
	  "AHVzZXIAcGFzcw==", { NULL },
	  "BAD:Unsupported authentication mechanism", NULL, NULL },
};

static void
flow_add(char *buf, size_t size, enum pd_sasl_result r, const char *ch,
	 const char *msg)
{
	size_t n = strlen(buf);

	snprintf(buf + n, size - n, "%s%s%s", n > 0 ? "\n" : "",
		 r == PD_SASL_CHALLENGE ? "CHALLENGE:" :
		 r == PD_SASL_DONE ? "DONE" :
		 r == PD_SASL_CANCEL ? "CANCEL" : "BAD:",
		 r == PD_SASL_CHALLENGE ? (ch != NULL ? ch : "(null)") :
		 r == PD_SASL_BAD ? (msg != NULL ? msg : "(null)") : "");
}

static void
test_flow(void **state)
{
	const struct flow_case *c = *state;
	struct pd_sasl s;
	struct pd_creds creds;
	char got[512] = "";
	const char *ch = NULL, *msg = NULL;
	enum pd_sasl_result r;
	size_t i;

	memset(&s, 0, sizeof(s));
	if (c->ir != NULL) {
		struct pd_str ir = str_of(c->ir, strlen(c->ir));

		r = pd_sasl_start(&s, c->mech, &ir, &ch, &msg);
	} else {
		r = pd_sasl_start(&s, c->mech, NULL, &ch, &msg);
	}
	flow_add(got, sizeof(got), r, ch, msg);
	for (i = 0; r == PD_SASL_CHALLENGE && i < PD_N_ELEMENTS(c->lines) &&
	     c->lines[i] != NULL; i++) {
		ch = msg = NULL;
		r = pd_sasl_continue(&s, str_of(c->lines[i], strlen(c->lines[i])),
				     &ch, &msg);
		flow_add(got, sizeof(got), r, ch, msg);
	}
	creds = s.creds;
	pd_sasl_clear(&s);
	assert_string_equal(got, c->want);
	if (c->want_login != NULL) {
		assert_string_equal(creds.login, c->want_login);
		assert_string_equal(creds.password, c->want_password);
	}
	/* pd_sasl_clear wiped the credentials and the state */
	assert_int_equal(s.mech, PD_SASL_NONE);
	assert_int_equal(s.step, 0);
	for (i = 0; i < sizeof(s.creds); i++)
		if (((const unsigned char *)&s.creds)[i] != 0)
			fail_msg("creds byte %zu not wiped", i);
	pd_creds_clear(&creds);
}

/* pd_sasl_continue with no exchange started. */
static void
test_continue_without_start(void **state)
{
	struct pd_sasl s;
	const char *ch = NULL, *msg = NULL;

	(void)state;
	memset(&s, 0, sizeof(s));
	assert_int_equal(pd_sasl_continue(&s, str_of(IN("AHVzZXIAcGFzcw==")),
					  &ch, &msg), PD_SASL_BAD);
	assert_string_equal(msg, "No authentication in progress");
	/* "*" cancels whatever state the exchange is in */
	assert_int_equal(pd_sasl_continue(&s, str_of(IN("*")), &ch, &msg),
			 PD_SASL_CANCEL);
}

/* A new exchange forgets the credentials of the previous one. */
static void
test_start_clears(void **state)
{
	struct pd_sasl s;
	const char *ch, *msg;
	struct pd_str ir = str_of(IN("AHVzZXIAcGFzcw=="));

	(void)state;
	memset(&s, 0, sizeof(s));
	assert_int_equal(pd_sasl_start(&s, PD_SASL_PLAIN, &ir, &ch, &msg),
			 PD_SASL_DONE);
	assert_string_equal(s.creds.password, "pass");
	assert_int_equal(pd_sasl_start(&s, PD_SASL_LOGIN, NULL, &ch, &msg),
			 PD_SASL_CHALLENGE);
	assert_string_equal(s.creds.login, "");
	assert_string_equal(s.creds.password, "");
	assert_int_equal(s.step, 0);
	pd_sasl_clear(&s);
}

/* ---- login and password length limits ---- */

struct limit_case {
	const char *name;
	enum pd_sasl_mech mech;
	bool authzid;		/* PLAIN: send authzid = authcid */
	size_t ulen, plen;	/* 'u' x ulen, 'p' x plen */
	enum pd_sasl_result want;
};

static const struct limit_case limit_cases[] = {
	{ "PLAIN login of 256, password of 1024", PD_SASL_PLAIN, false,
	  PD_LOGIN_MAX, PD_PASSWORD_MAX, PD_SASL_DONE },
	{ "PLAIN login of 257", PD_SASL_PLAIN, false, PD_LOGIN_MAX + 1, 4,
	  PD_SASL_BAD },
	{ "PLAIN over-long password (1025)", PD_SASL_PLAIN, false, 4,
	  PD_PASSWORD_MAX + 1, PD_SASL_BAD },
	{ "PLAIN password of 4000", PD_SASL_PLAIN, false, 4, 4000,
	  PD_SASL_BAD },
	/* Was a bug (fixed): the padded-output reservation of pd_base64_decode */
	{ "fixed: PLAIN authzid, login of 256 and password of 1024",
	  PD_SASL_PLAIN, true, PD_LOGIN_MAX, PD_PASSWORD_MAX, PD_SASL_DONE },
	{ "LOGIN login of 256, password of 1023", PD_SASL_LOGIN, false,
	  PD_LOGIN_MAX, PD_PASSWORD_MAX - 1, PD_SASL_DONE },
	/* Was a bug (fixed): as above; 1024 bytes encode with "==" padding */
	{ "fixed: LOGIN password of 1024 (PD_PASSWORD_MAX)", PD_SASL_LOGIN, false,
	  4, PD_PASSWORD_MAX, PD_SASL_DONE },
	{ "LOGIN login of 257", PD_SASL_LOGIN, false, PD_LOGIN_MAX + 1, 4,
	  PD_SASL_BAD },
	{ "LOGIN over-long password (1025)", PD_SASL_LOGIN, false, 4,
	  PD_PASSWORD_MAX + 1, PD_SASL_BAD },
};

static void
test_limit(void **state)
{
	const struct limit_case *c = *state;
	struct pd_buf raw, b64;
	struct pd_sasl s;
	struct pd_str v;
	const char *ch, *msg = NULL;
	enum pd_sasl_result r;
	bool creds_ok = false;
	size_t i;

	memset(&s, 0, sizeof(s));
	pd_buf_init(&raw, 16384);
	pd_buf_init(&b64, 32768);
	if (c->mech == PD_SASL_PLAIN) {
		if (c->authzid)
			for (i = 0; i < c->ulen; i++)
				assert_int_equal(pd_buf_append(&raw, "u", 1), 0);
		assert_int_equal(pd_buf_append(&raw, "", 1), 0);
		for (i = 0; i < c->ulen; i++)
			assert_int_equal(pd_buf_append(&raw, "u", 1), 0);
		assert_int_equal(pd_buf_append(&raw, "", 1), 0);
		for (i = 0; i < c->plen; i++)
			assert_int_equal(pd_buf_append(&raw, "p", 1), 0);
		assert_int_equal(pd_base64_encode(raw.data, raw.len, &b64), 0);
		v.p = b64.data;
		v.len = b64.len;
		r = pd_sasl_start(&s, PD_SASL_PLAIN, &v, &ch, &msg);
	} else {
		r = pd_sasl_start(&s, PD_SASL_LOGIN, NULL, &ch, &msg);
		for (i = 0; i < c->ulen; i++)
			assert_int_equal(pd_buf_append(&raw, "u", 1), 0);
		assert_int_equal(pd_base64_encode(raw.data, raw.len, &b64), 0);
		v.p = b64.data;
		v.len = b64.len;
		if (r == PD_SASL_CHALLENGE)
			r = pd_sasl_continue(&s, v, &ch, &msg);
		pd_buf_reset(&raw);
		pd_buf_reset(&b64);
		for (i = 0; i < c->plen; i++)
			assert_int_equal(pd_buf_append(&raw, "p", 1), 0);
		assert_int_equal(pd_base64_encode(raw.data, raw.len, &b64), 0);
		v.p = b64.data;
		v.len = b64.len;
		if (r == PD_SASL_CHALLENGE)
			r = pd_sasl_continue(&s, v, &ch, &msg);
	}
	if (r == PD_SASL_DONE) {
		creds_ok = strlen(s.creds.login) == c->ulen &&
			   strlen(s.creds.password) == c->plen &&
			   strspn(s.creds.login, "u") == c->ulen &&
			   strspn(s.creds.password, "p") == c->plen;
	}
	pd_sasl_clear(&s);
	pd_buf_deinit(&raw);
	pd_buf_deinit(&b64);
	if (r != c->want)
		fail_msg("result %d, want %d (%s)", r, c->want,
			 r == PD_SASL_BAD && msg != NULL ? msg : "");
	if (r == PD_SASL_DONE)
		assert_true(creds_ok);
}

#define N_TESTS (PD_N_ELEMENTS(b64_decode_cases) + \
		 PD_N_ELEMENTS(b64_encode_cases) + PD_N_ELEMENTS(flow_cases) + \
		 PD_N_ELEMENTS(limit_cases) + 6)

int
main(void)
{
	static struct CMUnitTest tests[N_TESTS];
	size_t i, n = 0;

	for (i = 0; i < PD_N_ELEMENTS(b64_decode_cases); i++) {
		tests[n].name = b64_decode_cases[i].name;
		tests[n].test_func = test_b64_decode;
		tests[n++].initial_state = (void *)&b64_decode_cases[i];
	}
	for (i = 0; i < PD_N_ELEMENTS(b64_encode_cases); i++) {
		tests[n].name = b64_encode_cases[i].name;
		tests[n].test_func = test_b64_encode;
		tests[n++].initial_state = (void *)&b64_encode_cases[i];
	}
	for (i = 0; i < PD_N_ELEMENTS(flow_cases); i++) {
		tests[n].name = flow_cases[i].name;
		tests[n].test_func = test_flow;
		tests[n++].initial_state = (void *)&flow_cases[i];
	}
	for (i = 0; i < PD_N_ELEMENTS(limit_cases); i++) {
		tests[n].name = limit_cases[i].name;
		tests[n].test_func = test_limit;
		tests[n++].initial_state = (void *)&limit_cases[i];
	}
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_b64_decode_appends);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_b64_round_trip);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_mech_parse);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_creds_set);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_continue_without_start);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_start_clears);
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return _cmocka_run_group_tests("sasl", tests, n, NULL, NULL);
}
