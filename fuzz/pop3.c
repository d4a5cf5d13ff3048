/* SPDX-License-Identifier: MIT */
/*
 * fuzz/pop3.c - libFuzzer target for the POP3 pre-login parser and the
 * SASL decoders it feeds (PLAIN responses, base64).
 */
#include "pd-core/pop3_parse.h"
#include "pd-core/sasl.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pd_pop3_parser p;
	struct pd_pop3_cmd cmd;
	struct pd_sasl sasl;
	const char *ch, *msg;
	size_t pos = 0, used;

	pd_pop3_parser_init(&p, 256);
	while (pos < size) {
		size_t n = size - pos < 7 ? size - pos : 7;
		enum pd_pop3_result r = pd_pop3_parse(&p, data + pos, n, &used, &cmd);

		if (used == 0 && r == PD_POP3_NEED_MORE)
			break;
		pos += used;
		if (r == PD_POP3_COMMAND && cmd.nargs >= 1) {
			enum pd_sasl_mech m = pd_sasl_mech_parse(cmd.args[0]);

			if (m != PD_SASL_NONE) {
				(void)pd_sasl_start(&sasl, m, cmd.nargs == 2 ? &cmd.args[1] : NULL,
						    &ch, &msg);
				pd_sasl_clear(&sasl);
				pd_pop3_parser_expect_line(&p);
			}
		} else if (r == PD_POP3_LINE) {
			sasl.mech = PD_SASL_PLAIN;
			(void)pd_sasl_continue(&sasl, cmd.rest, &ch, &msg);
			pd_sasl_clear(&sasl);
		}
	}
	pd_pop3_parser_deinit(&p);
	return 0;
}
