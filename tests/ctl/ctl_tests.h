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
extern CU_TestInfo ctl_net_tests[];

/* ctl_sim.c's helpers, for ctl_net.c: pvio-simd with domains 1 and 2 (ctl_sim_init). */
#include <stddef.h>
#include <sys/types.h>
struct pv_platform;
/* Runs pvio-ctl as dom0's toolstack; stdout and stderr in out; returns the exit status. */
int ctl_cmd(char *out, size_t outsz, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
const char *ctl_rundir(void);
struct pv_platform *ctl_dom0(void);
int ctl_open_dom(unsigned int domid, struct pv_platform **p);
int ctl_xs_is(const char *path, const char *want);  /* dom0 reads want at path */
int ctl_xs_has(const char *path);
/* the lines nodes under path (xenstore-ls -p) all carry exactly perms */
int ctl_perms_are(const char *path, const char *perms, int lines);
int ctl_reap(pid_t pid);                            /* the child's exit status, or -1 */
int ctl_one_line(const char *s);
/* A stand-in pvio-backd control socket: checks one request line, answers reply. */
pid_t ctl_fake_ctl(const char *path, const char *expect, const char *reply);

#endif
