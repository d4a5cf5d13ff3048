/* SPDX-License-Identifier: MIT */
/*
 * pd-forker-stdio - one session on stdin/stdout, for debugging and for
 * wrappers that hand over pipes: "pd-forker-stdio -c pd.conf -p imap".
 */
#include "pd-auth/auth.h"
#include "pd-core/forker.h"

int
main(int argc, char **argv)
{
	static const struct pd_forker forker = {
		.name = "pd-forker-stdio",
		.kind = PD_FORKER_STDIO,
		.auth_open = pd_auth_client_open,
	};

	return pd_forker_main(&forker, argc, argv);
}
