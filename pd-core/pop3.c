/* SPDX-License-Identifier: MIT */
/*
 * pop3.c - POP3 pre-login commands (RFC 1939 USER/PASS/QUIT, RFC 2449 CAPA
 * and response codes, RFC 5034 AUTH with initial response) on top of the
 * pure parser.  The "+OK" after a good PASS/AUTH is the backend's business
 * (Dovecot's pop3 prints nothing, so its plan carries pd's "+OK").
 */
#include "pd-core/log.h"
#include "pd-core/mem.h"
#include "pd-core/pop3_parse.h"
#include "pd-core/sasl.h"
#include "pd-core/session.h"

#include <stdlib.h>
#include <string.h>

#define POP3_CAPA_HEAD "+OK Capability list follows\r\n" \
	"CAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\nAUTH-RESP-CODE\r\n"

struct pop3_state {
	struct pd_session *s;
	struct pd_pop3_parser parser;
	struct pd_sasl sasl;
	bool in_sasl;
	bool have_user;
	char user[PD_LOGIN_MAX + 1];
};

static void *
pop3_init(struct pd_session *s)
{
	struct pop3_state *st = pd_xcalloc(1, sizeof(*st));
	const struct pd_conf_section *top =
		pd_conf_section(pd_session_conf(s), "", NULL);

	st->s = s;
	pd_pop3_parser_init(&st->parser, pd_conf_uint(top, "pop3_line_max"));
	return st;
}

static void
pop3_deinit(void *p)
{
	struct pop3_state *st = p;

	pd_pop3_parser_deinit(&st->parser);
	pd_sasl_clear(&st->sasl);
	free(st);
}

static void
pop3_greet(struct pd_session *s, void *p PD_UNUSED)
{
	const struct pd_conf_section *top =
		pd_conf_section(pd_session_conf(s), "", NULL);

	pd_session_printf(s, "+OK %s\r\n", pd_conf_str(top, "greeting"));
}

static void
pop3_bye(struct pd_session *s, void *p PD_UNUSED, const char *text)
{
	pd_session_printf(s, "-ERR %s\r\n", text);
}

static void
pop3_login_failed(struct pd_session *s, void *p, enum pd_auth_result r)
{
	struct pop3_state *st = p;

	st->have_user = false;
	switch (r) {
	case PD_AUTH_DISABLED:
		pd_session_printf(s, "-ERR [AUTH] Account is disabled.\r\n");
		break;
	case PD_AUTH_TEMPFAIL:
		pd_session_printf(s, "-ERR [SYS/TEMP] Temporary authentication "
				  "failure, try again later.\r\n");
		break;
	default:
		pd_session_printf(s, "-ERR [AUTH] Authentication failed.\r\n");
		break;
	}
}

/* RFC 2449 CAPA: STLS while possible, USER and SASL only where a plaintext
 * password may be sent (RFC 2595 §4). */
static void
pop3_capa(struct pd_session *s)
{
	bool plain = pd_session_plaintext_ok(s);

	pd_session_printf(s, POP3_CAPA_HEAD "%s%s.\r\n",
			  pd_session_tls_available(s) ? "STLS\r\n" : "",
			  plain ? "USER\r\nSASL PLAIN LOGIN\r\n" : "");
}

static bool
pop3_refuse_plaintext(struct pop3_state *st)
{
	if (pd_session_plaintext_ok(st->s))
		return false;
	pd_session_printf(st->s, "-ERR [AUTH] Plaintext authentication "
			  "disallowed on non-secure connections.\r\n");
	return true;
}

static bool
pop3_err(struct pop3_state *st, const char *msg)
{
	/* RFC 1939: one reply per command, so the last one is the goodbye. */
	if (!pd_session_bad_is_last(st->s))
		pd_session_printf(st->s, "-ERR %s\r\n", msg);
	return pd_session_bad(st->s);
}

static void
pop3_sasl_result(struct pop3_state *st, enum pd_sasl_result r,
		 const char *challenge, const char *msg)
{
	switch (r) {
	case PD_SASL_CHALLENGE:
		st->in_sasl = true;
		pd_session_printf(st->s, "+ %s\r\n", challenge);
		pd_pop3_parser_expect_line(&st->parser);
		return;
	case PD_SASL_DONE:
		st->in_sasl = false;
		pd_session_login(st->s, &st->sasl.creds,
				 st->sasl.mech == PD_SASL_PLAIN ? "PLAIN" : "LOGIN",
				 NULL);
		pd_sasl_clear(&st->sasl);
		return;
	case PD_SASL_CANCEL:
		st->in_sasl = false;
		pd_sasl_clear(&st->sasl);
		pop3_err(st, "Authentication aborted.");
		return;
	case PD_SASL_BAD:
		st->in_sasl = false;
		pd_sasl_clear(&st->sasl);
		pop3_err(st, msg);
		return;
	}
}

