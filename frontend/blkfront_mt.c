/* SPDX-License-Identifier: MIT */
/*
 * blkfront_mt.c - a blkfront handle used by several threads (pv_blkfront.h, "several
 * threads"): one I/O thread owns the handle, callers queue their ios to it and sleep
 * until theirs completes.
 *
 * The handle's own rule stays: one thread at a time.  Here that thread is the I/O thread;
 * callers touch nothing but the queue, under lock.  The I/O thread takes the queue,
 * submits what the rings take (an io that gets -EAGAIN waits, in order, for room), kicks
 * once for all of them, completes responses with non-blocking polls, and sleeps in poll()
 * on the event channel fd, the xenstore watch fd and an eventfd the callers write.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "blkfront_priv.h"

/* One caller's io; lives on the caller's stack until done is set. */
struct mt_req {
	struct pv_blkfront_io io;
	struct pv_blkfront_mt *m;
	pthread_cond_t cv;
	int done, status;
	struct mt_req *next;
};

struct pv_blkfront_mt {
	struct pv_blkfront *bf;
	pthread_t thread;
	int efd;                     /* eventfd: a new io, or stop */
	pthread_mutex_t lock;
	struct mt_req *head, **tail; /* queued by callers, not yet taken (lock) */
	int stop;                    /* (lock) */
	/* The I/O thread's alone until it is joined. */
	unsigned int inflight;
	struct pv_blkfront_mt_stats st;
};

static void mt_wake(struct pv_blkfront_mt *m)
{
	uint64_t one = 1;

	(void)!write(m->efd, &one, sizeof(one));
}

static void mt_fail(struct pv_blkfront_mt *m, struct mt_req *r, int status)
{
	pthread_mutex_lock(&m->lock);
	r->status = status;
	r->done = 1;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&m->lock);
}

/* From pv_blkfront_poll() in the I/O thread (so inflight needs no lock). */
static void mt_done(struct pv_blkfront_io *io, int status)
{
	struct mt_req *r = io->opaque;

	r->m->inflight--;
	mt_fail(r->m, r, status);
}

static void *mt_main(void *arg)
{
	struct pv_blkfront_mt *m = arg;
	struct pv_blkfront *bf = m->bf;
	struct mt_req *wait_head = NULL, **wait_tail = &wait_head, *r;
	int evfd = pv_evtchn_fd(bf->xb.p), xsfd = pv_xs_watch_fd(bf->xb.p), failed = 0;

	for (;;) {
		struct pollfd pfd[3];
		unsigned int before;
		uint64_t v;
		int n, stop;

		pthread_mutex_lock(&m->lock);
		*wait_tail = m->head;
		if (m->head)
			wait_tail = m->tail;
		m->head = NULL;
		m->tail = &m->head;
		stop = m->stop;
		pthread_mutex_unlock(&m->lock);

		while ((r = wait_head) != NULL) {
			int rc = pv_blkfront_submit(bf, &r->io);

			if (rc == -EAGAIN)
				break;
			wait_head = r->next;
			if (!wait_head)
				wait_tail = &wait_head;
			if (rc < 0) {
				mt_fail(m, r, rc);
				continue;
			}
			m->st.ios++;
			if (++m->inflight > m->st.max_inflight)
				m->st.max_inflight = m->inflight;
		}
		pv_blkfront_kick(bf);
		/*
		 * Non-blocking polls until one completes nothing: that one also asked the back end
		 * for an event at the next response (the final check), so poll() below misses none.
		 */
		before = m->inflight;
		while ((n = pv_blkfront_poll(bf, 0)) > 0)
			;
		if (n < 0)
			failed = 1; /* every io in flight has completed; submit() fails from now on */
		if (wait_head && (m->inflight < before || failed))
			continue; /* room on the rings, or the waiting ios fail now */
		if (stop && !wait_head && !m->inflight)
			break;

		pfd[0] = (struct pollfd){ .fd = m->efd, .events = POLLIN };
		/* A failed handle drains neither its events nor its watch: do not spin on them. */
		pfd[1] = (struct pollfd){ .fd = failed ? -1 : evfd, .events = POLLIN };
		pfd[2] = (struct pollfd){ .fd = failed ? -1 : xsfd, .events = POLLIN };
		/* Ios waiting for room: a finite sleep, whatever frees the slots. */
		if (poll(pfd, 3, wait_head ? 100 : -1) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents & POLLIN)
			(void)!read(m->efd, &v, sizeof(v));
	}
	/*
	 * Left by a poll() error: nobody may stay asleep, neither callers with an io in flight
	 * (failed through their done callbacks), nor ios queued since the last take, nor
	 * callers to come (stop refuses them).
	 */
	if (m->inflight)
		bf_fail_all(bf, -EIO);
	pthread_mutex_lock(&m->lock);
	m->stop = 1;
	*wait_tail = m->head;
	m->head = NULL;
	m->tail = &m->head;
	pthread_mutex_unlock(&m->lock);
	while ((r = wait_head) != NULL) {
		wait_head = r->next;
		mt_fail(m, r, -EIO);
	}
	return NULL;
}

int pv_blkfront_mt_start(struct pv_blkfront *bf, struct pv_blkfront_mt **out)
{
	struct pv_blkfront_mt *m;
	int rc;

	/* Its I/O thread sleeps on the device's handle: queues with their own would not wake it. */
	if (!bf || !out || bf->own_handles)
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->bf = bf;
	m->tail = &m->head;
	m->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (m->efd < 0) {
		free(m);
		return -errno;
	}
	pthread_mutex_init(&m->lock, NULL);
	rc = pthread_create(&m->thread, NULL, mt_main, m);
	if (rc) {
		pthread_mutex_destroy(&m->lock);
		close(m->efd);
		free(m);
		return -rc;
	}
	*out = m;
	return 0;
}

int pv_blkfront_mt_io(struct pv_blkfront_mt *m, enum pv_blkfront_op op, void *buf, size_t len,
		      uint64_t offset)
{
	struct mt_req r = { .io = { .op = op, .offset = offset, .len = len, .buf = buf,
				    .done = mt_done }, .m = m };
	int stopping, rc;

	if (!m)
		return -EINVAL;
	r.io.opaque = &r;
	pthread_cond_init(&r.cv, NULL);
	pthread_mutex_lock(&m->lock);
	stopping = m->stop;
	if (!stopping) {
		*m->tail = &r;
		m->tail = &r.next;
	}
	pthread_mutex_unlock(&m->lock);
	if (stopping) {
		pthread_cond_destroy(&r.cv);
		return -ESHUTDOWN;
	}
	mt_wake(m);
	pthread_mutex_lock(&m->lock);
	while (!r.done)
		pthread_cond_wait(&r.cv, &m->lock);
	rc = r.status;
	pthread_mutex_unlock(&m->lock);
	pthread_cond_destroy(&r.cv);
	return rc;
}

void pv_blkfront_mt_stop(struct pv_blkfront_mt *m, struct pv_blkfront_mt_stats *st)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	m->stop = 1;
	pthread_mutex_unlock(&m->lock);
	mt_wake(m);
	pthread_join(m->thread, NULL);
	if (st)
		*st = m->st;
	pthread_mutex_destroy(&m->lock);
	close(m->efd);
	free(m);
}
