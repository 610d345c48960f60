/* SPDX-License-Identifier: MIT */
/*
 * conn.c - the daemon's life cycle, its sockets, and the domain calls of pv_xsd.h.
 *
 * A connection that fails is only marked dead and taken off the loop: a watch event
 * can kill a connection while another one's request is being handled (or while its own
 * is), so the memory goes only in reap(), which every entry point from the outside
 * (loop callbacks and pv_xsd_* calls) runs last.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "xsd.h"

#define DOMIDS 65536

/* What libxl creates in a domain's home, owned by the domain. */
static const char *const home_kids[] = {
	"device", "data", "control", "drivers", "feature", "attr", "error",
};

/* ---- output --------------------------------------------------------------------------- */

static size_t pending(const struct xsd_conn *c)
{
	return c->out_len - c->out_off;
}

/* Is a whole request (or a header that will get the client dropped) waiting in c->in? */
static bool input_ready(const struct xsd_conn *c)
{
	struct xsd_sockmsg h;

	if (c->in_len < sizeof(h))
		return false;
	memcpy(&h, c->in, sizeof(h));
	return h.len > c->x->lim.max_payload || c->in_len >= sizeof(h) + h.len;
}

/*
 * A domU with max_outstanding replies it has not read yet is not read from, on any of
 * its connections (Xen's quota_req_outstanding): its requests wait in the kernel.
 */
static bool domain_blocked(const struct xsd_conn *c)
{
	return c->domid != 0 && c->x->acc[c->domid].outstanding >= c->x->lim.max_outstanding;
}

/* c's queued replies are all sent (or dropped): the domain may have room again. */
static void replies_done(struct xsd_conn *c)
{
	struct xsd_acc *a = &c->x->acc[c->domid];
	bool was = domain_blocked(c);

	a->outstanding = a->outstanding > c->nreplies ? (uint16_t)(a->outstanding - c->nreplies) : 0;
	c->nreplies = 0;
	if (was && !domain_blocked(c))
		for (struct xsd_conn *o = c->x->conns; o; o = o->next)
			if (o != c && o->domid == c->domid)
				xsd_conn_rearm(o);
}

static void set_events(struct xsd_conn *c)
{
	uint32_t ev = 0;

	if (c->dead)
		return;
	if (pending(c) < XSD_OUT_SOFT && !domain_blocked(c))
		ev |= EPOLLIN;
	/*
	 * Requests read while the client was not reading its replies may all be in c->in
	 * already, with nothing more to come on the socket: EPOLLOUT, which fires as soon
	 * as the socket is writable, brings us back to them.
	 */
	if (pending(c) || (input_ready(c) && !domain_blocked(c)))
		ev |= EPOLLOUT;
	if (ev != c->events && pv_loop_mod(c->x->loop, c->fd, ev) == 0)
		c->events = ev;
}

