/* SPDX-License-Identifier: MIT */
/*
 * fuzz_blkback.c - libFuzzer target for pvio-backd's blkback: a hostile guest.
 *
 * The fuzzer is domain 1.  It owns the ring pages, the data and indirect pages (and their
 * grants) and the frontend's xenstore nodes; the toolstack's backend nodes are its too.
 * pvio-backd's code runs unmodified in this process over tests/fuzz/fake_plat.c, driven
 * the way pvio-backd.c's loop drives it: watch events -> pv_blkback_watch_event() ->
 * pv_blkback_process_dirty(), event channel -> pv_blkback_evtchn_ready(), io_uring
 * completions (file driver) -> the loop.
 *
 * Input: a 10-byte header, then commands until the input ends.
 *   h[0]     bit 0 grant copy, bit 1 front end asks for persistent grants, bit 2 mode r,
 *            bits 3-4 ring-page-order, bits 5-6 queues - 1, bit 7 file driver (a memfd)
 *            instead of the null driver
 *   h[1]     --max-persistent (low 5 bits; 0: the default)
 *   h[2..5]  data pages 0..31 granted (bit set) ...
 *   h[6..9]  ... read-only (bit set)
 *   commands (the first byte's low 4 bits; queue numbers are taken modulo the queues):
 *   0 REQ   q, 112 bytes: a request in the next private slot of queue q
 *   1 PUSH  q: publish req_prod and notify
 *   2 PROD  q, 4 bytes: req_prod := any value, and notify
 *   3 PAGE  page, 2-byte offset, length, bytes: write into a data page (indirect segments)
 *   4 NODE  node, length, bytes: a frontend or backend node's new value
 *   5 STATE s: the frontend's state node
 *   6 GRANT page, flags: change a data page's grant (revoke, read-only)
 *   7 POLL  run the loop once (file driver completions)
 *   8 FAULT n: the n-th xenstore call from now fails with -EIO (or -EAGAIN)
 *   9 DETACH how: online=0, backend state 5, or the backend directory removed
 *   10 TERM SIGTERM: drain and stop; the input ends here
 * After each command the fuzzer checks the guest-visible invariants it can: no queue
 * answers more requests than it took.  At the end the toolstack removes the device and
 * every mapping, port and watch must be gone.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fake_plat.h"
#include "fuzz.h"
#include "pv_blkback.h"

#define GUEST     1
#define DEVID     51712
#define ROOT      "/local/domain/0/backend/vbd"
#define BE        ROOT "/1/51712"
#define FE        "/local/domain/1/device/vbd/51712"
#define DATA_PG   64u  /* data pages: guest pages DATA_PG .. DATA_PG + 31 */
#define NDATA     32u
#define DISK_SECT 2048u /* 1 MiB */

static struct pv_loop *loop;
static int diskfd = -1;
static int debug; /* $PVIO_FUZZ_DEBUG: say what each input did */

/* The guest's view of its rings. */
static struct {
	struct pv_sring *s;
	unsigned int nr_ents;
	pv_ring_idx_t prod_pvt;
	evtchn_port_t port; /* the port the back end bound, ours to raise on */
	/* The honest guest's books: ids written per slot, ids published and unanswered. */
	pv_ring_idx_t pub, rsp_cons;
	uint64_t slot_id[512];
	uint64_t out[512];
	unsigned int nout;
} ring[4];
static unsigned int nq, order;
/*
 * Cleared by the first command an honest front end would not send (a forged req_prod,
 * node or state changes, injected faults, a slot overwritten before its answer, a push
 * while not connected, its ring pages used as data: check_ring_private): only an honest
 * guest is owed exactly one answer per request.
 */
static int honest;

static const char *const node_names[] = {
	FE "/state", FE "/ring-ref", FE "/ring-ref0", FE "/ring-ref1", FE "/event-channel",
	FE "/protocol", FE "/feature-persistent", FE "/multi-queue-num-queues",
	FE "/ring-page-order", FE "/queue-0/ring-ref", FE "/queue-1/ring-ref0",
	FE "/queue-0/event-channel", FE "/queue-1/event-channel", FE,
	BE "/params", BE "/mode", BE "/type", BE "/frontend", BE "/frontend-id", BE "/online",
	BE "/state", BE "/device-type", BE "/discard-enable",
};

