/* SPDX-License-Identifier: MIT */
/* restart.h - the kill-and-restart suite of tests/backend (restart.c). */
#ifndef BACKEND_RESTART_H
#define BACKEND_RESTART_H

#include <CUnit/CUnit.h>

int restart_suite_init(void);
int restart_suite_clean(void);
extern CU_TestInfo restart_tests[];

#endif
