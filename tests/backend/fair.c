/* SPDX-License-Identifier: MIT */
/*
 * fair.c - one guest must not starve the others (issue 9, part 2).
 *
 *   budget  a disk with a full 512-slot ring and another disk with one request, both
 *           notified while the daemon is stopped: the other disk's answer is notified
 *           before the flooder's last one (pvio-backd takes PV_BLKBACK_KICK_BUDGET requests
 *           per queue per turn), and every request is answered exactly once.
 *   storm   a guest notifying 100000 times without requests: the daemon counts the
 *           spurious notifications and masks the port for a while; a request the storming
 *           guest publishes meanwhile is still answered.  It also prints what the storm
 *           costs: pvio-backd's CPU time (/proc/<pid>/stat) and another guest's QD1 round
 *           trip unloaded and during the storm (numbers only: no timing is asserted).
 *   request flood  domain 1 keeps two 16-page rings full of 4 KiB reads and bad requests,
 *           re-posting each as it is answered; socket flood  domain 1 holds every
 *           pvio-simd connection and event channel it is allowed.  Both print another
 *           guest's QD1 round trip unloaded and flooded (issue 9's 2x goal) and assert only
 *           that every request is answered exactly once and right.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <stddef.h>
#include <dirent.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fair.h"
#include "harness.h"
#include "pv_backd.h"
#include "pv_simraw.h"
#include "sim/pv_sim.h"

static unsigned int fair_devid = 51900;

/*
 * One data thread: these tests order two guests' rings within one loop (a worker's);
 * with two, each guest's disk would have a thread of its own.
 */
int fair_suite_init(void)
{
	return h_start("--threads 1") < 0 ? -1 : 0;
}