static void
pop3_cmd_auth(struct pop3_state *st, const struct pd_pop3_cmd *cmd)
{
	enum pd_sasl_mech mech;
	enum pd_sasl_result sr;
	const char *challenge = "", *msg = "";

	if (cmd->nargs == 0) {
		/* The mechanism list, as most servers answer a bare AUTH. */
		pd_session_printf(st->s, "+OK\r\nPLAIN\r\nLOGIN\r\n.\r\n");
		return;
	}
	if (cmd->too_many) {
		pop3_err(st, "Too many arguments.");
		return;
	}
	mech = pd_sasl_mech_parse(cmd->args[0]);
	if (mech != PD_SASL_NONE && pop3_refuse_plaintext(st))
		return;
	if (mech == PD_SASL_NONE) {
		pd_session_printf(st->s, "-ERR Unsupported authentication mechanism.\r\n");
		return;
	}
	/* The call sets challenge and msg: not in one expression. */
	sr = pd_sasl_start(&st->sasl, mech, cmd->nargs == 2 ? &cmd->args[1] : NULL,
			   &challenge, &msg);
	pop3_sasl_result(st, sr, challenge, msg);
}

static void
pop3_command(struct pop3_state *st, const struct pd_pop3_cmd *cmd)
{
	struct pd_creds creds;

	if (pd_str_eq_nocase(cmd->name, "CAPA")) {
		pop3_capa(st->s);
	} else if (pd_str_eq_nocase(cmd->name, "USER")) {
		if (pop3_refuse_plaintext(st))
			return;
		if (cmd->nargs != 1 || cmd->too_many || cmd->args[0].len == 0 ||
		    pd_creds_set(st->user, PD_LOGIN_MAX, cmd->args[0]) < 0) {
			pop3_err(st, "USER needs one user name.");
			return;
		}
		st->have_user = true;
		pd_session_printf(st->s, "+OK\r\n");
	} else if (pd_str_eq_nocase(cmd->name, "PASS")) {
		if (pop3_refuse_plaintext(st))
			return;
		if (!st->have_user) {
			pop3_err(st, "No user name given.");
			return;
		}
		/* The password is the rest of the line: it may hold spaces. */
		memcpy(creds.login, st->user, sizeof(creds.login));
		if (pd_creds_set(creds.password, PD_PASSWORD_MAX, cmd->rest) < 0) {
			pd_creds_clear(&creds);
			pop3_err(st, "Invalid password.");
			return;
		}
		st->have_user = false;
		pd_session_login(st->s, &creds, "USER", NULL);
	} else if (pd_str_eq_nocase(cmd->name, "AUTH")) {
		pop3_cmd_auth(st, cmd);
	} else if (pd_str_eq_nocase(cmd->name, "QUIT")) {
		pd_session_printf(st->s, "+OK Logging out.\r\n");
		pd_session_close(st->s, "logout");
	} else if (pd_str_eq_nocase(cmd->name, "STLS")) {
		if (!pd_session_tls_available(st->s)) {
			pop3_err(st, pd_session_is_tls(st->s) ? "TLS is already active."
							      : "TLS is not configured.");
			return;
		}
		pd_session_printf(st->s, "+OK Begin TLS negotiation.\r\n");
		pd_pop3_parser_reset(&st->parser);
		st->have_user = false;
		pd_session_starttls(st->s);
	} else {
		pop3_err(st, "Unknown command, or not allowed before login.");
	}
}

static void
pop3_input(struct pd_session *s, void *p)
{
	struct pop3_state *st = p;
	struct pd_buf *in = pd_session_input(s);
	struct pd_pop3_cmd cmd;
	enum pd_pop3_result r;
	enum pd_sasl_result sr;
	const char *challenge = "", *msg = "";
	size_t used;

	while (in->len > 0 && pd_session_can_parse(s)) {
		r = pd_pop3_parse(&st->parser, in->data, in->len, &used, &cmd);
		pd_buf_consume(in, used);
		switch (r) {
		case PD_POP3_NEED_MORE:
			break;
		case PD_POP3_COMMAND:
			pop3_command(st, &cmd);
			break;
		case PD_POP3_LINE:
			sr = pd_sasl_continue(&st->sasl, cmd.rest, &challenge, &msg);
			pop3_sasl_result(st, sr, challenge, msg);
			break;
		case PD_POP3_BAD:
			st->in_sasl = false;
			pd_sasl_clear(&st->sasl);
			pop3_err(st, cmd.msg);
			break;
		}
		if (used == 0)
			break;
	}
}

static void
pop3_forget(void *p)
{
	struct pop3_state *st = p;

	pd_pop3_parser_reset(&st->parser);
}

const struct pd_proto pd_proto_pop3 = {
	.name = "pop3",
	.init = pop3_init,
	.deinit = pop3_deinit,
	.greet = pop3_greet,
	.input = pop3_input,
	.login_failed = pop3_login_failed,
	.bye = pop3_bye,
	.forget = pop3_forget,
	.bye_replaces_error = true,
};
