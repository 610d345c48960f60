/* SPDX-License-Identifier: MIT */
/*
 * ABI compatibility of pvio's ring library with Xen's public headers:
 *  - every wire struct, field and constant has Xen's size, offset and value;
 *  - driven through identical operation sequences, pvio's ring and Xen's macros leave
 *    identical bytes on the shared page and take identical notification decisions;
 *  - each can talk to the other, in both directions, across index wrap-around at 2^32,
 *    with no lost wake-up;
 *  - both flag the same impossible producer indices.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pv_test.h"
#include "abi.h"

#define PAGE 4096u

/* ---- layouts ---------------------------------------------------------------------- */

static void test_layout_tables(void)
{
	size_t i;

	CU_ASSERT_EQUAL_FATAL(abi_pvio_count, abi_xen_count);
	CU_ASSERT(abi_pvio_count > 100);
	for (i = 0; i < abi_pvio_count; i++) {
		const struct abi_entry *p = &abi_pvio[i], *x = &abi_xen[i];
		char msg[256];

		CU_ASSERT_STRING_EQUAL(p->what, x->what);
		if (p->value != x->value || p->size != x->size) {
			snprintf(msg, sizeof(msg), "%s: pvio %lld/%zu, xen %lld/%zu", p->what,
				 p->value, p->size, x->value, x->size);
			fprintf(stderr, "ABI MISMATCH %s\n", msg);
			CU_FAIL(msg);
		}
	}
}

static void test_ring_sizes(void)
{
	struct abi_ring_sizes pv[3];
	size_t i;
	unsigned int o;

	abi_pvio_rings(pv);
	CU_ASSERT_EQUAL_FATAL(abi_rings_count, 3);
	for (i = 0; i < abi_rings_count; i++) {
		const struct abi_ring_sizes *p = &pv[i], *x = &abi_xen_rings[i];

		CU_ASSERT_STRING_EQUAL(p->proto, x->proto);
		CU_ASSERT_EQUAL(p->entry_size, x->entry_size);
		for (o = 0; o < 6; o++) {
			if (p->nr_ents[o] != x->nr_ents[o])
				fprintf(stderr, "%s order %u: pvio %u xen %u\n", p->proto, o,
					p->nr_ents[o], x->nr_ents[o]);
			CU_ASSERT_EQUAL(p->nr_ents[o], x->nr_ents[o]);
		}
	}
	/* Spot values a reader can check against blkback: 32 slots in one page, 512 in 16. */
	CU_ASSERT_EQUAL(pv[0].nr_ents[0], 32);
	CU_ASSERT_EQUAL(pv[0].nr_ents[4], 512);
	CU_ASSERT_EQUAL(pv[1].nr_ents[0], 256);
}

/* ---- shared helpers ----------------------------------------------------------------- */

static uint64_t rng_state;

static uint32_t rnd(uint32_t bound)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return bound ? (uint32_t)(rng_state % bound) : 0;
}

struct pair {
	const struct ring_driver *pvio, *xen;
};

static const struct pair pairs[] = {
	{ &pvio_blk_driver, &xen_blk_driver },
	{ &pvio_tx_driver, &xen_tx_driver },
};

static const uint32_t starts[] = { 0, 0xFFFFFFFFu - 37, 0x80000000u - 5, 0xFFFFFFFFu };

static void *page_alloc(size_t bytes)
{
	void *p = aligned_alloc(PAGE, bytes);

	if (p)
		memset(p, 0xA5, bytes); /* not zero: init must write what it relies on */
	return p;
}

/* ---- lockstep: same operations, same bytes, same decisions -------------------------- */

struct side {
	const struct ring_driver *d;
	unsigned char *page;
	void *f, *b;
};

static int side_open(struct side *s, const struct ring_driver *d, size_t bytes, uint32_t start)
{
	s->d = d;
	s->page = page_alloc(bytes);
	s->f = s->page ? d->front_new(s->page, bytes, start, 1) : NULL;
	s->b = s->page ? d->back_new(s->page, bytes, start) : NULL;
	return s->page && s->f && s->b ? 0 : -1;
}

