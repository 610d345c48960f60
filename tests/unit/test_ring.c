/* SPDX-License-Identifier: MIT */
/* Unit tests of ring/pv_ring.h beyond what tests/abi compares with Xen. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "pv_test.h"
#include "pv_blkif.h"
#include "pv_netif.h"

#define PAGE PV_PAGE_SIZE

static void *page_fill(size_t bytes, int c)
{
	void *p = aligned_alloc(PAGE, bytes);

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	memset(p, c, bytes);
	return p;
}

static void test_sizes(void)
{
	static const unsigned int blk[] = { 32, 64, 128, 256, 512 };
	unsigned int o;

	for (o = 0; o <= PV_RING_MAX_PAGE_ORDER; o++)
		CU_ASSERT_EQUAL(pv_blkif_ring_size(o), blk[o]);
	CU_ASSERT_EQUAL(pv_blkif_ring_size(PV_RING_MAX_PAGE_ORDER + 1), 0);
	CU_ASSERT_EQUAL(pv_netif_tx_ring_size(0), 256);
	CU_ASSERT_EQUAL(pv_netif_rx_ring_size(0), 256);
	/* Rounds down to a power of two: 4032 / 100 = 40 slots -> 32. */
	CU_ASSERT_EQUAL(pv_ring_size(PAGE, 100), 32);
	CU_ASSERT_EQUAL(pv_ring_size(64 + 100, 100), 1);
	CU_ASSERT_EQUAL(pv_ring_size(64 + 99, 100), 0);
	CU_ASSERT_EQUAL(pv_ring_size(64, 1), 0);
	CU_ASSERT_EQUAL(pv_ring_size(10, 1), 0);
	CU_ASSERT_EQUAL(pv_ring_size(PAGE, 0), 0);
	CU_ASSERT_EQUAL(offsetof(struct pv_sring, ring), 64);
}

static void test_init_and_attach(void)
{
	struct pv_sring *s = page_fill(PAGE, 0xFF);
	struct pv_ring_front f = { 0 };
	struct pv_ring_back b = { 0 };
	unsigned int i;

	CU_ASSERT_EQUAL(pv_ring_front_init(&f, s, PAGE, sizeof(union pv_blkif_sring_entry)), 0);
	CU_ASSERT_EQUAL(s->req_prod, 0);
	CU_ASSERT_EQUAL(s->rsp_prod, 0);
	CU_ASSERT_EQUAL(s->req_event, 1);
	CU_ASSERT_EQUAL(s->rsp_event, 1);
	for (i = 0; i < sizeof(s->pad); i++)
		CU_ASSERT_EQUAL(s->pad[i], 0);
	CU_ASSERT_EQUAL(f.nr_ents, 32);
	CU_ASSERT_EQUAL(pv_ring_free_requests(&f), 32);
	CU_ASSERT_EQUAL(pv_ring_back_init(&b, s, PAGE, sizeof(union pv_blkif_sring_entry)), 0);
	CU_ASSERT_EQUAL(b.req_cons, 0);
	CU_ASSERT_EQUAL(pv_ring_unconsumed_requests(&b), 0);

	/* A back end resuming a live ring takes up where the responses stopped. */
	s->req_prod = 1000;
	s->rsp_prod = 990;
	CU_ASSERT_EQUAL(pv_ring_back_attach(&b, s, PAGE, sizeof(union pv_blkif_sring_entry), 990), 0);
	CU_ASSERT_EQUAL(pv_ring_unconsumed_requests(&b), 10);

	/* Not even one slot fits: refused, and the shared page is left alone. */
	s->req_prod = 77;
	CU_ASSERT_EQUAL(pv_ring_front_init(&f, s, 100, sizeof(union pv_blkif_sring_entry)), -EINVAL);
	CU_ASSERT_EQUAL(s->req_prod, 77);
	CU_ASSERT_EQUAL(pv_ring_back_attach(&b, s, 64, 8, 0), -EINVAL);
	free(s);
}

/* Slots stay inside the ring for every index, wrap included, for every page order. */
static void test_slot_bounds(void)
{
	unsigned int o;

	for (o = 0; o <= PV_RING_MAX_PAGE_ORDER; o++) {
		size_t bytes = (size_t)PAGE << o;
		struct pv_sring *s = page_fill(bytes, 0);
		struct pv_ring_front f = { 0 };
		uint32_t starts[] = { 0, 0xFFFFFFFFu - 700 };
		unsigned int k;

		CU_ASSERT_EQUAL_FATAL(pv_ring_front_init(&f, s, bytes, sizeof(union pv_blkif_sring_entry)), 0);
		for (k = 0; k < 2; k++) {
			uint32_t i;

			for (i = starts[k]; i != starts[k] + 1400; i++) {
				char *slot = (char *)pv_blkif_front_req(&f, i);
				size_t off = (size_t)(slot - (char *)s);

				if (off < 64 || off + sizeof(union pv_blkif_sring_entry) > bytes ||
				    (off - 64) / sizeof(union pv_blkif_sring_entry) != (i & (f.nr_ents - 1))) {
					CU_FAIL("slot outside the ring or at the wrong place");
					break;
				}
			}
		}
		free(s);
	}
}

