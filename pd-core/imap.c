/* SPDX-License-Identifier: MIT */
/*
 * imap.c - IMAP pre-login commands (RFC 9051 §6.1-6.2, RFC 2971 ID,
 * RFC 4959 SASL-IR, RFC 7888 LITERAL+) on top of the pure parser.  Answers
 * go through the session; a successful login is answered by the backend
 * (Dovecot's tagged OK carries its capabilities), so nothing here writes it.
 */
#include "pd-core/imap_parse.h"
#include "pd-core/log.h"
#include "pd-core/mem.h"
#include "pd-core/sasl.h"
#include "pd-core/session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IMAP_CAPS_BASE "IMAP4rev1 LITERAL+ SASL-IR ID"
#define IMAP_ID_PAIRS_MAX 30	/* RFC 2971 §3.3 */
#define IMAP_ID_KEY_MAX 30
#define IMAP_ID_VALUE_MAX 1024

struct imap_state {
	struct pd_session *s;
	struct pd_imap_parser parser;
	struct pd_sasl sasl;
	bool in_sasl;			/* waiting for an AUTHENTICATE response */
	char tag[PD_TAG_MAX + 1];	/* tag of the running LOGIN/AUTHENTICATE */
};

static void *
imap_init(struct pd_session *s)
{
	struct imap_state *st = pd_xcalloc(1, sizeof(*st));
	const struct pd_conf_section *top =
		pd_conf_section(pd_session_conf(s), "", NULL);

	st->s = s;
	pd_imap_parser_init(&st->parser, pd_conf_uint(top, "imap_line_max"));
	return st;
}

static void
imap_deinit(void *p)
{
	struct imap_state *st = p;

	pd_imap_parser_deinit(&st->parser);
	pd_sasl_clear(&st->sasl);
	free(st);
}

/* Pre-login capabilities: STARTTLS while it is possible, and the AUTH=
 * mechanisms only where a plaintext password may be sent (RFC 9051 §7.2.2
 * LOGINDISABLED otherwise). */
static const char *
imap_caps(struct pd_session *s)
{
	bool tls = pd_session_tls_available(s), plain = pd_session_plaintext_ok(s);

	if (tls)
		return plain ? IMAP_CAPS_BASE " STARTTLS AUTH=PLAIN AUTH=LOGIN"
			     : IMAP_CAPS_BASE " STARTTLS LOGINDISABLED";
	return plain ? IMAP_CAPS_BASE " AUTH=PLAIN AUTH=LOGIN"
		     : IMAP_CAPS_BASE " LOGINDISABLED";
}

static void
imap_greet(struct pd_session *s, void *p PD_UNUSED)
{
	const struct pd_conf_section *top =
		pd_conf_section(pd_session_conf(s), "", NULL);

	pd_session_printf(s, "* OK [CAPABILITY %s] %s\r\n", imap_caps(s),
			  pd_conf_str(top, "greeting"));
}

/* A plaintext password where policy forbids it: refuse, never hang. */
static bool
imap_refuse_plaintext(struct imap_state *st, struct pd_str tag)
{
	if (pd_session_plaintext_ok(st->s))
		return false;
	pd_session_printf(st->s, "%.*s NO [PRIVACYREQUIRED] Plaintext "
			  "authentication disallowed on non-secure connections.\r\n",
			  (int)tag.len, (const char *)tag.p);
	return true;
}

static void
imap_bye(struct pd_session *s, void *p PD_UNUSED, const char *text)
{
	pd_session_printf(s, "* BYE %s\r\n", text);
}

static void
imap_login_failed(struct pd_session *s, void *p, enum pd_auth_result r)
{
	struct imap_state *st = p;

	switch (r) {
	case PD_AUTH_DISABLED:
		pd_session_printf(s, "%s NO [AUTHENTICATIONFAILED] Account is disabled.\r\n",
				  st->tag);
		break;
	case PD_AUTH_TEMPFAIL:
		pd_session_printf(s, "%s NO [UNAVAILABLE] Temporary authentication "
				  "failure, try again later.\r\n", st->tag);
		break;
	default:
		pd_session_printf(s, "%s NO [AUTHENTICATIONFAILED] Authentication failed.\r\n",
				  st->tag);
		break;
	}
}