int fair_suite_clean(void)
{
	int st = h_stop();

	return st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0 ? -1 : 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A null disk ("null:") for domain domid, connected with c. */
static int null_dev(struct h_fe *f, unsigned int domid, const struct h_conn *c)
{
	if (h_attach(f, domid, fair_devid++, 1u << 20, "w", "null:") < 0)
		return -1;
	return h_connect(f, c);
}

/* A test's front end done with: closed, its device detached, freed. */
static void fe_end(struct h_fe *f)
{
	CU_ASSERT_EQUAL(h_fe_close(f), 0);
	CU_ASSERT_EQUAL(h_detach(f), 0);
	h_fe_free(f);
}

static void flush_req(struct blkif_request *r, uint64_t id)
{
	memset(r, 0, sizeof(*r));
	r->operation = BLKIF_OP_FLUSH_DISKCACHE;
	r->id = id;
}

/* /proc/<pid>/stat's third field (R, S, T ...), or 0. */

/* utime + stime of pid in milliseconds (fields 14 and 15 of /proc/<pid>/stat), or -1. */
static long long proc_cpu_ms(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	FILE *fp;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fp = fopen(path, "r");
	if (!fp)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = 0;
	p = strrchr(buf, ')');
	/* after ") ": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
			 &ut, &st) != 2)
		return -1;
	return (long long)((ut + st) * 1000 / (unsigned long long)sysconf(_SC_CLK_TCK));
}

/* Waits for a response on queue 0 with the event channel, as a real front end does. */
static int wait_rsp(struct h_fe *f, struct blkif_response *rsp, int ms)
{
	struct pv_platform *p = h_dom[f->domid];
	struct pv_ring_front *ring = &f->q[0].ring;
	struct pollfd pfd = { .fd = pv_evtchn_fd(p), .events = POLLIN };
	pv_ring_idx_t prod;
	int port;

	for (;;) {
		if (pv_ring_front_rsp_prod(ring, &prod) > 0) {
			pv_blkif_front_copy_rsp(ring, ring->rsp_cons++, rsp);
			return 0;
		}
		if (pv_ring_final_check_responses(ring))
			continue;
		if (poll(&pfd, 1, ms) <= 0)
			return -ETIMEDOUT;
		while ((port = pv_evtchn_pending(p)) >= 0)
			pv_evtchn_unmask(p, (evtchn_port_t)port);
	}
}

/*
 * Which of two ports of one domain was notified first: the sim's event channels are
 * eventfds in one epoll set, whose ready list is in order of arrival.
 */
static int first_pending(struct pv_platform *p, int ms)
{
	struct pollfd pfd = { .fd = pv_evtchn_fd(p), .events = POLLIN };

	if (poll(&pfd, 1, ms) <= 0)
		return -ETIMEDOUT;
	return pv_evtchn_pending(p);
}

/* Stops pvio-backd until it is in state T (its pending kicks then arrive together). */
static void stop_backd(void)
{
	CU_ASSERT_EQUAL(h_backd_pause(), 0);
}

/*
 * With pvio-backd stopped: a's ring full of n flushes (notified only by the last
 * response), then one flush `id` on b; the daemon resumes with both kicks pending, the
 * flooder's first.  b's answer must come before the flooder's last, not after all of it.
 */
static void flood_then_one(struct h_fe *a, struct h_fe *b, unsigned int n, uint64_t id)
{
	struct blkif_request r;
	struct blkif_response rsp;
	unsigned int i;
	int first, second;

	stop_backd();
	for (i = 0; i < n; i++) {
		flush_req(&r, i);
		h_put(a, 0, &r);
	}
	__atomic_store_n(&((struct pv_sring *)a->q[0].sring)->rsp_event, n, __ATOMIC_RELEASE);
	h_push(a, 0);
	flush_req(&r, id);
	h_put(b, 0, &r);
	h_push(b, 0);
	kill(h_backd, SIGCONT);
	first = first_pending(h_dom[1], 5000);
	second = first_pending(h_dom[1], 5000);
	CU_ASSERT_EQUAL(first, (int)b->q[0].port);
	CU_ASSERT_EQUAL(second, (int)a->q[0].port);
	if (first >= 0)
		pv_evtchn_unmask(h_dom[1], (evtchn_port_t)first);
	if (second >= 0)
		pv_evtchn_unmask(h_dom[1], (evtchn_port_t)second);
	CU_ASSERT_EQUAL(h_get(b, 0, &rsp, 5000), 0);
	CU_ASSERT_EQUAL(rsp.id, id);
	CU_ASSERT_EQUAL(rsp.status, BLKIF_RSP_OKAY);
}

static void test_budget(void)
{
	struct h_conn big = { .order = 4 }, small = { 0 };
	struct blkif_response rsp;
	struct h_fe a, b;
	unsigned int n, got = 0, dup = 0;
	unsigned char *seen;
	long long by, ty;

	/* The flooder and the other disk on one domain, so that one epoll set orders them. */
	CU_ASSERT_EQUAL_FATAL(null_dev(&a, 1, &big), 0);
	CU_ASSERT_EQUAL_FATAL(null_dev(&b, 1, &small), 0);
	n = a.q[0].ring.nr_ents;
	CU_ASSERT_FATAL(n > 2 * PV_BLKBACK_KICK_BUDGET);
	seen = calloc(n, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(seen);
	flood_then_one(&a, &b, n, 4242);
	while (got < n && h_get(&a, 0, &rsp, 5000) == 0) {
		if (rsp.id >= n || seen[rsp.id] || rsp.status != BLKIF_RSP_OKAY)
			dup++;
		else
			seen[rsp.id] = 1;
		got++;
	}
	CU_ASSERT_EQUAL(got, n);
	CU_ASSERT_EQUAL(dup, 0);
	/*
	 * n requests in turns of the budget: every turn but the last yields.  A turn the
	 * machine made slower than PV_BLKBACK_TURN_NS yields early, on time: more turns.
	 */
	by = h_stat(&a, "budget_yields");
	ty = h_stat(&a, "time_yields");
	CU_ASSERT(by >= 0 && by <= n / PV_BLKBACK_KICK_BUDGET - 1);
	CU_ASSERT(ty >= 0 && by + ty >= n / PV_BLKBACK_KICK_BUDGET - 1);
	CU_ASSERT_EQUAL(h_stat(&b, "budget_yields"), 0);
	CU_ASSERT_EQUAL(h_stat(&a, "requests"), n);
	free(seen);
	fe_end(&a);
	fe_end(&b);
}

/*
 * A guest with one request in flight is served before a flooder's turn: both notified
 * while the daemon is stopped, the flooder first, which asks to hear of its first
 * response.  Its notification must come second: the short queue's turn came first.
 * (Before, ports were served in the order they were notified: the flooder's turn of
 * PV_BLKBACK_KICK_BUDGET came first.)
 */
static void test_short_first(void)
{
	struct h_conn big = { .order = 4 }, small = { 0 };
	struct blkif_request r;
	struct blkif_response rsp;
	struct h_fe a, b;
	unsigned int n, i, got = 0;
	int first, second;

	CU_ASSERT_EQUAL_FATAL(null_dev(&a, 1, &big), 0);
	CU_ASSERT_EQUAL_FATAL(null_dev(&b, 1, &small), 0);
	n = a.q[0].ring.nr_ents;
	stop_backd();
	for (i = 0; i < n; i++) {
		flush_req(&r, i);
		h_put(&a, 0, &r);
	}
	__atomic_store_n(&((struct pv_sring *)a.q[0].sring)->rsp_event, 1, __ATOMIC_RELEASE);
	h_push(&a, 0);
	flush_req(&r, 4343);
	h_put(&b, 0, &r);
	h_push(&b, 0);
	kill(h_backd, SIGCONT);
	first = first_pending(h_dom[1], 5000);
	second = first_pending(h_dom[1], 5000);
	CU_ASSERT_EQUAL(first, (int)b.q[0].port);
	CU_ASSERT_EQUAL(second, (int)a.q[0].port);
	if (first >= 0)
		pv_evtchn_unmask(h_dom[1], (evtchn_port_t)first);
	if (second >= 0)
		pv_evtchn_unmask(h_dom[1], (evtchn_port_t)second);
	CU_ASSERT_EQUAL(h_get(&b, 0, &rsp, 5000), 0);
	CU_ASSERT_EQUAL(rsp.id, 4343);
	while (got < n && h_get(&a, 0, &rsp, 5000) == 0)
		got++;
	CU_ASSERT_EQUAL(got, n);
	fe_end(&a);
	fe_end(&b);
}

/* ---- event storm --------------------------------------------------------------------------- */

#define STORM_NOTIFIES 100000
#define QD1_N 2000

struct storm {
	struct h_fe *f;
	volatile int done;
	uint64_t ns;
};

static void *storm_thread(void *arg)
{
	struct storm *s = arg;
	struct blkif_request r;
	uint64_t t0 = now_ns();
	unsigned int i;

	for (i = 0; i < STORM_NOTIFIES; i++) {
		if (i == STORM_NOTIFIES / 2) {
			/* One real request in the middle of the storm: it must be answered. */
			flush_req(&r, 777);
			h_put(s->f, 0, &r);
			pv_ring_push_requests(&s->f->q[0].ring);
		}
		pv_evtchn_notify(h_dom[s->f->domid], s->f->q[0].port);
	}
	s->ns = now_ns() - t0;
	__atomic_store_n(&s->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* QD1 round trips on f until n are done or *stop is set; returns how many, times in lat. */
static unsigned int qd1(struct h_fe *f, uint64_t *lat, unsigned int n, volatile int *stop)
{
	struct blkif_request r;
	struct blkif_response rsp;
	unsigned int i;

	for (i = 0; i < n && !(stop && __atomic_load_n(stop, __ATOMIC_ACQUIRE)); i++) {
		uint64_t t0 = now_ns();

		flush_req(&r, i);
		h_put(f, 0, &r);
		h_push(f, 0);
		if (wait_rsp(f, &rsp, 5000) < 0 || rsp.id != i)
			break;
		lat[i] = now_ns() - t0;
	}
	return i;
}

static uint64_t pct(uint64_t *lat, unsigned int n, unsigned int p)
{
	if (!n)
		return 0;
	qsort(lat, n, sizeof(*lat), cmp_u64);
	return lat[(size_t)(n - 1) * p / 100];
}

static void test_storm(void)
{
	struct h_conn c0 = { 0 };
	struct h_fe s, o;
	struct storm st;
	struct blkif_response rsp;
	struct blkif_request r;
	static uint64_t lat0[QD1_N], lat1[QD1_N * 50];
	unsigned int n0, n1;
	long long cpu0, cpu1, nin, spur, masks;
	uint64_t storm_ns;
	pthread_t t;

	CU_ASSERT_EQUAL_FATAL(null_dev(&s, 3, &c0), 0);
	CU_ASSERT_EQUAL_FATAL(null_dev(&o, 2, &c0), 0);
	n0 = qd1(&o, lat0, QD1_N, NULL);
	CU_ASSERT_EQUAL(n0, QD1_N);

	/* The storm alone: what it costs the daemon. */
	memset(&st, 0, sizeof(st));
	st.f = &s;
	cpu0 = proc_cpu_ms(h_backd);
	CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, storm_thread, &st), 0);
	pthread_join(t, NULL);
	usleep(200000); /* what the daemon still does for the storm after it ended */
	cpu1 = proc_cpu_ms(h_backd);
	storm_ns = st.ns;
	/* The request published in the middle of the storm was not lost. */
	CU_ASSERT_EQUAL(h_get(&s, 0, &rsp, 5000), 0);
	CU_ASSERT_EQUAL(rsp.id, 777);
	CU_ASSERT_EQUAL(rsp.status, BLKIF_RSP_OKAY);
	nin = h_stat(&s, "notifications_in");
	spur = h_stat(&s, "spurious_notifications");
	masks = h_stat(&s, "storm_masks");

	/* Another storm, and the other guest's round trips meanwhile. */
	memset(&st, 0, sizeof(st));
	st.f = &s;
	CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, storm_thread, &st), 0);
	n1 = qd1(&o, lat1, QD1_N * 50, &st.done);
	pthread_join(t, NULL);
	CU_ASSERT_EQUAL(h_get(&s, 0, &rsp, 5000), 0);
	CU_ASSERT_EQUAL(rsp.id, 777);

	printf("\n    storm: %u notifications in %.1f ms; pvio-backd CPU %lld ms; it handled %lld "
	       "(spurious %lld, port masked %lld times)\n", STORM_NOTIFIES, storm_ns / 1e6,
	       cpu1 - cpu0, nin, spur, masks);
	printf("    other guest QD1 round trip: unloaded p50 %.1f us p99 %.1f us (%u); "
	       "during another storm p50 %.1f us p99 %.1f us (%u)\n",
	       pct(lat0, n0, 50) / 1e3, pct(lat0, n0, 99) / 1e3, n0, pct(lat1, n1, 50) / 1e3,
	       pct(lat1, n1, 99) / 1e3, n1);
	CU_ASSERT(masks >= 1);
	CU_ASSERT(spur >= PV_BLKBACK_SPURIOUS_MAX);
	/* Masked, the storm wakes the daemon a few times per backoff period, not per kick. */
	CU_ASSERT(nin >= 0 && nin < STORM_NOTIFIES / 100);
	/* The storming guest is served as soon as it sends a real request. */
	flush_req(&r, 778);
	CU_ASSERT_EQUAL(h_do(&s, 0, &r), BLKIF_RSP_OKAY);
	flush_req(&r, 779);
	CU_ASSERT_EQUAL(h_do(&o, 0, &r), BLKIF_RSP_OKAY);
	fe_end(&s);
	fe_end(&o);
}

/*
 * A guest that stormed and then behaves: each request's notification pends on the masked
 * port, the unmask takes the request, and the pending notification then finds the ring
 * empty.  That notification came with a request all the same: counted spurious, it
 * masked the port again for twice as long, and an honest QD1 guest was left at one request
 * per 64 ms for good (make demo's mkfs "hang": requests taken after completions made its
 * notifications look spurious until the port was masked).  Counted as progress, the port
 * is not masked again.
 */
static void test_storm_recovers(void)
{
	struct h_conn c0 = { 0 };
	struct h_fe s;
	static uint64_t lat[64];
	long long masks0, masks1, spur0, spur1;
	unsigned int i, n;

	CU_ASSERT_EQUAL_FATAL(null_dev(&s, 3, &c0), 0);
	/*
	 * Until the third mask (8 ms, each twice as long as the last) has just begun: the
	 * port is masked when the honest requests start.  Counted, not timed.
	 */
	for (i = 0; i < 100000 && h_stat(&s, "storm_masks") < 3; i++)
		for (n = 0; n < 64; n++)
			pv_evtchn_notify(h_dom[s.domid], s.q[0].port);
	masks0 = h_stat(&s, "storm_masks");
	spur0 = h_stat(&s, "spurious_notifications");
	CU_ASSERT(masks0 >= 3);
	n = qd1(&s, lat, 64, NULL);
	CU_ASSERT_EQUAL(n, 64);
	masks1 = h_stat(&s, "storm_masks");
	spur1 = h_stat(&s, "spurious_notifications");
	printf("\n    after the storm: 64 QD1 requests, port masked %lld more times, %lld more "
	       "spurious, p50 %.1f us max %.1f us\n", masks1 - masks0, spur1 - spur0,
	       pct(lat, n, 50) / 1e3, pct(lat, n, 100) / 1e3);
	CU_ASSERT_EQUAL(masks1 - masks0, 0);
	fe_end(&s);
}

/* ---- flooding domain ----------------------------------------------------------------------- */

/*
 * Issue 9 asks that a domain flooding pvio-backd with requests, or pvio-simd with
 * connections and event channels, leaves another guest's QD1 round trip within 2x of its
 * unloaded value.  On a shared 2-core machine a timing assertion would be flaky, so these
 * tests print the numbers (for the note) and assert only that every request is answered
 * exactly once and correctly.
 */

#define FLOOD_ORDER 4         /* 16-page rings: 512 slots each */
#define FLOOD_NQ    2
#define FLOOD_BAD   0x77      /* an operation nobody offers: answered at once, EOPNOTSUPP */
#define FLOOD_BLOCKS 256      /* the flooder's 1 MiB disk in 4 KiB blocks */

struct rflood {
	struct h_fe *f;
	volatile int stop;
	unsigned int nslots;      /* per queue */
	uint32_t *gen;            /* per slot (queue * nslots + i): 0 = nothing in flight */
	uint16_t *page;           /* data page of a read in flight, or UINT16_MAX */
	unsigned char page_busy[H_DATA_PAGES];
	uint64_t answered, reads, bad, dups;
	uint64_t bad_rd, bad_st; /* reads with a wrong status or data; bad ops not EOPNOTSUPP */
};

static uint32_t blk_word(unsigned int blk, unsigned int w)
{
	return 0x9e370000u ^ (blk << 10) ^ w;
}

/* Posts slot k (queue k / nslots): a 4 KiB read if a data page is free, else a bad op. */
static void rflood_post(struct rflood *s, unsigned int k, uint32_t gen)
{
	unsigned int qi = k / s->nslots, pg;
	struct blkif_request r;

	for (pg = 0; pg < H_DATA_PAGES && s->page_busy[pg]; pg++)
		;
	if (pg < H_DATA_PAGES) {
		h_rw(s->f, &r, BLKIF_OP_READ, (uint64_t)(gen * 7u + k) % FLOOD_BLOCKS * 8, pg, 8);
		s->page_busy[pg] = 1;
		s->page[k] = (uint16_t)pg;
		memset(s->f->data + (size_t)pg * 4096, 0xee, 4096);
	} else {
		memset(&r, 0, sizeof(r));
		r.operation = FLOOD_BAD;
		s->page[k] = UINT16_MAX;
	}
	s->gen[k] = gen;
	r.id = (uint64_t)gen << 32 | k;
	h_put(s->f, qi, &r);
}

static void rflood_answer(struct rflood *s, unsigned int qi, const struct blkif_response *rsp)
{
	unsigned int k = (uint32_t)rsp->id, pg;
	uint32_t gen = (uint32_t)(rsp->id >> 32);
	const uint32_t *d;

	if (k / s->nslots != qi || !gen || s->gen[k] != gen) {
		s->dups++;
		return;
	}
	__atomic_fetch_add(&s->answered, 1, __ATOMIC_RELAXED); /* the main thread reads it */
	pg = s->page[k];
	if (pg == UINT16_MAX) {
		s->bad++;
		if (rsp->status != BLKIF_RSP_EOPNOTSUPP || rsp->operation != FLOOD_BAD)
			s->bad_st++;
	} else {
		unsigned int blk = (gen * 7u + k) % FLOOD_BLOCKS, w;

		s->reads++;
		d = (const uint32_t *)(s->f->data + (size_t)pg * 4096);
		if (rsp->status != BLKIF_RSP_OKAY || rsp->operation != BLKIF_OP_READ)
			s->bad_rd++;
		else
			for (w = 0; w < 1024; w++)
				if (d[w] != blk_word(blk, w)) {
					s->bad_rd++;
					break;
				}
		s->page_busy[pg] = 0;
	}
	s->gen[k] = 0;
	if (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE))
		rflood_post(s, k, gen + 1);
}