static void test_full_and_free(void)
{
	struct pv_sring *s = page_fill(PAGE, 0);
	struct pv_ring_front f = { 0 };
	struct pv_ring_back b = { 0 };
	unsigned int i;

	CU_ASSERT_EQUAL_FATAL(pv_ring_front_init(&f, s, PAGE, sizeof(union pv_netif_tx_sring_entry)), 0);
	CU_ASSERT_EQUAL_FATAL(pv_ring_back_init(&b, s, PAGE, sizeof(union pv_netif_tx_sring_entry)), 0);
	for (i = 0; i < f.nr_ents; i++) {
		CU_ASSERT_FALSE(pv_ring_full(&f));
		pv_netif_tx_front_req(&f, f.req_prod_pvt++)->id = (uint16_t)i;
	}
	CU_ASSERT_TRUE(pv_ring_full(&f));
	pv_ring_push_requests(&f);
	CU_ASSERT_EQUAL(pv_ring_unconsumed_requests(&b), f.nr_ents);
	/* Consuming the whole ring without responding: one more would overrun a response slot. */
	b.req_cons += f.nr_ents;
	CU_ASSERT_TRUE(pv_ring_req_cons_overflow(&b, b.req_cons));
	CU_ASSERT_EQUAL(pv_ring_unconsumed_requests(&b), 0);
	b.rsp_prod_pvt += 5;
	pv_ring_push_responses(&b);
	CU_ASSERT_FALSE(pv_ring_req_cons_overflow(&b, b.req_cons));
	f.rsp_cons += 5;
	CU_ASSERT_EQUAL(pv_ring_free_requests(&f), 5);
	free(s);
}

/* The hold-off protocol: one event per sleep, none while the peer is known to be awake. */
static void test_notify_holdoff(void)
{
	struct pv_sring *s = page_fill(PAGE, 0);
	struct pv_ring_front f = { 0 };
	struct pv_ring_back b = { 0 };
	struct blkif_request r;

	CU_ASSERT_EQUAL_FATAL(pv_ring_front_init(&f, s, PAGE, sizeof(union pv_blkif_sring_entry)), 0);
	CU_ASSERT_EQUAL_FATAL(pv_ring_back_init(&b, s, PAGE, sizeof(union pv_blkif_sring_entry)), 0);
	f.req_prod_pvt++;
	CU_ASSERT_TRUE(pv_ring_push_requests_and_check_notify(&f)); /* req_event starts at 1 */
	f.req_prod_pvt++;
	CU_ASSERT_FALSE(pv_ring_push_requests_and_check_notify(&f)); /* back end not re-armed */
	CU_ASSERT_EQUAL(pv_ring_final_check_requests(&b), 2);       /* work: no re-arm */
	pv_blkif_back_copy_req(&b, b.req_cons++, &r);
	pv_blkif_back_copy_req(&b, b.req_cons++, &r);
	CU_ASSERT_EQUAL(pv_ring_final_check_requests(&b), 0);
	CU_ASSERT_EQUAL(s->req_event, b.req_cons + 1);
	f.req_prod_pvt += 3;
	CU_ASSERT_TRUE(pv_ring_push_requests_and_check_notify(&f));
	/* A push of nothing never notifies. */
	CU_ASSERT_FALSE(pv_ring_push_requests_and_check_notify(&f));

	b.rsp_prod_pvt += 2;
	CU_ASSERT_TRUE(pv_ring_push_responses_and_check_notify(&b)); /* rsp_event starts at 1 */
	b.rsp_prod_pvt += 1;
	CU_ASSERT_FALSE(pv_ring_push_responses_and_check_notify(&b));
	f.rsp_cons += 3;
	CU_ASSERT_EQUAL(pv_ring_final_check_responses(&f), 0);
	b.rsp_prod_pvt += 1;
	CU_ASSERT_TRUE(pv_ring_push_responses_and_check_notify(&b));
	free(s);
}

