/* SPDX-License-Identifier: MIT */
/*
 * pv_blkback_sched.c - fairness between guests in pvio-backd's one event loop.
 *
 * Bounded work: a queue takes at most PV_BLKBACK_KICK_BUDGET requests per turn.  One with
 * requests left goes to the back of a run queue, and an eventfd, readable while that run
 * queue is not empty, brings the loop back to it after one turn of every other fd
 * (xenstore watches, other guests' ports, io_uring completions, the control socket).
 * A guest that refills its ring as fast as it is answered thus shares the loop instead
 * of holding it.
 *
 * Event storms: a notification that brought no request is spurious.  After
 * PV_BLKBACK_SPURIOUS_MAX in a row the port is left masked (Xen's lateeoi does the same
 * since XSA-332), for 1 ms doubling per storm up to 2^PV_BLKBACK_STORM_MAX_SHIFT ms; the
 * guest's notifications then cost us nothing.  Unmasking takes a turn of the ring first,
 * so a request published while masked is never lost; a request resets the backoff, and so
 * does one taken since the last notification by any path.
 */
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "pv_blkback.h"

#define COMP "sched"

static void poll_unlink(struct pv_backd *d, struct pv_blkback_queue *q);

static void work_set(struct pv_backd *d, int on)
{
	uint64_t v = 1;

	if (on) {
		if (write(d->sched_work_fd, &v, sizeof(v)) < 0)
			return; /* EAGAIN: a full counter is readable all the same */
	} else if (read(d->sched_work_fd, &v, sizeof(v)) < 0) {
		return; /* EAGAIN: already clear */
	}
}

static struct pv_blkback_queue *runq_pop(struct pv_backd *d)
{
	struct pv_blkback_queue *q = d->runq_head;

	if (!q)
		return NULL;
	d->runq_head = q->run_next;
	if (!d->runq_head)
		d->runq_tail = NULL;
	q->run_next = NULL;
	q->on_runq = 0;
	d->runq_len--;
	return q;
}

/* One round: each queue waiting at its start gets one budget, at most PASS_QUEUES of them. */
static void on_work(struct pv_loop *loop, int fd, uint32_t events, void *opaque)
{
	struct pv_backd *d = opaque;
	unsigned int n = d->runq_len, i;

	(void)loop;
	(void)fd;
	(void)events;
	work_set(d, 0);
	if (n > PV_BLKBACK_PASS_QUEUES)
		n = PV_BLKBACK_PASS_QUEUES;
	for (i = 0; i < n; i++) {
		struct pv_blkback_queue *q = runq_pop(d);

		if (!q)
			break;
		pv_blkback_kick(q); /* back on the run queue if it still has more */
		/*
		 * A notification that came meanwhile is served now, not after the other turns
		 * of this round: a guest waiting for one request waits for one flooder's
		 * budget at most (one epoll_wait with no timeout when none came).
		 */
		if (d->runq_head)
			pv_blkback_evtchn_ready(d);
	}
	if (d->runq_head)
		work_set(d, 1);
	pv_blkback_process_dirty(d);
}