/* Domain 1: every slot of every queue in flight, re-posted as soon as it is answered. */
static void *rflood_thread(void *arg)
{
	struct rflood *s = arg;
	struct pv_platform *p = h_dom[s->f->domid];
	struct pollfd pfd = { .fd = pv_evtchn_fd(p), .events = POLLIN };
	unsigned int qi, k, inflight;
	int port;

	for (k = 0; k < s->nslots * s->f->nq; k++)
		rflood_post(s, k, 1);
	for (qi = 0; qi < s->f->nq; qi++) {
		pv_ring_push_requests(&s->f->q[qi].ring);
		pv_evtchn_notify(p, s->f->q[qi].port);
	}
	for (;;) {
		int any = 0;

		for (qi = 0; qi < s->f->nq; qi++) {
			struct pv_ring_front *ring = &s->f->q[qi].ring;
			struct blkif_response rsp;
			pv_ring_idx_t prod;
			int n = 0;

			while (pv_ring_front_rsp_prod(ring, &prod) > 0) {
				pv_blkif_front_copy_rsp(ring, ring->rsp_cons++, &rsp);
				rflood_answer(s, qi, &rsp);
				n++;
			}
			if (n) {
				/* A notification with every batch, wanted or not. */
				pv_ring_push_requests(ring);
				pv_evtchn_notify(p, s->f->q[qi].port);
				any = 1;
			}
		}
		for (inflight = 0, k = 0; k < s->nslots * s->f->nq; k++)
			inflight += s->gen[k] != 0;
		if (!inflight)
			break;
		if (!any) {
			/* Re-arm rsp_event; a response that slipped in meanwhile is not notified. */
			for (qi = 0; qi < s->f->nq; qi++)
				any |= pv_ring_final_check_responses(&s->f->q[qi].ring);
			if (any)
				continue;
			if (poll(&pfd, 1, 5000) <= 0)
				break; /* an answer lost: the counts below say so */
			while ((port = pv_evtchn_pending(p)) >= 0)
				pv_evtchn_unmask(p, (evtchn_port_t)port);
		}
	}
	return NULL;
}