/* The front end rejects a response producer index no honest back end could write. */
static void test_rsp_prod_overflow(void)
{
	struct pv_sring *s = page_fill(PAGE, 0);
	struct pv_ring_front f = { 0 };
	pv_ring_idx_t prod = 12345;

	CU_ASSERT_EQUAL_FATAL(pv_ring_front_attach(&f, s, PAGE, sizeof(union pv_blkif_sring_entry), 0xFFFFFFF0u), 0);
	s->rsp_prod = 0xFFFFFFF0u + 32;
	CU_ASSERT_EQUAL(pv_ring_front_rsp_prod(&f, &prod), 32);
	CU_ASSERT_EQUAL(prod, 0xFFFFFFF0u + 32);
	prod = 12345;
	s->rsp_prod = 0xFFFFFFF0u + 33;
	CU_ASSERT_EQUAL(pv_ring_front_rsp_prod(&f, &prod), -EOVERFLOW);
	CU_ASSERT_EQUAL(prod, 12345); /* untouched on error */
	s->rsp_prod = 0xFFFFFFF0u - 1;
	CU_ASSERT_EQUAL(pv_ring_front_rsp_prod(&f, &prod), -EOVERFLOW);
	free(s);
}

/* A copied request is the consumer's own: the peer rewriting the slot changes nothing. */
static void test_copy_is_private(void)
{
	struct pv_sring *s = page_fill(PAGE, 0);
	struct pv_ring_front f = { 0 };
	struct pv_ring_back b = { 0 };
	struct blkif_request *slot, copy;
	struct blkif_response rc;

	CU_ASSERT_EQUAL_FATAL(pv_ring_front_init(&f, s, PAGE, sizeof(union pv_blkif_sring_entry)), 0);
	CU_ASSERT_EQUAL_FATAL(pv_ring_back_init(&b, s, PAGE, sizeof(union pv_blkif_sring_entry)), 0);
	slot = pv_blkif_front_req(&f, f.req_prod_pvt++);
	slot->operation = BLKIF_OP_READ;
	slot->nr_segments = 1;
	slot->id = 42;
	pv_ring_push_requests(&f);
	pv_blkif_back_copy_req(&b, b.req_cons++, &copy);
	slot->nr_segments = 200;
	slot->id = 666;
	CU_ASSERT_EQUAL(copy.nr_segments, 1);
	CU_ASSERT_EQUAL(copy.id, 42);

	pv_blkif_back_rsp(&b, b.rsp_prod_pvt)->id = 42;
	pv_blkif_back_rsp(&b, b.rsp_prod_pvt)->status = BLKIF_RSP_OKAY;
	b.rsp_prod_pvt++;
	pv_ring_push_responses(&b);
	pv_blkif_front_copy_rsp(&f, f.rsp_cons++, &rc);
	pv_blkif_back_rsp(&b, 0)->id = 7;
	CU_ASSERT_EQUAL(rc.id, 42);
	free(s);
}

/*
 * Real concurrency: a front end that spins for responses and a back end that sleeps as
 * soon as its final check finds nothing, on two threads.  The spinning producer pushes
 * new requests within a few hundred nanoseconds of each response, right into the
 * window the final check exists to close; a wrong final check or notify decision
 * leaves one side asleep with work on the ring, which the poll time-out reports.
 */
#define RACE_TOTAL   400000u
#define RACE_TIMEOUT 2000 /* ms a side may sleep before we call it a lost wake-up */

struct race {
	struct pv_ring_front f;
	struct pv_ring_back b;
	int to_back, to_front;
	int lost_wakeups, bad;
	unsigned int front_spin, back_spin; /* polls before a side goes to sleep */
	unsigned long front_sleeps, back_sleeps;
};

static int race_wait(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	uint64_t v;

	if (poll(&p, 1, RACE_TIMEOUT) != 1)
		return -ETIMEDOUT;
	return read(fd, &v, sizeof(v)) == sizeof(v) ? 0 : -EIO;
}

static void race_kick(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) != sizeof(one))
		abort();
}

