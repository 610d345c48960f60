/* SPDX-License-Identifier: MIT */
/*
 * fake_netback.c - the in-test netif back end (see fake_netback.h).  Deliberately simple:
 * grant copies both ways, one loop over the queues, the echo done as soon as a frame is
 * taken.  It trusts the front end under test only as far as it must to stay a test tool:
 * a request it cannot make sense of is counted in seen->bad.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fake_netback.h"
#include "pv_platform.h"
#include "pv_netif.h"

#define MAXQ 2

struct fq {
	struct pv_ring_back tx, rx;
	void *tx_addr, *rx_addr;
	evtchn_port_t tx_port, rx_port;
	int tx_bound, rx_bound;
};

struct child {
	struct fnb *f;
	struct fnb_cfg *c;
	struct pv_platform *p;
	char be[256], fe[256];
	struct fq q[MAXQ];
	unsigned int nq, hostile_left;
	int split, going_closing;
	uint8_t frame[FNB_MAX_FRAME];
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

static int fe_state(struct child *ch)
{
	uint64_t v;

	return rd_u64(ch, ch->fe, "state", &v) < 0 ? 0 : (int)v;
}

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

/* wait_watch() that also wakes for the peer's frames (and soon, when some wait). */
static int wait_bridge(struct child *ch, int evfd, int waiting)
{
	struct pollfd pfd[3] = {
		{ .fd = pv_xs_watch_fd(ch->p), .events = POLLIN },
		{ .fd = evfd, .events = POLLIN },
		{ .fd = ch->f->in->efd, .events = POLLIN },
	};
	char *path, *token;
	int fired = 0;

	poll(pfd, 3, waiting ? 1 : 50);
	while (pv_xs_watch_next(ch->p, &path, &token) == 0) {
		fired = 1;
		free(path);
		free(token);
	}
	return fired || (pfd[0].revents & POLLIN);
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

static void write_features(struct child *ch)
{
	const struct fnb_cfg *c = ch->c;
	unsigned int i;

	wr(ch, "feature-sg", "%d", c->sg);
	wr(ch, "feature-gso-tcpv4", "%d", c->gso4);
	wr(ch, "feature-gso-tcpv6", "%d", c->gso6);
	wr(ch, "feature-ipv6-csum-offload", "%d", c->csum6);
	wr(ch, "feature-rx-copy", "%d", c->rxcopy);
	wr(ch, "feature-rx-flip", "0");
	wr(ch, "feature-split-event-channels", "%d", c->split);
	if (c->max_queues >= 0)
		wr(ch, "multi-queue-max-queues", "%d", c->max_queues);
	for (i = 0; i < FNB_MAX_NODES; i++)
		if (c->init_nodes[i].name[0])
			wr(ch, c->init_nodes[i].name, "%s", c->init_nodes[i].value);
}

static void disconnect(struct child *ch)
{
	unsigned int i;

	for (i = 0; i < MAXQ; i++) {
		struct fq *q = &ch->q[i];

		if (q->tx_addr)
			pv_gnt_unmap(ch->p, q->tx_addr, 1);
		if (q->rx_addr)
			pv_gnt_unmap(ch->p, q->rx_addr, 1);
		if (q->rx_bound && (!q->tx_bound || q->rx_port != q->tx_port))
			pv_evtchn_unbind(ch->p, q->rx_port);
		if (q->tx_bound)
			pv_evtchn_unbind(ch->p, q->tx_port);
		memset(q, 0, sizeof(*q));
	}
	ch->nq = 0;
}

static int bind(struct child *ch, const char *dir, const char *node, evtchn_port_t *port)
{
	uint64_t v;

	if (rd_u64(ch, dir, node, &v) < 0)
		return -EINVAL;
	return pv_evtchn_bind_interdomain(ch->p, (domid_t)ch->c->fe_domid, (evtchn_port_t)v, port);
}

static int connect_rings(struct child *ch)
{
	struct fnb_seen *seen = ch->f->seen;
	uint64_t nq = 1, v;
	char dir[300];
	unsigned int i;

	rd_u64(ch, ch->fe, "multi-queue-num-queues", &nq);
	if (nq == 0 || nq > MAXQ)
		return -EINVAL;
	seen->queues = (unsigned int)nq;
	seen->rx_notify = rd_u64(ch, ch->fe, "feature-rx-notify", &v) == 0 && v == 1;
	seen->rx_copy = rd_u64(ch, ch->fe, "request-rx-copy", &v) == 0 && v == 1;
	seen->fe_gso4 = rd_u64(ch, ch->fe, "feature-gso-tcpv4", &v) == 0 && v == 1;
	seen->fe_sg = rd_u64(ch, ch->fe, "feature-sg", &v) == 0 && v == 1;
	for (i = 0; i < nq; i++) {
		struct fq *q = &ch->q[i];
		grant_ref_t ref;

		if (nq > 1)
			snprintf(dir, sizeof(dir), "%s/queue-%u", ch->fe, i);
		else
			snprintf(dir, sizeof(dir), "%s", ch->fe);
		if (rd_u64(ch, dir, "tx-ring-ref", &v) < 0)
			return -EINVAL;
		ref = (grant_ref_t)v;
		if (pv_gnt_map(ch->p, (domid_t)ch->c->fe_domid, 1, &ref, 1, &q->tx_addr) < 0) {
			q->tx_addr = NULL;
			return -EACCES;
		}
		if (rd_u64(ch, dir, "rx-ring-ref", &v) < 0)
			return -EINVAL;
		ref = (grant_ref_t)v;
		if (pv_gnt_map(ch->p, (domid_t)ch->c->fe_domid, 1, &ref, 1, &q->rx_addr) < 0) {
			q->rx_addr = NULL;
			return -EACCES;
		}
		pv_ring_back_init(&q->tx, q->tx_addr, PV_PAGE_SIZE, sizeof(union pv_netif_tx_sring_entry));
		pv_ring_back_init(&q->rx, q->rx_addr, PV_PAGE_SIZE, sizeof(union pv_netif_rx_sring_entry));
		if (bind(ch, dir, "event-channel-tx", &q->tx_port) == 0) {
			q->tx_bound = 1;
			if (bind(ch, dir, "event-channel-rx", &q->rx_port) < 0)
				return -EINVAL;
			q->rx_bound = 1;
			seen->split = 1;
		} else {
			if (bind(ch, dir, "event-channel", &q->tx_port) < 0)
				return -EINVAL;
			q->tx_bound = q->rx_bound = 1;
			q->rx_port = q->tx_port;
		}
		ch->nq = i + 1;
	}
	return 0;
}

static int hostile(struct child *ch, enum fnb_hostile h)
{
	if (ch->c->hostile != h || ch->hostile_left == 0)
		return 0;
	ch->hostile_left--;
	return 1;
}

static void rx_rsp(struct fq *q, uint16_t id, uint16_t off, uint16_t flags, int16_t status)
{
	struct netif_rx_response *r = pv_netif_rx_back_rsp(&q->rx, q->rx.rsp_prod_pvt++);

	r->id = id;
	r->offset = off;
	r->flags = flags;
	r->status = status;
}

static void rx_extra(struct fq *q, uint8_t type, uint8_t flags, uint16_t size, uint8_t gtype)
{
	struct netif_extra_info *ex =
		(struct netif_extra_info *)(void *)pv_netif_rx_back_rsp(&q->rx, q->rx.rsp_prod_pvt++);

	memset(ex, 0, sizeof(*ex));
	ex->type = type;
	ex->flags = flags;
	ex->u.gso.size = size;
	ex->u.gso.type = gtype;
}

/* Takes one rx request (waits for the front end to post one); its gref and id. */
static int rx_req(struct child *ch, struct fq *q, struct netif_rx_request *req)
{
	unsigned int tries;

	for (tries = 0; tries < 2000; tries++) {
		pv_ring_idx_t prod;

		if (pv_ring_back_req_prod(&q->rx, &prod) < 0)
			return -EPROTO;
		if (q->rx.req_cons != prod && !pv_ring_req_cons_overflow(&q->rx, q->rx.req_cons)) {
			pv_netif_rx_back_copy_req(&q->rx, q->rx.req_cons, req);
			q->rx.req_cons++;
			return 0;
		}
		(void)ch;
		usleep(1000);
	}
	return -ETIMEDOUT;
}

/* rx requests posted and not yet taken. */
static unsigned int rx_avail(struct fq *q)
{
	pv_ring_idx_t prod;

	if (pv_ring_back_req_prod(&q->rx, &prod) < 0)
		return 0;
	return (unsigned int)(prod - q->rx.req_cons);
}

/* Sends frame back on q's rx ring, with GSO extra info when gso_size. */
static int echo(struct child *ch, struct fq *q, size_t len, uint16_t txflags, uint8_t gtype,
		uint16_t gsize)
{
	const struct fnb_cfg *c = ch->c;
	unsigned int chunk = c->rx_chunk ? c->rx_chunk : PV_PAGE_SIZE;
	uint16_t flags0 = 0;
	size_t off = 0;
	int first = 1, notify;

	if (hostile(ch, FNB_RX_LONG_CHAIN))
		chunk = 64;
	if (hostile(ch, FNB_RX_SHORT))
		len = 6;
	if (txflags & NETTXF_csum_blank)
		flags0 |= NETRXF_csum_blank | NETRXF_data_validated;
	else if (txflags & NETTXF_data_validated)
		flags0 |= NETRXF_data_validated;
	while (first || off < len) {
		struct netif_rx_request req;
		struct pv_gnt_copy_seg cs;
		size_t n = len - off < chunk ? len - off : chunk;
		uint16_t flags = first ? flags0 : 0, id, roff = 0;
		int16_t st;
		int extra = first && gsize && ch->f->seen->fe_gso4;

		if (rx_req(ch, q, &req) < 0)
			return -1;
		if (extra || (first && (ch->c->hostile == FNB_RX_BAD_EXTRA ||
					 ch->c->hostile == FNB_RX_EXTRA_LOOP) && ch->hostile_left))
			flags |= NETRXF_extra_info;
		if (off + n < len)
			flags |= NETRXF_more_data;
		if (first && hostile(ch, FNB_RX_PREFIX))
			flags |= NETRXF_gso_prefix;
		cs = (struct pv_gnt_copy_seg){ .local = ch->frame + off, .ref = req.gref,
					       .domid = (domid_t)c->fe_domid, .offset = 0,
					       .len = (uint16_t)n, .to_granted = 1 };
		if (n && pv_gnt_copy(ch->p, &cs, 1) < 0)
			ch->f->seen->bad++;
		id = req.id;
		st = (int16_t)n;
		if (first && hostile(ch, FNB_RX_BAD_ID))
			id ^= 0x11;
		if (first && hostile(ch, FNB_RX_OFFSET))
			roff = 4000;
		if (first && hostile(ch, FNB_RX_STATUS_ERR))
			st = NETIF_RSP_ERROR;
		if (off + n >= len && hostile(ch, FNB_RX_CUT_CHAIN))
			flags |= NETRXF_more_data;
		if (off + n >= len && !(flags & NETRXF_extra_info) && hostile(ch, FNB_RX_EXTRA_CUT))
			flags |= NETRXF_extra_info;
		rx_rsp(q, id, roff, flags, st);
		if (flags & NETRXF_extra_info) {
			struct netif_rx_request r2;

			if (first && hostile(ch, FNB_RX_BAD_EXTRA)) {
				if (rx_req(ch, q, &r2) < 0)
					return -1;
				rx_extra(q, 9, 0, 0, 0);
			} else if (first && hostile(ch, FNB_RX_EXTRA_LOOP)) {
				unsigned int k;

				for (k = 0; k < 8; k++) {
					if (rx_req(ch, q, &r2) < 0)
						return -1;
					rx_extra(q, XEN_NETIF_EXTRA_TYPE_GSO, XEN_NETIF_EXTRA_FLAG_MORE, 1448,
						 XEN_NETIF_GSO_TYPE_TCPV4);
				}
			} else if (extra) {
				uint16_t sz = gsize;
				uint8_t ty = gtype;

				if (rx_req(ch, q, &r2) < 0)
					return -1;
				if (hostile(ch, FNB_RX_GSO_ZERO))
					sz = 0;
				if (hostile(ch, FNB_RX_GSO_TYPE))
					ty = 7;
				rx_extra(q, XEN_NETIF_EXTRA_TYPE_GSO, 0, sz, ty);
			}
			/* an extra_info flag on a last slot (EXTRA_CUT) has nothing after it */
		}
		off += n;
		first = 0;
	}
	notify = pv_ring_push_responses_and_check_notify(&q->rx);
	if (hostile(ch, FNB_RX_PROD_OVERFLOW)) {
		__atomic_store_n(&q->rx.sring->rsp_prod, q->rx.rsp_prod_pvt + 1000, __ATOMIC_RELEASE);
		notify = 1;
	}
	if (notify)
		pv_evtchn_notify(ch->p, q->rx_port);
	ch->f->seen->echoed++;
	return 0;
}

static void tx_rsp(struct fq *q, uint16_t id, int16_t st)
{
	struct netif_tx_response *r = pv_netif_tx_back_rsp(&q->tx, q->tx.rsp_prod_pvt++);

	r->id = id;
	r->status = st;
}

/* Takes the frames on q's tx ring and echoes each; -1 when the fake decided to close. */
static int serve(struct child *ch, struct fq *q)
{
	struct fnb_seen *seen = ch->f->seen;
	pv_ring_idx_t prod;

	for (;;) {
		int notify;

		if (pv_ring_back_req_prod(&q->tx, &prod) < 0) {
			seen->bad++;
			return -1;
		}
		while (q->tx.req_cons != prod) {
			struct netif_tx_request slots[XEN_NETIF_NR_SLOTS_MIN + 4], r;
			struct netif_extra_info gso = { 0 };
			struct pv_gnt_copy_seg cs[XEN_NETIF_NR_SLOTS_MIN + 4];
			unsigned int n = 0, k, nextra = 0;
			size_t total, rest = 0, off = 0;
			int more;

			pv_netif_tx_back_copy_req(&q->tx, q->tx.req_cons++, &r);
			slots[n++] = r;
			if (r.flags & NETTXF_extra_info) {
				struct netif_extra_info ex;

				do {
					pv_netif_tx_back_copy_req(&q->tx, q->tx.req_cons++,
								  (struct netif_tx_request *)&slots[n]);
					memcpy(&ex, &slots[n], sizeof(ex));
					if (ex.type == XEN_NETIF_EXTRA_TYPE_GSO)
						gso = ex;
					nextra++;
				} while ((ex.flags & XEN_NETIF_EXTRA_FLAG_MORE) && nextra < 4);
			}
			more = r.flags & NETTXF_more_data;
			while (more && n < XEN_NETIF_NR_SLOTS_MIN + 1 && q->tx.req_cons != prod) {
				pv_netif_tx_back_copy_req(&q->tx, q->tx.req_cons++, &slots[n]);
				rest += slots[n].size;
				more = slots[n].flags & NETTXF_more_data;
				n++;
			}
			total = slots[0].size;
			if (more || rest > total || total > FNB_MAX_FRAME) {
				seen->bad++;
				return -1;
			}
			/* io/netif.h: the first slot holds what the others do not */
			for (k = 0; k < n; k++) {
				size_t len = k == 0 ? total - rest : slots[k].size;

				if (slots[k].offset + len > PV_PAGE_SIZE) {
					seen->bad++;
					return -1;
				}
				cs[k] = (struct pv_gnt_copy_seg){ .local = ch->frame + off, .ref = slots[k].gref,
								  .domid = (domid_t)ch->c->fe_domid,
								  .offset = slots[k].offset,
								  .len = (uint16_t)len };
				off += len;
			}
			if (pv_gnt_copy(ch->p, cs, n) < 0)
				seen->bad++;
			memcpy(seen->last, ch->frame, total);
			seen->last_len = (uint32_t)total;
			seen->last_flags = slots[0].flags;
			seen->last_gso_type = gso.type == XEN_NETIF_EXTRA_TYPE_GSO ? gso.u.gso.type : 0;
			seen->last_gso_size = gso.type == XEN_NETIF_EXTRA_TYPE_GSO ? gso.u.gso.size : 0;
			seen->last_slots = n;
			seen->frames++;
			seen->gso_frames += seen->last_gso_type != 0;
			/* responses in request order: the first, a NULL per extra, then the rest */
			for (k = 0; k < n; k++) {
				uint16_t id = slots[k].id;
				int16_t st = NETIF_RSP_OKAY;

				if (hostile(ch, FNB_TX_BAD_ID))
					id ^= 0x8000;
				if (ch->c->hostile == FNB_TX_DUP && ch->hostile_left && k > 0)
					id = slots[0].id;
				if (hostile(ch, FNB_TX_BAD_STATUS))
					st = 5;
				if (hostile(ch, FNB_TX_ERROR))
					st = NETIF_RSP_ERROR;
				/* a NULL where the slot's answer belongs: the slot is never freed */
				if (k == 0 && hostile(ch, FNB_TX_STRAY_NULL))
					st = NETIF_RSP_NULL;
				tx_rsp(q, id, st);
				if (k == 0) {
					unsigned int e;

					for (e = 0; e < nextra; e++)
						tx_rsp(q, 0, NETIF_RSP_NULL);
				}
			}
			if (ch->c->hostile == FNB_TX_DUP && n > 1)
				hostile(ch, FNB_TX_DUP);
			notify = pv_ring_push_responses_and_check_notify(&q->tx);
			if (hostile(ch, FNB_TX_PROD_OVERFLOW)) {
				__atomic_store_n(&q->tx.sring->rsp_prod, q->tx.rsp_prod_pvt + 1000,
						 __ATOMIC_RELEASE);
				notify = 1;
			}
			if (notify)
				pv_evtchn_notify(ch->p, q->tx_port);
			if (ch->f->out) {
				struct fnb_mbox *mb = ch->f->out;
				uint32_t h = mb->head;

				if (h - __atomic_load_n(&mb->tail, __ATOMIC_ACQUIRE) >= FNB_MBOX_SLOTS) {
					mb->dropped++;
				} else {
					typeof(&mb->s[0]) e = &mb->s[h % FNB_MBOX_SLOTS];
					uint64_t one = 1;

					memcpy(e->data, ch->frame, total);
					e->len = (uint32_t)total;
					e->flags = slots[0].flags;
					e->gso_type = seen->last_gso_type;
					e->gso_size = seen->last_gso_size;
					__atomic_store_n(&mb->head, h + 1, __ATOMIC_RELEASE);
					if (write(mb->efd, &one, sizeof(one)) < 0)
						seen->bad++;
				}
			} else if (echo(ch, q, total, slots[0].flags, seen->last_gso_type,
					seen->last_gso_size) < 0) {
				return -1;
			}
			if (hostile(ch, FNB_CLOSE_AFTER))
				return -1;
		}
		if (!pv_ring_final_check_requests(&q->tx))
			break;
	}
	return 0;
}

/*
 * Bridge mode: sends what the peer's guest sent, as long as our guest has buffers posted
 * for it.  Returns 1 when frames wait for buffers (look again soon).
 */
static int drain_inbox(struct child *ch)
{
	struct fnb_mbox *mb = ch->f->in;
	uint64_t v;

	if (!mb)
		return 0;
	if (read(mb->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		ch->f->seen->bad++;
	for (;;) {
		uint32_t t = mb->tail;
		typeof(&mb->s[0]) e;
		unsigned int need;

		if (t == __atomic_load_n(&mb->head, __ATOMIC_ACQUIRE))
			return 0;
		e = &mb->s[t % FNB_MBOX_SLOTS];
		need = e->len / PV_PAGE_SIZE + 3;
		if (ch->nq == 0 || rx_avail(&ch->q[0]) < need)
			return 1;
		memcpy(ch->frame, e->data, e->len);
		__atomic_store_n(&mb->tail, t + 1, __ATOMIC_RELEASE);
		echo(ch, &ch->q[0], e->len, e->flags, e->gso_type, e->gso_size);
	}
}

static void child_main(struct fnb *f, const char *rundir)
{
	struct child *ch = calloc(1, sizeof(*ch));
	char spec[300], path[300];
	const char *why;
	unsigned int i;

	if (!ch)
		_exit(3);
	ch->f = f;
	ch->c = &f->cfg;
	ch->hostile_left = f->cfg.count ? f->cfg.count : 1;
	snprintf(spec, sizeof(spec), "sim:%s:0", rundir);
	if (pv_platform_open(spec, &ch->p, &why) < 0)
		_exit(2);
	snprintf(ch->be, sizeof(ch->be), "/local/domain/0/backend/vif/%u/%u", f->cfg.fe_domid, f->cfg.devid);
	snprintf(ch->fe, sizeof(ch->fe), "/local/domain/%u/device/vif/%u", f->cfg.fe_domid, f->cfg.devid);
	snprintf(path, sizeof(path), "%s/state", ch->fe);
	pv_xs_watch(ch->p, path, "fe");

	for (;;) {
		int st;

		disconnect(ch);
		write_features(ch);
		wr(ch, "state", "2");
		/* Linux's netfront goes straight to Connected; Initialised is taken too */
		st = wait_fe(ch, 1u << 3 | 1u << 4 | 1u << 5 | 1u << 6);
		if ((st == 3 || st == 4) && f->cfg.hostile != FNB_REFUSE && connect_rings(ch) == 0) {
			int evfd = pv_evtchn_fd(ch->p), closing = 0, look = 1;

			wr(ch, "state", "4");
			f->seen->connects++;
			while (!closing) {
				int port;

				if (look) {
					st = fe_state(ch);
					if (st == 5 || st == 6 || st == 1)
						break;
				}
				while ((port = pv_evtchn_pending(ch->p)) >= 0)
					pv_evtchn_unmask(ch->p, (evtchn_port_t)port);
				for (i = 0; i < ch->nq; i++)
					if (serve(ch, &ch->q[i]) < 0)
						closing = 1;
				if (!closing && f->in)
					look = wait_bridge(ch, evfd, drain_inbox(ch));
				else if (!closing)
					look = wait_watch(ch, evfd);
			}
		}
		disconnect(ch);
		f->seen->closes++;
		wr(ch, "state", "5");
		wait_fe(ch, 1u << 5 | 1u << 6 | 1u << 1);
		wait_fe(ch, 1u << 6 | 1u << 1);
		wr(ch, "state", "6");
		wait_fe(ch, 1u << 1);
	}
}

static int start_one(struct fnb *f, const char *rundir, const struct fnb_cfg *cfg)
{
	f->cfg = *cfg;
	f->seen = mmap(NULL, sizeof(*f->seen), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (f->seen == MAP_FAILED)
		return -ENOMEM;
	fflush(NULL);
	f->pid = fork();
	if (f->pid < 0)
		return -errno;
	if (f->pid == 0) {
		signal(SIGTERM, SIG_DFL);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() == 1)
			_exit(1);
		child_main(f, rundir);
		_exit(0);
	}
	return 0;
}

int fnb_start(struct fnb *f, const char *rundir, const struct fnb_cfg *cfg)
{
	f->in = f->out = NULL;
	return start_one(f, rundir, cfg);
}

static struct fnb_mbox *mbox_new(void)
{
	struct fnb_mbox *mb = mmap(NULL, sizeof(*mb), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
				   -1, 0);

	if (mb == MAP_FAILED)
		return NULL;
	mb->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	return mb;
}

int fnb_start_pair(struct fnb *a, struct fnb *b, const char *rundir, const struct fnb_cfg *ca,
		   const struct fnb_cfg *cb)
{
	struct fnb_mbox *ab = mbox_new(), *ba = mbox_new();
	int rc;

	if (!ab || !ba)
		return -ENOMEM;
	a->out = b->in = ab;
	b->out = a->in = ba;
	rc = start_one(a, rundir, ca);
	return rc < 0 ? rc : start_one(b, rundir, cb);
}

int fnb_stop(struct fnb *f)
{
	int st = 0, ok;

	if (f->pid <= 0)
		return -1;
	kill(f->pid, SIGTERM);
	waitpid(f->pid, &st, 0);
	f->pid = -1;
	ok = WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM;
	munmap(f->seen, sizeof(*f->seen));
	return ok ? 0 : -1;
}
