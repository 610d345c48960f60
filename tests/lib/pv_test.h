/* SPDX-License-Identifier: MIT */
/*
 * pv_test.h - the one main() every CUnit test program shares.
 *
 * Each test program lists its suites in a CU_SuiteInfo table and calls pv_test_main().
 * It prints CUnit's run summary and exits with the number of failed tests (capped),
 * so `make check` and CI see both.  PV_TEST_FILTER=substring runs only suites whose
 * name contains it.
 */
#ifndef PV_TEST_H
#define PV_TEST_H

#include <CUnit/CUnit.h>

int pv_test_main(CU_SuiteInfo *suites);

#endif