/* Reply BAD and count it; true if the session is now closing. */
static bool
imap_bad(struct imap_state *st, struct pd_str tag, const char *msg)
{
	if (tag.len > 0)
		pd_session_printf(st->s, "%.*s BAD %s\r\n", (int)tag.len,
				  (const char *)tag.p, msg);
	else
		pd_session_printf(st->s, "* BAD %s\r\n", msg);
	return pd_session_bad(st->s);
}

static bool
imap_is_string(const struct pd_imap_token *t)
{
	return t->kind == PD_IMAP_ATOM || t->kind == PD_IMAP_STRING;
}

static void
imap_cmd_login(struct imap_state *st, const struct pd_imap_cmd *cmd)
{
	struct pd_creds creds;

	if (imap_refuse_plaintext(st, cmd->tag))
		return;
	if (cmd->nargs != 2 || !imap_is_string(&cmd->args[0]) ||
	    !imap_is_string(&cmd->args[1])) {
		imap_bad(st, cmd->tag, "LOGIN needs a user name and a password.");
		return;
	}
	if (pd_creds_set(creds.login, PD_LOGIN_MAX, cmd->args[0].s) < 0 ||
	    cmd->args[0].s.len == 0 ||
	    pd_creds_set(creds.password, PD_PASSWORD_MAX, cmd->args[1].s) < 0) {
		pd_creds_clear(&creds);
		imap_bad(st, cmd->tag, "Invalid user name or password.");
		return;
	}
	snprintf(st->tag, sizeof(st->tag), "%.*s", (int)cmd->tag.len,
		 (const char *)cmd->tag.p);
	pd_session_login(st->s, &creds, "LOGIN", st->tag);
}

static void
imap_sasl_result(struct imap_state *st, enum pd_sasl_result r,
		 const char *challenge, const char *msg)
{
	struct pd_str tag = { (const unsigned char *)st->tag, strlen(st->tag) };

	switch (r) {
	case PD_SASL_CHALLENGE:
		st->in_sasl = true;
		pd_session_printf(st->s, "+ %s\r\n", challenge);
		pd_imap_parser_expect_line(&st->parser);
		return;
	case PD_SASL_DONE:
		st->in_sasl = false;
		pd_session_login(st->s, &st->sasl.creds,
				 st->sasl.mech == PD_SASL_PLAIN ? "PLAIN" : "LOGIN",
				 st->tag);
		pd_sasl_clear(&st->sasl);
		return;
	case PD_SASL_CANCEL:
		st->in_sasl = false;
		pd_sasl_clear(&st->sasl);
		imap_bad(st, tag, "Authentication aborted by client.");
		return;
	case PD_SASL_BAD:
		st->in_sasl = false;
		pd_sasl_clear(&st->sasl);
		imap_bad(st, tag, msg);
		return;
	}
}

static void
imap_cmd_authenticate(struct imap_state *st, const struct pd_imap_cmd *cmd)
{
	enum pd_sasl_mech mech;
	const char *challenge = "", *msg = "";
	enum pd_sasl_result r;

	if (cmd->nargs < 1 || cmd->nargs > 2 || cmd->args[0].kind != PD_IMAP_ATOM ||
	    (cmd->nargs == 2 && cmd->args[1].kind != PD_IMAP_ATOM)) {
		imap_bad(st, cmd->tag, "AUTHENTICATE needs a mechanism.");
		return;
	}
	mech = pd_sasl_mech_parse(cmd->args[0].s);
	if (mech != PD_SASL_NONE && imap_refuse_plaintext(st, cmd->tag))
		return;
	if (mech == PD_SASL_NONE) {
		pd_session_printf(st->s, "%.*s NO Unsupported authentication mechanism.\r\n",
				  (int)cmd->tag.len, (const char *)cmd->tag.p);
		return;
	}
	snprintf(st->tag, sizeof(st->tag), "%.*s", (int)cmd->tag.len,
		 (const char *)cmd->tag.p);
	r = pd_sasl_start(&st->sasl, mech, cmd->nargs == 2 ? &cmd->args[1].s : NULL,
			  &challenge, &msg);
	imap_sasl_result(st, r, challenge, msg);
}