static void print_case(const char *what, uint64_t *lat0, unsigned int n0, uint64_t *lat1,
		       unsigned int n1)
{
	double a50 = pct(lat0, n0, 50) / 1e3, a99 = pct(lat0, n0, 99) / 1e3;
	double b50 = pct(lat1, n1, 50) / 1e3, b99 = pct(lat1, n1, 99) / 1e3;

	printf("\n    %s: other guest QD1 unloaded p50 %.1f us p99 %.1f us (%u); flooded p50 %.1f us "
	       "p99 %.1f us (%u); ratio p50 %.2fx p99 %.2fx\n", what, a50, a99, n0, b50, b99, n1,
	       a50 > 0 ? b50 / a50 : 0, a99 > 0 ? b99 / a99 : 0);
}

static void test_request_flood(void)
{
	struct h_conn cf = { .order = FLOOD_ORDER, .nq = FLOOD_NQ }, c0 = { 0 };
	static uint64_t lat0[QD1_N], lat1[QD1_N];
	static uint32_t buf[1024];
	struct h_fe fl, o;
	struct rflood st;
	struct blkif_request r;
	unsigned int n0, n1, b, w;
	uint64_t a0, a1, t0, t1;
	long long reqs;
	pthread_t t;

	CU_ASSERT_EQUAL_FATAL(h_attach(&fl, 1, fair_devid++, FLOOD_BLOCKS * 4096ull, "w", NULL), 0);
	for (b = 0; b < FLOOD_BLOCKS; b++) {
		for (w = 0; w < 1024; w++)
			buf[w] = blk_word(b, w);
		CU_ASSERT_EQUAL_FATAL(pwrite(fl.diskfd, buf, 4096, (off_t)b * 4096), 4096);
	}
	CU_ASSERT_EQUAL_FATAL(h_connect(&fl, &cf), 0);
	CU_ASSERT_EQUAL_FATAL(null_dev(&o, 2, &c0), 0);
	n0 = qd1(&o, lat0, QD1_N, NULL);
	CU_ASSERT_EQUAL(n0, QD1_N);

	memset(&st, 0, sizeof(st));
	st.f = &fl;
	st.nslots = fl.q[0].ring.nr_ents;
	CU_ASSERT_EQUAL(fl.nq, FLOOD_NQ);
	st.gen = calloc((size_t)st.nslots * fl.nq, sizeof(*st.gen));
	st.page = calloc((size_t)st.nslots * fl.nq, sizeof(*st.page));
	CU_ASSERT_FATAL(st.gen && st.page);
	CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, rflood_thread, &st), 0);
	usleep(100000); /* the flood in full swing before measuring */
	a0 = __atomic_load_n(&st.answered, __ATOMIC_RELAXED);
	t0 = now_ns();
	n1 = qd1(&o, lat1, QD1_N, NULL);
	t1 = now_ns();
	a1 = __atomic_load_n(&st.answered, __ATOMIC_RELAXED);
	__atomic_store_n(&st.stop, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	reqs = h_stat(&fl, "requests");

	print_case("request flood", lat0, n0, lat1, n1);
	printf("    request flood: the flooder's rate while measured: %.0f requests/s\n",
	       t1 > t0 ? (double)(a1 - a0) * 1e9 / (double)(t1 - t0) : 0.0);
	printf("    request flood: dom1 %u queues x %u slots: %llu answered (%llu 4 KiB reads, "
	       "%llu bad ops), backd counted %lld requests; duplicates %llu, wrong reads %llu, "
	       "bad ops not EOPNOTSUPP %llu\n", fl.nq, st.nslots, (unsigned long long)st.answered,
	       (unsigned long long)st.reads, (unsigned long long)st.bad, reqs,
	       (unsigned long long)st.dups, (unsigned long long)st.bad_rd,
	       (unsigned long long)st.bad_st);
	CU_ASSERT_EQUAL(n1, QD1_N);
	/* Every flood request answered once, correctly, and nothing still in flight. */
	CU_ASSERT_EQUAL(st.dups, 0);
	CU_ASSERT_EQUAL(st.bad_rd, 0);
	CU_ASSERT_EQUAL(st.bad_st, 0);
	for (b = 0; b < st.nslots * fl.nq; b++)
		CU_ASSERT_EQUAL(st.gen[b], 0);
	CU_ASSERT(st.reads > 0 && st.bad > 0);
	CU_ASSERT(st.answered > (uint64_t)st.nslots * fl.nq);
	CU_ASSERT_EQUAL(reqs, (long long)st.answered);
	flush_req(&r, 4243);
	CU_ASSERT_EQUAL(h_do(&o, 0, &r), BLKIF_RSP_OKAY);
	free(st.gen);
	free(st.page);
	fe_end(&fl);
	fe_end(&o);
}

