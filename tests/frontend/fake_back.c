/* SPDX-License-Identifier: MIT */
/*
 * fake_back.c - the in-test blkif back end (see fake_back.h).  Deliberately simple: it
 * moves data with batched grant copies (no mapping cache), serves the rings in one loop,
 * and follows the XenBus state machine of docs/protocol.md, including a front end that
 * closes and comes back.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fake_back.h"
#include "pv_platform.h"
#include "pv_blkif.h"

#define MAXQ 4

struct fq {
	struct pv_ring_back b;
	void *addr;
	unsigned int pages;
	evtchn_port_t port;
	int bound;
};

struct child {
	struct fake *f;
	struct fake_cfg *c;
	struct pv_platform *p;
	char be[256], fe[256];
	struct fq q[MAXQ];
	unsigned int nq;
	int kept_mapped;
	int going_closing;
};

static int rd_u64(struct child *ch, const char *dir, const char *node, uint64_t *v)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, node);
	return pv_xs_read_u64(ch->p, 0, path, v);
}

static void wr(struct child *ch, const char *node, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void wr(struct child *ch, const char *node, const char *fmt, ...)
{
	char path[512], val[128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	snprintf(path, sizeof(path), "%s/%s", ch->be, node);
	pv_xs_write(ch->p, 0, path, val, strlen(val));
}

static void rm(struct child *ch, const char *node)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", ch->be, node);
	pv_xs_rm(ch->p, 0, path);
}

static int fe_state(struct child *ch)
{
	uint64_t v;

	return rd_u64(ch, ch->fe, "state", &v) < 0 ? 0 : (int)v;
}

/*
 * Sleeps until a watch event or an event-channel event (or 50 ms: a watch event is only
 * a hint).  Returns 1 when the front end's state may have changed.
 */
static int wait_watch(struct child *ch, int extra_fd)
{
	struct pollfd pfd[2] = {
		{ .fd = pv_xs_watch_fd(ch->p), .events = POLLIN },
		{ .fd = extra_fd, .events = POLLIN },
	};
	char *path, *token;
	int n, fired = 0;

	n = poll(pfd, extra_fd >= 0 ? 2 : 1, 50);
	while (pv_xs_watch_next(ch->p, &path, &token) == 0) {
		fired = 1;
		free(path);
		free(token);
	}
	return fired || n == 0;
}

static int wait_fe(struct child *ch, unsigned int mask)
{
	for (;;) {
		int st = fe_state(ch);

		if (st < 32 && (mask & (1u << st)))
			return st;
		wait_watch(ch, -1);
	}
}

static void write_nodes(struct child *ch, const struct fake_node *n)
{
	unsigned int i;

	for (i = 0; i < FAKE_MAX_NODES; i++)
		if (n[i].name[0])
			wr(ch, n[i].name, "%s", n[i].value);
}

static void write_init(struct child *ch)
{
	const struct fake_cfg *c = ch->c;
	static const char *const stale[] = {
		"max-ring-page-order", "multi-queue-max-queues", "feature-persistent",
		"feature-flush-cache", "feature-barrier", "feature-discard",
		"feature-max-indirect-segments", "sectors", "sector-size", "info",
	};
	unsigned int i;

	for (i = 0; i < sizeof(stale) / sizeof(stale[0]); i++)
		rm(ch, stale[i]);
	if (c->max_ring_order >= 0)
		wr(ch, "max-ring-page-order", "%d", c->max_ring_order);
	if (c->max_queues >= 0)
		wr(ch, "multi-queue-max-queues", "%d", c->max_queues);
	write_nodes(ch, c->init_nodes);
}

static void write_connect(struct child *ch)
{
	const struct fake_cfg *c = ch->c;

	wr(ch, "sectors", "%llu", (unsigned long long)c->sectors);
	if (c->sector_size)
		wr(ch, "sector-size", "%u", c->sector_size);
	wr(ch, "info", "%u", c->readonly ? VDISK_READONLY : 0);
	wr(ch, "feature-persistent", "%d", c->persistent);
	wr(ch, "feature-flush-cache", "%d", c->flush);
	wr(ch, "feature-barrier", "%d", c->barrier);
	wr(ch, "feature-discard", "%d", c->discard);
	if (c->discard) {
		wr(ch, "discard-granularity", "4096");
		wr(ch, "discard-alignment", "0");
	}
	if (c->indirect)
		wr(ch, "feature-max-indirect-segments", "%u", c->indirect);
	write_nodes(ch, c->connect_nodes);
}

