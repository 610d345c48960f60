/* SPDX-License-Identifier: MIT */
/*
 * pv_backd_worker.c - pvio-backd's data-path threads.
 *
 * One thread served every ring of every guest: two queues were no faster than one, and a
 * guest whose reads each waited for a grant map (a round trip to pvio-simd, or a gntdev
 * ioctl) made every other guest wait behind it.  Now --threads N workers (default: one per
 * CPU) each run a loop of their own, as Linux's blkback runs a kthread per ring.
 *
 * A worker owns its queues' data path whole: its own platform handle (grant maps, event
 * channels, and a xenstore connection for the `error` node), epoll loop, run queue,
 * storm timer and port table, and each queue brings its own io_uring, bounce pool and
 * counters.  The main thread keeps xenstore watches, the control socket, netback and
 * every device's state machine, and touches a queue's data path only through
 * pv_backd_worker_call(): the call runs on the worker between two of its events, never
 * inside a turn, while the main thread waits.  So nothing in the data path needs a lock,
 * and what a call's function reads of the state machine (dev->state, d->stopping) is not
 * written meanwhile.  The worker's news for the state machine (a drain ended, a ring
 * broke) goes the other way as bits in dev->async and a write to the main thread's
 * eventfd.
 *
 * A queue is given to the worker with the fewest queues when its device connects, and
 * stays there until it disconnects: the queues of one disk land on different threads,
 * as many as there are.  With --threads 0 every queue's data path is the main d.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "pv_blkback.h"

#define COMP "worker"

struct pv_backd_worker {
	struct pv_backd wd;
	pthread_t th;
	unsigned int started;
	int call_fd;             /* eventfd: a call waits */
	unsigned int nqueues;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* The one call in progress: only the main thread calls, and it waits. */
	int (*fn)(struct pv_blkback_queue *, void *);
	struct pv_blkback_queue *q;
	void *arg;
	int rc;
	unsigned int pending, done, quit;
	unsigned int dead;       /* its loop ended: calls fail instead of waiting for ever */
};

static __thread struct pv_backd *self_wd;

struct pv_backd *pv_backd_worker_self(void)
{
	return self_wd;
}

static struct pv_backd_worker *of(struct pv_backd *wd)
{
	return (struct pv_backd_worker *)((char *)wd - offsetof(struct pv_backd_worker, wd));
}

