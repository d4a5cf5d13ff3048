/* SPDX-License-Identifier: MIT */
/*
 * conf_keys.c - every pd.conf key, declared once with its type, default and
 * range.  etc/pd.conf documents the same keys; keep the two in step.
 */
#include "pd-core/conf.h"

static const struct pd_conf_key top_keys[] = {
	{ "hostname", PD_CONF_STR, "", 0, 0, NULL },
	{ "default_backend", PD_CONF_STR, "dovecot", 0, 0, NULL },
	{ "greeting", PD_CONF_STR, "pd ready.", 0, 0, NULL },
	{ "login_timeout", PD_CONF_UINT, "60", 1, 86400, NULL },
	{ "max_bad_commands", PD_CONF_UINT, "5", 1, 1000, NULL },
	{ "auth_failure_delay", PD_CONF_UINT, "2", 0, 60, NULL },
	{ "log", PD_CONF_STR, "syslog", 0, 0, NULL },
	{ "debug", PD_CONF_BOOL, "no", 0, 0, NULL },
	{ "imap_line_max", PD_CONF_UINT, "8192", 1024, 1048576, NULL },
	{ "pop3_line_max", PD_CONF_UINT, "1024", 256, 65536, NULL },
	{ "first_valid_uid", PD_CONF_UINT, "500", 1, 4294967294UL, NULL },
	{ "last_valid_uid", PD_CONF_UINT, "0", 0, 4294967294UL, NULL },
	{ "first_valid_gid", PD_CONF_UINT, "100", 1, 4294967294UL, NULL },
	{ "last_valid_gid", PD_CONF_UINT, "0", 0, 4294967294UL, NULL },
	{ "system_groups", PD_CONF_BOOL, "no", 0, 0, NULL },
	{ "relay_user", PD_CONF_STR, "nobody", 0, 0, NULL },
	{ NULL, 0, NULL, 0, 0, NULL }
};

static const struct pd_conf_key auth_keys[] = {
	{ "driver", PD_CONF_ENUM, "sqlite", 0, 0, "file|sqlite|ldap|mysql" },
	{ "path", PD_CONF_STR, "/var/lib/pd/users.db", 0, 0, NULL },
	{ "query", PD_CONF_STR, "", 0, 0, NULL },
	{ "lowercase", PD_CONF_BOOL, "yes", 0, 0, NULL },
	{ "default_domain", PD_CONF_STR, "", 0, 0, NULL },
	{ "module_dir", PD_CONF_STR, PD_MODDIR, 0, 0, NULL },
	/* driver = ldap */
	{ "uri", PD_CONF_STR, "ldap://127.0.0.1", 0, 0, NULL },
	{ "starttls", PD_CONF_BOOL, "no", 0, 0, NULL },
	{ "ca", PD_CONF_STR, "", 0, 0, NULL },
	{ "bind_dn", PD_CONF_STR, "", 0, 0, NULL },
	{ "bind_password_file", PD_CONF_STR, "", 0, 0, NULL },
	{ "base", PD_CONF_STR, "", 0, 0, NULL },
	{ "scope", PD_CONF_ENUM, "sub", 0, 0, "base|one|sub" },
	{ "filter", PD_CONF_STR, "(&(objectClass=posixAccount)(uid=%u))", 0, 0, NULL },
	{ "map", PD_CONF_STR, "user=uid password=userPassword uid=uidNumber "
	  "gid=gidNumber home=homeDirectory mailhost=mailHost", 0, 0, NULL },
	{ "auth_bind", PD_CONF_BOOL, "no", 0, 0, NULL },
	{ "timeout", PD_CONF_UINT, "5", 1, 300, NULL },
	/* driver = mysql (and timeout, ca above) */
	{ "host", PD_CONF_STR, "127.0.0.1", 0, 0, NULL },
	{ "port", PD_CONF_UINT, "3306", 1, 65535, NULL },
	{ "socket", PD_CONF_STR, "", 0, 0, NULL },
	{ "database", PD_CONF_STR, "mail", 0, 0, NULL },
	{ "user", PD_CONF_STR, "pd", 0, 0, NULL },
	{ "password_file", PD_CONF_STR, "", 0, 0, NULL },
	{ "tls", PD_CONF_BOOL, "no", 0, 0, NULL },
	{ NULL, 0, NULL, 0, 0, NULL }
};

static const struct pd_conf_key dovecot_keys[] = {
	{ "imap", PD_CONF_STR, "/usr/lib/dovecot/imap", 0, 0, NULL },
	{ "pop3", PD_CONF_STR, "/usr/lib/dovecot/pop3", 0, 0, NULL },
	{ NULL, 0, NULL, 0, 0, NULL }
};

static const struct pd_conf_key tls_keys[] = {
	{ "cert", PD_CONF_STR, "", 0, 0, NULL },
	{ "key", PD_CONF_STR, "", 0, 0, NULL },
	{ "min_version", PD_CONF_ENUM, "TLSv1.2", 0, 0, "TLSv1|TLSv1.1|TLSv1.2|TLSv1.3" },
	{ "ciphers", PD_CONF_STR, "HIGH:!aNULL:!MD5:!RC4:!3DES", 0, 0, NULL },
	{ "ciphersuites", PD_CONF_STR, "", 0, 0, NULL },
	{ "sni_dir", PD_CONF_STR, "", 0, 0, NULL },
	{ "plaintext_auth", PD_CONF_ENUM, "tls-only", 0, 0, "tls-only|allow" },
	{ "trusted_networks", PD_CONF_STR, "127.0.0.0/8 ::1", 0, 0, NULL },
	{ NULL, 0, NULL, 0, 0, NULL }
};

/* [tls NAME]: the certificate for clients that ask for NAME by SNI. */
static const struct pd_conf_key tls_sni_keys[] = {
	{ "cert", PD_CONF_STR, "", 0, 0, NULL },
	{ "key", PD_CONF_STR, "", 0, 0, NULL },
	{ NULL, 0, NULL, 0, 0, NULL }
};

static const struct pd_conf_key courier_keys[] = {
	{ "imapd", PD_CONF_STR, "/usr/bin/imapd", 0, 0, NULL },
	{ "pop3d", PD_CONF_STR, "/usr/lib/courier/courier/courierpop3d", 0, 0, NULL },
	{ "settings", PD_CONF_STR, "/etc/courier/imapd", 0, 0, NULL },
	{ "pop3d_settings", PD_CONF_STR, "/etc/courier/pop3d", 0, 0, NULL },
	{ NULL, 0, NULL, 0, 0, NULL }
};

/* Each "[backend NAME]" has its own key table, so it is declared by its full
 * header; named types ("[host NAME]") share one table. */
const struct pd_conf_schema pd_conf_schemas[] = {
	{ "", false, top_keys },
	{ "auth", false, auth_keys },
	{ "backend dovecot", false, dovecot_keys },
	{ "backend courier", false, courier_keys },
	{ "tls", false, tls_keys },
	{ "tls", true, tls_sni_keys },
	{ NULL, false, NULL }
};
