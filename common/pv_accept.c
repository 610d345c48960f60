/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "pv_accept.h"

static void resume(struct pv_loop *loop, int fd, uint32_t events, void *opaque)
{
	struct pv_accept *a = opaque;
	uint64_t n;
	unsigned int i;

	(void)events;
	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	a->paused = 0;
	for (i = 0; i < a->n; i++)
		pv_loop_mod(loop, a->fds[i], EPOLLIN);
}

int pv_accept_init(struct pv_accept *a, struct pv_loop *loop, unsigned int pause_ms)
{
	int rc;

	*a = (struct pv_accept){ .loop = loop, .pause_ms = pause_ms ? pause_ms : 100 };
	a->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (a->timer_fd < 0)
		return -errno;
	rc = pv_loop_add(loop, a->timer_fd, EPOLLIN, resume, a);
	if (rc < 0) {
		close(a->timer_fd);
		a->timer_fd = -1;
	}
	return rc;
}

void pv_accept_fini(struct pv_accept *a)
{
	if (a->timer_fd >= 0) {
		pv_loop_del(a->loop, a->timer_fd);
		close(a->timer_fd);
		a->timer_fd = -1;
	}
	free(a->fds);
	a->fds = NULL;
	a->n = a->cap = 0;
}

int pv_accept_add(struct pv_accept *a, int fd, pv_loop_fn fn, void *opaque)
{
	int rc;

	if (a->n == a->cap) {
		unsigned int cap = a->cap ? a->cap * 2 : 16;
		int *n = realloc(a->fds, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		a->fds = n;
		a->cap = cap;
	}
	rc = pv_loop_add(a->loop, fd, a->paused ? 0 : EPOLLIN, fn, opaque);
	if (rc == 0)
		a->fds[a->n++] = fd;
	return rc;
}

void pv_accept_del(struct pv_accept *a, int fd)
{
	unsigned int i;

	pv_loop_del(a->loop, fd);
	for (i = 0; i < a->n; i++)
		if (a->fds[i] == fd) {
			a->fds[i] = a->fds[--a->n];
			break;
		}
}

int pv_accept_failed(struct pv_accept *a, int err)
{
	struct itimerspec its = {
		.it_value.tv_sec = a->pause_ms / 1000,
		.it_value.tv_nsec = (long)(a->pause_ms % 1000) * 1000000L,
	};
	unsigned int i;

	if (err != EMFILE && err != ENFILE && err != ENOBUFS && err != ENOMEM)
		return 0;
	/* No timer: keep trying (and spinning) rather than go deaf for good. */
	if (a->paused || a->timer_fd < 0 || timerfd_settime(a->timer_fd, 0, &its, NULL) < 0)
		return 1;
	for (i = 0; i < a->n; i++)
		pv_loop_mod(a->loop, a->fds[i], 0);
	a->paused = 1;
	a->pauses++;
	return 1;
}