/*
 * The control for the request flood: two processes that only spin (no I/O, no
 * notification, nothing pvio-backd or pvio-simd sees), as many busy threads as the flood
 * keeps running (the flooding guest and its disk's thread).  Whatever this does to the
 * other guest's round trip is the host scheduler's doing, not the back end's.
 */
static void test_cpu_hogs(void)
{
	struct h_conn c0 = { 0 };
	static uint64_t lat0[QD1_N], lat1[QD1_N];
	struct h_fe o;
	pid_t hog[2];
	unsigned int n0, n1, i;
	int st;

	CU_ASSERT_EQUAL_FATAL(null_dev(&o, 2, &c0), 0);
	n0 = qd1(&o, lat0, QD1_N, NULL);
	CU_ASSERT_EQUAL(n0, QD1_N);
	for (i = 0; i < 2; i++) {
		hog[i] = fork();
		if (hog[i] == 0) {
			volatile uint64_t spin = 0;

			prctl(PR_SET_PDEATHSIG, SIGKILL);
			for (;;)
				spin++;
		}
		CU_ASSERT_FATAL(hog[i] > 0);
	}
	usleep(100000);
	n1 = qd1(&o, lat1, QD1_N, NULL);
	for (i = 0; i < 2; i++) {
		kill(hog[i], SIGKILL);
		CU_ASSERT_EQUAL(waitpid(hog[i], &st, 0), hog[i]);
	}
	CU_ASSERT_EQUAL(n1, QD1_N);
	print_case("two spinning processes, no I/O (the flood's control)", lat0, n0, lat1, n1);
	fe_end(&o);
}

/* ---- connection and event channel flood against pvio-simd ---------------------------------- */

#define SFLOOD_MAX 4096

/*
 * Domain 1 in a child process: takes every hypercall connection, event channel and
 * xenstore connection pvio-simd lets it have, writes the three counts to out, then keeps
 * knocking for more and keeps its xenstore connections busy until in is closed.
 */
static void sflood_child(int in, int out)
{
	static int hcs[SFLOOD_MAX], xss[SFLOOD_MAX];
	unsigned int cnt[3] = { 0 }, i;
	struct pollfd pin = { .fd = in, .events = POLLIN };
	struct pv_sim_msg m;
	char buf[4096];

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	while (cnt[0] < SFLOOD_MAX) {
		int fd = pv_simraw_connect(h_sim.rundir, 1, "hypercall", SOCK_SEQPACKET);

		m = (struct pv_sim_msg){ .op = PV_SIM_OP_HELLO, .a = { PV_SIM_PROTO_VERSION } };
		if (fd < 0 || pv_simraw_hc(fd, &m) < 0) {
			if (fd >= 0)
				close(fd);
			break;
		}
		hcs[cnt[0]++] = fd;
	}
	while (cnt[0] && cnt[1] < 100000) {
		m = (struct pv_sim_msg){ .op = PV_SIM_OP_EVTCHN_ALLOC, .a = { 0 } };
		if (pv_simraw_hc(hcs[0], &m) < 0)
			break;
		cnt[1]++;
	}
	while (cnt[2] < SFLOOD_MAX) {
		int fd = pv_simraw_connect(h_sim.rundir, 1, "socket", SOCK_STREAM);
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (fd < 0 || pv_simraw_xs_read(fd, "domid") < 0 || poll(&p, 1, 1000) != 1 ||
		    recv(fd, buf, sizeof(buf), 0) <= 0) {
			if (fd >= 0)
				close(fd);
			break;
		}
		xss[cnt[2]++] = fd;
	}
	if (write(out, cnt, sizeof(cnt)) != sizeof(cnt))
		_exit(1);
	while (poll(&pin, 1, 0) == 0) {
		for (i = 0; i < 4; i++) {
			int fd = pv_simraw_connect(h_sim.rundir, 1, i % 2 ? "socket" : "hypercall",
						i % 2 ? SOCK_STREAM : SOCK_SEQPACKET);

			if (fd >= 0)
				close(fd);
		}
		for (i = 0; i < cnt[2]; i++) {
			while (recv(xss[i], buf, sizeof(buf), MSG_DONTWAIT) > 0)
				;
			pv_simraw_xs_read(xss[i], "domid");
		}
	}
	_exit(0);
}