static void
imap_append_quoted(char *dst, size_t dstsz, size_t *o, struct pd_str v)
{
	char q[IMAP_ID_VALUE_MAX + 8];

	pd_log_quote(q, sizeof(q), v.p, v.len, 64);
	*o += (size_t)snprintf(dst + *o, *o < dstsz ? dstsz - *o : 0, "%s%s",
			       *o > 0 ? " " : "", q);
	if (*o >= dstsz)
		*o = dstsz - 1;
}

/* ID: NIL or ( key value ... ), RFC 2971 §3.3 limits. */
static void
imap_cmd_id(struct imap_state *st, const struct pd_imap_cmd *cmd)
{
	char summary[512] = "";
	size_t i, o = 0, pairs = 0;

	if (cmd->nargs == 1 && cmd->args[0].kind == PD_IMAP_ATOM &&
	    pd_str_eq_nocase(cmd->args[0].s, "NIL")) {
		/* no client ID */
	} else if (cmd->nargs >= 2 && cmd->args[0].kind == PD_IMAP_LPAREN &&
		   cmd->args[cmd->nargs - 1].kind == PD_IMAP_RPAREN &&
		   (cmd->nargs - 2) % 2 == 0) {
		for (i = 1; i + 1 < cmd->nargs; i += 2) {
			const struct pd_imap_token *k = &cmd->args[i], *v = &cmd->args[i + 1];

			if (!imap_is_string(k) || k->kind == PD_IMAP_ATOM ||
			    k->s.len > IMAP_ID_KEY_MAX ||
			    !imap_is_string(v) || v->s.len > IMAP_ID_VALUE_MAX ||
			    (v->kind == PD_IMAP_ATOM && !pd_str_eq_nocase(v->s, "NIL")) ||
			    ++pairs > IMAP_ID_PAIRS_MAX) {
				imap_bad(st, cmd->tag, "Invalid ID parameters.");
				return;
			}
			if (o < 400) {
				imap_append_quoted(summary, sizeof(summary), &o, k->s);
				imap_append_quoted(summary, sizeof(summary), &o, v->s);
			}
		}
		pd_session_set_client_id(st->s, summary);
	} else {
		imap_bad(st, cmd->tag, "Invalid ID parameters.");
		return;
	}
	pd_session_printf(st->s, "* ID (\"name\" \"pd\" \"version\" \"" PD_VERSION "\")\r\n"
			  "%.*s OK ID completed.\r\n", (int)cmd->tag.len,
			  (const char *)cmd->tag.p);
}