static void disconnect(struct child *ch)
{
	unsigned int i;

	for (i = 0; i < MAXQ; i++) {
		struct fq *q = &ch->q[i];

		if (q->addr)
			pv_gnt_unmap(ch->p, q->addr, q->pages);
		if (q->bound)
			pv_evtchn_unbind(ch->p, q->port);
		memset(q, 0, sizeof(*q));
	}
	ch->nq = 0;
}

static int connect_rings(struct child *ch)
{
	struct fake_seen *seen = ch->f->seen;
	uint64_t order = 0, nq = 1, v;
	char dir[300], node[32];
	unsigned int i, j;
	grant_ref_t refs[PV_RING_MAX_PAGES];

	rd_u64(ch, ch->fe, "ring-page-order", &order);
	rd_u64(ch, ch->fe, "multi-queue-num-queues", &nq);
	if (order > PV_RING_MAX_PAGE_ORDER || nq == 0 || nq > MAXQ)
		return -EINVAL;
	if (rd_u64(ch, ch->fe, "feature-persistent", &v) == 0)
		seen->fe_persistent = (unsigned int)v;
	{
		char path[300], *s = NULL;

		snprintf(path, sizeof(path), "%s/protocol", ch->fe);
		seen->protocol_ok = pv_xs_read(ch->p, 0, path, &s, NULL) == 0 && strcmp(s, "x86_64-abi") == 0;
		free(s);
	}
	seen->ring_pages = 1u << order;
	seen->queues = (unsigned int)nq;
	for (i = 0; i < nq; i++) {
		struct fq *q = &ch->q[i];

		if (nq > 1)
			snprintf(dir, sizeof(dir), "%s/queue-%u", ch->fe, i);
		else
			snprintf(dir, sizeof(dir), "%s", ch->fe);
		for (j = 0; j < (1u << order); j++) {
			if (order == 0)
				snprintf(node, sizeof(node), "ring-ref");
			else
				snprintf(node, sizeof(node), "ring-ref%u", j);
			if (rd_u64(ch, dir, node, &v) < 0)
				return -EINVAL;
			refs[j] = (grant_ref_t)v;
		}
		if (pv_gnt_map(ch->p, (domid_t)ch->c->fe_domid, 1u << order, refs, 1, &q->addr) < 0) {
			q->addr = NULL;
			return -EACCES;
		}
		q->pages = 1u << order;
		pv_ring_back_init(&q->b, q->addr, (size_t)q->pages * PV_PAGE_SIZE,
				  sizeof(union pv_blkif_sring_entry));
		if (rd_u64(ch, dir, "event-channel", &v) < 0 ||
		    pv_evtchn_bind_interdomain(ch->p, (domid_t)ch->c->fe_domid, (evtchn_port_t)v,
					       &q->port) < 0)
			return -EINVAL;
		q->bound = 1;
		ch->nq = i + 1;
	}
	return 0;
}

/* Copies the data of one read/write; returns a BLKIF_RSP_*. */
static int do_rw(struct child *ch, int op, uint64_t sector, const struct blkif_request_segment *seg,
		 unsigned int nseg)
{
	static struct pv_gnt_copy_seg cs[256];
	const struct fake_cfg *c = ch->c;
	struct fake_seen *seen = ch->f->seen;
	uint64_t off = sector * 512;
	unsigned int i;

	if (nseg == 0 || nseg > 256)
		return BLKIF_RSP_ERROR;
	if (nseg > seen->max_segs)
		seen->max_segs = nseg;
	for (i = 0; i < nseg; i++) {
		unsigned int n;

		if (seg[i].last_sect >= 8 || seg[i].first_sect > seg[i].last_sect)
			return BLKIF_RSP_ERROR;
		n = (seg[i].last_sect - seg[i].first_sect + 1u) * 512u;
		if (off + n > ch->f->disk_bytes)
			return BLKIF_RSP_ERROR;
		cs[i] = (struct pv_gnt_copy_seg){
			.local = ch->f->disk + off, .ref = seg[i].gref, .domid = (domid_t)c->fe_domid,
			.offset = (uint16_t)(seg[i].first_sect * 512u), .len = (uint16_t)n,
			.to_granted = op == BLKIF_OP_READ,
		};
		off += n;
	}
	if (c->hostile == FAKE_ERROR_AT && sector <= c->error_sector && c->error_sector < off / 512)
		return BLKIF_RSP_ERROR;
	if (c->hostile == FAKE_KEEP_MAPPED && !ch->kept_mapped) {
		void *addr;

		if (pv_gnt_map(ch->p, (domid_t)c->fe_domid, 1, &seg[0].gref, 0, &addr) == 0)
			ch->kept_mapped = 1; /* and never unmapped */
	}
	if (op == BLKIF_OP_WRITE && c->readonly)
		return BLKIF_RSP_ERROR;
	if (pv_gnt_copy(ch->p, cs, nseg) < 0)
		return BLKIF_RSP_ERROR;
	if (op == BLKIF_OP_READ)
		seen->reads++;
	else
		seen->writes++;
	return BLKIF_RSP_OKAY;
}