static void timer_arm(struct pv_backd *d)
{
	struct itimerspec its = { 0 };
	struct pv_blkback_queue *q;
	uint64_t first = 0;

	for (q = d->storm_list; q; q = q->storm_next)
		if (!first || q->storm_until_ns < first)
			first = q->storm_until_ns;
	if (d->retry_at_ns && (!first || d->retry_at_ns < first))
		first = d->retry_at_ns;
	if (first) {
		its.it_value.tv_sec = (time_t)(first / 1000000000ull);
		its.it_value.tv_nsec = (long)(first % 1000000000ull);
	}
	timerfd_settime(d->sched_timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void storm_unlink(struct pv_backd *d, struct pv_blkback_queue *q)
{
	struct pv_blkback_queue **pp;

	for (pp = &d->storm_list; *pp; pp = &(*pp)->storm_next) {
		if (*pp == q) {
			*pp = q->storm_next;
			break;
		}
	}
	q->storm_next = NULL;
	q->storm_masked = 0;
}

static void on_timer(struct pv_loop *loop, int fd, uint32_t events, void *opaque)
{
	struct pv_backd *d = opaque;
	struct pv_blkback_queue *q, *next;
	uint64_t v, now = pv_backd_now_ns();

	(void)loop;
	(void)events;
	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	if (d->retry_at_ns && d->retry_at_ns <= now) {
		unsigned int i;

		d->retry_at_ns = 0;
		/* Through the ports: a worker's queues are on no list of their own. */
		for (i = 0; i < d->nports; i++) {
			q = d->ports[i];
			if (!q || !q->submit_retry)
				continue;
			q->submit_retry = 0;
			pv_blkback_io_submit(q); /* sets it again if refused again */
		}
	}
	for (q = d->storm_list; q; q = next) {
		next = q->storm_next;
		if (q->storm_until_ns > now)
			continue;
		storm_unlink(d, q);
		/* The ring first: what was published while masked is taken now. */
		pv_blkback_kick(q);
		pv_evtchn_unmask(d->plat, q->port);
	}
	timer_arm(d);
	pv_blkback_process_dirty(d);
}

int pv_blkback_sched_init(struct pv_backd *d)
{
	int rc;

	if (d->sched_ok)
		return 0;
	d->sched_work_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	d->sched_timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (d->sched_work_fd < 0 || d->sched_timer_fd < 0) {
		rc = -errno;
		goto fail;
	}
	rc = pv_loop_add(d->loop, d->sched_work_fd, EPOLLIN, on_work, d);
	if (rc < 0)
		goto fail;
	rc = pv_loop_add(d->loop, d->sched_timer_fd, EPOLLIN, on_timer, d);
	if (rc < 0) {
		pv_loop_del(d->loop, d->sched_work_fd);
		goto fail;
	}
	d->sched_ok = 1;
	return 0;
fail:
	if (d->sched_work_fd >= 0)
		close(d->sched_work_fd);
	if (d->sched_timer_fd >= 0)
		close(d->sched_timer_fd);
	d->sched_work_fd = d->sched_timer_fd = -1;
	errno = -rc;
	return rc;
}

void pv_blkback_sched_fini(struct pv_backd *d)
{
	if (!d->sched_ok)
		return;
	pv_loop_del(d->loop, d->sched_work_fd);
	pv_loop_del(d->loop, d->sched_timer_fd);
	close(d->sched_work_fd);
	close(d->sched_timer_fd);
	d->sched_work_fd = d->sched_timer_fd = -1;
	d->sched_ok = 0;
}

void pv_blkback_sched_more(struct pv_blkback_queue *q)
{
	struct pv_backd *d = q->w;

	if (q->on_runq || !d->sched_ok)
		return;
	/* Served by the run queue now; its turn puts it back on the poll list if idle. */
	poll_unlink(d, q);
	q->on_runq = 1;
	q->run_next = NULL;
	if (d->runq_tail)
		d->runq_tail->run_next = q;
	else
		d->runq_head = q;
	d->runq_tail = q;
	if (d->runq_len++ == 0)
		work_set(d, 1);
}

void pv_blkback_sched_notified(struct pv_blkback_queue *q, unsigned int taken)
{
	struct pv_blkback_dev *dev = q->dev;
	struct pv_backd *d = q->w;

	/*
	 * Requests taken since the last notification, by whatever path (after completions,
	 * a run-queue turn, the unmask below), were what this one announced: the guest
	 * notifies after publishing, and we may have looked first.  Counted spurious, an
	 * honest QD1 guest whose requests are taken after completions ends up masked, and
	 * once masked each request's own notification, pending across the unmask that took
	 * it, masked it again for longer: one request per 64 ms, for good.
	 */
	if (taken || q->on_runq || q->ring.req_cons != q->note_cons) {
		q->spurious = 0;
		q->storm_level = 0;
	} else {
		q->st.spurious_notifications++;
		if (q->spurious < PV_BLKBACK_SPURIOUS_MAX)
			q->spurious++;
	}
	q->note_cons = q->ring.req_cons;
	if (q->storm_masked)
		return; /* the timer unmasks it */
	if (!d->sched_ok || q->spurious < PV_BLKBACK_SPURIOUS_MAX) {
		pv_evtchn_unmask(d->plat, q->port);
		return;
	}
	/*
	 * Left masked: the guest's notifications pend in the hypervisor and wake nobody.
	 * q->spurious stays at the threshold, so one more after the unmask masks again,
	 * for longer.
	 */
	q->st.storm_masks++;
	q->storm_masked = 1;
	q->storm_until_ns = pv_backd_now_ns() + (1000000ull << q->storm_level);
	if (q->storm_level < PV_BLKBACK_STORM_MAX_SHIFT)
		q->storm_level++;
	q->storm_next = d->storm_list;
	d->storm_list = q;
	timer_arm(d);
	pv_backd_log_rl(&q->rl, PV_LOG_DEBUG, COMP,
			"vbd %u/%u queue %u: event storm, port masked for %u ms", dev->domid,
			dev->devid, q->idx, 1u << (q->storm_level - 1));
}

void pv_blkback_sched_retry(struct pv_blkback_queue *q)
{
	struct pv_backd *d = q->w;

	q->submit_retry = 1;
	if (!d->sched_ok || d->retry_at_ns)
		return; /* without a timer the next completion or kick retries */
	d->retry_at_ns = pv_backd_now_ns() + 1000000ull;
	timer_arm(d);
}

void pv_blkback_sched_forget(struct pv_blkback_queue *q)
{
	struct pv_backd *d = q->w;
	struct pv_blkback_queue **pp;

	if (!d)
		return;
	if (q->on_runq) {
		for (pp = &d->runq_head; *pp; pp = &(*pp)->run_next) {
			if (*pp == q) {
				*pp = q->run_next;
				break;
			}
		}
		d->runq_tail = NULL;
		for (pp = &d->runq_head; *pp; pp = &(*pp)->run_next)
			d->runq_tail = *pp;
		q->on_runq = 0;
		d->runq_len--;
	}
	if (q->storm_masked) {
		storm_unlink(d, q);
		timer_arm(d);
	}
	poll_unlink(d, q);
}

/* ---- busy-polling (pvio-backd --poll-us) ----------------------------------------------- */

/*
 * A queue whose turn found no more requests is looked at instead of re-armed: req_event
 * stays behind req_cons, so the guest's push finds no notification asked for and makes
 * no system call, and we make none to learn of the request.  The loop does not sleep
 * while a queue is polled; between slices of PV_BLKBACK_POLL_SLICE_NS of looking it
 * looks at every fd (epoll_wait with no timeout), so other guests, xenstore and the
 * control socket are served as before, a slice late at most.  After --poll-us with
 * nothing found the queue is re-armed with the final check (a request published
 * meanwhile is taken then, never lost) and the guest's notifications wake us again.
 */
#define PV_BLKBACK_POLL_SLICE_NS 10000ull
/* Looks between clock reads. */
#define PV_BLKBACK_POLL_LOOKS 64

static void poll_unlink(struct pv_backd *d, struct pv_blkback_queue *q)
{
	struct pv_blkback_queue **pp;

	if (!q->on_poll)
		return;
	for (pp = &d->poll_head; *pp; pp = &(*pp)->poll_next) {
		if (*pp == q) {
			*pp = q->poll_next;
			break;
		}
	}
	q->poll_next = NULL;
	q->on_poll = 0;
}

int pv_blkback_poll_begin(struct pv_blkback_queue *q)
{
	struct pv_backd *d = q->w;
	struct pv_blkback_queue **pp;

	if (!d->poll_ns || !d->sched_ok || q->stopped || q->have_stop_at)
		return 0;
	q->poll_until_ns = pv_backd_now_ns() + d->poll_ns;
	if (!q->on_poll) {
		/* At the tail: the queues with requests are served in list order. */
		for (pp = &d->poll_head; *pp; pp = &(*pp)->poll_next)
			;
		*pp = q;
		q->poll_next = NULL;
		q->on_poll = 1;
	}
	return 1;
}

int pv_blkback_poll_idle(struct pv_loop *loop, void *opaque)
{
	struct pv_backd *d = opaque;
	struct pv_blkback_queue *q, *next;
	uint64_t start, now;
	unsigned int looks;

	(void)loop;
	if (!d->poll_head)
		return 0;
	start = pv_backd_now_ns();
	/*
	 * A whole slice even when there is work: an epoll_wait costs about 2 us here, and a
	 * return to the loop after every turn made it most of a polling daemon's time.
	 * Nothing below keeps a queue pointer across a turn: the list is walked afresh.
	 */
	for (;;) {
		int found = 0;

		for (looks = 0; looks < PV_BLKBACK_POLL_LOOKS && !found; looks++) {
			for (q = d->poll_head; q && !found; q = q->poll_next)
				found = pv_ring_unconsumed_requests(&q->ring) != 0 ||
					pv_blkback_io_cq_ready(q);
			if (!found)
				pv_ring_cpu_relax();
		}
		if (found) {
			struct pv_blkback_queue *turn[PV_BLKBACK_PASS_QUEUES];
			unsigned int n = 0, i;

			/*
			 * A polled queue's completions are taken as they land, not at the next
			 * epoll_wait: its guest is waiting for them.  One queue per pass, and
			 * the rings' turns in the same pass: a queue whose completions keep
			 * landing must not keep the other polled rings (which send no
			 * notification) waiting.  Nothing is freed before process_dirty, so
			 * the list walked after the reap holds.
			 */
			for (q = d->poll_head; q; q = q->poll_next)
				if (pv_blkback_io_cq_ready(q))
					break;
			if (q)
				pv_blkback_io_reap(q);
			/*
			 * The guest's index only chose whom to look at; the turn checks it.
			 * Every queue with requests gets one turn (a budget), taken off the
			 * list first: the turn puts it back at the tail if it ends idle.
			 * Turns cannot unbind a queue (a disconnect waits for process_dirty),
			 * so the array holds.
			 */
			for (q = d->poll_head; q && n < PV_BLKBACK_PASS_QUEUES; q = q->poll_next)
				if (pv_ring_unconsumed_requests(&q->ring))
					turn[n++] = q;
			for (i = 0; i < n; i++)
				poll_unlink(d, turn[i]);
			for (i = 0; i < n; i++) {
				turn[i]->st.poll_hits++;
				pv_blkback_kick(turn[i]);
			}
			pv_blkback_process_dirty(d);
		}
		now = pv_backd_now_ns();
		/* The guest may wait for our CPU (PV_RING_SPIN_YIELD_NS). */
		if (now - d->poll_yielded_ns >= PV_RING_SPIN_YIELD_NS) {
			sched_yield();
			d->poll_yielded_ns = now;
		}
		for (q = d->poll_head; !found && q; q = next) {
			next = q->poll_next;
			if (q->poll_until_ns > now && !q->stopped)
				continue;
			poll_unlink(d, q);
			if (q->stopped)
				continue;
			q->st.poll_expired++;
			/* Re-armed; what came meanwhile is taken (and polled for again). */
			if (pv_ring_final_check_requests(&q->ring)) {
				pv_blkback_kick(q);
				pv_blkback_process_dirty(d);
				break; /* the list may have changed under us */
			}
		}
		if (!d->poll_head || now - start >= PV_BLKBACK_POLL_SLICE_NS)
			return d->poll_head != NULL;
	}
}