static void side_close(struct side *s)
{
	if (s->f)
		s->d->end_free(s->f);
	if (s->b)
		s->d->end_free(s->b);
	free(s->page);
}

static int lockstep_run(const struct pair *p, unsigned int order, uint32_t start,
			unsigned int steps)
{
	size_t bytes = (size_t)PAGE << order;
	struct side a = { 0 }, x = { 0 };
	uint64_t prod_id = 1, cons_id = 1, rsp_id = 1, col_id = 1;
	unsigned int i;
	int bad = 0;

	if (side_open(&a, p->pvio, bytes, start) || side_open(&x, p->xen, bytes, start)) {
		bad = 1;
		goto out;
	}
	if (memcmp(a.page, x.page, 64)) {
		fprintf(stderr, "%s: shared headers differ after init\n", p->pvio->name);
		bad = 1;
		goto out;
	}
	for (i = 0; i < steps && !bad; i++) {
		unsigned int op = rnd(6), k, ra, rx;
		int ia, ix;
		uint32_t ia2[2], ix2[2];

		switch (op) {
		case 0: /* produce */
			ra = a.d->free_requests(a.f);
			rx = x.d->free_requests(x.f);
			if (ra != rx) {
				bad = 2;
				break;
			}
			k = rnd(ra + 1);
			ia = a.d->produce(a.f, k, prod_id);
			ix = x.d->produce(x.f, k, prod_id);
			prod_id += k;
			bad = ia != ix ? 3 : 0;
			break;
		case 1: /* consume */
			k = rnd(a.d->nr_ents(a.b) + 1);
			ia = a.d->consume(a.b, k, cons_id);
			ix = x.d->consume(x.b, k, cons_id);
			bad = ia != ix || ia < 0 ? 4 : 0;
			cons_id += ia > 0 ? (unsigned int)ia : 0;
			break;
		case 2: /* respond */
			k = rnd((unsigned int)(cons_id - rsp_id) + 1);
			ia = a.d->respond(a.b, k, rsp_id);
			ix = x.d->respond(x.b, k, rsp_id);
			rsp_id += k;
			bad = ia != ix ? 5 : 0;
			break;
		case 3: /* collect */
			k = rnd(a.d->nr_ents(a.f) + 1);
			ia = a.d->collect(a.f, k, col_id);
			ix = x.d->collect(x.f, k, col_id);
			bad = ia != ix || ia < 0 ? 6 : 0;
			col_id += ia > 0 ? (unsigned int)ia : 0;
			break;
		case 4:
			bad = a.d->final_check_req(a.b) != x.d->final_check_req(x.b) ? 7 : 0;
			break;
		case 5:
			bad = a.d->final_check_rsp(a.f) != x.d->final_check_rsp(x.f) ? 8 : 0;
			break;
		}
		if (!bad && memcmp(a.page, x.page, bytes))
			bad = 9;
		a.d->indices(a.f, ia2);
		x.d->indices(x.f, ix2);
		if (!bad && memcmp(ia2, ix2, sizeof(ia2)))
			bad = 10;
		a.d->indices(a.b, ia2);
		x.d->indices(x.b, ix2);
		if (!bad && memcmp(ia2, ix2, sizeof(ia2)))
			bad = 11;
		if (bad)
			fprintf(stderr, "%s order %u start %#" PRIx32 ": diverged (%d) at step %u op %u\n",
				p->pvio->name, order, start, bad, i, op);
	}
	/* The run must have gone round the index space's wrap point when it started near it. */
	if (!bad && start > 0xFFFFFF00u && prod_id < 64)
		bad = 12;
out:
	side_close(&a);
	side_close(&x);
	return bad;
}

static void test_lockstep(void)
{
	size_t pi, si;
	unsigned int order;

	for (pi = 0; pi < sizeof(pairs) / sizeof(pairs[0]); pi++)
		for (order = 0; order <= 4; order++)
			for (si = 0; si < sizeof(starts) / sizeof(starts[0]); si++) {
				rng_state = 0x9E3779B97F4A7C15ull ^ (pi << 32) ^ (order << 8) ^ si;
				CU_ASSERT_EQUAL(lockstep_run(&pairs[pi], order, starts[si], 3000), 0);
			}
}

