/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "pv_test.h"

int pv_test_main(CU_SuiteInfo *suites)
{
	const char *filter = getenv("PV_TEST_FILTER");
	unsigned int failed;
	CU_SuiteInfo *s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	for (s = suites; s->pName; s++) {
		CU_SuiteInfo one[2] = { *s, CU_SUITE_INFO_NULL };

		if (filter && !strstr(s->pName, filter))
			continue;
		if (CU_register_suites(one) != CUE_SUCCESS) {
			fprintf(stderr, "cannot register suite %s: %s\n", s->pName,
				CU_get_error_msg());
			CU_cleanup_registry();
			return 2;
		}
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_tests_failed();
	if (CU_get_number_of_suites_failed())
		failed++; /* a suite whose setup failed ran nothing: that is a failure */
	CU_cleanup_registry();
	return failed > 100 ? 100 : (int)failed;
}
