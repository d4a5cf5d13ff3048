/* SPDX-License-Identifier: MIT */
/*
 * fuzz/imap.c - libFuzzer target for the IMAP pre-login parser: the input
 * is fed in chunks whose sizes come from the first byte, with SASL raw-line
 * mode switched on by the data, so every resume point gets exercised.
 */
#include "pd-core/imap_parse.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pd_imap_parser p;
	struct pd_imap_cmd cmd;
	size_t chunk, pos = 1, used, i;
	volatile size_t sink = 0;

	if (size == 0)
		return 0;
	chunk = (size_t)(data[0] % 16) + 1;
	pd_imap_parser_init(&p, 1024);
	while (pos < size) {
		size_t n = size - pos < chunk ? size - pos : chunk;
		enum pd_imap_result r = pd_imap_parse(&p, data + pos, n, &used, &cmd);

		if (used == 0 && r == PD_IMAP_NEED_MORE)
			break;
		pos += used;
		if (r == PD_IMAP_COMMAND) {
			for (i = 0; i < cmd.nargs; i++)
				sink += cmd.args[i].s.len ? cmd.args[i].s.p[0] : 0;
			if (pd_str_eq_nocase(cmd.name, "AUTHENTICATE"))
				pd_imap_parser_expect_line(&p);
		}
		if (r == PD_IMAP_FATAL)
			break;
	}
	pd_imap_parser_deinit(&p);
	return (int)(sink & 0);
}
