/* SPDX-License-Identifier: MIT */
/* The suites of build/tests/test-ctl: pvio-ctl's parsers, and its block commands on the sim. */
#ifndef CTL_TESTS_H
#define CTL_TESTS_H

#include <CUnit/CUnit.h>

extern CU_TestInfo ctl_parse_tests[];
extern CU_TestInfo ctl_vif_parse_tests[];
extern CU_TestInfo ctl_sim_tests[];
int ctl_sim_init(void);
int ctl_sim_clean(void);

#endif