static void *race_back(void *arg)
{
	struct race *r = arg;
	unsigned int done = 0, spins = 0;

	while (done < RACE_TOTAL && !r->bad) {
		pv_ring_idx_t prod;

		if (pv_ring_back_req_prod(&r->b, &prod)) {
			r->bad = 1;
			break;
		}
		while (r->b.req_cons != prod && !pv_ring_req_cons_overflow(&r->b, r->b.req_cons)) {
			struct blkif_request q;
			struct blkif_response *p;

			pv_blkif_back_copy_req(&r->b, r->b.req_cons++, &q);
			if (q.id != done || q.sector_number != (uint64_t)done * 8)
				r->bad = 2;
			p = pv_blkif_back_rsp(&r->b, r->b.rsp_prod_pvt++);
			p->id = q.id;
			p->status = BLKIF_RSP_OKAY;
			done++;
		}
		if (pv_ring_push_responses_and_check_notify(&r->b))
			race_kick(r->to_front);
		if (r->b.req_cons != prod)
			spins = 0;
		if (done == RACE_TOTAL || spins++ < r->back_spin ||
		    pv_ring_final_check_requests(&r->b))
			continue;
		spins = 0;
		r->back_sleeps++;
		if (race_wait(r->to_back)) {
			r->lost_wakeups++;
			break;
		}
	}
	return NULL;
}

static void race_run(unsigned int front_spin, unsigned int back_spin)
{
	struct pv_sring *s = page_fill(PAGE, 0);
	struct race r = { .front_spin = front_spin, .back_spin = back_spin };
	pthread_t t;
	uint64_t sent = 0, got = 0;

	r.to_back = eventfd(0, EFD_CLOEXEC);
	r.to_front = eventfd(0, EFD_CLOEXEC);
	CU_ASSERT_FATAL(r.to_back >= 0 && r.to_front >= 0);
	CU_ASSERT_EQUAL_FATAL(pv_ring_front_init(&r.f, s, PAGE, sizeof(union pv_blkif_sring_entry)), 0);
	CU_ASSERT_EQUAL_FATAL(pv_ring_back_init(&r.b, s, PAGE, sizeof(union pv_blkif_sring_entry)), 0);
	CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, race_back, &r), 0);
	while (got < RACE_TOTAL && !r.bad && !r.lost_wakeups) {
		unsigned int spins;

		/* A few requests at a time keeps the back end going to sleep often. */
		while (sent < RACE_TOTAL && sent - got < 4) {
			struct blkif_request *q = pv_blkif_front_req(&r.f, r.f.req_prod_pvt++);

			q->operation = BLKIF_OP_READ;
			q->nr_segments = 1;
			q->id = sent;
			q->sector_number = sent * 8;
			sent++;
		}
		if (pv_ring_push_requests_and_check_notify(&r.f))
			race_kick(r.to_back);
		for (spins = 0;; spins++) {
			pv_ring_idx_t prod;

			if (pv_ring_front_rsp_prod(&r.f, &prod) < 0) {
				r.bad = 3;
				break;
			}
			while (r.f.rsp_cons != prod) {
				struct blkif_response p;

				pv_blkif_front_copy_rsp(&r.f, r.f.rsp_cons++, &p);
				if (p.id != got++)
					r.bad = 4;
			}
			if (got == sent || (sent < RACE_TOTAL && sent - got < 2))
				break;
			if (spins < r.front_spin || pv_ring_final_check_responses(&r.f))
				continue;
			r.front_sleeps++;
			if (race_wait(r.to_front)) {
				r.lost_wakeups++;
				break;
			}
		}
	}
	pthread_join(t, NULL);
	CU_ASSERT_EQUAL(r.bad, 0);
	CU_ASSERT_EQUAL(r.lost_wakeups, 0);
	CU_ASSERT_EQUAL(got, RACE_TOTAL);
	/* The side that does not spin really did go to sleep, often. */
	CU_ASSERT((front_spin ? r.back_sleeps : r.front_sleeps) > 1000);
	close(r.to_back);
	close(r.to_front);
	free(s);
}

/* A spinning front end races the back end's final check ... */
static void test_race_back_sleeps(void)
{
	race_run(5000, 0);
}

/* ... and a spinning back end races the front end's. */
static void test_race_front_sleeps(void)
{
	race_run(0, 5000);
}

static CU_TestInfo ring_tests[] = {
	{ "ring sizes per page order and entry size", test_sizes },
	{ "init resets the header, attach resumes, tiny rings refused", test_init_and_attach },
	{ "every index maps inside the ring, across 2^32", test_slot_bounds },
	{ "free/full and the consumer's overflow guard", test_full_and_free },
	{ "notification hold-off (req_event/rsp_event)", test_notify_holdoff },
	{ "front end rejects an impossible rsp_prod", test_rsp_prod_overflow },
	{ "copies out of the ring are private", test_copy_is_private },
	{ "threads: spinning front end, sleeping back end, no lost wake-up", test_race_back_sleeps },
	{ "threads: spinning back end, sleeping front end, no lost wake-up", test_race_front_sleeps },
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{ "ring", NULL, NULL, NULL, NULL, ring_tests },
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return pv_test_main(suites);
}
