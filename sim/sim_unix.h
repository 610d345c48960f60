/* SPDX-License-Identifier: MIT */
/*
 * sim_unix.h - one request/reply packet with file descriptors attached, over the
 * SOCK_SEQPACKET hypercall sockets of pv_sim_proto.h.  Shared by pvio-simd and the sim
 * platform library.
 */
#ifndef PV_SIM_UNIX_H
#define PV_SIM_UNIX_H

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "pv_sim_proto.h"

#define PV_SIM_MAX_FDS 4

/* Sends len bytes of m with nfds descriptors.  Returns 0 or -errno. */
static inline int pv_sim_send(int sock, const struct pv_sim_msg *m, size_t len,
			      const int *fds, unsigned int nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * PV_SIM_MAX_FDS)];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = (void *)m, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (nfds > PV_SIM_MAX_FDS)
		return -EINVAL;
	if (nfds) {
		struct cmsghdr *c;

		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EMSGSIZE;
}

/*
 * Receives one packet into m; up to PV_SIM_MAX_FDS descriptors land in fds[] and their
 * count in *nfds (any beyond that, or of another kind, are closed).  Returns the packet's
 * length, 0 at end of stream, or -errno.  A truncated packet is -EMSGSIZE, its fds closed.
 */
static inline ssize_t pv_sim_recv(int sock, struct pv_sim_msg *m, int *fds, unsigned int *nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * (PV_SIM_MAX_FDS + 4))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = m, .iov_len = sizeof(*m) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *c;
	ssize_t n;

	*nfds = 0;
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		unsigned int i, k;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		k = (unsigned int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		for (i = 0; i < k; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (*nfds < PV_SIM_MAX_FDS)
				fds[(*nfds)++] = fd;
			else
				close(fd);
		}
	}
	if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
		while (*nfds)
			close(fds[--*nfds]);
		return -EMSGSIZE;
	}
	return n;
}

#endif /* PV_SIM_UNIX_H */
