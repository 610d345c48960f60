/* SPDX-License-Identifier: MIT */
/*
 * fair.h - the "fair" suite of test-backend (fair.c): one guest must not starve others.
 */
#ifndef BACKEND_FAIR_H
#define BACKEND_FAIR_H

#include <CUnit/CUnit.h>

int fair_suite_init(void);
int fair_suite_clean(void);
extern CU_TestInfo fair_tests[];
/* "fair-time": pvio-backd with a 1 ns time budget (fair_suite_clean stops it). */
int fair_time_suite_init(void);
extern CU_TestInfo fair_time_tests[];
int fair_done_suite_init(void);
extern CU_TestInfo fair_done_tests[];
/* "fair-mt": pvio-backd with two data threads (fair_suite_clean stops it). */
int fair_mt_suite_init(void);
extern CU_TestInfo fair_mt_tests[];

#endif
