/* SPDX-License-Identifier: MIT */
/*
 * pv_accept.h - listening sockets that pause instead of spinning when accept() runs out
 * of fds or memory.
 *
 * Out of fds (EMFILE, ENFILE) or memory, a pending connection stays pending and a
 * level-triggered listener fires again at once: the daemon would spin, and every client
 * would starve.  So every listener of the set sleeps for pause_ms (a timerfd re-arms
 * them); connections already open keep being served, and the fds they free come back.
 * A listener added during a pause sleeps with the others.  Single-threaded, like pv_loop.
 */
#ifndef PV_ACCEPT_H
#define PV_ACCEPT_H

#include <stdint.h>

#include "pv_loop.h"

struct pv_accept {
	struct pv_loop *loop;
	int timer_fd;
	unsigned int pause_ms;
	int paused;
	uint64_t pauses; /* times the set paused */
	int *fds;        /* the listeners */
	unsigned int n, cap;
};

/* Sets up an empty set on loop.  Returns 0 or -errno. */
int pv_accept_init(struct pv_accept *a, struct pv_loop *loop, unsigned int pause_ms);

/* Forgets every listener (it does not close them) and the timer.  Safe to call twice. */
void pv_accept_fini(struct pv_accept *a);

/* Watches listening socket fd with fn (armed unless the set is paused).  0 or -errno. */
int pv_accept_add(struct pv_accept *a, int fd, pv_loop_fn fn, void *opaque);

/* Stops watching fd (does not close it). */
void pv_accept_del(struct pv_accept *a, int fd);

/*
 * accept() failed with err: pauses the set when err says the daemon is out of fds or
 * memory.  Returns 1 if err was such an error, else 0.
 */
int pv_accept_failed(struct pv_accept *a, int err);

#endif
