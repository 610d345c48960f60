/* SPDX-License-Identifier: MIT */
/*
 * fuzz.h - shared by the libFuzzer targets in tests/fuzz/.
 *
 * FUZZ_CHECK turns a broken promise of the code under test into a crash that libFuzzer
 * records (with the input), as a sanitizer report would.  assert() is not used: it
 * vanishes with -DNDEBUG and says less.
 */
#ifndef PV_FUZZ_H
#define PV_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define FUZZ_CHECK(cond)                                                                  \
	do {                                                                              \
		if (!(cond)) {                                                            \
			fprintf(stderr, "%s:%d: FUZZ_CHECK(%s) failed\n", __FILE__, __LINE__, \
				#cond);                                                   \
			abort();                                                          \
		}                                                                         \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