static int handle(struct child *ch, const struct blkif_request *req)
{
	struct fake_seen *seen = ch->f->seen;
	const struct fake_cfg *c = ch->c;

	seen->requests++;
	switch (req->operation) {
	case BLKIF_OP_READ:
	case BLKIF_OP_WRITE:
		if (req->nr_segments > BLKIF_MAX_SEGMENTS_PER_REQUEST)
			break;
		return do_rw(ch, req->operation, req->sector_number, req->seg, req->nr_segments);
	case BLKIF_OP_INDIRECT: {
		const struct blkif_request_indirect *ind = (const void *)req;
		static struct blkif_request_segment segs[512];
		struct pv_gnt_copy_seg cs = {
			.local = segs, .ref = ind->indirect_grefs[0], .domid = (domid_t)c->fe_domid,
			.len = PV_PAGE_SIZE,
		};

		if (!c->indirect || ind->nr_segments > c->indirect || ind->nr_segments > 256 ||
		    (ind->indirect_op != BLKIF_OP_READ && ind->indirect_op != BLKIF_OP_WRITE))
			break;
		if (pv_gnt_copy(ch->p, &cs, 1) < 0)
			break;
		seen->indirect++;
		return do_rw(ch, ind->indirect_op, ind->sector_number, segs, ind->nr_segments);
	}
	case BLKIF_OP_FLUSH_DISKCACHE:
		if (!c->flush)
			break;
		seen->flushes++;
		return c->hostile == FAKE_EOPNOTSUPP_FLUSH ? BLKIF_RSP_EOPNOTSUPP : BLKIF_RSP_OKAY;
	case BLKIF_OP_WRITE_BARRIER:
		if (!c->barrier)
			break;
		seen->barriers++;
		return BLKIF_RSP_OKAY;
	case BLKIF_OP_DISCARD: {
		const struct blkif_request_discard *d = (const void *)req;

		if (!c->discard || d->sector_number > c->sectors ||
		    d->nr_sectors > c->sectors - d->sector_number)
			break;
		memset(ch->f->disk + d->sector_number * 512, 0, d->nr_sectors * 512);
		seen->discards++;
		return BLKIF_RSP_OKAY;
	}
	}
	seen->bad_requests++;
	return BLKIF_RSP_ERROR;
}

static void respond(struct fq *q, uint64_t id, uint8_t op, int16_t st)
{
	struct blkif_response *r = pv_blkif_back_rsp(&q->b, q->b.rsp_prod_pvt++);

	r->id = id;
	r->operation = op;
	r->status = st;
}

/* Serves one ring; returns -1 when the fake decided to go Closing. */
static int serve(struct child *ch, struct fq *q)
{
	const struct fake_cfg *c = ch->c;
	unsigned int bit = 1u << (q - ch->q);
	enum fake_hostile hostile = c->mute_queues & bit ? FAKE_MUTE :
		!c->hostile_queues || (c->hostile_queues & bit) ? c->hostile : FAKE_HONEST;
	pv_ring_idx_t prod;
	int notify = 0;

	for (;;) {
		if (pv_ring_back_req_prod(&q->b, &prod) < 0)
			return -1;
		if (q->b.req_cons != prod && c->delay_us)
			usleep(c->delay_us);
		while (q->b.req_cons != prod && !pv_ring_req_cons_overflow(&q->b, q->b.req_cons)) {
			struct blkif_request req;
			int st;

			pv_blkif_back_copy_req(&q->b, q->b.req_cons, &req);
			q->b.req_cons++;
			ch->f->seen->taken++;
			if (hostile == FAKE_CLOSE_MID_IO)
				return -1; /* never answered */
			if (hostile == FAKE_MUTE)
				continue; /* never answered, and nothing said */
			st = handle(ch, &req);
			switch (hostile) {
			case FAKE_UNKNOWN_ID:
				respond(q, req.id | 0xFFFF, req.operation, (int16_t)st);
				break;
			case FAKE_DUP_RSP:
				respond(q, req.id, req.operation, (int16_t)st);
				respond(q, req.id, req.operation, (int16_t)st);
				break;
			case FAKE_NOT_IN_FLIGHT:
				respond(q, req.id + 1, req.operation, (int16_t)st);
				break;
			case FAKE_BAD_OP:
				respond(q, req.id, 77, (int16_t)st);
				break;
			case FAKE_STALE_GEN:
				respond(q, req.id - (1ull << 16), req.operation, (int16_t)st);
				break;
			case FAKE_BAD_STATUS:
				respond(q, req.id, req.operation, 7);
				break;
			default:
				respond(q, req.id, req.operation, (int16_t)st);
			}
		}
		if (pv_ring_push_responses_and_check_notify(&q->b))
			notify = 1;
		if (hostile == FAKE_RSP_PROD && q->b.rsp_prod_pvt) {
			__atomic_store_n(&q->b.sring->rsp_prod, q->b.rsp_prod_pvt + 1000, __ATOMIC_RELEASE);
			notify = 1;
		}
		if (!pv_ring_final_check_requests(&q->b))
			break;
	}
	if (notify) {
		pv_evtchn_notify(ch->p, q->port);
		ch->f->seen->notifications++;
	}
	return 0;
}