int xsd_queue(struct xsd_conn *c, uint32_t type, uint32_t req_id, uint32_t tx_id,
	      const struct iovec *iov, int niov)
{
	struct xsd_sockmsg h = { .type = type, .req_id = req_id, .tx_id = tx_id };
	size_t need;

	if (c->dead)
		return -EPIPE;
	for (int i = 0; i < niov; i++)
		h.len += (uint32_t)iov[i].iov_len;
	need = sizeof(h) + h.len;
	if (pending(c) + need > XSD_OUT_HARD) {
		xsd_conn_kill(c);
		return -ENOBUFS;
	}
	if (c->out_off && c->out_len + need > c->out_cap) {
		memmove(c->out, c->out + c->out_off, pending(c));
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	if (c->out_len + need > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 8192;
		char *o;

		while (cap < c->out_len + need)
			cap *= 2;
		if (!(o = realloc(c->out, cap))) {
			xsd_conn_kill(c);
			return -ENOMEM;
		}
		c->out = o;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, &h, sizeof(h));
	c->out_len += sizeof(h);
	if (type != XS_WATCH_EVENT) {
		c->nreplies++;
		c->x->acc[c->domid].outstanding++;
	}
	for (int i = 0; i < niov; i++) {
		if (iov[i].iov_len)
			memcpy(c->out + c->out_len, iov[i].iov_base, iov[i].iov_len);
		c->out_len += iov[i].iov_len;
	}
	return 0;
}

static void flush(struct xsd_conn *c)
{
	while (!c->dead && pending(c)) {
		ssize_t n = send(c->fd, c->out + c->out_off, pending(c),
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				xsd_conn_kill(c);
			break;
		}
		c->out_off += (size_t)n;
	}
	if (!pending(c)) {
		c->out_off = c->out_len = 0;
		if (c->nreplies)
			replies_done(c);
		/* A burst of events should not pin megabytes for the connection's life. */
		if (c->out_cap > 65536) {
			free(c->out);
			c->out = NULL;
			c->out_cap = 0;
		}
	}
	set_events(c);
}

/* ---- input ---------------------------------------------------------------------------- */

/* Handles the complete messages in c->in while the client keeps reading its replies. */
static void handle_input(struct xsd_conn *c)
{
	struct xsd_sockmsg h;
	size_t off = 0;

	while (!c->dead && pending(c) < XSD_OUT_SOFT && !domain_blocked(c) &&
	       c->in_len - off >= sizeof(h)) {
		memcpy(&h, c->in + off, sizeof(h));
		/* Past the limit the stream cannot be trusted any more: Xen drops the client. */
		if (h.len > c->x->lim.max_payload) {
			c->x->st.bad_messages++;
			xsd_conn_kill(c);
			return;
		}
		if (c->in_len - off < sizeof(h) + h.len)
			break;
		xsd_handle(c, &h, c->in + off + sizeof(h));
		off += sizeof(h) + h.len;
	}
	if (!c->dead && off) {
		memmove(c->in, c->in + off, c->in_len - off);
		c->in_len -= off;
	}
}

/* Frees the dead connections: only now can nothing on the stack still point at one. */
static void reap(struct pv_xsd *x)
{
	struct xsd_conn **pp = &x->conns, *c;

	if (!x->need_reap)
		return;
	x->need_reap = false;
	while ((c = *pp)) {
		if (!c->dead) {
			pp = &c->next;
			continue;
		}
		*pp = c->next;
		xsd_watches_free(c);
		xsd_txns_free(c);
		free(c->in);
		free(c->out);
		free(c);
	}
}

static void flush_all(struct pv_xsd *x)
{
	for (struct xsd_conn *c = x->conns; c; c = c->next)
		if (!c->dead && pending(c))
			flush(c);
}

static void conn_cb(struct pv_loop *loop, int fd, uint32_t events, void *opaque)
{
	struct xsd_conn *c = opaque;
	struct pv_xsd *x = c->x;

	(void)loop;
	if (events & EPOLLOUT)
		flush(c);
	if (!c->dead && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && c->in_len < c->in_cap) {
		/* Room left after the last partial message; at least one whole one fits. */
		ssize_t n = recv(fd, c->in + c->in_len, c->in_cap - c->in_len, MSG_DONTWAIT);

		if (n > 0) {
			c->in_len += (size_t)n;
		} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			xsd_conn_kill(c);
		}
	}
	if (!c->dead)
		handle_input(c);
	flush_all(x);
	set_events(c);
	reap(x);
}

void xsd_conn_rearm(struct xsd_conn *c)
{
	set_events(c);
}

void xsd_conn_kill(struct xsd_conn *c)
{
	if (c->dead)
		return;
	c->dead = true;
	pv_loop_del(c->x->loop, c->fd);
	close(c->fd);
	c->fd = -1;
	c->x->st.connections--;
	if (c->x->acc[c->domid].conns)
		c->x->acc[c->domid].conns--;
	replies_done(c);
	c->x->need_reap = true;
}

