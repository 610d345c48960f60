/* SPDX-License-Identifier: MIT */
/*
 * fuzz_blkfront.c - libFuzzer target for libpvio-front's blkfront: a hostile back end.
 *
 * The fuzzer is domain 0's back end; blkfront runs unmodified in this process as domain 1
 * over tests/fuzz/fake_plat.c.  The back end answers the handshake synchronously from the
 * fake's xenstore hook (so pv_blkfront_open() never waits on an honest back end), with
 * node values and a state sequence the input chooses, then writes whatever responses,
 * response producer indices and node changes the input says while blkfront submits and
 * polls.  Only non-blocking calls are made after open (submit, kick, poll(0), info).
 *
 * What must hold: no crash or sanitizer report; every submitted io completes exactly once
 * (also when the back end lies or leaves); after close every grant is ended, every port
 * unbound and the watch removed.
 *
 * Input: a 2-byte header, the back end's node overrides, then commands.
 *   h[0]  bit 0 no_persistent, bit 1 no_indirect, bit 2 no_ring_order, bits 3-4
 *         max_queues, bits 5-6 handshake: 0 honest, 1 refuses (Closing at Initialised),
 *         2 jumps to Connected before InitWait, 3 silent (open times out)
 *   h[1]  overrides: low nibble before InitWait, high nibble before Connected; each is
 *         node, length, bytes
 *   commands (low 4 bits of the first byte):
 *   0 SUBMIT op, offset (2 bytes, sectors), length (1 byte, 512 B units + 1)
 *   1 ANSWER q, status, how: take the oldest unanswered request of queue q and answer it
 *            (how bit 0: wrong id, bit 1: wrong op, bit 2: answer twice, bit 3: no notify)
 *   2 RAWRSP q, 16 bytes in the next response slot
 *   3 PROD   q, 4 bytes: rsp_prod := any value, and notify
 *   4 POLL
 *   5 NODE   node, length, bytes (a backend node; watch fires)
 *   6 STATE  s (the backend's state node)
 *   7 KICK
 *   8 INFO
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_plat.h"
#include "fuzz.h"
#include "pv_blkfront.h"
#include "pv_blkif.h"

#define DEVID  51712
#define BE     "/local/domain/0/backend/vbd/1/51712"
#define FE     "/local/domain/1/device/vbd/51712"
#define NIOS   32
#define BUFSZ  (256u * 512u)

static const char *const node_names[] = {
	"state", "sectors", "sector-size", "physical-sector-size", "info", "mode",
	"feature-flush-cache", "feature-barrier", "feature-discard", "discard-secure",
	"discard-granularity", "discard-alignment", "feature-persistent",
	"feature-max-indirect-segments", "max-ring-page-order", "multi-queue-max-queues",
};
#define NNODES (sizeof(node_names) / sizeof(node_names[0]))

struct override {
	uint8_t node, len;
	uint8_t val[32];
};

/* The back end's side of each ring. */
struct beq {
	struct pv_sring *s;
	unsigned int nr_ents;
	pv_ring_idx_t req_cons, rsp_prod_pvt;
	evtchn_port_t port; /* the front end's */
};

static struct {
	unsigned int handshake;
	struct override init[15], conn[15];
	unsigned int ninit, nconn;
	struct beq q[4];
	unsigned int nq;
	int debug;
} be;

static struct io_slot {
	struct pv_blkfront_io io;
	int busy;
	unsigned int done;
} ios[NIOS];
static uint8_t *bufs[NIOS];

static void be_node(const char *node, const char *val)
{
	char path[128];

	snprintf(path, sizeof(path), BE "/%s", node);
	fp_xs_set_str(path, val);
}

static void be_override(const struct override *o)
{
	char path[128];

	snprintf(path, sizeof(path), BE "/%s", node_names[o->node % NNODES]);
	fp_xs_set(path, o->val, o->len);
}

