/* SPDX-License-Identifier: MIT */
#ifndef PV_TEST_SIM_LISTEN_H
#define PV_TEST_SIM_LISTEN_H

#include <CUnit/CUnit.h>

/* pv_listen_unix (common/), which pvio-simd's per-domain sockets are made with. */
extern CU_TestInfo listen_tests[];

#endif