static void test_socket_flood(void)
{
	struct h_conn c0 = { 0 };
	static uint64_t lat0[QD1_N], lat1[QD1_N], xs0[200], xs1[200];
	struct h_fe o;
	struct blkif_request r;
	unsigned int n0, n1, cnt[3] = { 0 }, x0 = 0, x1 = 0;
	int to[2], from[2], st;
	pid_t pid;

	CU_ASSERT_EQUAL_FATAL(null_dev(&o, 2, &c0), 0);
	n0 = qd1(&o, lat0, QD1_N, NULL);
	CU_ASSERT_EQUAL(n0, QD1_N);
	for (; x0 < 200; x0++) {
		char *v = NULL;
		size_t len;
		uint64_t t0 = now_ns();

		if (pv_xs_read(h_sim.dom0, 0, o.be, &v, &len) < 0)
			break;
		xs0[x0] = now_ns() - t0;
		free(v);
	}
	CU_ASSERT_EQUAL_FATAL(pipe(to), 0);
	CU_ASSERT_EQUAL_FATAL(pipe(from), 0);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		close(to[1]);
		close(from[0]);
		sflood_child(to[0], from[1]);
	}
	close(to[0]);
	close(from[1]);
	CU_ASSERT_EQUAL(read(from[0], cnt, sizeof(cnt)), (ssize_t)sizeof(cnt));
	n1 = qd1(&o, lat1, QD1_N, NULL);
	/* dom0's own xenstore is served while domain 1 holds everything it may. */
	for (; x1 < 200; x1++) {
		char *v = NULL;
		size_t len;
		uint64_t t0 = now_ns();

		if (pv_xs_read(h_sim.dom0, 0, o.be, &v, &len) < 0)
			break;
		xs1[x1] = now_ns() - t0;
		free(v);
	}
	close(to[1]);
	close(from[0]);
	CU_ASSERT_EQUAL(waitpid(pid, &st, 0), pid);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);

	print_case("socket flood", lat0, n0, lat1, n1);
	printf("    socket flood: dom1 held %u hypercall connections, %u event channels, %u "
	       "xenstore connections; dom0 xenstore read p50 %.1f us -> %.1f us (%u/%u)\n",
	       cnt[0], cnt[1], cnt[2], pct(xs0, x0, 50) / 1e3, pct(xs1, x1, 50) / 1e3, x1, 200u);
	CU_ASSERT_EQUAL(n1, QD1_N);
	CU_ASSERT_EQUAL(x0, 200);
	CU_ASSERT_EQUAL(x1, 200);
	/* The flooder really was refused somewhere, not stopped by this test's own limit. */
	CU_ASSERT(cnt[0] > 0 && cnt[0] < SFLOOD_MAX);
	CU_ASSERT(cnt[1] > 0 && cnt[1] < 100000);
	CU_ASSERT(cnt[2] > 0 && cnt[2] < SFLOOD_MAX);
	flush_req(&r, 4244);
	CU_ASSERT_EQUAL(h_do(&o, 0, &r), BLKIF_RSP_OKAY);
	fe_end(&o);
}

/* ---- time budget and batched unmaps -------------------------------------------------------- */

/*
 * A file disk of FLOOD_BLOCKS 4 KiB blocks, block b filled with blk_word(b, .): a read
 * says by its data which block it read.
 */
static int pattern_disk(struct h_fe *f, unsigned int domid, const struct h_conn *c)
{
	static uint32_t buf[1024];
	unsigned int b, w;

	if (h_attach(f, domid, fair_devid++, FLOOD_BLOCKS * 4096ull, "w", NULL) < 0)
		return -1;
	for (b = 0; b < FLOOD_BLOCKS; b++) {
		for (w = 0; w < 1024; w++)
			buf[w] = blk_word(b, w);
		if (pwrite(f->diskfd, buf, 4096, (off_t)b * 4096) != 4096)
			return -1;
	}
	return h_connect(f, c);
}

/* pvio-simd's counter called name, or -1. */
static long long simd_stat(const char *name)
{
	const char *names[32];
	uint64_t v[32];
	int n = pv_sim_stats(h_sim.dom0, names, v, 32), i;

	for (i = 0; i < n && i < 32; i++)
		if (!strcmp(names[i], name))
			return (long long)v[i];
	return -1;
}

/*
 * Every queue of f full of 4 KiB reads, posted while the daemon is stopped: slot i of
 * queue qi reads block pg into data page pg (pg = (qi * slots + i) % H_DATA_PAGES), so
 * that reads sharing a page agree on its content.  Then collects every answer and checks
 * ids, statuses and data.  Returns the requests answered right, exactly once.
 */
static unsigned int read_burst(struct h_fe *f)
{
	unsigned int n = f->q[0].ring.nr_ents, qi, i, good = 0, pg, w;
	struct blkif_request r;
	struct blkif_response rsp;
	unsigned char *seen = calloc((size_t)n * f->nq, 1);

	CU_ASSERT_PTR_NOT_NULL_FATAL(seen);
	memset(f->data, 0xee, (size_t)H_DATA_PAGES * 4096);
	stop_backd();
	for (qi = 0; qi < f->nq; qi++) {
		for (i = 0; i < n; i++) {
			pg = (qi * n + i) % H_DATA_PAGES;
			h_rw(f, &r, BLKIF_OP_READ, (uint64_t)pg * 8, pg, 8);
			r.id = qi * n + i;
			h_put(f, qi, &r);
		}
		h_push(f, qi);
	}
	kill(h_backd, SIGCONT);
	for (qi = 0; qi < f->nq; qi++) {
		for (i = 0; i < n && h_get(f, qi, &rsp, 5000) == 0; i++) {
			if (rsp.id / n != qi || rsp.id >= (uint64_t)n * f->nq || seen[rsp.id] ||
			    rsp.status != BLKIF_RSP_OKAY || rsp.operation != BLKIF_OP_READ)
				continue;
			seen[rsp.id] = 1;
			good++;
		}
	}
	for (pg = 0; pg < H_DATA_PAGES && pg < n * f->nq; pg++) {
		const uint32_t *d = (const uint32_t *)(f->data + (size_t)pg * 4096);

		for (w = 0; w < 1024; w++)
			if (d[w] != blk_word(pg, w))
				break;
		CU_ASSERT_EQUAL(w, 1024);
	}
	free(seen);
	return good;
}

/*
 * Completions unmap per-request grant mappings in batches: pvio-simd counts fewer
 * GNT_UNMAP requests than pvio-backd unmapped pages (one per request before).  A burst
 * of reads posted while the daemon was stopped completes in batches of turns (4 to 8
 * mappings per call seen here, each push flushing what it has); 2 per call on average is
 * below that and above the 1 of one call per request.
 */
