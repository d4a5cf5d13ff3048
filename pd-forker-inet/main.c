/* SPDX-License-Identifier: MIT */
/*
 * pd-forker-inet - one session on the socket inetd passes as fd 0
 * (inetd.conf: "... nowait root /usr/sbin/pd-forker-inet pd-forker-inet -c
 * /etc/pd/pd.conf -p imap").  stderr is moved off the socket first.
 */
#include "pd-auth/auth.h"
#include "pd-core/forker.h"

int
main(int argc, char **argv)
{
	static const struct pd_forker forker = {
		.name = "pd-forker-inet",
		.kind = PD_FORKER_INET,
		.auth_open = pd_auth_client_open,
	};

	return pd_forker_main(&forker, argc, argv);
}