static unsigned int fe_uint(const char *dir, const char *node, int *ok)
{
	char path[160];
	const char *v;
	char *end;
	unsigned long x;

	snprintf(path, sizeof(path), "%s/%s", dir, node);
	v = fp_xs_get(path);
	if (!v || !*v) {
		*ok = 0;
		return 0;
	}
	x = strtoul(v, &end, 10);
	if (*end || x > UINT32_MAX)
		*ok = 0;
	return (unsigned int)x;
}

/* Initialised: find the rings the front end wrote, as a back end would map them. */
static int learn_rings(void)
{
	int ok = 1;
	unsigned int nq = 1, order = 0;
	const char *v = fp_xs_get(FE "/multi-queue-num-queues");

	memset(be.q, 0, sizeof(be.q));
	be.nq = 0;
	if (v)
		nq = fe_uint(FE, "multi-queue-num-queues", &ok);
	if (fp_xs_get(FE "/ring-page-order"))
		order = fe_uint(FE, "ring-page-order", &ok);
	if (!ok || nq < 1 || nq > 4 || order > 4)
		return -1;
	for (unsigned int i = 0; i < nq; i++) {
		char dir[100];
		unsigned int ref0, npages = 1u << order;

		if (nq > 1)
			snprintf(dir, sizeof(dir), FE "/queue-%u", i);
		else
			snprintf(dir, sizeof(dir), FE);
		ref0 = fe_uint(dir, order ? "ring-ref0" : "ring-ref", &ok);
		for (unsigned int k = 1; k < npages; k++) {
			char n[16];

			snprintf(n, sizeof(n), "ring-ref%u", k);
			/* blkfront shares a ring's pages in one call: consecutive refs here */
			if (fe_uint(dir, n, &ok) != ref0 + k)
				ok = 0;
		}
		be.q[i].port = fe_uint(dir, "event-channel", &ok);
		if (!ok || !fp_page(ref0) || !fp_page(ref0 + npages - 1))
			return -1;
		be.q[i].s = (struct pv_sring *)fp_page(ref0);
		be.q[i].nr_ents = pv_ring_size((size_t)npages * 4096,
					       sizeof(union pv_blkif_sring_entry));
	}
	be.nq = nq;
	return 0;
}

/* The back end's half of the handshake, run whenever blkfront changes a node. */
static void on_xs_changed(const char *path)
{
	const char *v;

	if (strcmp(path, FE "/state") != 0 || !(v = fp_xs_get(path)))
		return;
	if (be.handshake == 3)
		return; /* silent */
	switch (atoi(v)) {
	case 1: /* Initialising */
		be_node("sectors", "2048");
		be_node("sector-size", "512");
		be_node("physical-sector-size", "4096");
		be_node("info", "0");
		be_node("feature-flush-cache", "1");
		be_node("feature-barrier", "1");
		be_node("feature-discard", "1");
		be_node("discard-granularity", "4096");
		be_node("feature-persistent", "1");
		be_node("feature-max-indirect-segments", "32");
		be_node("max-ring-page-order", "2");
		be_node("multi-queue-max-queues", "2");
		for (unsigned int i = 0; i < be.ninit; i++)
			be_override(&be.init[i]);
		be_node("state", be.handshake == 2 ? "4" : "2");
		break;
	case 3: /* Initialised */
		if (learn_rings() < 0 || be.handshake == 1) {
			be_node("state", "5");
			break;
		}
		for (unsigned int i = 0; i < be.nconn; i++)
			be_override(&be.conn[i]);
		be_node("state", "4");
		break;
	case 5: /* Closing */
		be_node("state", "6");
		break;
	case 6:
		be_node("state", "6");
		break;
	default:
		break;
	}
}

static void on_done(struct pv_blkfront_io *io, int status)
{
	struct io_slot *s = io->opaque;

	(void)status;
	FUZZ_CHECK(s->busy && s->done == 0); /* exactly once */
	s->done++;
	s->busy = 0;
}

