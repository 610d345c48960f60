/* SPDX-License-Identifier: MIT */
/*
 * busypoll.c - pvio-backd --poll-us (issue 12): a ring whose turn found nothing is looked at
 * instead of re-armed, so a guest's next request needs no notification.
 *
 *   kicks   QD1 requests from two guests against a daemon without polling (every request
 *           a notification: the daemon re-armed req_event after each), then against one
 *           with --poll-us (a few notifications at most: req_event stays behind); every
 *           request answered once, right, on both guests; the control socket answers
 *           meanwhile.  Counted from the front ends' kicks and the daemon's counters.
 *   burst   bursts of exactly PV_BLKBACK_KICK_BUDGET requests (a QD32 guest): a turn that
 *           ends on its budget with nothing left keeps polling, so the bursts after the
 *           first need no notification either (it used to re-arm, and polling stopped
 *           for good at QD32).
 *   expiry  after --poll-us with nothing to do the daemon re-arms req_event: the next
 *           request notifies again and is answered (no lost wake-up).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "busypoll.h"
#include "pv_backd.h"

#define POLL_DISK (1u << 20)
#define POLL_N    60u

static struct h_fe pa, pb; /* domain 1 and domain 2 */

int poll_suite_init(void)
{
	struct h_conn c = { 0 };

	if (h_start(NULL) < 0)
		return -1;
	if (h_attach(&pa, 1, 51950, POLL_DISK, "w", NULL) < 0 || h_connect(&pa, &c) < 0)
		return -1;
	c.persistent = 1;
	if (h_attach(&pb, 2, 51950, POLL_DISK, "w", NULL) < 0 || h_connect(&pb, &c) < 0)
		return -1;
	return 0;
}

int poll_suite_clean(void)
{
	int st = h_stop();

	h_fe_free(&pa);
	h_fe_free(&pb);
	return st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0 ? -1 : 0;
}

/* A 4 KiB write then its read back into another page, checked; 0 or which step failed. */
static int write_read(struct h_fe *f, unsigned int k)
{
	struct blkif_request r;
	uint64_t sector = (uint64_t)(k % 200) * 8;
	unsigned int i;

	for (i = 0; i < 4096; i++)
		f->data[i] = (uint8_t)(k * 13 + i * 7 + f->domid);
	h_rw(f, &r, BLKIF_OP_WRITE, sector, 0, 8);
	if (h_do(f, 0, &r) != BLKIF_RSP_OKAY)
		return -1;
	memset(f->data + 4096, 0, 4096);
	h_rw(f, &r, BLKIF_OP_READ, sector, 1, 8);
	if (h_do(f, 0, &r) != BLKIF_RSP_OKAY)
		return -2;
	return memcmp(f->data, f->data + 4096, 4096) ? -3 : 0;
}

/* POLL_N rounds on both guests; returns the kicks they sent (-1: a request failed). */
static long rounds(void)
{
	unsigned long k0 = h_kicks;
	unsigned int k;

	for (k = 0; k < POLL_N; k++) {
		int a = write_read(&pa, k), b = write_read(&pb, k);

		if (a || b) {
			fprintf(stderr, "poll: round %u: guest 1 %d, guest 2 %d\n", k, a, b);
			return -1;
		}
	}
	return (long)(h_kicks - k0);
}

/* Restarts pvio-backd with extra options; the devices stay Connected across it. */
static int restart(const char *extra)
{
	int st = h_backd_sigterm();

	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || h_backd_start(extra) < 0)
		return -1;
	return h_wait_be_state(&pa, 4, 5000) < 0 || h_wait_be_state(&pb, 4, 5000) < 0 ? -1 : 0;
}

static void test_poll_kicks(void)
{
	const long reqs = 2 * 2 * POLL_N; /* requests of one rounds() */
	long ev, po, hits0;

	/* Without polling: req_event re-armed after each request, so each one notifies. */
	ev = rounds();
	CU_ASSERT(ev >= reqs - 4);
	CU_ASSERT_EQUAL(h_stat(&pa, "poll_hits"), 0);

	CU_ASSERT_EQUAL_FATAL(restart("--poll-us 1000000"), 0);
	hits0 = h_stat(&pa, "poll_hits") + h_stat(&pb, "poll_hits");
	po = rounds();
	CU_ASSERT(po >= 0);
	/* A notification per guest to start (req_event was armed), then the daemon looks. */
	CU_ASSERT(po <= reqs / 10);
	CU_ASSERT(h_stat(&pa, "poll_hits") + h_stat(&pb, "poll_hits") - hits0 >= reqs / 2);
	fprintf(stderr, "poll: %ld kicks for %ld requests without polling, %ld with --poll-us\n",
		ev, reqs, po);
}

static void test_poll_burst(void)
{
	unsigned int n = pa.q[0].ring.nr_ents, round, i, got;
	struct blkif_request r;
	struct blkif_response rsp;
	long k0 = (long)h_kicks;

	CU_ASSERT_EQUAL_FATAL(n, PV_BLKBACK_KICK_BUDGET);
	for (round = 0; round < 20; round++) {
		for (i = 0; i < n; i++) {
			h_rw(&pa, &r, BLKIF_OP_READ, (uint64_t)i * 8, i % 2, 8);
			r.id = round * n + i;
			h_put(&pa, 0, &r);
		}
		h_push(&pa, 0);
		for (got = 0; got < n && h_get(&pa, 0, &rsp, 5000) == 0; got++)
			if (rsp.status != BLKIF_RSP_OKAY || rsp.id / n != round)
				break;
		CU_ASSERT_EQUAL_FATAL(got, n);
	}
	fprintf(stderr, "poll: %ld kicks for 20 bursts of %u requests\n", (long)h_kicks - k0, n);
	/* The first burst may find req_event armed; after it the daemon looks. */
	CU_ASSERT((long)h_kicks - k0 <= 2);
}

static void test_poll_expiry(void)
{
	long k0, expired = 0;
	int i;

	/* The daemon of the test before polls for 1 s at most after the last request. */
	for (i = 0; i < 500 && expired < 1; i++) {
		expired = h_stat(&pa, "poll_expired");
		if (expired < 1)
			usleep(10000);
	}
	CU_ASSERT(expired >= 1);
	/* Re-armed: the next request notifies, and is answered. */
	k0 = (long)h_kicks;
	CU_ASSERT_EQUAL(write_read(&pa, 7), 0);
	CU_ASSERT((long)h_kicks - k0 >= 1);
	/* Back to the default for whoever comes next. */
	CU_ASSERT_EQUAL(restart(NULL), 0);
	CU_ASSERT_EQUAL(write_read(&pa, 8), 0);
	CU_ASSERT_EQUAL(write_read(&pb, 8), 0);
}

CU_TestInfo poll_tests[] = {
	{ "--poll-us: QD1 requests need no notification, answered right on two guests",
	  test_poll_kicks },
	{ "--poll-us: bursts of a whole turn's budget keep polling (no notification after the first)",
	  test_poll_burst },
	{ "--poll-us: after the budget req_event is re-armed, the next request notifies",
	  test_poll_expiry },
	CU_TEST_INFO_NULL,
};
