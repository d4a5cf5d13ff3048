/* SPDX-License-Identifier: MIT */
/*
 * fuzz/conf.c - libFuzzer target for the pd.conf parser (in-memory text;
 * includes are refused because the name has no directory to resolve in).
 */
#include "pd-core/conf.h"

#include <stdint.h>
#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pd_conf *conf = NULL;
	struct pd_err err;

	if (pd_conf_load_string("fuzz.conf", (const char *)data, size, &conf,
				&err) == 0) {
		(void)pd_conf_str(pd_conf_section(conf, "auth", NULL), "path");
		pd_conf_free(&conf);
	}
	return 0;
}
