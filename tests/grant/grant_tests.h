/* SPDX-License-Identifier: MIT */
/* grant_tests.h - the suites of tests/grant beyond test_grant.c's own. */
#ifndef GRANT_TESTS_H
#define GRANT_TESTS_H

#include <CUnit/CUnit.h>

/* sim.c: grant/ between two domains of a real pvio-simd. */
extern CU_SuiteInfo grant_sim_suite;

#endif
