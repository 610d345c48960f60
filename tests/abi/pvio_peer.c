/* SPDX-License-Identifier: MIT */
/* A ring_driver over pvio's ring library, for blkif and netif tx. */
#include <stdlib.h>
#include <string.h>

#include "pv_blkif.h"
#include "pv_netif.h"
#include "abi.h"
#include "exchange.h"

struct pend {
	struct pv_ring_front f;
	struct pv_ring_back b;
	size_t bytes;
};

#define PVIO_DRIVER(proto, M, req_t, rsp_t, exported)				\
static void *proto##_front_new(void *page, size_t bytes, uint32_t start, int init)	\
{										\
	struct pend *e = calloc(1, sizeof(*e));					\
	struct pv_sring *s = page;						\
										\
	if (!e || pv_ring_front_attach(&e->f, s, bytes,				\
			sizeof(union pv_##proto##_sring_entry), start)) {	\
		free(e);							\
		return NULL;							\
	}									\
	if (init) {								\
		pv_sring_init(s);						\
		s->req_prod = s->rsp_prod = start;				\
		s->req_event = s->rsp_event = start + 1;			\
	}									\
	return e;								\
}										\
static void *proto##_back_new(void *page, size_t bytes, uint32_t start)	\
{										\
	struct pend *e = calloc(1, sizeof(*e));					\
										\
	if (!e || pv_ring_back_attach(&e->b, page, bytes,			\
			sizeof(union pv_##proto##_sring_entry), start)) {	\
		free(e);							\
		return NULL;							\
	}									\
	return e;								\
}										\
static int proto##_produce(void *h, unsigned int n, uint64_t id)		\
{										\
	struct pend *e = h;							\
										\
	while (n--) {								\
		req_t *r = pv_##proto##_front_req(&e->f, e->f.req_prod_pvt++);	\
		M##_FILL_REQ(r, id);						\
		id++;								\
	}									\
	return pv_ring_push_requests_and_check_notify(&e->f);			\
}										\
static int proto##_consume(void *h, unsigned int max, uint64_t id)		\
{										\
	struct pend *e = h;							\
	pv_ring_idx_t prod;							\
	int n = 0;								\
										\
	if (pv_ring_back_req_prod(&e->b, &prod))				\
		return -2;							\
	while (e->b.req_cons != prod && (unsigned int)n < max &&		\
	       !pv_ring_req_cons_overflow(&e->b, e->b.req_cons)) {		\
		req_t r;							\
		pv_##proto##_back_copy_req(&e->b, e->b.req_cons++, &r);		\
		if (!M##_REQ_OK(&r, id))					\
			return -1;						\
		id++;								\
		n++;								\
	}									\
	return n;								\
}										\
static int proto##_respond(void *h, unsigned int n, uint64_t id)		\
{										\
	struct pend *e = h;							\
										\
	while (n--) {								\
		rsp_t *r = pv_##proto##_back_rsp(&e->b, e->b.rsp_prod_pvt++);	\
		M##_FILL_RSP(r, id);						\
		id++;								\
	}									\
	return pv_ring_push_responses_and_check_notify(&e->b);			\
}										\
static int proto##_collect(void *h, unsigned int max, uint64_t id)		\
{										\
	struct pend *e = h;							\
	pv_ring_idx_t prod;							\
	int n = 0;								\
										\
	if (pv_ring_front_rsp_prod(&e->f, &prod) < 0)				\
		return -2;							\
	while (e->f.rsp_cons != prod && (unsigned int)n < max) {		\
		rsp_t r;							\
		pv_##proto##_front_copy_rsp(&e->f, e->f.rsp_cons++, &r);	\
		if (!M##_RSP_OK(&r, id))					\
			return -1;						\
		id++;								\
		n++;								\
	}									\
	return n;								\
}										\
const struct ring_driver exported = {				\
	.name = "pvio-" #proto,							\
	.front_new = proto##_front_new,						\
	.back_new = proto##_back_new,						\
	.end_free = free,							\
	.nr_ents = pend_nr_ents,						\
	.produce = proto##_produce,						\
	.consume = proto##_consume,						\
	.respond = proto##_respond,						\
	.collect = proto##_collect,						\
	.final_check_req = pend_final_check_req,				\
	.final_check_rsp = pend_final_check_rsp,				\
	.free_requests = pend_free_requests,					\
	.req_prod_overflow = pend_req_prod_overflow,				\
	.rsp_prod_overflow = pend_rsp_prod_overflow,				\
	.indices = pend_indices,						\
}

static unsigned int pend_nr_ents(void *h)
{
	struct pend *e = h;

	return e->f.nr_ents ? e->f.nr_ents : e->b.nr_ents;
}

static unsigned int pend_final_check_req(void *h)
{
	return pv_ring_final_check_requests(&((struct pend *)h)->b);
}

static unsigned int pend_final_check_rsp(void *h)
{
	return pv_ring_final_check_responses(&((struct pend *)h)->f);
}

static unsigned int pend_free_requests(void *h)
{
	return pv_ring_free_requests(&((struct pend *)h)->f);
}

/* Both overflow checks read the index from the page, as a real consumer does. */
static int pend_req_prod_overflow(void *h, uint32_t prod)
{
	struct pend *e = h;
	pv_ring_idx_t saved = e->b.sring->req_prod, seen;
	int rc;

	e->b.sring->req_prod = prod;
	rc = pv_ring_back_req_prod(&e->b, &seen);
	e->b.sring->req_prod = saved;
	return rc == -EOVERFLOW;
}

static int pend_rsp_prod_overflow(void *h, uint32_t prod)
{
	struct pend *e = h;
	pv_ring_idx_t saved = e->f.sring->rsp_prod, seen;
	long rc;

	e->f.sring->rsp_prod = prod;
	rc = pv_ring_front_rsp_prod(&e->f, &seen);
	e->f.sring->rsp_prod = saved;
	return rc == -EOVERFLOW;
}

static void pend_indices(void *h, uint32_t out[2])
{
	struct pend *e = h;

	if (e->f.sring) {
		out[0] = e->f.req_prod_pvt;
		out[1] = e->f.rsp_cons;
	} else {
		out[0] = e->b.rsp_prod_pvt;
		out[1] = e->b.req_cons;
	}
}

PVIO_DRIVER(blkif, BLK, struct blkif_request, struct blkif_response, pvio_blk_driver);
PVIO_DRIVER(netif_tx, TX, struct netif_tx_request, struct netif_tx_response, pvio_tx_driver);
