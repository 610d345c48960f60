/* SPDX-License-Identifier: MIT */
/*
 * pv_daemon.h - what pvio's daemons (pvio-simd, pvio-backd) do alike at start-up.
 */
#ifndef PV_DAEMON_H
#define PV_DAEMON_H

#include <sys/types.h>

/*
 * Detaches: forks, and the parent exits once the child calls pv_daemon_ready() (status 0)
 * or dies first (status 1), so that a script or init system can go on only when the
 * daemon serves.  Returns 0 in the child, with *ready to hand to pv_daemon_ready(), or
 * -errno in the original process when the fork fails.
 */
int pv_daemon_detach(int *ready);

/* Tells the waiting parent that we serve; stdin, stdout and stderr go to /dev/null. */
void pv_daemon_ready(int *ready);

/* Blocks SIGTERM and SIGINT, ignores SIGPIPE; returns a signalfd for the two, or -errno. */
int pv_daemon_signalfd(void);

/*
 * A non-blocking listening unix socket of type (SOCK_STREAM, SOCK_SEQPACKET) at path.  A
 * stale socket file is replaced; one that a live daemon still answers on is -EADDRINUSE.
 * mode, if not 0, is applied to the file.  The path appears only once the socket listens
 * (it is renamed into place): a client that sees it can connect.  Returns the fd or -errno.
 */
int pv_listen_unix(const char *path, int type, mode_t mode);

#endif