static void
imap_command(struct imap_state *st, const struct pd_imap_cmd *cmd)
{
	int tl = (int)cmd->tag.len;
	const char *tag = (const char *)cmd->tag.p;

	if (pd_str_eq_nocase(cmd->name, "LOGIN")) {
		imap_cmd_login(st, cmd);
	} else if (pd_str_eq_nocase(cmd->name, "AUTHENTICATE")) {
		imap_cmd_authenticate(st, cmd);
	} else if (pd_str_eq_nocase(cmd->name, "CAPABILITY") && cmd->nargs == 0) {
		pd_session_printf(st->s, "* CAPABILITY %s\r\n"
				  "%.*s OK Capability completed.\r\n",
				  imap_caps(st->s), tl, tag);
	} else if (pd_str_eq_nocase(cmd->name, "NOOP") && cmd->nargs == 0) {
		pd_session_printf(st->s, "%.*s OK NOOP completed.\r\n", tl, tag);
	} else if (pd_str_eq_nocase(cmd->name, "LOGOUT") && cmd->nargs == 0) {
		pd_session_printf(st->s, "* BYE Logging out\r\n"
				  "%.*s OK Logout completed.\r\n", tl, tag);
		pd_session_close(st->s, "logout");
	} else if (pd_str_eq_nocase(cmd->name, "ID")) {
		imap_cmd_id(st, cmd);
	} else if (pd_str_eq_nocase(cmd->name, "STARTTLS") && cmd->nargs == 0) {
		if (!pd_session_tls_available(st->s)) {
			imap_bad(st, cmd->tag, pd_session_is_tls(st->s)
				 ? "TLS is already active." : "TLS is not configured.");
			return;
		}
		pd_session_printf(st->s, "%.*s OK Begin TLS negotiation now.\r\n",
				  tl, tag);
		pd_imap_parser_reset(&st->parser);
		pd_session_starttls(st->s);
	} else if (pd_str_eq_nocase(cmd->name, "CAPABILITY") ||
		   pd_str_eq_nocase(cmd->name, "STARTTLS") ||
		   pd_str_eq_nocase(cmd->name, "NOOP") ||
		   pd_str_eq_nocase(cmd->name, "LOGOUT")) {
		imap_bad(st, cmd->tag, "Unexpected arguments.");
	} else {
		imap_bad(st, cmd->tag, "Unknown command, or not allowed before login.");
	}
}

static void
imap_input(struct pd_session *s, void *p)
{
	struct imap_state *st = p;
	struct pd_buf *in = pd_session_input(s);
	struct pd_imap_cmd cmd;
	enum pd_imap_result r;
	enum pd_sasl_result sr;
	const char *challenge = "", *msg = "";
	size_t used;

	while (in->len > 0 && pd_session_can_parse(s)) {
		r = pd_imap_parse(&st->parser, in->data, in->len, &used, &cmd);
		pd_buf_consume(in, used);
		switch (r) {
		case PD_IMAP_NEED_MORE:
			break;
		case PD_IMAP_CONTINUE:
			pd_session_printf(s, "+ OK\r\n");
			break;
		case PD_IMAP_COMMAND:
			if (st->in_sasl) {
				/* cannot happen: SASL mode returns LINE */
				st->in_sasl = false;
			}
			imap_command(st, &cmd);
			break;
		case PD_IMAP_LINE:
			/* The call sets challenge and msg: not in one expression. */
			sr = pd_sasl_continue(&st->sasl, cmd.line, &challenge, &msg);
			imap_sasl_result(st, sr, challenge, msg);
			break;
		case PD_IMAP_BAD:
			if (st->in_sasl) {
				struct pd_str t = { (const unsigned char *)st->tag,
						    strlen(st->tag) };

				st->in_sasl = false;
				pd_sasl_clear(&st->sasl);
				imap_bad(st, t, cmd.msg);
				break;
			}
			imap_bad(st, cmd.tag, cmd.msg);
			break;
		case PD_IMAP_FATAL:
			pd_session_printf(s, "* BYE %s\r\n", cmd.msg);
			pd_session_close(s, "protocol-error");
			return;
		}
		if (used == 0 && r == PD_IMAP_NEED_MORE)
			break;
	}
}

static void
imap_forget(void *p)
{
	struct imap_state *st = p;

	pd_imap_parser_reset(&st->parser);
}

const struct pd_proto pd_proto_imap = {
	.name = "imap",
	.init = imap_init,
	.deinit = imap_deinit,
	.greet = imap_greet,
	.input = imap_input,
	.login_failed = imap_login_failed,
	.bye = imap_bye,
	.forget = imap_forget,
};
