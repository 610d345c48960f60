/* SPDX-License-Identifier: MIT */
/*
 * pv_simtest.h - what every test that runs on a real pvio-simd needs: a fresh rundir, the
 * daemon in the foreground (so its exit status can be checked: 0 means a clean shutdown,
 * and under ASan no leak), a dom0 handle and a few domains.
 */
#ifndef PV_SIMTEST_H
#define PV_SIMTEST_H

#include <stdint.h>
#include <sys/types.h>

#include "pv_platform.h"

struct pv_simtest {
	char rundir[64];
	pid_t simd;
	struct pv_platform *dom0;
};

/*
 * Makes a rundir /tmp/<prefix>-XXXXXX, starts $PVIO_BUILD/bin/pvio-simd on it, opens dom0
 * and creates domains 1..ndoms.  Returns 0, or -1 (what is started is stopped again).
 */
int pv_simtest_start(struct pv_simtest *t, const char *prefix, unsigned int ndoms);

/*
 * Closes dom0, stops pvio-simd with SIGTERM and removes the rundir.  Returns 0 only if the
 * daemon exited with status 0.  Safe to call twice.
 */
int pv_simtest_stop(struct pv_simtest *t);

/* Opens the sim platform as domain domid of t.  Returns 0 or -errno. */
int pv_simtest_open(const struct pv_simtest *t, unsigned int domid, struct pv_platform **p);

/* "$PVIO_BUILD/bin/<name>" (default build/bin); valid until four more calls. */
const char *pv_simtest_bin(const char *name);

/* Waits up to ms for path to exist.  Returns 0 or -ETIMEDOUT. */
int pv_simtest_wait_path(const char *path, int ms);

/*
 * Runs a shell command line made with printf formatting.  Returns its exit status, 128 if
 * a signal ended it, -1 if it could not run; a failing command is echoed to stderr.
 */
int pv_simtest_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * A guest with a disk, as the tools' tests need one: pvio-simd (pv_simtest_start, domain 1),
 * a sparse RUNDIR/disk.img of mb MiB, pvio-backd in the foreground (*backd: its pid) and
 * the image attached to domain 1 as xvdb with pvio-ctl.  Returns 0 or -1.
 */
int pv_simtest_disk_guest(struct pv_simtest *t, const char *prefix, unsigned int mb,
			  pid_t *backd);

/*
 * Starts pvio-backd for dom0 of t in the foreground (log level $PVIO_TEST_BACKD_LOG, else
 * warn) with the NULL-terminated extra arguments (or none), and waits for its control
 * socket.  Returns its pid, or -1.
 */
pid_t pv_simtest_backd_start(const struct pv_simtest *t, const char *const *extra);

/* SIGTERM to *backd (if > 0) and wait; 0 only if it exited with status 0.  *backd = -1. */
int pv_simtest_backd_stop(pid_t *backd);

/*
 * After a guest-side adapter (pvio-fuse --stats, the nbdkit plugin's stats=1) ended with
 * wait status st: its log's "most in flight N", or -1 when it did not exit 0 or said no
 * such line (the log is echoed to stderr then).  Prints the log from tag on, if present.
 */
int pv_simtest_peak_inflight(const char *log, int st, const char *tag);

/* A xorshift generator: tests are reproducible from their seed. */
uint64_t pv_simtest_rand(uint64_t *state, uint64_t bound);

#endif