static size_t take(const uint8_t **p, const uint8_t *end, void *out, size_t n)
{
	size_t k = (size_t)(end - *p) < n ? (size_t)(end - *p) : n;

	memset(out, 0, n);
	memcpy(out, *p, k);
	*p += k;
	return k;
}

static void take_overrides(const uint8_t **p, const uint8_t *end, struct override *o,
			   unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		uint8_t b[2];

		take(p, end, b, 2);
		o[i].node = b[0];
		o[i].len = b[1] % sizeof(o[i].val);
		take(p, end, o[i].val, o[i].len);
	}
}

static void submit(struct pv_blkfront *bf, const uint8_t *b)
{
	static const enum pv_blkfront_op ops[] = { PV_BLKFRONT_READ, PV_BLKFRONT_WRITE,
						   PV_BLKFRONT_FLUSH, PV_BLKFRONT_DISCARD };
	struct io_slot *s = NULL;
	uint16_t off;
	int rc;

	for (unsigned int i = 0; i < NIOS && !s; i++)
		if (!ios[i].busy)
			s = &ios[i];
	if (!s)
		return;
	memcpy(&off, b + 1, 2);
	memset(&s->io, 0, sizeof(s->io));
	s->io.op = ops[b[0] % 4];
	s->io.offset = (uint64_t)off * 512;
	s->io.len = s->io.op == PV_BLKFRONT_FLUSH ? 0 : ((size_t)b[3] + 1) * 512;
	s->io.buf = (s->io.op == PV_BLKFRONT_READ || s->io.op == PV_BLKFRONT_WRITE) ?
		    bufs[s - ios] : NULL;
	s->io.done = on_done;
	s->io.opaque = s;
	s->done = 0;
	s->busy = 1;
	rc = pv_blkfront_submit(bf, &s->io);
	if (rc < 0)
		s->busy = 0; /* refused: done() is not called */
}

static void respond(struct beq *q, uint64_t id, uint8_t op, int16_t status)
{
	union pv_blkif_sring_entry *e =
		(union pv_blkif_sring_entry *)(q->s->ring + (size_t)(q->rsp_prod_pvt &
								     (q->nr_ents - 1)) *
								    sizeof(*e));

	e->rsp = (struct blkif_response){ .id = id, .operation = op, .status = status };
	q->rsp_prod_pvt++;
}

static void publish(struct beq *q, int notify)
{
	__atomic_store_n(&q->s->rsp_prod, q->rsp_prod_pvt, __ATOMIC_RELEASE);
	if (notify)
		fp_evtchn_raise(q->port);
}

