/* SPDX-License-Identifier: MIT */
/*
 * pv_ctl_cmd.h - pvio-ctl's block commands, as the command line sees them.  main() stays in
 * pvio-ctl.c; everything here links into the unit tests too.
 */
#ifndef PV_CTL_CMD_H
#define PV_CTL_CMD_H

#include <stddef.h>
#include <stdint.h>
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

/* The same for the network commands (pv_ctl_net.c): network-attach, -detach, -list, -stats. */
int pv_ctl_net_cmd(const char *spec, const char *cmd, int argc, char **argv, int verbose);
void pv_ctl_net_usage(FILE *f);

/* ---- shared by the command files (pv_ctl_block.c) ---------------------------------------- */

struct pv_platform;

/* Prints "pvio-ctl: <cmd>: <message>" to stderr; returns PV_CTL_EXIT_FAIL. */
int pv_ctl_fail(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A domain id argument: decimal, no sign, below 0x7FF0.  0 or -EINVAL. */
int pv_ctl_parse_domid(const char *s, uint16_t *out);
/* --timeout: seconds, fractions allowed, (0, 3600].  0 or -EINVAL. */
int pv_ctl_parse_timeout(const char *s, int *ms);
/* Opens the platform; on failure prints why and returns PV_CTL_EXIT_FAIL, else 0. */
int pv_ctl_open_platform(const char *cmd, const char *spec, struct pv_platform **p);
/* 0 if domain d exists and is not dying; else prints why and returns PV_CTL_EXIT_FAIL. */
int pv_ctl_check_domain(const char *cmd, struct pv_platform *p, uint16_t d, const char *role);
/* Prints a flat JSON object as "name  value" lines; -EINVAL for anything else. */
int pv_ctl_print_flat_object(const char *s);
/*
 * pvio-backd's {"error":"..."} reply: 1 and the reason in err, or 0 for any other reply.
 */
int pv_ctl_backd_error(const char *reply, char *err, size_t len);

#endif
