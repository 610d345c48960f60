/* SPDX-License-Identifier: MIT */
/*
 * pv_ctl_cmd.h - pvio-ctl's block commands, as the command line sees them.  main() stays in
 * pvio-ctl.c; everything here links into the unit tests too.
 */
#ifndef PV_CTL_CMD_H
#define PV_CTL_CMD_H

#include <stdio.h>

/* Exit statuses, as pvio-ctl has always used them. */
#define PV_CTL_EXIT_OK    0
#define PV_CTL_EXIT_FAIL  1 /* the request was understood and failed */
#define PV_CTL_EXIT_USAGE 2 /* bad arguments: nothing was attempted */

/* The default time the attach and detach wait for the backend, in seconds. */
#define PV_CTL_DEFAULT_TIMEOUT 10.0

/*
 * Runs block command cmd ("block-attach", "block-detach", "block-list", "block-stats") with
 * argv[0] = cmd and its arguments after it, against platform spec (NULL: $PVIO_PLATFORM).
 * verbose comes from a global -v.  Prints its own messages; returns the exit status, or -1
 * when cmd is not a block command.
 */
int pv_ctl_block_cmd(const char *spec, const char *cmd, int argc, char **argv, int verbose);

/* The block commands' lines of pvio-ctl's usage text. */
void pv_ctl_block_usage(FILE *f);

#endif