static void child_main(struct fake *f, const char *rundir)
{
	struct child ch = { .f = f, .c = &f->cfg };
	char spec[300], path[300];
	const char *why;
	unsigned int i;

	snprintf(spec, sizeof(spec), "sim:%s:0", rundir);
	if (pv_platform_open(spec, &ch.p, &why) < 0)
		_exit(2);
	snprintf(ch.be, sizeof(ch.be), "/local/domain/0/backend/vbd/%u/%u", f->cfg.fe_domid, f->cfg.devid);
	snprintf(ch.fe, sizeof(ch.fe), "/local/domain/%u/device/vbd/%u", f->cfg.fe_domid, f->cfg.devid);
	snprintf(path, sizeof(path), "%s/state", ch.fe);
	pv_xs_watch(ch.p, path, "fe");

	for (;;) {
		int st;

		disconnect(&ch);
		write_init(&ch);
		if (f->cfg.hostile == FAKE_SILENT)
			for (;;)
				pause();
		wr(&ch, "state", "2");
		st = wait_fe(&ch, 1u << 3 | 1u << 5 | 1u << 6);
		if (st == 3 && f->cfg.hostile != FAKE_REFUSE && connect_rings(&ch) == 0) {
			int evfd = pv_evtchn_fd(ch.p), closing = 0, look = 1;

			write_connect(&ch);
			wr(&ch, "state", "4");
			f->seen->connects++;
			while (!closing) {
				int port;

				if (look) {
					st = fe_state(&ch);
					if (st == 5 || st == 6 || st == 1)
						break;
				}
				while ((port = pv_evtchn_pending(ch.p)) >= 0)
					pv_evtchn_unmask(ch.p, (evtchn_port_t)port);
				for (i = 0; i < ch.nq; i++)
					if (serve(&ch, &ch.q[i]) < 0)
						closing = 1;
				if (!closing)
					look = wait_watch(&ch, evfd);
			}
		}
		/* Closing: release the front end's pages first, then say so. */
		disconnect(&ch);
		/* Counted before it is said: the front end may return as soon as it sees 5. */
		f->seen->closes++;
		wr(&ch, "state", "5");
		wait_fe(&ch, 1u << 5 | 1u << 6 | 1u << 1);
		wait_fe(&ch, 1u << 6 | 1u << 1);
		wr(&ch, "state", "6");
		wait_fe(&ch, 1u << 1);
	}
}

int fake_start(struct fake *f, const char *rundir, const struct fake_cfg *cfg)
{
	f->cfg = *cfg;
	f->disk_bytes = (size_t)cfg->sectors * 512;
	f->seen = mmap(NULL, sizeof(*f->seen), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	f->disk = mmap(NULL, f->disk_bytes ? f->disk_bytes : 4096, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (f->seen == MAP_FAILED || f->disk == MAP_FAILED)
		return -ENOMEM;
	fflush(NULL);
	f->pid = fork();
	if (f->pid < 0)
		return -errno;
	if (f->pid == 0) {
		signal(SIGTERM, SIG_DFL);
		/* A test killed by its runner's timeout must not leave back ends behind. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() == 1)
			_exit(1);
		child_main(f, rundir);
		_exit(0);
	}
	return 0;
}

int fake_stop(struct fake *f)
{
	int st = 0, ok;

	if (f->pid <= 0)
		return -1;
	kill(f->pid, SIGTERM);
	waitpid(f->pid, &st, 0);
	f->pid = -1;
	/* Killed by our SIGTERM is the normal end; any other signal or exit is a failure. */
	ok = WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM;
	munmap(f->seen, sizeof(*f->seen));
	munmap(f->disk, f->disk_bytes ? f->disk_bytes : 4096);
	return ok ? 0 : -1;
}
