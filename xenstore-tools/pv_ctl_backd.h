/* SPDX-License-Identifier: MIT */
/*
 * pv_ctl_backd.h - the client of pvio-backd's control socket (backend/pv_backd_ctl.h):
 * where the socket is, one request and its one-line reply, and reading the reply.
 * Shared by block-stats, network-stats and network-attach's diagnosis.  Every function
 * returns 0 or -errno and prints nothing, except pv_ctl_backd_print_flat, which prints
 * the reply.
 */
#ifndef PV_CTL_BACKD_H
#define PV_CTL_BACKD_H

#include <stddef.h>

/*
 * The socket path for a platform spec: "sim:<rundir>:N" -> <rundir>/pvio-backd.sock,
 * "xen" -> PV_BACKD_CTL_XEN_PATH.  spec NULL means $PVIO_PLATFORM, else "xen".
 * Returns 0, -EINVAL for a spec it cannot read, -ENAMETOOLONG.
 */
int pv_ctl_backd_socket(const char *spec, char *buf, size_t len);

/*
 * Sends request (one line, with its '\n') and reads one line back into *reply (malloc'd,
 * without the '\n').  Returns 0, -ENOENT / -ECONNREFUSED when no daemon listens, -ETIMEDOUT
 * after timeout_ms, or -errno.
 */
int pv_ctl_backd_query(const char *sock_path, const char *request, int timeout_ms, char **reply);

/* Whether pv_ctl_backd_query's rc means that no daemon listens at the socket's path. */
int pv_ctl_backd_absent(int rc);

/* pvio-backd's {"error":"..."} reply: 1 and the reason in err, or 0 for any other reply. */
int pv_ctl_backd_error(const char *reply, char *err, size_t len);

/*
 * Prints a flat JSON object (pvio-backd's stats: numbers, strings and flat lists of
 * numbers, one per queue) as "name  value" lines, a list as "1,2", a "state" by its XenBus
 * name ("Connected (4)").  Returns 0, or -EINVAL for anything else (the caller then prints
 * it raw).
 */
int pv_ctl_backd_print_flat(const char *s);

#endif
