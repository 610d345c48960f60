/* SPDX-License-Identifier: MIT */
/*
 * A ring_driver over Xen's own io/ring.h macros (Debian's libxen-dev headers), for
 * blkif and netif tx: the reference pvio's ring library is checked against.
 */
#include <stdlib.h>

#include "xen_headers.h"
#include "abi.h"
#include "exchange.h"

#define XEN_DRIVER(proto, M, exported)						\
struct proto##_xend {								\
	proto##_front_ring_t f;							\
	proto##_back_ring_t b;							\
	int is_front;								\
};										\
static void *proto##_xfront_new(void *page, size_t bytes, uint32_t start, int init) \
{										\
	struct proto##_xend *e = calloc(1, sizeof(*e));				\
	proto##_sring_t *s = page;						\
										\
	if (!e)									\
		return NULL;							\
	if (init) {								\
		SHARED_RING_INIT(s);						\
		s->req_prod = s->rsp_prod = start;				\
		s->req_event = s->rsp_event = start + 1;			\
	}									\
	FRONT_RING_ATTACH(&e->f, s, start, bytes);				\
	e->is_front = 1;							\
	return e;								\
}										\
static void *proto##_xback_new(void *page, size_t bytes, uint32_t start)	\
{										\
	struct proto##_xend *e = calloc(1, sizeof(*e));				\
	proto##_sring_t *s = page;						\
										\
	if (!e)									\
		return NULL;							\
	BACK_RING_ATTACH(&e->b, s, start, bytes);				\
	return e;								\
}										\
static unsigned int proto##_xnr_ents(void *h)					\
{										\
	struct proto##_xend *e = h;						\
										\
	return e->is_front ? RING_SIZE(&e->f) : RING_SIZE(&e->b);		\
}										\
static int proto##_xproduce(void *h, unsigned int n, uint64_t id)		\
{										\
	struct proto##_xend *e = h;						\
	int notify;								\
										\
	while (n--) {								\
		__typeof__(RING_GET_REQUEST(&e->f, 0)) r =			\
			RING_GET_REQUEST(&e->f, e->f.req_prod_pvt);		\
		M##_FILL_REQ(r, id);						\
		e->f.req_prod_pvt++;						\
		id++;								\
	}									\
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&e->f, notify);			\
	return notify;								\
}										\
static int proto##_xconsume(void *h, unsigned int max, uint64_t id)		\
{										\
	struct proto##_xend *e = h;						\
	RING_IDX rc = e->b.req_cons, rp = e->b.sring->req_prod;			\
	int n = 0;								\
										\
	xen_rmb();								\
	if (RING_REQUEST_PROD_OVERFLOW(&e->b, rp))				\
		return -2;							\
	while (rc != rp && (unsigned int)n < max &&				\
	       !RING_REQUEST_CONS_OVERFLOW(&e->b, rc)) {			\
		__typeof__(*RING_GET_REQUEST(&e->b, 0)) r;			\
		RING_COPY_REQUEST(&e->b, rc, &r);				\
		e->b.req_cons = ++rc;						\
		if (!M##_REQ_OK(&r, id))					\
			return -1;						\
		id++;								\
		n++;								\
	}									\
	return n;								\
}										\
static int proto##_xrespond(void *h, unsigned int n, uint64_t id)		\
{										\
	struct proto##_xend *e = h;						\
	int notify;								\
										\
	while (n--) {								\
		__typeof__(RING_GET_RESPONSE(&e->b, 0)) r =			\
			RING_GET_RESPONSE(&e->b, e->b.rsp_prod_pvt);		\
		M##_FILL_RSP(r, id);						\
		e->b.rsp_prod_pvt++;						\
		id++;								\
	}									\
	RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&e->b, notify);			\
	return notify;								\
}										\
static int proto##_xcollect(void *h, unsigned int max, uint64_t id)		\
{										\
	struct proto##_xend *e = h;						\
	RING_IDX rp = e->f.sring->rsp_prod;					\
	int n = 0;								\
										\
	xen_rmb();								\
	if (RING_RESPONSE_PROD_OVERFLOW(&e->f, rp))				\
		return -2;							\
	while (e->f.rsp_cons != rp && (unsigned int)n < max) {			\
		__typeof__(*RING_GET_RESPONSE(&e->f, 0)) r;			\
		RING_COPY_RESPONSE(&e->f, e->f.rsp_cons, &r);			\
		e->f.rsp_cons++;						\
		if (!M##_RSP_OK(&r, id))					\
			return -1;						\
		id++;								\
		n++;								\
	}									\
	return n;								\
}										\
static unsigned int proto##_xfinal_req(void *h)				\
{										\
	struct proto##_xend *e = h;						\
	unsigned int work;							\
										\
	RING_FINAL_CHECK_FOR_REQUESTS(&e->b, work);				\
	return work;								\
}										\
static unsigned int proto##_xfinal_rsp(void *h)				\
{										\
	struct proto##_xend *e = h;						\
	unsigned int work;							\
										\
	RING_FINAL_CHECK_FOR_RESPONSES(&e->f, work);				\
	return work;								\
}										\
static unsigned int proto##_xfree(void *h)					\
{										\
	return RING_FREE_REQUESTS(&((struct proto##_xend *)h)->f);		\
}										\
static int proto##_xreq_overflow(void *h, uint32_t prod)			\
{										\
	return RING_REQUEST_PROD_OVERFLOW(&((struct proto##_xend *)h)->b, prod);\
}										\
static int proto##_xrsp_overflow(void *h, uint32_t prod)			\
{										\
	return RING_RESPONSE_PROD_OVERFLOW(&((struct proto##_xend *)h)->f, prod);\
}										\
static void proto##_xindices(void *h, uint32_t out[2])				\
{										\
	struct proto##_xend *e = h;						\
										\
	if (e->is_front) {							\
		out[0] = e->f.req_prod_pvt;					\
		out[1] = e->f.rsp_cons;						\
	} else {								\
		out[0] = e->b.rsp_prod_pvt;					\
		out[1] = e->b.req_cons;						\
	}									\
}										\
const struct ring_driver exported = {						\
	.name = "xen-" #proto,							\
	.front_new = proto##_xfront_new,					\
	.back_new = proto##_xback_new,						\
	.end_free = free,							\
	.nr_ents = proto##_xnr_ents,						\
	.produce = proto##_xproduce,						\
	.consume = proto##_xconsume,						\
	.respond = proto##_xrespond,						\
	.collect = proto##_xcollect,						\
	.final_check_req = proto##_xfinal_req,					\
	.final_check_rsp = proto##_xfinal_rsp,					\
	.free_requests = proto##_xfree,						\
	.req_prod_overflow = proto##_xreq_overflow,				\
	.rsp_prod_overflow = proto##_xrsp_overflow,				\
	.indices = proto##_xindices,						\
}

XEN_DRIVER(blkif, BLK, xen_blk_driver);
XEN_DRIVER(netif_tx, TX, xen_tx_driver);