/* ---- cross: each implementation talks to the other --------------------------------- */

/*
 * A front end and a back end from different implementations exchange total requests
 * on one page.  Each end sleeps exactly as a real driver does (after a final check that
 * found nothing) and is woken only by the other's notification, so a wrong notify
 * decision shows up as a deadlock; every request and response is checked field by field.
 */
static int cross_run(const struct ring_driver *fd, const struct ring_driver *bd,
		     unsigned int order, uint32_t start, unsigned int total)
{
	size_t bytes = (size_t)PAGE << order;
	unsigned char *page = page_alloc(bytes);
	void *f = page ? fd->front_new(page, bytes, start, 1) : NULL;
	void *b = page ? bd->back_new(page, bytes, start) : NULL;
	uint64_t prod_id = 1, cons_id = 1, rsp_id = 1, col_id = 1;
	int front_asleep = 0, back_asleep = 0, bad = 0;
	unsigned long steps = 0, notifies = 0;

	if (!f || !b) {
		bad = 1;
		goto out;
	}
	while (!bad && col_id <= total) {
		if (++steps > 1000000) {
			bad = 2;
			break;
		}
		if (front_asleep && back_asleep) {
			bad = 3; /* a lost wake-up: both wait with work outstanding */
			break;
		}
		if (!front_asleep && (back_asleep || rnd(2))) {
			unsigned int freen = fd->free_requests(f);
			int n;

			if (freen && prod_id <= total && rnd(2)) {
				unsigned int k = 1 + rnd(freen);

				if (k > total + 1 - prod_id)
					k = (unsigned int)(total + 1 - prod_id);
				if (fd->produce(f, k, prod_id)) {
					notifies++;
					back_asleep = 0;
				} else if (back_asleep) {
					bad = 4; /* back end asked for an event and got none */
				}
				prod_id += k;
				continue;
			}
			n = fd->collect(f, 1 + rnd(64), col_id);
			if (n < 0) {
				bad = 5;
				break;
			}
			col_id += (unsigned int)n;
			if (n == 0 && prod_id > col_id && !fd->final_check_rsp(f))
				front_asleep = 1;
		} else if (!back_asleep) {
			int n = bd->consume(b, 1 + rnd(64), cons_id);

			if (n < 0) {
				bad = 6;
				break;
			}
			cons_id += (unsigned int)n;
			if (rsp_id < cons_id) {
				unsigned int k = 1 + rnd((unsigned int)(cons_id - rsp_id));

				if (bd->respond(b, k, rsp_id)) {
					notifies++;
					front_asleep = 0;
				} else if (front_asleep) {
					bad = 7;
				}
				rsp_id += k;
			} else if (n == 0 && !bd->final_check_req(b)) {
				back_asleep = 1;
			}
		}
	}
	if (!bad && notifies == 0)
		bad = 8;
	if (bad)
		fprintf(stderr, "cross %s -> %s order %u start %#" PRIx32 ": failed (%d) at %" PRIu64 "\n",
			fd->name, bd->name, order, start, bad, col_id);
out:
	if (f)
		fd->end_free(f);
	if (b)
		bd->end_free(b);
	free(page);
	return bad;
}

static void test_cross(void)
{
	size_t pi, si;
	unsigned int order;

	for (pi = 0; pi < sizeof(pairs) / sizeof(pairs[0]); pi++)
		for (order = 0; order <= 4; order += 2)
			for (si = 0; si < sizeof(starts) / sizeof(starts[0]); si++) {
				rng_state = 0xD1B54A32D192ED03ull ^ (pi << 40) ^ (order << 8) ^ si;
				CU_ASSERT_EQUAL(cross_run(pairs[pi].pvio, pairs[pi].xen, order,
							  starts[si], 5000), 0);
				CU_ASSERT_EQUAL(cross_run(pairs[pi].xen, pairs[pi].pvio, order,
							  starts[si], 5000), 0);
			}
}

/* ---- overflow: impossible producer indices ------------------------------------------ */