static void stop_tick(struct pv_loop *l, void *opaque)
{
	(void)opaque;
	pv_loop_stop(l);
}

/* What pvio-backd.c's on_watch does. */
static void daemon_watch(struct pv_backd *d)
{
	char *path, *token;

	while (pv_xs_watch_next(d->plat, &path, &token) == 0) {
		if (debug)
			fprintf(stderr, "event %s %s\n", path, token);
		pv_blkback_watch_event(d, path, token);
		free(path);
		free(token);
	}
	pv_blkback_process_dirty(d);
}

/* One pass of the loop (io_uring completions), then the state machine. */
static void daemon_poll(struct pv_backd *d, int ms)
{
	FUZZ_CHECK(pv_loop_run(loop, ms, stop_tick, NULL) == 0);
	daemon_watch(d);
}

/* Which port did the back end bind for queue i?  Found through its own tables. */
static void learn_ports(struct pv_backd *d)
{
	struct pv_blkback_dev *dev = pv_blkback_find(d, GUEST, DEVID);

	for (unsigned int i = 0; i < 4; i++)
		ring[i].port = dev && i < dev->nqueues && dev->qs[i].bound ? dev->qs[i].port : 0;
}

/* Takes the published responses: each must answer a request published and unanswered. */
static void take_responses(void)
{
	for (unsigned int qi = 0; qi < nq && honest; qi++) {
		pv_ring_idx_t prod = __atomic_load_n(&ring[qi].s->rsp_prod, __ATOMIC_ACQUIRE);

		FUZZ_CHECK((pv_ring_idx_t)(prod - ring[qi].rsp_cons) <= ring[qi].nout);
		for (; ring[qi].rsp_cons != prod; ring[qi].rsp_cons++) {
			struct blkif_response r;
			unsigned int k;

			memcpy(&r, ring[qi].s->ring + (size_t)(ring[qi].rsp_cons &
							       (ring[qi].nr_ents - 1)) *
							  sizeof(union pv_blkif_sring_entry),
			       sizeof(r));
			FUZZ_CHECK(r.status >= BLKIF_RSP_EOPNOTSUPP && r.status <= BLKIF_RSP_OKAY);
			for (k = 0; k < ring[qi].nout && ring[qi].out[k] != r.id; k++)
				;
			FUZZ_CHECK(k < ring[qi].nout); /* an answer to nothing, or a second one */
			ring[qi].out[k] = ring[qi].out[--ring[qi].nout];
		}
	}
}

/*
 * An honest front end never names its own ring pages as data or indirect pages.  A guest
 * that does (a read into its ring, which a segment's gref, an indirect descriptor or disk
 * data read into an indirect page can arrange) rewrites requests the back end has not
 * copied yet, and the back end then rightly answers the ids it finds there: answers to
 * nothing, from the guest's books.  Each ring page is mapped once, at connect; any other
 * map or copy of it is such a use.
 */
static void check_ring_private(void)
{
	for (unsigned int qi = 0; qi < nq; qi++)
		for (unsigned int i = 0; i < (1u << order); i++)
			if (fp_page_uses[qi * 16 + i] > 1)
				honest = 0;
}

static void check_invariants(struct pv_backd *d)
{
	struct pv_blkback_dev *dev = pv_blkback_find(d, GUEST, DEVID);

	check_ring_private();
	take_responses();

	if (!dev)
		return;
	for (unsigned int i = 0; i < dev->nqueues; i++) {
		struct pv_blkback_queue *q = &dev->qs[i];

		if (!q->ring.sring)
			continue;
		/* Never a response for a slot it has not taken the request from. */
		FUZZ_CHECK((pv_ring_idx_t)(q->ring.req_cons - q->ring.rsp_prod_pvt) <= q->ring.nr_ents);
		FUZZ_CHECK(q->inflight <= q->ring.nr_ents);
	}
}

static void notify(struct pv_backd *d, unsigned int qi)
{
	learn_ports(d);
	if (!ring[qi].port)
		return;
	fp_evtchn_raise(ring[qi].port);
	pv_blkback_evtchn_ready(d);
	daemon_watch(d);
}

