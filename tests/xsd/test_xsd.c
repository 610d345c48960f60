/* SPDX-License-Identifier: MIT */
/*
 * test-xsd: pvio-simd's xenstore daemon (sim/xsd) against Xen's own clients.
 *
 * Each suite but the first forks a server child (pv_loop + pv_xsd) with sockets for
 * domains 0, 1 and 2 under a temporary directory; its last test stops the child and
 * checks that it freed everything (LeakSanitizer fails its exit otherwise).
 */
#include <signal.h>

#include "harness.h"

static CU_SuiteInfo suites[] = {
	{ "xsd-inproc", NULL, NULL, NULL, NULL, xsd_inproc_tests },
	{ "xsd-utils", xsd_utils_init, xsd_utils_clean, NULL, NULL, xsd_utils_tests },
	{ "xsd-libxenstore", xsd_libxs_init, xsd_libxs_clean, NULL, NULL, xsd_libxs_tests },
	{ "xsd-wire", xsd_wire_init, xsd_wire_clean, NULL, NULL, xsd_wire_tests },
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	/* A server closing on us must fail a test, not kill the program. */
	signal(SIGPIPE, SIG_IGN);
	return pv_test_main(suites);
}
