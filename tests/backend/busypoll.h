/* SPDX-License-Identifier: MIT */
/*
 * busypoll.h - the "poll" suite of test-backend (busypoll.c): pvio-backd --poll-us.
 */
#ifndef BACKEND_BUSYPOLL_H
#define BACKEND_BUSYPOLL_H

#include <CUnit/CUnit.h>

int poll_suite_init(void);
int poll_suite_clean(void);
extern CU_TestInfo poll_tests[];

#endif
