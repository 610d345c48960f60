/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "pv_loop.h"

/*
 * Handlers live in an array indexed by fd: fds are small and dense, and the lookup on
 * every event is then one bounds check.  A generation counter per slot lets the dispatch
 * loop notice that a handler was deleted (or replaced) by an earlier callback in the
 * same batch.
 */
struct handler {
	pv_loop_fn fn;
	void *opaque;
	uint32_t gen; /* 0: free */
};

struct pv_loop {
	int epfd;
	int stop;
	uint32_t next_gen;
	struct handler *h;
	int nh;
	int (*idle)(struct pv_loop *, void *);
	void *idle_opaque;
	int busy;                   /* idle() asked not to sleep */
	uint64_t wakeups;           /* see pv_loop_wakeups() */
};

struct pv_loop *pv_loop_new(void)
{
	struct pv_loop *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		free(l);
		return NULL;
	}
	l->next_gen = 1;
	return l;
}

void pv_loop_free(struct pv_loop *l)
{
	if (!l)
		return;
	close(l->epfd);
	free(l->h);
	free(l);
}

static struct handler *slot(struct pv_loop *l, int fd)
{
	return fd >= 0 && fd < l->nh && l->h[fd].gen ? &l->h[fd] : NULL;
}

int pv_loop_add(struct pv_loop *l, int fd, uint32_t events, pv_loop_fn fn, void *opaque)
{
	struct epoll_event ev = { .events = events };

	if (fd < 0 || !fn)
		return -EINVAL;
	if (slot(l, fd))
		return -EEXIST;
	if (fd >= l->nh) {
		int n = l->nh ? l->nh : 64;
		struct handler *h;

		while (n <= fd)
			n *= 2;
		h = realloc(l->h, (size_t)n * sizeof(*h));
		if (!h)
			return -ENOMEM;
		for (int i = l->nh; i < n; i++)
			h[i] = (struct handler){ 0 };
		l->h = h;
		l->nh = n;
	}
	ev.data.u64 = (uint64_t)(unsigned int)fd | (uint64_t)l->next_gen << 32;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	l->h[fd] = (struct handler){ .fn = fn, .opaque = opaque, .gen = l->next_gen };
	if (++l->next_gen == 0)
		l->next_gen = 1;
	return 0;
}

int pv_loop_mod(struct pv_loop *l, int fd, uint32_t events)
{
	struct handler *h = slot(l, fd);
	struct epoll_event ev = { .events = events };

	if (!h)
		return -ENOENT;
	ev.data.u64 = (uint64_t)(unsigned int)fd | (uint64_t)h->gen << 32;
	return epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
}

int pv_loop_del(struct pv_loop *l, int fd)
{
	struct handler *h = slot(l, fd);

	if (!h)
		return -ENOENT;
	/* The fd may already be closed by its owner: the slot is what matters. */
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
	*h = (struct handler){ 0 };
	return 0;
}

void pv_loop_set_idle(struct pv_loop *l, int (*idle)(struct pv_loop *, void *), void *opaque)
{
	l->idle = idle;
	l->idle_opaque = opaque;
	l->busy = 0;
}

uint64_t pv_loop_wakeups(const struct pv_loop *l)
{
	return l->wakeups;
}

void pv_loop_stop(struct pv_loop *l)
{
	l->stop = 1;
}

int pv_loop_run(struct pv_loop *l, int timeout_ms, void (*tick)(struct pv_loop *, void *),
		void *opaque)
{
	struct epoll_event evs[64];

	l->stop = 0;
	while (!l->stop) {
		int slept = !l->busy && timeout_ms != 0;
		int n = epoll_wait(l->epfd, evs, 64, slept ? timeout_ms : 0);

		/* A busy pass that finds events was already awake: only a sleep counts. */
		if (n > 0 && slept)
			l->wakeups++;
		if (n < 0) {
			if (errno == EINTR) {
				n = 0;
			} else {
				return -errno;
			}
		}
		for (int i = 0; i < n && !l->stop; i++) {
			int fd = (int)(uint32_t)evs[i].data.u64;
			uint32_t gen = (uint32_t)(evs[i].data.u64 >> 32);
			struct handler *h = slot(l, fd);

			if (h && h->gen == gen)
				h->fn(l, fd, evs[i].events, h->opaque);
		}
		if (tick)
			tick(l, opaque);
		l->busy = l->idle && !l->stop ? l->idle(l, l->idle_opaque) : 0;
	}
	return 0;
}