static void test_unmap_batched(void)
{
	struct h_conn c = { .order = 2 };
	struct h_fe f;
	long long u0, u1, g0, g1;
	unsigned int n, good;

	CU_ASSERT_EQUAL_FATAL(pattern_disk(&f, 1, &c), 0);
	n = f.q[0].ring.nr_ents;
	u0 = simd_stat("unmap-calls");
	g0 = h_stat(&f, "grant_unmaps");
	CU_ASSERT_FATAL(u0 >= 0 && g0 >= 0);
	good = read_burst(&f);
	u1 = simd_stat("unmap-calls");
	g1 = h_stat(&f, "grant_unmaps");
	printf("\n    unmap batches: %u reads, %lld pages unmapped in %lld GNT_UNMAP calls\n", n,
	       g1 - g0, u1 - u0);
	CU_ASSERT_EQUAL(good, n);
	CU_ASSERT_EQUAL(g1 - g0, n); /* one page per read, each unmapped */
	CU_ASSERT(u1 - u0 >= (n + PV_BLKBACK_UNMAP_BATCH - 1) / PV_BLKBACK_UNMAP_BATCH);
	CU_ASSERT((u1 - u0) * 2 <= g1 - g0);
	fe_end(&f);
}

/*
 * The "fair-time" suite runs pvio-backd with --test-turn-ns 1: every turn and every
 * completion batch is past its time budget at its first check, which makes the yields
 * exact instead of depending on how fast this machine is.
 */
int fair_time_suite_init(void)
{
	/* --threads 0: the main thread's loop serves the rings too, as before workers. */
	return h_start("--test-turn-ns 1 --max-queues 8 --threads 0") < 0 ? -1 : 0;
}

/* ---- data-path threads (pv_backd_worker.c) ------------------------------------------------ */

int fair_mt_suite_init(void)
{
	return h_start("--threads 2") < 0 ? -1 : 0;
}

/* pvio-backd's data threads: how many, and the CPU ms of the one named name (-1: none). */
static long long thread_cpu_ms(const char *name, unsigned int *nthreads)
{
	char path[320], comm[32];
	long long ms = -1;
	struct dirent *e;
	DIR *dir;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)h_backd);
	dir = opendir(path);
	if (!dir)
		return -1;
	if (nthreads)
		*nthreads = 0;
	while ((e = readdir(dir))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/comm", (int)h_backd, e->d_name);
		fp = fopen(path, "r");
		if (!fp)
			continue;
		if (fgets(comm, sizeof(comm), fp)) {
			comm[strcspn(comm, "\n")] = 0;
			/* Not io_uring's workers (iou-wrk-N), nor libxenstore's watch reader. */
			if (nthreads && !strncmp(comm, "pvio-backd/", 11))
				(*nthreads)++;
			if (!strcmp(comm, name))
				ms = proc_cpu_ms((pid_t)atoi(e->d_name));
		}
		fclose(fp);
	}
	closedir(dir);
	return ms;
}

/*
 * Two guests' disks are served by two threads: each disk says which (block-stats
 * "thread"), they differ, and both threads' CPU time grows while the two guests read
 * (read bursts until each thread has been charged a clock tick, or 400 bursts).  One
 * thread served every guest before.
 */
static void test_threads_split(void)
{
	struct h_conn c = { .order = 2 };
	struct h_fe a, b;
	long long ta, tb, c1, c2, d1 = 0, d2 = 0;
	unsigned int nthreads = 0, round;

	CU_ASSERT_EQUAL_FATAL(pattern_disk(&a, 1, &c), 0);
	CU_ASSERT_EQUAL_FATAL(pattern_disk(&b, 2, &c), 0);
	ta = h_stat(&a, "thread");
	tb = h_stat(&b, "thread");
	CU_ASSERT(ta >= 1 && ta <= 2);
	CU_ASSERT(tb >= 1 && tb <= 2);
	CU_ASSERT_NOT_EQUAL(ta, tb);
	c1 = thread_cpu_ms("pvio-backd/1", &nthreads);
	c2 = thread_cpu_ms("pvio-backd/2", NULL);
	CU_ASSERT_EQUAL(nthreads, 2);
	CU_ASSERT_FATAL(c1 >= 0 && c2 >= 0);
	for (round = 0; round < 400 && (d1 <= 0 || d2 <= 0); round++) {
		CU_ASSERT_EQUAL(read_burst(round & 1 ? &b : &a), a.q[0].ring.nr_ents);
		d1 = thread_cpu_ms("pvio-backd/1", NULL) - c1;
		d2 = thread_cpu_ms("pvio-backd/2", NULL) - c2;
	}
	printf("\n    threads: disks on threads %lld and %lld; %u bursts charged them %lld and "
	       "%lld ms\n", ta, tb, round, d1, d2);
	CU_ASSERT(d1 > 0 && d2 > 0);
	fe_end(&a);
	fe_end(&b);
}

/* A thread per disk at most: a third disk shares a thread, and is served all the same. */
static void test_threads_shared(void)
{
	struct h_conn c = { 0 };
	struct blkif_request r;
	struct h_fe f[3];
	long long t[3];
	unsigned int i;

	for (i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL_FATAL(null_dev(&f[i], 1 + i % 2, &c), 0);
		t[i] = h_stat(&f[i], "thread");
		CU_ASSERT(t[i] >= 1 && t[i] <= 2);
	}
	CU_ASSERT(t[0] != t[1]);
	for (i = 0; i < 3; i++) {
		flush_req(&r, 100 + i);
		CU_ASSERT_EQUAL(h_do(&f[i], 0, &r), BLKIF_RSP_OKAY);
	}
	for (i = 0; i < 3; i++)
		fe_end(&f[i]);
}

/*
 * A thread per queue: one disk's two queues are given to the two threads (the control
 * socket's "queue_threads"), and a burst on both queues charges both threads CPU time,
 * with every read answered once and right.  Before, a disk's queues shared its thread.
 */