static void accept_cb(struct pv_loop *loop, int fd, uint32_t events, void *opaque)
{
	struct xsd_listener *l = opaque;
	struct pv_xsd *x = l->x;

	(void)events;
	/* A bounded batch, so that a connect storm cannot starve the clients. */
	for (int i = 0; i < 16; i++) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct xsd_conn *c;

		if (cfd < 0) {
			if (pv_accept_failed(&x->listening, errno))
				x->st.accept_paused = x->listening.pauses;
			break;
		}
		/* One domain opening sockets in a loop must not use up the daemon's fds. */
		if (l->domid != 0 && x->acc[l->domid].conns >= x->lim.max_conns) {
			x->st.refused++;
			close(cfd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (c) {
			c->in_cap = 2 * (sizeof(struct xsd_sockmsg) + x->lim.max_payload);
			c->in = malloc(c->in_cap);
		}
		if (!c || !c->in || pv_loop_add(loop, cfd, EPOLLIN, conn_cb, c) < 0) {
			if (c)
				free(c->in);
			free(c);
			close(cfd);
			continue;
		}
		c->x = x;
		c->fd = cfd;
		c->domid = l->domid;
		c->events = EPOLLIN;
		c->next = x->conns;
		x->conns = c;
		x->st.connections++;
		x->acc[l->domid].conns++;
	}
}

/* ---- the daemon ------------------------------------------------------------------------ */

static int special_init(struct xsd_special *s, const char *name)
{
	s->name = name;
	s->perms = calloc(1, sizeof(*s->perms)); /* "n0": only dom0 sees these events */
	s->nperms = 1;
	return s->perms ? 0 : -ENOMEM;
}

struct pv_xsd *pv_xsd_new(struct pv_loop *loop, const struct pv_xsd_limits *limits)
{
	struct pv_xsd *x = calloc(1, sizeof(*x));

	if (!x)
		return NULL;
	x->loop = loop;
	x->listening.timer_fd = -1;
	if (limits)
		x->lim = *limits;
	if (!x->lim.max_conns || x->lim.max_conns > UINT16_MAX)
		x->lim.max_conns = 64;
	if (!x->lim.max_nodes)
		x->lim.max_nodes = 1000;
	if (!x->lim.max_watches)
		x->lim.max_watches = 128;
	if (!x->lim.max_transactions)
		x->lim.max_transactions = 10;
	if (!x->lim.max_outstanding || x->lim.max_outstanding > UINT16_MAX)
		x->lim.max_outstanding = 20;
	if (!x->lim.max_txn_nodes)
		x->lim.max_txn_nodes = 1024;
	if (!x->lim.max_memory)
		x->lim.max_memory = 2 * 1024 * 1024 + 512 * 1024;
	if (!x->lim.max_memory_soft)
		x->lim.max_memory_soft = 2 * 1024 * 1024;
	if (!x->lim.max_node_size)
		x->lim.max_node_size = 2048;
	if (!x->lim.max_perms)
		x->lim.max_perms = 5;
	if (!x->lim.max_payload || x->lim.max_payload > XENSTORE_PAYLOAD_MAX)
		x->lim.max_payload = XENSTORE_PAYLOAD_MAX;
	if (!x->lim.max_path || x->lim.max_path > XENSTORE_REL_PATH_MAX)
		x->lim.max_path = XENSTORE_REL_PATH_MAX;
	if (getrandom(&x->seed, sizeof(x->seed), GRND_NONBLOCK) != sizeof(x->seed))
		x->seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	x->next_txid = 1;
	x->owned = calloc(DOMIDS, sizeof(*x->owned));
	x->introduced = calloc(DOMIDS / 8, 1);
	x->acc = calloc(DOMIDS, sizeof(*x->acc));
	if (!x->owned || !x->introduced || !x->acc ||
	    pv_accept_init(&x->listening, loop, x->lim.accept_pause_ms) < 0 || special_init(&x->special[0], "@introduceDomain") < 0 ||
	    special_init(&x->special[1], "@releaseDomain") < 0 || xsd_store_init(x) < 0) {
		pv_xsd_free(x);
		return NULL;
	}
	return x;
}

static void listener_close(struct pv_xsd *x, struct xsd_listener *l)
{
	pv_accept_del(&x->listening, l->fd);
	close(l->fd);
	free(l);
}

void pv_xsd_free(struct pv_xsd *x)
{
	if (!x)
		return;
	while (x->listeners) {
		struct xsd_listener *l = x->listeners;

		x->listeners = l->next;
		listener_close(x, l);
	}
	for (struct xsd_conn *c = x->conns; c; c = c->next)
		xsd_conn_kill(c);
	reap(x);
	xsd_store_free(x);
	free(x->special[0].perms);
	free(x->special[1].perms);
	pv_accept_fini(&x->listening);
	free(x->owned);
	free(x->introduced);
	free(x->acc);
	free(x);
}

int pv_xsd_listen(struct pv_xsd *x, int listen_fd, domid_t domid)
{
	struct xsd_listener *l = calloc(1, sizeof(*l));
	int fl = fcntl(listen_fd, F_GETFL), rc;

	if (!l || fl < 0 || fcntl(listen_fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		rc = l ? -errno : -ENOMEM;
		goto fail;
	}
	l->x = x;
	l->fd = listen_fd;
	l->domid = domid;
	if ((rc = pv_accept_add(&x->listening, listen_fd, accept_cb, l)) < 0)
		goto fail;
	l->next = x->listeners;
	x->listeners = l;
	return 0;
fail:
	free(l);
	close(listen_fd);
	return rc;
}

bool xsd_introduced(const struct pv_xsd *x, domid_t d)
{
	return x->introduced[d / 8] & (1u << (d % 8));
}

/*
 * A domain that exists, as Xen's xenstored asks the hypervisor: dom0, an introduced one,
 * or one the simulator has handed a socket for (it exists before it is introduced).
 */
bool xsd_domain_live(const struct pv_xsd *x, domid_t d)
{
	if (d == 0 || (d < XSD_DOMID_RESERVED && xsd_introduced(x, d)))
		return true;
	for (const struct xsd_listener *l = x->listeners; l; l = l->next)
		if (l->domid == d)
			return true;
	return false;
}

/* Creates path if needed and gives it perms, as libxl's mkdir + set_permissions. */
static int ensure(struct pv_xsd *x, const char *path, domid_t owner, domid_t reader)
{
	struct xsd_perm p[2] = { { owner, XSD_PERM_NONE }, { reader, XSD_PERM_READ } };
	struct xsd_view v = { .x = x };
	int rc = xsd_write(&v, path, "", 0, true);

	return rc < 0 ? rc : xsd_set_perms(&v, path, p, owner == reader ? 1 : 2);
}

int pv_xsd_domain_introduce(struct pv_xsd *x, domid_t domid)
{
	char path[64];
	int rc = 0;

	if (domid >= XSD_DOMID_RESERVED)
		return -EINVAL;
	if (xsd_introduced(x, domid))
		return -EEXIST;
	snprintf(path, sizeof(path), "/local/domain/%u", domid);
	rc = ensure(x, path, 0, domid);
	for (size_t i = 0; rc == 0 && i < sizeof(home_kids) / sizeof(home_kids[0]); i++) {
		snprintf(path, sizeof(path), "/local/domain/%u/%s", domid, home_kids[i]);
		rc = ensure(x, path, domid, domid);
	}
	/* libxl writes these two, read-only to the guest; a guest learns its id from "domid". */
	for (int k = 0; rc == 0 && k < 2; k++) {
		struct xsd_view v = { .x = x };
		char val[16];
		int n = snprintf(val, sizeof(val), k ? "%u" : "dom%u", domid);

		snprintf(path, sizeof(path), "/local/domain/%u/%s", domid, k ? "domid" : "name");
		rc = ensure(x, path, 0, domid);
		if (rc == 0)
			rc = xsd_write(&v, path, val, (uint32_t)n, false);
	}
	if (rc == 0)
		xsd_domain_add(x, domid);
	flush_all(x);
	reap(x);
	return rc;
}

/* Marks domid introduced and fires @introduceDomain, the first time only (as Xen). */
void xsd_domain_add(struct pv_xsd *x, domid_t domid)
{
	if (xsd_introduced(x, domid))
		return;
	x->introduced[domid / 8] |= (uint8_t)(1u << (domid % 8));
	xsd_fire_special(x, 0);
}

/*
 * Domain domid is gone: its connections close, then @releaseDomain fires.  For the
 * simulator (whole) its listening sockets also close, even if it was never introduced
 * (the caller handed them over), and its home goes; a RELEASE on the wire keeps them, so
 * that a new INTRODUCE can bring the domain back as in Xen.
 * Returns 0, or -ENOENT if it was not introduced.
 */
int xsd_domain_drop(struct pv_xsd *x, domid_t domid, bool whole)
{
	struct xsd_listener **pp = &x->listeners, *l;
	struct xsd_view v = { .x = x };
	char path[64];

	while (whole && (l = *pp)) {
		if (l->domid == domid) {
			*pp = l->next;
			listener_close(x, l);
		} else {
			pp = &l->next;
		}
	}
	for (struct xsd_conn *c = x->conns; c; c = c->next)
		if (c->domid == domid)
			xsd_conn_kill(c);
	if (!xsd_introduced(x, domid))
		return -ENOENT;
	if (whole) {
		snprintf(path, sizeof(path), "/local/domain/%u", domid);
		xsd_rm(&v, path);
	}
	x->introduced[domid / 8] &= (uint8_t)~(1u << (domid % 8));
	xsd_fire_special(x, 1);
	return 0;
}

int pv_xsd_domain_release(struct pv_xsd *x, domid_t domid)
{
	int rc = xsd_domain_drop(x, domid, true);

	flush_all(x);
	reap(x);
	return rc;
}

void pv_xsd_get_stats(const struct pv_xsd *x, struct pv_xsd_stats *st)
{
	*st = x->st;
	st->nodes = (unsigned int)x->store.n;
}
