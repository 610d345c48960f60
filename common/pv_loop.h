/* SPDX-License-Identifier: MIT */
/*
 * pv_loop.h - a small epoll event loop for pvio's daemons (pvio-simd, pvio-backd).
 *
 * One callback per file descriptor; the callback gets the epoll events that fired.
 * Callbacks may add, modify and delete any fd (their own included) while the loop runs:
 * a deleted fd's pending events in the current batch are dropped.  Single-threaded.
 */
#ifndef PV_LOOP_H
#define PV_LOOP_H

#include <stdint.h>
#include <sys/epoll.h>

struct pv_loop;

typedef void (*pv_loop_fn)(struct pv_loop *loop, int fd, uint32_t events, void *opaque);

/* Returns a new loop, or NULL with errno set. */
struct pv_loop *pv_loop_new(void);
void pv_loop_free(struct pv_loop *loop);

/* Watches fd for events (EPOLLIN, EPOLLOUT ...).  Returns 0 or -errno (-EEXIST). */
int pv_loop_add(struct pv_loop *loop, int fd, uint32_t events, pv_loop_fn fn, void *opaque);
/* Changes the events watched on fd.  Returns 0 or -errno (-ENOENT). */
int pv_loop_mod(struct pv_loop *loop, int fd, uint32_t events);
/* Stops watching fd (does not close it).  Returns 0 or -ENOENT. */
int pv_loop_del(struct pv_loop *loop, int fd);

/*
 * Runs until pv_loop_stop().  timeout_ms bounds each wait (-1: none); tick, if not NULL,
 * runs after every batch of events (and after each time-out).  Returns 0 or -errno.
 */
int pv_loop_run(struct pv_loop *loop, int timeout_ms, void (*tick)(struct pv_loop *, void *),
		void *opaque);
void pv_loop_stop(struct pv_loop *loop);

/*
 * Wake-ups so far: waits that may sleep (a timeout other than 0, and not busy-polling)
 * and returned with events.  A time-out with no event is not one; a busy-polling pass
 * never sleeps, so never counts.  What a benchmark divides by requests to see how many
 * times the daemon was woken per I/O, apart from the notifications that woke it.
 */
uint64_t pv_loop_wakeups(const struct pv_loop *loop);

/*
 * Busy-polling (pvio-backd --poll-us): idle, if not NULL, runs after every batch and
 * tick; while it returns nonzero the loop does not sleep (epoll_wait with no timeout
 * between calls), so every fd is still served between two calls.  idle must return
 * within a few microseconds for that to hold.
 */
void pv_loop_set_idle(struct pv_loop *loop, int (*idle)(struct pv_loop *, void *), void *opaque);

#endif