static void on_call(struct pv_loop *loop, int fd, uint32_t events, void *opaque)
{
	struct pv_backd_worker *w = opaque;
	uint64_t v;

	(void)events;
	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&w->mu);
	if (w->pending) {
		/* The main thread waits meanwhile: what the call reads of it holds still. */
		w->wd.stopping = w->wd.main->stopping;
		w->rc = w->fn ? w->fn(w->q, w->arg) : 0;
		if (w->quit)
			pv_loop_stop(loop);
		w->pending = 0;
		w->done = 1;
		pthread_cond_signal(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
}

static void on_evtchn(struct pv_loop *loop, int fd, uint32_t events, void *opaque)
{
	(void)loop;
	(void)fd;
	(void)events;
	pv_blkback_evtchn_ready(opaque);
}

static void *worker_main(void *opaque)
{
	struct pv_backd_worker *w = opaque;

	/* Signals stay blocked here (inherited): the main thread's signalfd takes them. */
	self_wd = &w->wd;
	if (pv_loop_run(w->wd.loop, -1, NULL, NULL) < 0)
		pv_backd_log(PV_LOG_ERROR, COMP, "a worker's loop failed: %s", strerror(errno));
	pthread_mutex_lock(&w->mu);
	w->dead = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

static void worker_fini(struct pv_backd_worker *w)
{
	struct pv_backd *wd = &w->wd;

	pv_blkback_sched_fini(wd);
	free(wd->ports);
	if (wd->loop)
		pv_loop_free(wd->loop);
	if (w->call_fd >= 0)
		close(w->call_fd);
	if (wd->plat)
		pv_platform_close(wd->plat);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
}

static int worker_init(struct pv_backd *d, struct pv_backd_worker *w)
{
	struct pv_backd *wd = &w->wd;
	const char *why = NULL;
	int rc;

	/* The daemon's settings; the rest (loop, run queue, ports) is the worker's own. */
	wd->main = d;
	wd->thread_idx = (unsigned int)(w - d->workers) + 1;
	wd->self = d->self;
	memcpy(wd->root, d->root, sizeof(wd->root));
	wd->types_mask = d->types_mask;
	wd->grant_copy = d->grant_copy;
	wd->max_queues = d->max_queues;
	wd->max_persistent = d->max_persistent;
	wd->max_bounce = d->max_bounce;
	wd->state_dir = d->state_dir;
	wd->lock_fd = d->lock_fd;
	wd->test_reorder = d->test_reorder;
	wd->test_rng = d->test_rng + (uint64_t)(w - d->workers) * 0x9e3779b97f4a7c15ull;
	wd->turn_ns = d->turn_ns;
	wd->poll_ns = d->poll_ns;
	wd->ctl_fd = wd->sched_work_fd = wd->sched_timer_fd = wd->wake_fd = -1;
	w->call_fd = -1;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	rc = pv_platform_open(d->spec, &wd->plat, &why);
	if (rc < 0) {
		pv_backd_log(PV_LOG_ERROR, COMP, "a worker cannot open the platform: %s",
			     why ? why : strerror(-rc));
		return rc;
	}
	wd->loop = pv_loop_new();
	w->call_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (!wd->loop || w->call_fd < 0)
		return -errno;
	rc = pv_loop_add(wd->loop, w->call_fd, EPOLLIN, on_call, w);
	if (rc == 0)
		rc = pv_loop_add(wd->loop, pv_evtchn_fd(wd->plat), EPOLLIN, on_evtchn, wd);
	if (rc < 0)
		return rc;
	if (wd->poll_ns)
		pv_loop_set_idle(wd->loop, pv_blkback_poll_idle, wd);
	return 0;
}

int pv_backd_workers_start(struct pv_backd *d, unsigned int n)
{
	char name[16];
	unsigned int i;
	int rc;

	d->wake_fd = -1;
	if (!n)
		return 0;
	d->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (d->wake_fd < 0)
		return -errno;
	d->workers = calloc(n, sizeof(*d->workers));
	if (!d->workers)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		struct pv_backd_worker *w = &d->workers[i];

		d->nworkers = i + 1; /* pv_backd_workers_stop() undoes a half-made one too */
		rc = worker_init(d, w);
		if (rc < 0)
			return rc;
		rc = pthread_create(&w->th, NULL, worker_main, w);
		if (rc)
			return -rc;
		w->started = 1;
		/* top -H, perf and the tests tell the threads apart by name. */
		snprintf(name, sizeof(name), "pvio-backd/%u", w->wd.thread_idx);
		pthread_setname_np(w->th, name);
	}
	return 0;
}

static int call_on(struct pv_backd_worker *w, int (*fn)(struct pv_blkback_queue *, void *),
		   struct pv_blkback_queue *q, void *arg, int quit)
{
	uint64_t one = 1;
	int rc;

	pthread_mutex_lock(&w->mu);
	if (w->dead) {
		pthread_mutex_unlock(&w->mu);
		return -EIO;
	}
	w->fn = fn;
	w->q = q;
	w->arg = arg;
	w->quit = quit;
	w->done = 0;
	w->pending = 1;
	/* An eventfd write cannot fail short of a counter at its maximum: readable anyway. */
	if (write(w->call_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		pv_backd_log(PV_LOG_ERROR, COMP, "cannot wake a worker: %s", strerror(errno));
	while (!w->done && !w->dead)
		pthread_cond_wait(&w->cv, &w->mu);
	rc = w->done ? w->rc : -EIO;
	w->pending = 0;
	pthread_mutex_unlock(&w->mu);
	return rc;
}

void pv_backd_workers_stop(struct pv_backd *d)
{
	unsigned int i;

	for (i = 0; i < d->nworkers; i++) {
		struct pv_backd_worker *w = &d->workers[i];

		if (w->started) {
			call_on(w, NULL, NULL, NULL, 1);
			pthread_join(w->th, NULL);
		}
		worker_fini(w);
	}
	free(d->workers);
	d->workers = NULL;
	d->nworkers = 0;
	if (d->wake_fd >= 0)
		close(d->wake_fd);
	d->wake_fd = -1;
}

void pv_backd_worker_assign(struct pv_blkback_queue *q)
{
	struct pv_backd *d = q->dev->d;
	struct pv_backd_worker *best = NULL;
	unsigned int i;

	q->w = d;
	for (i = 0; i < d->nworkers; i++)
		if (!best || d->workers[i].nqueues < best->nqueues)
			best = &d->workers[i];
	if (best) {
		best->nqueues++;
		q->w = &best->wd;
	}
}

void pv_backd_worker_release(struct pv_blkback_queue *q)
{
	if (q->w && q->w != q->dev->d)
		of(q->w)->nqueues--;
	q->w = NULL;
}

int pv_backd_worker_call(struct pv_blkback_queue *q, int (*fn)(struct pv_blkback_queue *, void *),
			 void *arg)
{
	if (q->w == q->dev->d || self_wd == q->w)
		return fn(q, arg);
	return call_on(of(q->w), fn, q, arg, 0);
}

int pv_backd_worker_call_all(struct pv_blkback_dev *dev,
			     int (*fn)(struct pv_blkback_queue *, void *), void *arg)
{
	unsigned int i;
	int rc = 1;

	for (i = 0; i < dev->nqueues; i++) {
		struct pv_blkback_queue *q = &dev->qs[i];
		int r;

		if (!q->w)
			continue; /* never given a thread: a connect that failed before it */
		r = pv_backd_worker_call(q, fn, arg);
		if (r < 0 && rc >= 0)
			rc = r;
		else if (r == 0 && rc > 0)
			rc = 0;
	}
	return rc;
}

void pv_backd_worker_wake_main(struct pv_backd *w)
{
	uint64_t one = 1;

	if (write(w->main->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		pv_backd_log(PV_LOG_ERROR, COMP, "cannot wake the main thread: %s",
			     strerror(errno));
}