static void write_u(const char *path, unsigned int v)
{
	char s[16];

	snprintf(s, sizeof(s), "%u", v);
	fp_xs_set_str(path, s);
}

/* The toolstack's and an honest front end's nodes, and the rings, before any command. */
static void setup(uint8_t cfg)
{
	unsigned int npages = 1u << order;
	char path[160];

	fp_xs_set_str(BE "/frontend", FE);
	fp_xs_set_str(BE "/frontend-id", "1");
	fp_xs_set_str(BE "/online", "1");
	fp_xs_set_str(BE "/state", "1");
	fp_xs_set_str(BE "/mode", (cfg & 4) ? "r" : "w");
	if (cfg & 0x80) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", diskfd);
		fp_xs_set_str(BE "/params", path);
		fp_xs_set_str(BE "/type", "phy");
	} else {
		fp_xs_set_str(BE "/params", "null:2048");
		fp_xs_set_str(BE "/type", "null");
	}
	fp_xs_set_str(FE "/backend", BE);
	fp_xs_set_str(FE "/backend-id", "0");
	fp_xs_set_str(FE "/protocol", "x86_64-abi");
	fp_xs_set_str(FE "/feature-persistent", (cfg & 2) ? "1" : "0");
	if (order)
		write_u(FE "/ring-page-order", order);
	if (nq > 1)
		write_u(FE "/multi-queue-num-queues", nq);
	for (unsigned int q = 0; q < nq; q++) {
		char dir[100];

		if (nq > 1)
			snprintf(dir, sizeof(dir), FE "/queue-%u", q);
		else
			snprintf(dir, sizeof(dir), FE);
		for (unsigned int i = 0; i < npages; i++) {
			unsigned int pg = q * 16 + i;

			fp_grant[pg] = FP_G_GRANTED;
			if (order)
				snprintf(path, sizeof(path), "%s/ring-ref%u", dir, i);
			else
				snprintf(path, sizeof(path), "%s/ring-ref", dir);
			write_u(path, pg + FP_REF_BASE);
		}
		snprintf(path, sizeof(path), "%s/event-channel", dir);
		write_u(path, 10 + q);
		ring[q].s = (struct pv_sring *)(fp_mem + (size_t)q * 16 * 4096);
		memset(ring[q].s, 0, (size_t)npages * 4096);
		pv_sring_init(ring[q].s);
		ring[q].nr_ents = pv_ring_size((size_t)npages * 4096,
					       sizeof(union pv_blkif_sring_entry));
		ring[q].prod_pvt = 0;
	}
	fp_xs_set_str(FE "/state", "3"); /* Initialised: rings are ready */
}

/* PVIO_FUZZ_DEBUG=1: what an input did, to check that a seed reaches what it aims at. */
static void debug_dump(struct pv_backd *d)
{
	for (struct pv_blkback_dev *dev = d->devs; dev; dev = dev->next) {
		/* The queues' own counters, and those of queues gone. */
		struct pv_blkback_stats sum = dev->st;
		const struct pv_blkback_stats *st = &sum;

		for (unsigned int i = 0; i < dev->nqueues; i++)
			pv_blkback_stats_add(&sum, &dev->qs[i].st);

		fprintf(stderr,
			"vbd %u/%u: state %d connected %u queues %u persistent %u copy %u: "
			"requests %llu bad %llu errors %llu reads %llu writes %llu indirect %llu "
			"maps %llu copies %llu hits %llu\n",
			dev->domid, dev->devid, dev->state, dev->connected, dev->nqueues,
			dev->persistent, dev->copy, (unsigned long long)st->requests,
			(unsigned long long)st->bad_requests, (unsigned long long)st->errors,
			(unsigned long long)st->reads, (unsigned long long)st->writes,
			(unsigned long long)st->indirect, (unsigned long long)st->grant_maps,
			(unsigned long long)st->grant_copies, (unsigned long long)st->persistent_hits);
	}
	for (unsigned int q = 0; q < nq; q++)
		fprintf(stderr, "queue %u: req_prod %u rsp_prod %u; honest %d, answers taken %u, "
			"unanswered %u\n", q, ring[q].s->req_prod, ring[q].s->rsp_prod, honest,
			ring[q].rsp_cons, ring[q].nout);
}

