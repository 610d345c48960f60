/* SPDX-License-Identifier: MIT */
/*
 * pv_simraw.h - a hostile domain's raw view of pvio-simd, for the flood tests and the
 * flood measurement (tests/backend/fair.c, tests/sim/flood/): a bare connection to a
 * domain's socket, one hypercall with a reply time-out, one unanswered xenstore read.
 * Header-only: tests/sim/flood/run.sh compiles its program without the test library.
 */
#ifndef PV_SIMRAW_H
#define PV_SIMRAW_H

#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <xen/io/xs_wire.h>

#include "pv_sim_proto.h"
#include "sim_unix.h"

/* Connects to <rundir>/dom<dom>/<leaf>.  Returns the fd, or -1. */
static inline int pv_simraw_connect(const char *rundir, unsigned int dom, const char *leaf,
				    int type)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/dom%u/%s", rundir, dom, leaf);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* One hypercall with a one-second reply time-out; fds that come back are closed.  0 or -1. */
static inline int pv_simraw_hc(int fd, struct pv_sim_msg *m)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int got[PV_SIM_MAX_FDS];
	unsigned int n = 0, i;
	ssize_t k;

	if (pv_sim_send(fd, m, offsetof(struct pv_sim_msg, data), NULL, 0) < 0 ||
	    poll(&p, 1, 1000) != 1)
		return -1;
	k = pv_sim_recv(fd, m, got, &n);
	for (i = 0; i < n; i++)
		close(got[i]);
	return k >= (ssize_t)offsetof(struct pv_sim_msg, data) && m->ret == 0 ? 0 : -1;
}

/* Sends an XS_READ of path without waiting for the reply.  0, or -1. */
static inline int pv_simraw_xs_read(int fd, const char *path)
{
	struct {
		struct xsd_sockmsg h;
		char b[64];
	} m = { .h = { .type = XS_READ } };
	size_t len = strlen(path) + 1;

	if (len > sizeof(m.b))
		return -1;
	m.h.len = (uint32_t)len;
	memcpy(m.b, path, len);
	return send(fd, &m, sizeof(m.h) + len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 ? -1 : 0;
}

#endif /* PV_SIMRAW_H */