static void test_threads_queues(void)
{
	struct h_conn c = { .order = 2, .nq = 2 };
	char cmd[64], out[4096], *p;
	unsigned int t0 = 0, t1 = 0, round;
	long long c1, c2, d1 = 0, d2 = 0;
	struct h_fe f;

	CU_ASSERT_EQUAL_FATAL(pattern_disk(&f, 1, &c), 0);
	CU_ASSERT_EQUAL_FATAL(f.nq, 2);
	snprintf(cmd, sizeof(cmd), "stats %u %u\n", f.domid, f.devid);
	CU_ASSERT_EQUAL_FATAL(h_ctl(cmd, out, sizeof(out)), 0);
	p = strstr(out, "\"queue_threads\":[");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(sscanf(p, "\"queue_threads\":[%u,%u]", &t0, &t1), 2);
	CU_ASSERT(t0 >= 1 && t0 <= 2 && t1 >= 1 && t1 <= 2);
	CU_ASSERT_NOT_EQUAL(t0, t1);
	CU_ASSERT_EQUAL(h_stat(&f, "thread"), t0);
	c1 = thread_cpu_ms("pvio-backd/1", NULL);
	c2 = thread_cpu_ms("pvio-backd/2", NULL);
	CU_ASSERT_FATAL(c1 >= 0 && c2 >= 0);
	for (round = 0; round < 400 && (d1 <= 0 || d2 <= 0); round++) {
		CU_ASSERT_EQUAL(read_burst(&f), f.q[0].ring.nr_ents * 2);
		d1 = thread_cpu_ms("pvio-backd/1", NULL) - c1;
		d2 = thread_cpu_ms("pvio-backd/2", NULL) - c2;
	}
	printf("\n    threads: one disk's queues on threads %u and %u; %u bursts charged them "
	       "%lld and %lld ms\n", t0, t1, round, d1, d2);
	CU_ASSERT(d1 > 0 && d2 > 0);
	CU_ASSERT_EQUAL(h_stat(&f, "reads"), (long long)round * f.q[0].ring.nr_ents * 2);
	fe_end(&f);
}

CU_TestInfo fair_mt_tests[] = {
	{ "two guests' disks: two threads serve them", test_threads_split },
	{ "one disk's two queues: two threads serve them", test_threads_queues },
	{ "a third disk shares a thread and is served", test_threads_shared },
	{ "request flood, a thread per disk: another guest's QD1 round trip (printed)", test_request_flood },
	{ "two CPU hogs, no I/O: the same round trip (printed: the flood's control)", test_cpu_hogs },
	CU_TEST_INFO_NULL,
};

/*
 * A turn past its time budget yields: a flooder's 512 requests are taken PV_BLKBACK_TURN_CHECK
 * at a time (the clock is read that often), never PV_BLKBACK_KICK_BUDGET, and another
 * disk's request posted after the whole flood is answered before the flooder's last.
 */
static void test_turn_time(void)
{
	struct h_conn big = { .order = 4 }, small = { 0 };
	struct blkif_response rsp;
	struct h_fe a, b;
	unsigned int n, got = 0;

	CU_ASSERT_EQUAL_FATAL(null_dev(&a, 1, &big), 0);
	CU_ASSERT_EQUAL_FATAL(null_dev(&b, 1, &small), 0);
	n = a.q[0].ring.nr_ents;
	flood_then_one(&a, &b, n, 4545);
	while (got < n && h_get(&a, 0, &rsp, 5000) == 0)
		got++;
	CU_ASSERT_EQUAL(got, n);
	/* Turns of TURN_CHECK requests: every one but the last yields, on time. */
	CU_ASSERT_EQUAL(h_stat(&a, "time_yields"), n / PV_BLKBACK_TURN_CHECK - 1);
	CU_ASSERT_EQUAL(h_stat(&a, "budget_yields"), 0);
	CU_ASSERT_EQUAL(h_stat(&b, "time_yields"), 0); /* one request: the clock never read */
	CU_ASSERT_EQUAL(h_stat(&a, "requests"), n);
	fe_end(&a);
	fe_end(&b);
}

/*
 * The "fair-done" suite: the same daemon, whose first 5 io_uring_submit calls fail.
 */
int fair_done_suite_init(void)
{
	int rc;

	setenv("PVIO_BACKD_TEST_SUBMIT_FAIL", "5", 1);
	rc = h_start("--test-turn-ns 1 --max-queues 8 --threads 0");
	unsetenv("PVIO_BACKD_TEST_SUBMIT_FAIL");
	return rc < 0 ? -1 : 0;
}

/*
 * A completion batch past its time budget yields and leaves the rest for the next pass.
 * Each queue has an io_uring of its own, and each turn submits PV_BLKBACK_TURN_CHECK
 * reads, whose page-cache copies complete within the submit: only the refused submits
 * (fair_done_suite_init) leave 5 turns' reads queued, which the sixth submits at once,
 * and the completion handler finds more than one batch of PV_BLKBACK_UNMAP_BATCH.  Every
 * read is still answered once, with the right data.
 */
static void test_done_time(void)
{
	struct h_conn c = { .nq = 1 };
	struct h_fe f;
	unsigned int good;

	CU_ASSERT_EQUAL_FATAL(pattern_disk(&f, 1, &c), 0);
	CU_ASSERT_EQUAL_FATAL(f.nq, 1);
	good = read_burst(&f);
	CU_ASSERT_EQUAL(good, f.q[0].ring.nr_ents * f.nq);
	printf("\n    completion yields: %lld (time yields %lld) for %u reads\n",
	       h_stat(&f, "completion_yields"), h_stat(&f, "time_yields"), good);
	CU_ASSERT(h_stat(&f, "completion_yields") > 0);
	CU_ASSERT(h_stat(&f, "submit_retries") > 0);
	CU_ASSERT_EQUAL(h_stat(&f, "reads"), (long long)good);
	fe_end(&f);
}

CU_TestInfo fair_time_tests[] = {
	{ "fair-turn: a turn past its time budget yields; another disk answered first", test_turn_time },
	CU_TEST_INFO_NULL,
};

CU_TestInfo fair_done_tests[] = {
	{ "fair-done: a completion batch past its time budget yields; every read once, right", test_done_time },
	CU_TEST_INFO_NULL,
};

CU_TestInfo fair_tests[] = {
	{ "request budget: a full ring does not hold the loop", test_budget },
	{ "a short queue's notification is served before a flooder's turn", test_short_first },
	{ "event storm: spurious notifications masked, no request lost", test_storm },
	{ "after a storm an honest QD1 guest is not masked again", test_storm_recovers },
	{ "request flood: another guest's QD1 round trip (printed), every request once", test_request_flood },
	{ "socket flood: another guest's QD1 and dom0's xenstore served (printed)", test_socket_flood },
	{ "fair-batch: completions unmap per-request grants in batches", test_unmap_batched },
	CU_TEST_INFO_NULL,
};