static size_t take(const uint8_t **p, const uint8_t *end, void *out, size_t n)
{
	size_t k = (size_t)(end - *p) < n ? (size_t)(end - *p) : n;

	memset(out, 0, n);
	memcpy(out, *p, k);
	*p += k;
	return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pv_platform *plat;
	struct pv_backd d = { .ctl_fd = -1 };
	const uint8_t *p = data, *end = data + size;
	uint8_t h[10];
	uint32_t granted, ro;
	int stopped = 0;

	if (size > 32768)
		return 0;
	if (!plat) {
		plat = fp_init(0);
		debug = getenv("PVIO_FUZZ_DEBUG") != NULL;
		pv_backd_log_level = PV_LOG_ERROR;
		loop = pv_loop_new();
		diskfd = memfd_create("fuzz-disk", MFD_CLOEXEC);
		FUZZ_CHECK(loop && diskfd >= 0 && ftruncate(diskfd, DISK_SECT * 512) == 0);
	}
	fp_reset();
	/* A disk of zeros for every input: an input's outcome must not depend on the last. */
	FUZZ_CHECK(ftruncate(diskfd, 0) == 0 && ftruncate(diskfd, DISK_SECT * 512) == 0);
	memset(ring, 0, sizeof(ring));
	honest = 1;
	take(&p, end, h, sizeof(h));
	order = (h[0] >> 3) & 3;
	nq = 1 + ((h[0] >> 5) & 3);
	memcpy(&granted, h + 2, 4);
	memcpy(&ro, h + 6, 4);
	for (unsigned int i = 0; i < NDATA; i++)
		fp_grant[DATA_PG + i] = ((granted >> i) & 1 ? FP_G_GRANTED : 0) |
					((ro >> i) & 1 ? FP_G_RO : 0);

	d.plat = plat;
	d.loop = loop;
	snprintf(d.root, sizeof(d.root), ROOT);
	d.types_mask = PV_BACKD_TYPE_PHY | PV_BACKD_TYPE_NULL;
	d.grant_copy = h[0] & 1;
	d.max_queues = 4;
	d.max_persistent = h[1] & 31;
	setup(h[0]);
	FUZZ_CHECK(pv_xs_watch(plat, ROOT, "vbd") == 0);
	daemon_watch(&d);
	check_invariants(&d);

	while (p < end && !stopped) {
		uint8_t cmd = *p++, b[4];
		unsigned int qi;

		if (debug)
			fprintf(stderr, "command %u at %zu\n", cmd & 15, (size_t)(p - 1 - data));

		switch (cmd & 15) {
		case 0: { /* REQ */
			union pv_blkif_sring_entry e;

			take(&p, end, b, 1);
			qi = b[0] % nq;
			take(&p, end, &e.req, sizeof(e.req));
			memcpy(ring[qi].s->ring + (size_t)(ring[qi].prod_pvt & (ring[qi].nr_ents - 1)) *
						  sizeof(e),
			       &e.req, sizeof(e.req));
			ring[qi].slot_id[ring[qi].prod_pvt & (ring[qi].nr_ents - 1)] = e.req.id;
			if ((pv_ring_idx_t)(ring[qi].prod_pvt - ring[qi].rsp_cons) >= ring[qi].nr_ents)
				honest = 0; /* that slot's request is not answered yet */
			ring[qi].prod_pvt++;
			break;
		}
		case 1: /* PUSH */
			take(&p, end, b, 1);
			qi = b[0] % nq;
			learn_ports(&d);
			if (!ring[qi].port)
				honest = 0; /* not connected: nobody is there to answer */
			for (; honest && ring[qi].pub != ring[qi].prod_pvt; ring[qi].pub++)
				ring[qi].out[ring[qi].nout++] =
					ring[qi].slot_id[ring[qi].pub & (ring[qi].nr_ents - 1)];
			__atomic_store_n(&ring[qi].s->req_prod, ring[qi].prod_pvt, __ATOMIC_RELEASE);
			notify(&d, qi);
			break;
		case 2: { /* PROD */
			honest = 0;
			uint32_t v;

			take(&p, end, b, 1);
			qi = b[0] % nq;
			take(&p, end, &v, 4);
			__atomic_store_n(&ring[qi].s->req_prod, v, __ATOMIC_RELEASE);
			notify(&d, qi);
			break;
		}
		case 3: { /* PAGE */
			uint16_t off;
			uint8_t len, buf[255];

			take(&p, end, b, 1);
			take(&p, end, &off, 2);
			take(&p, end, &len, 1);
			off &= 4095;
			if (off + len > 4096)
				len = (uint8_t)(4096 - off);
			take(&p, end, buf, len);
			memcpy(fp_mem + (size_t)(DATA_PG + b[0] % NDATA) * 4096 + off, buf, len);
			break;
		}
		case 4: { /* NODE */
			honest = 0;
			uint8_t len, buf[64];

			take(&p, end, b, 2);
			len = b[1] % sizeof(buf);
			take(&p, end, buf, len);
			fp_xs_set(node_names[b[0] % (sizeof(node_names) / sizeof(node_names[0]))], buf,
				  len);
			daemon_watch(&d);
			break;
		}
		case 5: /* STATE */
			honest = 0;
			take(&p, end, b, 1);
			write_u(FE "/state", b[0] % 9);
			daemon_watch(&d);
			break;
		case 6: /* GRANT */
			take(&p, end, b, 2);
			fp_grant[DATA_PG + b[0] % NDATA] = b[1] & (FP_G_GRANTED | FP_G_RO);
			break;
		case 7: /* POLL */
			daemon_poll(&d, 0);
			break;
		case 8: /* FAULT */
			honest = 0;
			take(&p, end, b, 1);
			fp_fail_xs_after = 1 + b[0] % 16;
			fp_fail_rc = (b[0] & 0x80) ? -EAGAIN : -EIO;
			break;
		case 9: /* DETACH */
			honest = 0;
			take(&p, end, b, 1);
			if (b[0] % 3 == 0)
				fp_xs_set_str(BE "/online", "0");
			else if (b[0] % 3 == 1)
				fp_xs_set_str(BE "/state", "5");
			else
				fp_xs_rm(BE);
			daemon_watch(&d);
			break;
		case 10: /* TERM */
			stopped = 1;
			break;
		default:
			break;
		}
		check_invariants(&d);
	}

	fp_fail_xs_after = 0;
	if (debug)
		debug_dump(&d);
	if (stopped) {
		/* pvio-backd's SIGTERM: drain, then every device is freed at exit. */
		d.stopping = 1;
		for (int i = 0; i < 1000 && !pv_blkback_shutdown_step(&d); i++)
			daemon_poll(&d, 1);
	} else {
		/*
		 * The toolstack removes the device; in-flight I/O drains first.  The event is
		 * fired even when the directory is gone already: an injected xenstore fault may
		 * have made the back end miss the first one (a real xenstored does not fail a
		 * read that way, and the daemon's next rescan would catch it).
		 */
		fp_xs_rm(BE);
		fp_xs_fire(BE);
		daemon_watch(&d);
		for (int i = 0; i < 1000 && d.devs; i++)
			daemon_poll(&d, 1);
		if (d.devs && debug) {
			struct pv_blkback_dev *dev = d.devs;

			fprintf(stderr, "left: target %d dirty %u connected %u", dev->target,
				dev->dirty, dev->connected);
			for (unsigned int i = 0; i < dev->nqueues; i++)
				fprintf(stderr, " q%u stopped %u stop_at %u left %u inflight %u", i,
					dev->qs[i].stopped, dev->qs[i].have_stop_at, dev->qs[i].stop_left,
					dev->qs[i].inflight);
			fprintf(stderr, "\n");
		}
		FUZZ_CHECK(d.devs == NULL); /* a removed device must go once its I/O is done */
		/* It drained first: every request an honest guest published got its answer. */
		take_responses();
		for (unsigned int qi = 0; qi < nq && honest; qi++)
			FUZZ_CHECK(ring[qi].nout == 0);
	}
	pv_blkback_free_all(&d);
	pv_xs_unwatch(plat, ROOT, "vbd");
	/* An exiting daemon's watches die with its xenstore connection: not a leak. */
	fp_check_clean(!stopped);
	return 0;
}