static void answer(const uint8_t *b)
{
	struct beq *q = be.nq ? &be.q[b[0] % be.nq] : NULL;
	union pv_blkif_sring_entry e;
	uint8_t how = b[2], op;
	pv_ring_idx_t prod;

	if (!q || !q->s)
		return;
	prod = __atomic_load_n(&q->s->req_prod, __ATOMIC_ACQUIRE);
	if (q->req_cons == prod || (pv_ring_idx_t)(prod - q->req_cons) > q->nr_ents)
		return;
	memcpy(&e, q->s->ring + (size_t)(q->req_cons & (q->nr_ents - 1)) * sizeof(e), sizeof(e));
	q->req_cons++;
	op = e.req.operation;
	if (op == BLKIF_OP_INDIRECT)
		op = ((struct blkif_request_indirect *)&e.req)->indirect_op;
	respond(q, e.req.id ^ ((how & 1) ? 0x10001u : 0), (uint8_t)(op ^ ((how & 2) ? 1 : 0)),
		(int16_t)(int8_t)b[1] % 3);
	if (how & 4)
		respond(q, e.req.id, op, 0);
	publish(q, !(how & 8));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pv_platform *plat;
	const uint8_t *p = data, *end = data + size;
	struct pv_blkfront_opts o = { .timeout_ms = 20 };
	struct pv_blkfront *bf = NULL;
	uint8_t h[2];
	int rc;

	if (size > 16384)
		return 0;
	if (!plat) {
		plat = fp_init(1);
		for (unsigned int i = 0; i < NIOS; i++)
			FUZZ_CHECK((bufs[i] = malloc(BUFSZ)) != NULL);
		be.debug = getenv("PVIO_FUZZ_DEBUG") != NULL;
	}
	fp_reset();
	memset(ios, 0, sizeof(ios));
	memset(be.q, 0, sizeof(be.q));
	be.nq = 0;
	take(&p, end, h, 2);
	o.no_persistent = h[0] & 1;
	o.no_indirect = (h[0] >> 1) & 1;
	o.no_ring_order = (h[0] >> 2) & 1;
	o.max_queues = (h[0] >> 3) & 3;
	be.handshake = (h[0] >> 5) & 3;
	be.ninit = h[1] & 15;
	be.nconn = h[1] >> 4;
	take_overrides(&p, end, be.init, be.ninit);
	take_overrides(&p, end, be.conn, be.nconn);

	fp_xs_set_str(FE "/backend", BE);
	fp_xs_set_str(FE "/backend-id", "0");
	fp_xs_set_str(FE "/state", "1"); /* the toolstack creates both state nodes */
	be_node("state", "1");
	fp_hooks.xs_changed = on_xs_changed;

	rc = pv_blkfront_open(plat, DEVID, &o, &bf);
	if (be.debug)
		fprintf(stderr, "open: %d, %u queue(s)\n", rc, be.nq);
	if (rc < 0) {
		FUZZ_CHECK(bf == NULL);
		fp_check_clean(1);
		return 0;
	}

	while (p < end) {
		uint8_t cmd = *p++, b[16];

		switch (cmd & 15) {
		case 0:
			take(&p, end, b, 4);
			submit(bf, b);
			break;
		case 1:
			take(&p, end, b, 3);
			answer(b);
			break;
		case 2: {
			struct beq *q;

			take(&p, end, b, 1);
			q = be.nq ? &be.q[b[0] % be.nq] : NULL;
			take(&p, end, b, 16);
			if (q && q->s) {
				memcpy(q->s->ring + (size_t)(q->rsp_prod_pvt & (q->nr_ents - 1)) *
							    sizeof(union pv_blkif_sring_entry),
				       b, 16);
				q->rsp_prod_pvt++;
				publish(q, 1);
			}
			break;
		}
		case 3: {
			uint32_t v;
			struct beq *q;

			take(&p, end, b, 1);
			q = be.nq ? &be.q[b[0] % be.nq] : NULL;
			take(&p, end, &v, 4);
			if (q && q->s) {
				__atomic_store_n(&q->s->rsp_prod, v, __ATOMIC_RELEASE);
				fp_evtchn_raise(q->port);
			}
			break;
		}
		case 4:
			pv_blkfront_poll(bf, 0);
			break;
		case 5: {
			struct override ov;

			take_overrides(&p, end, &ov, 1);
			be_override(&ov);
			break;
		}
		case 6: {
			char s[4];

			take(&p, end, b, 1);
			snprintf(s, sizeof(s), "%u", b[0] % 9);
			be_node("state", s);
			break;
		}
		case 7:
			pv_blkfront_kick(bf);
			break;
		case 8: {
			struct pv_blkfront_info in;

			FUZZ_CHECK(pv_blkfront_info(bf, &in) == 0);
			break;
		}
		default:
			break;
		}
	}

	/* The back end leaves: every io still out must complete (with an error) now. */
	be_node("state", "5");
	pv_blkfront_poll(bf, 0);
	for (unsigned int i = 0; i < NIOS; i++)
		FUZZ_CHECK(!ios[i].busy);
	pv_blkfront_close(bf);
	fp_check_clean(1);
	return 0;
}