static void test_overflow_agrees(void)
{
	size_t pi, si;

	for (pi = 0; pi < sizeof(pairs) / sizeof(pairs[0]); pi++)
		for (si = 0; si < sizeof(starts) / sizeof(starts[0]); si++) {
			struct side a = { 0 }, x = { 0 };
			uint32_t base = starts[si], d;
			unsigned int n;

			CU_ASSERT_FATAL(side_open(&a, pairs[pi].pvio, PAGE, base) == 0);
			CU_ASSERT_FATAL(side_open(&x, pairs[pi].xen, PAGE, base) == 0);
			n = a.d->nr_ents(a.b);
			for (d = 0; d < n + 4; d++) {
				int ov = d > n; /* a whole ring is allowed, one more is not */

				CU_ASSERT_EQUAL(a.d->req_prod_overflow(a.b, base + d), ov);
				CU_ASSERT_EQUAL(x.d->req_prod_overflow(x.b, base + d), ov);
				CU_ASSERT_EQUAL(a.d->rsp_prod_overflow(a.f, base + d), ov);
				CU_ASSERT_EQUAL(x.d->rsp_prod_overflow(x.f, base + d), ov);
			}
			/* Behind the consumer (negative distance) is just as impossible. */
			CU_ASSERT(a.d->req_prod_overflow(a.b, base - 1));
			CU_ASSERT(x.d->req_prod_overflow(x.b, base - 1));
			CU_ASSERT(a.d->rsp_prod_overflow(a.f, base - 1));
			CU_ASSERT(x.d->rsp_prod_overflow(x.f, base - 1));
			side_close(&a);
			side_close(&x);
		}
}

/* A consumer that meets a bogus producer index refuses to read a single slot. */
static void test_overflow_halts_consumer(void)
{
	size_t pi;

	for (pi = 0; pi < sizeof(pairs) / sizeof(pairs[0]); pi++) {
		const struct ring_driver *d[2] = { pairs[pi].pvio, pairs[pi].xen };
		unsigned int k;

		for (k = 0; k < 2; k++) {
			struct side s = { 0 };
			uint32_t *req_prod, *rsp_prod;

			CU_ASSERT_FATAL(side_open(&s, d[k], PAGE, 0xFFFFFFF0u) == 0);
			req_prod = (uint32_t *)s.page;
			rsp_prod = (uint32_t *)(s.page + 8);
			CU_ASSERT_EQUAL(d[k]->produce(s.f, 3, 1), 1);
			*req_prod += d[k]->nr_ents(s.b) + 1; /* a hostile front end */
			CU_ASSERT_EQUAL(d[k]->consume(s.b, 1000, 1), -2);
			*req_prod -= d[k]->nr_ents(s.b) + 1;
			CU_ASSERT_EQUAL(d[k]->consume(s.b, 1000, 1), 3);
			CU_ASSERT_EQUAL(d[k]->respond(s.b, 3, 1), 1);
			*rsp_prod += 1000; /* a hostile back end */
			CU_ASSERT_EQUAL(d[k]->collect(s.f, 1000, 1), -2);
			*rsp_prod -= 1000;
			CU_ASSERT_EQUAL(d[k]->collect(s.f, 1000, 1), 3);
			side_close(&s);
		}
	}
}

static CU_TestInfo layout_tests[] = {
	{ "struct sizes, field offsets and constants equal Xen's", test_layout_tables },
	{ "ring sizes for ring-page-order 0..4 equal __CONST_RING_SIZE", test_ring_sizes },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo ring_tests[] = {
	{ "lockstep with Xen's macros: same bytes, same notify decisions", test_lockstep },
	{ "pvio front <-> Xen back and Xen front <-> pvio back, no lost wake-up", test_cross },
	{ "both flag the same impossible producer indices", test_overflow_agrees },
	{ "a bogus producer index stops the consumer", test_overflow_halts_consumer },
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{ "abi-layout", NULL, NULL, NULL, NULL, layout_tests },
	{ "abi-ring-vs-xen", NULL, NULL, NULL, NULL, ring_tests },
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return pv_test_main(suites);
}
