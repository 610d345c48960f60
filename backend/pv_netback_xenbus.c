/* SPDX-License-Identifier: MIT */
/*
 * pv_netback_xenbus.c - the XenBus back state machine of each vif (docs/protocol.md).
 *
 * As blkback's: watch events only mark vifs dirty, and pv_netback_process_dirty() looks
 * at the current xenstore contents.  Linux's xen-netback is the model:
 *
 *   new backend dir -----------> write features ---------------------------> InitWait(2)
 *   front Initialised(3)/Connected(4) -> read rings, queues, features,
 *                                        map, bind, open the TAP ------------> Connected(4)
 *   front Closing(5) -----------> disconnect --------------------------------> Closing(5)
 *   front Closed(6), gone, online=0 -> disconnect --------------------------> Closed(6)
 *   front Initialising(1)/InitWait(2) after a close -------------------------> InitWait(2)
 *   backend dir removed --------> disconnect, forget
 *   protocol error / bad nodes -> `error` node ------------------------------> Closing(5)
 *
 * Nothing is in flight between two passes of the data path (grant copies are
 * synchronous), so a disconnect needs no drain.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "pv_netback.h"
#include "pv_backd_ctl.h"

#define COMP "netback"

enum { ST_INITIALISING = 1, ST_INITWAIT, ST_INITIALISED, ST_CONNECTED, ST_CLOSING, ST_CLOSED };

static int parse_uint(const char *s, size_t len, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0 || len > 20)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		if (v > (UINT64_MAX - 9) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* ---- xenstore helpers -------------------------------------------------------------------- */

static int be_read(struct pv_netback_vif *vif, const char *node, char **val)
{
	char path[160];

	snprintf(path, sizeof(path), "%s/%s", vif->be_path, node);
	return pv_xs_read(vif->d->plat, 0, path, val, NULL);
}

/* A state node: 1..8, 0 for garbage, -ENOENT when absent. */
static int read_state(struct pv_platform *p, const char *dir)
{
	char path[200], *s;
	uint64_t v = 0;
	size_t len;
	int rc;

	snprintf(path, sizeof(path), "%s/state", dir);
	rc = pv_xs_read(p, 0, path, &s, &len);
	if (rc < 0)
		return rc;
	rc = parse_uint(s, len, 8, &v) == 0 ? (int)v : 0;
	free(s);
	return rc;
}

/*
 * Writes a node of our backend directory only while it exists (checked in the same
 * transaction): a write after the toolstack removed the vif would re-create it.
 */
static int node_write_t(struct pv_netback_vif *vif, pv_xs_txn_t t, const char *node,
			const char *val)
{
	char path[160], *dir = NULL;
	int rc;

	snprintf(path, sizeof(path), "%s/%s", vif->be_path, node);
	rc = pv_xs_read(vif->d->plat, t, vif->be_path, &dir, NULL);
	free(dir);
	if (rc == 0)
		rc = pv_xs_write(vif->d->plat, t, path, val, strlen(val));
	return rc;
}

int pv_netback_node_write(struct pv_netback_vif *vif, const char *node, const char *val)
{
	struct pv_platform *p = vif->d->plat;
	int rc = -EAGAIN, tries;

	for (tries = 0; tries < 100 && rc == -EAGAIN; tries++) {
		pv_xs_txn_t t;

		rc = pv_xs_txn_start(p, &t);
		if (rc < 0)
			return rc;
		rc = node_write_t(vif, t, node, val);
		if (rc < 0) {
			pv_xs_txn_end(p, t, 1);
			return rc == -ENOENT ? 0 : rc;
		}
		rc = pv_xs_txn_end(p, t, 0);
	}
	return rc;
}

static void set_state(struct pv_netback_vif *vif, int st)
{
	char v[4];

	snprintf(v, sizeof(v), "%d", st);
	if (pv_netback_node_write(vif, "state", v) == 0) {
		pv_backd_log(PV_LOG_DEBUG, COMP, "vif %u/%u: state %d -> %d", vif->domid,
			     vif->devid, vif->state, st);
		vif->state = st;
	}
}

static void be_rm(struct pv_netback_vif *vif, const char *node)
{
	char path[160];

	snprintf(path, sizeof(path), "%s/%s", vif->be_path, node);
	pv_xs_rm(vif->d->plat, 0, path);
}

void pv_netback_fatal(struct pv_netback_vif *vif, const char *fmt, ...)
{
	char msg[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	vif->st.protocol_errors++;
	if (vif->broken)
		return;
	vif->broken = 1;
	pv_netback_node_write(vif, "error", msg);
	pv_backd_log_rl(&vif->rl, PV_LOG_WARN, COMP, "vif %u/%u: %s: disconnecting", vif->domid,
			vif->devid, msg);
	pv_netback_failed(vif);
}

/* ---- vifs -------------------------------------------------------------------------------- */

struct pv_netback_vif *pv_netback_find(struct pv_backd *d, unsigned int domid, unsigned int devid)
{
	struct pv_netback_vif *vif;

	if (!d->net)
		return NULL;
	for (vif = d->net->vifs; vif; vif = vif->next)
		if (vif->domid == domid && vif->devid == devid)
			return vif;
	return NULL;
}

static struct pv_netback_vif *vif_new(struct pv_backd *d, unsigned int domid, unsigned int devid)
{
	struct pv_netback *nb = d->net;
	struct pv_netback_vif *vif;
	int st;

	if (nb->nvifs >= PV_NETBACK_MAX_VIFS)
		return NULL;
	vif = calloc(1, sizeof(*vif));
	if (!vif)
		return NULL;
	vif->d = d;
	vif->domid = domid;
	vif->devid = devid;
	vif->uid = ++nb->next_uid;
	snprintf(vif->be_path, sizeof(vif->be_path), "%s/%u/%u", nb->root, domid, devid);
	snprintf(vif->token, sizeof(vif->token), "nfe:%llu", (unsigned long long)vif->uid);
	snprintf(vif->ifname, sizeof(vif->ifname), "vif%u.%u", domid, devid);
	st = read_state(d->plat, vif->be_path);
	vif->state = st >= ST_INITWAIT ? st : 0;
	vif->next = nb->vifs;
	nb->vifs = vif;
	nb->nvifs++;
	return vif;
}

static int fe_watch(struct pv_netback_vif *vif, int on)
{
	char path[sizeof(vif->fe_path) + 8];

	snprintf(path, sizeof(path), "%s/state", vif->fe_path);
	return on ? pv_xs_watch(vif->d->plat, path, vif->token) :
		    pv_xs_unwatch(vif->d->plat, path, vif->token);
}

static void vif_free(struct pv_netback_vif *vif)
{
	struct pv_backd *d = vif->d;
	struct pv_netback_vif **pp;

	pv_netback_disconnect(vif);
	if (vif->fe_watched && !d->stopping)
		fe_watch(vif, 0);
	for (pp = &d->net->vifs; *pp && *pp != vif; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = vif->next;
	d->net->nvifs--;
	pv_backd_log(PV_LOG_INFO, COMP, "vif %u/%u: removed", vif->domid, vif->devid);
	free(vif);
}

static int open_error(struct pv_netback_vif *vif, int rc, const char *what)
{
	char msg[200];

	snprintf(msg, sizeof(msg), "%s: %s", what, strerror(-rc));
	pv_netback_node_write(vif, "error", msg);
	pv_netback_node_write(vif, "hotplug-status", "error");
	pv_backd_log(PV_LOG_WARN, COMP, "vif %u/%u: %s", vif->domid, vif->devid, msg);
	return rc;
}

/* The toolstack's nodes (libxl's), then the features every netfront reads before connecting. */
static int vif_open(struct pv_netback_vif *vif)
{
	struct pv_backd *d = vif->d;
	char *fe = NULL, *feid = NULL, *s = NULL, prefix[64], v[32];
	uint64_t id, b = 0, u = 0;
	pv_xs_txn_t t;
	int rc;

	if (be_read(vif, "frontend", &fe) < 0 || be_read(vif, "frontend-id", &feid) < 0) {
		rc = -EAGAIN; /* not all written yet: the next event brings the rest */
		goto out;
	}
	rc = -EINVAL;
	if (parse_uint(feid, strlen(feid), PV_DOMID_FIRST_RESERVED - 1, &id) < 0 ||
	    id != vif->domid) {
		open_error(vif, rc, "frontend-id does not match the directory");
		goto out;
	}
	snprintf(prefix, sizeof(prefix), "/local/domain/%u/device/", vif->domid);
	if (strncmp(fe, prefix, strlen(prefix)) != 0 || strlen(fe) >= sizeof(vif->fe_path) ||
	    strstr(fe, "/.") || strspn(fe, "abcdefghijklmnopqrstuvwxyz0123456789-_/") != strlen(fe)) {
		open_error(vif, rc, "frontend path refused");
		goto out;
	}
	vif->bridge[0] = 0;
	if (be_read(vif, "bridge", &s) == 0) {
		if (strlen(s) >= sizeof(vif->bridge) || !*s ||
		    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") !=
		    strlen(s)) {
			open_error(vif, rc, "bridge: not an interface name");
			goto out;
		}
		snprintf(vif->bridge, sizeof(vif->bridge), "%s", s);
	}
	free(s);
	s = NULL;
	/* rate: "<bytes>,<usecs>" as libxl writes it; absent: unlimited. */
	vif->rate_bytes = vif->rate_usec = 0;
	if (be_read(vif, "rate", &s) == 0) {
		char *comma = strchr(s, ',');

		if (!comma || parse_uint(s, (size_t)(comma - s), UINT32_MAX, &b) < 0 ||
		    parse_uint(comma + 1, strlen(comma + 1), UINT32_MAX, &u) < 0 || !b || !u) {
			open_error(vif, rc, "rate: <bytes>,<usecs> expected");
			goto out;
		}
		vif->rate_bytes = b;
		vif->rate_usec = u;
	}
	free(s);
	s = NULL;
	if (!vif->fe_watched || strcmp(vif->fe_path, fe) != 0) {
		if (vif->fe_watched)
			fe_watch(vif, 0);
		snprintf(vif->fe_path, sizeof(vif->fe_path), "%s", fe);
		rc = fe_watch(vif, 1);
		vif->fe_watched = rc == 0;
		if (rc < 0) {
			open_error(vif, rc, "cannot watch the frontend");
			goto out;
		}
	}
	for (;;) {
		rc = pv_xs_txn_start(d->plat, &t);
		if (rc < 0)
			break;
		node_write_t(vif, t, "feature-sg", "1");
		node_write_t(vif, t, "feature-gso-tcpv4", "1");
		node_write_t(vif, t, "feature-gso-tcpv6", "1");
		node_write_t(vif, t, "feature-ipv6-csum-offload", "1");
		node_write_t(vif, t, "feature-rx-copy", "1");
		node_write_t(vif, t, "feature-rx-flip", "0");
		node_write_t(vif, t, "feature-multicast-control", "0");
		node_write_t(vif, t, "feature-split-event-channels", "1");
		snprintf(v, sizeof(v), "%u", d->net->max_queues);
		node_write_t(vif, t, "multi-queue-max-queues", v);
		node_write_t(vif, t, "hotplug-status", "connected");
		rc = pv_xs_txn_end(d->plat, t, 0);
		if (rc != -EAGAIN)
			break;
	}
	if (rc < 0) {
		open_error(vif, rc, "cannot write the backend nodes");
		goto out;
	}
	vif->opened = 1;
	pv_backd_log(PV_LOG_INFO, COMP, "vif %u/%u: %s%s%s", vif->domid, vif->devid, vif->ifname,
		     vif->bridge[0] ? " bridge " : "", vif->bridge);
	rc = 0;
out:
	free(s);
	free(fe);
	free(feid);
	return rc;
}

static void vif_connect(struct pv_netback_vif *vif)
{
	if (pv_netback_connect(vif) < 0) {
		pv_netback_disconnect(vif);
		set_state(vif, ST_CLOSING);
		return;
	}
	set_state(vif, ST_CONNECTED);
	if (vif->state != ST_CONNECTED) {
		pv_netback_disconnect(vif);
		return;
	}
	for (unsigned int i = 0; i < vif->nqueues; i++)
		pv_netback_kick(&vif->qs[i]);
}

void pv_netback_failed(struct pv_netback_vif *vif)
{
	/* Called from inside the data path: the disconnect waits for the state machine. */
	vif->dirty = 1;
}

static void vif_update(struct pv_netback_vif *vif)
{
	struct pv_backd *d = vif->d;
	char *s = NULL;
	int fe, be;

	if (pv_xs_read(d->plat, 0, vif->be_path, &s, NULL) == -ENOENT) {
		vif->removed = 1;
		return;
	}
	free(s);
	s = NULL;
	be = read_state(d->plat, vif->be_path);
	if (be == ST_INITIALISING && vif->state >= ST_INITWAIT) {
		/* Removed and written again while we were busy: a new vif. */
		vif->removed = 1;
		return;
	}
	if (vif->broken) {
		/* The guest broke the protocol: Closing until it starts over. */
		pv_netback_disconnect(vif);
		if (vif->state != ST_CLOSING && vif->state != ST_CLOSED)
			set_state(vif, ST_CLOSING);
	}
	if (be_read(vif, "online", &s) == 0 && strcmp(s, "0") == 0)
		vif->detach = 1;
	free(s);
	if (be == ST_CLOSING && vif->state != ST_CLOSING && vif->state != ST_CLOSED)
		vif->detach = 1;
	if (vif->detach) {
		pv_netback_disconnect(vif);
		if (vif->state != ST_CLOSED || be != ST_CLOSED)
			set_state(vif, ST_CLOSED);
		return;
	}
	if (!vif->opened && vif_open(vif) < 0)
		return;
	fe = read_state(d->plat, vif->fe_path);
	if (fe == -ENOENT)
		fe = ST_CLOSED; /* the front end's directory is gone: the guest died */
	switch (fe) {
	case ST_INITIALISING:
	case ST_INITWAIT:
		pv_netback_disconnect(vif);
		if (vif->state != ST_INITWAIT) {
			vif->broken = 0;
			be_rm(vif, "error");
			set_state(vif, ST_INITWAIT);
		}
		break;
	case ST_INITIALISED:
	case ST_CONNECTED:
		if (!vif->connected && !vif->broken && vif->state != ST_CLOSING &&
		    vif->state != ST_CLOSED)
			vif_connect(vif);
		break;
	case ST_CLOSING:
		pv_netback_disconnect(vif);
		if (vif->state != ST_CLOSING && vif->state != ST_CLOSED)
			set_state(vif, ST_CLOSING);
		break;
	case ST_CLOSED:
		pv_netback_disconnect(vif);
		if (vif->state != ST_CLOSED && vif->state != 0)
			set_state(vif, ST_CLOSED);
		break;
	default:
		break;
	}
}

static void mark(struct pv_backd *d, unsigned int domid, unsigned int devid);

void pv_netback_process_dirty(struct pv_backd *d)
{
	unsigned int round;

	if (!d->net)
		return;
	for (round = 0; round < 8; round++) {
		struct pv_netback_vif *vif, *next;
		int any = 0;

		for (vif = d->net->vifs; vif; vif = next) {
			next = vif->next;
			if (!vif->dirty)
				continue;
			vif->dirty = 0;
			any = 1;
			if (d->stopping)
				continue;
			vif_update(vif);
			if (vif->removed) {
				unsigned int domid = vif->domid, devid = vif->devid;
				char path[sizeof(vif->be_path)], *s = NULL;

				memcpy(path, vif->be_path, sizeof(path));
				vif_free(vif);
				if (pv_xs_read(d->plat, 0, path, &s, NULL) == 0)
					mark(d, domid, devid);
				free(s);
				break; /* the list changed: start the round again */
			}
		}
		if (!any)
			break;
	}
}

/* ---- watch events ------------------------------------------------------------------------ */

static void mark(struct pv_backd *d, unsigned int domid, unsigned int devid)
{
	struct pv_netback_vif *vif = pv_netback_find(d, domid, devid);

	if (!vif && !d->stopping)
		vif = vif_new(d, domid, devid);
	if (vif)
		vif->dirty = 1;
}

static void rescan(struct pv_backd *d)
{
	struct pv_netback_vif *vif;
	char **fes = NULL, **ids, path[128];
	unsigned int nfe = 0, nid, i, j;
	uint64_t fe, id;

	for (vif = d->net->vifs; vif; vif = vif->next)
		vif->dirty = 1;
	if (pv_xs_directory(d->plat, 0, d->net->root, &fes, &nfe) < 0)
		return;
	for (i = 0; i < nfe; i++) {
		if (parse_uint(fes[i], strlen(fes[i]), PV_DOMID_FIRST_RESERVED - 1, &fe) < 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", d->net->root, fes[i]);
		if (pv_xs_directory(d->plat, 0, path, &ids, &nid) < 0)
			continue;
		for (j = 0; j < nid; j++)
			if (parse_uint(ids[j], strlen(ids[j]), UINT32_MAX, &id) == 0)
				mark(d, (unsigned int)fe, (unsigned int)id);
		free(ids);
	}
	free(fes);
}

int pv_netback_watch_event(struct pv_backd *d, const char *path, const char *token)
{
	struct pv_netback *nb = d->net;
	size_t rl;
	uint64_t fe, id;
	const char *p, *e;

	if (!nb)
		return 0;
	if (strncmp(token, "nfe:", 4) == 0) {
		struct pv_netback_vif *vif;
		uint64_t uid;

		if (parse_uint(token + 4, strlen(token + 4), UINT64_MAX, &uid) < 0)
			return 1;
		for (vif = nb->vifs; vif; vif = vif->next) {
			if (vif->uid == uid) {
				vif->dirty = 1;
				vif->st.fe_watch_events++;
			}
		}
		return 1;
	}
	if (strcmp(token, "vif") != 0)
		return 0;
	rl = strlen(nb->root);
	if (strncmp(path, nb->root, rl) != 0 || (path[rl] && path[rl] != '/'))
		return 1;
	p = path + rl;
	if (!*p) {
		rescan(d);
		return 1;
	}
	p++;
	e = p + strcspn(p, "/");
	if (parse_uint(p, (size_t)(e - p), PV_DOMID_FIRST_RESERVED - 1, &fe) < 0)
		return 1;
	if (!*e) {
		rescan(d);
		return 1;
	}
	p = e + 1;
	e = p + strcspn(p, "/");
	if (parse_uint(p, (size_t)(e - p), UINT32_MAX, &id) < 0)
		return 1;
	mark(d, (unsigned int)fe, (unsigned int)id);
	return 1;
}

/* ---- lifetime ---------------------------------------------------------------------------- */

static void on_work(struct pv_loop *loop, int fd, uint32_t events, void *opaque);
static void on_timer(struct pv_loop *loop, int fd, uint32_t events, void *opaque);

int pv_netback_init(struct pv_backd *d)
{
	struct pv_netback *nb = calloc(1, sizeof(*nb));
	int rc;

	if (!nb)
		return -ENOMEM;
	nb->work_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	nb->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	nb->max_queues = d->max_queues > PV_NETBACK_MAX_QUEUES ? PV_NETBACK_MAX_QUEUES :
			 d->max_queues;
	snprintf(nb->root, sizeof(nb->root), "/local/domain/%u/backend/vif", d->self);
	d->net = nb;
	if (nb->work_fd < 0 || nb->timer_fd < 0) {
		rc = -errno;
		goto fail;
	}
	rc = pv_loop_add(d->loop, nb->work_fd, EPOLLIN, on_work, d);
	if (rc == 0) {
		rc = pv_loop_add(d->loop, nb->timer_fd, EPOLLIN, on_timer, d);
		if (rc < 0)
			pv_loop_del(d->loop, nb->work_fd);
	}
	if (rc == 0)
		rc = pv_xs_watch(d->plat, nb->root, "vif");
	if (rc == 0)
		return 0;
	pv_loop_del(d->loop, nb->work_fd);
	pv_loop_del(d->loop, nb->timer_fd);
fail:
	if (nb->work_fd >= 0)
		close(nb->work_fd);
	if (nb->timer_fd >= 0)
		close(nb->timer_fd);
	free(nb);
	d->net = NULL;
	return rc;
}

void pv_netback_shutdown(struct pv_backd *d)
{
	struct pv_netback_vif *vif;

	if (!d->net)
		return;
	/* xenstore is left as it is: the next daemon picks the vifs up. */
	for (vif = d->net->vifs; vif; vif = vif->next)
		pv_netback_disconnect(vif);
}

void pv_netback_free_all(struct pv_backd *d)
{
	struct pv_netback *nb = d->net;

	if (!nb)
		return;
	while (nb->vifs)
		vif_free(nb->vifs);
	pv_loop_del(d->loop, nb->work_fd);
	pv_loop_del(d->loop, nb->timer_fd);
	close(nb->work_fd);
	close(nb->timer_fd);
	free(nb->ports);
	free(nb);
	d->net = NULL;
}

/* ---- fairness: the run queue and the timer ---------------------------------------------- */

static void on_work(struct pv_loop *loop, int fd, uint32_t events, void *opaque)
{
	struct pv_backd *d = opaque;
	struct pv_netback *nb = d->net;
	struct pv_netback_queue *q, *last;
	uint64_t v;

	(void)loop;
	(void)events;
	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	/* One turn for each queue waiting now; those that still have more go to the back. */
	last = nb->runq_tail;
	while ((q = nb->runq_head)) {
		nb->runq_head = q->run_next;
		if (!nb->runq_head)
			nb->runq_tail = NULL;
		q->run_next = NULL;
		q->on_runq = 0;
		pv_netback_kick(q);
		if (q == last)
			break;
	}
	pv_netback_process_dirty(d);
}

static void on_timer(struct pv_loop *loop, int fd, uint32_t events, void *opaque)
{
	struct pv_backd *d = opaque;
	struct pv_netback_vif *vif;
	uint64_t v, now = pv_backd_now_ns(), first = 0;
	struct itimerspec its = { 0 };

	(void)loop;
	(void)events;
	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	for (vif = d->net->vifs; vif; vif = vif->next) {
		for (unsigned int i = 0; vif->connected && i < vif->nqueues; i++) {
			struct pv_netback_queue *q = &vif->qs[i];
			uint64_t at = 0;

			if ((q->storm_masked_tx || q->storm_masked_rx) && q->storm_until_ns <= now) {
				if (q->storm_masked_tx)
					pv_evtchn_unmask(d->plat, q->tx_port);
				if (q->storm_masked_rx && q->rx_port != q->tx_port)
					pv_evtchn_unmask(d->plat, q->rx_port);
				q->storm_masked_tx = q->storm_masked_rx = 0;
				pv_netback_kick(q);
			}
			if (q->credit_at_ns && q->credit_at_ns <= now) {
				/* As Linux's tx_credit_callback: the timer itself refills. */
				q->credit_at_ns = 0;
				pv_netback_credit_add(q);
				pv_netback_kick(q);
			}
			if (q->storm_masked_tx || q->storm_masked_rx)
				at = q->storm_until_ns;
			if (q->credit_at_ns && (!at || q->credit_at_ns < at))
				at = q->credit_at_ns;
			if (at && (!first || at < first))
				first = at;
		}
	}
	if (first) {
		its.it_value.tv_sec = (time_t)(first / 1000000000ull);
		its.it_value.tv_nsec = (long)(first % 1000000000ull);
		timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, NULL);
	}
	pv_netback_process_dirty(d);
}

void pv_netback_timer_at(struct pv_backd *d, uint64_t at)
{
	struct itimerspec cur, its = { 0 };
	uint64_t now = pv_backd_now_ns(), armed = 0;

	if (timerfd_gettime(d->net->timer_fd, &cur) == 0 &&
	    (cur.it_value.tv_sec || cur.it_value.tv_nsec))
		armed = now + (uint64_t)cur.it_value.tv_sec * 1000000000ull +
			(uint64_t)cur.it_value.tv_nsec;
	if (armed && armed <= at)
		return;
	its.it_value.tv_sec = (time_t)(at / 1000000000ull);
	its.it_value.tv_nsec = (long)(at % 1000000000ull);
	if (!its.it_value.tv_sec && !its.it_value.tv_nsec)
		its.it_value.tv_nsec = 1;
	timerfd_settime(d->net->timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
}

void pv_netback_sched_more(struct pv_netback_queue *q)
{
	struct pv_netback *nb = q->vif->d->net;
	uint64_t v = 1;

	if (q->on_runq)
		return;
	q->on_runq = 1;
	q->run_next = NULL;
	if (nb->runq_tail)
		nb->runq_tail->run_next = q;
	else
		nb->runq_head = q;
	nb->runq_tail = q;
	if (write(nb->work_fd, &v, sizeof(v)) < 0)
		return; /* a full counter is readable all the same */
}

void pv_netback_sched_forget(struct pv_netback_queue *q)
{
	struct pv_netback *nb = q->vif->d->net;
	struct pv_netback_queue **pp;

	if (!q->on_runq)
		return;
	for (pp = &nb->runq_head; *pp; pp = &(*pp)->run_next) {
		if (*pp == q) {
			*pp = q->run_next;
			break;
		}
	}
	nb->runq_tail = NULL;
	for (pp = &nb->runq_head; *pp; pp = &(*pp)->run_next)
		nb->runq_tail = *pp;
	q->on_runq = 0;
}

/* ---- tick, stats ------------------------------------------------------------------------- */

void pv_netback_tick(struct pv_backd *d)
{
	struct pv_netback_vif *vif;

	if (!d->net)
		return;
	for (vif = d->net->vifs; vif; vif = vif->next)
		for (unsigned int i = 0; vif->connected && i < vif->nqueues; i++)
			pv_netback_kick(&vif->qs[i]); /* rx stalls, guests without rx-notify */
	pv_netback_process_dirty(d);
}

int pv_netback_ctl_json(const struct pv_netback_vif *vif, char *buf, size_t len)
{
	const struct pv_netback_stats *s = &vif->st;
	int n;

#define U(x) (unsigned long long)(x)
	n = snprintf(buf, len,
		     "{\"domid\":%u,\"devid\":%u,\"state\":%d,\"state_name\":\"%s\",\"ifname\":\"%s\",\"bridge\":\"%s\","
		     "\"queues\":%u,\"split_event_channels\":%u,\"sg\":%u,\"gso_tcpv4\":%u,"
		     "\"gso_tcpv6\":%u,\"csum\":%u,\"ipv6_csum\":%u,\"rx_notify\":%u,"
		     "\"rate_bytes\":%llu,\"rate_usec\":%llu,"
		     "\"tx_packets\":%llu,\"tx_bytes\":%llu,\"tx_gso\":%llu,\"tx_csum_blank\":%llu,"
		     "\"tx_dropped\":%llu,\"tx_bad_size\":%llu,\"tx_too_many_slots\":%llu,"
		     "\"tx_bad_grant\":%llu,\"tx_bad_csum\":%llu,\"tx_tap_errors\":%llu,"
		     "\"tx_mcast\":%llu,\"tx_credit_waits\":%llu,\"tx_coalesced\":%llu,\"rx_packets\":%llu,"
		     "\"rx_bytes\":%llu,\"rx_gso\":%llu,\"rx_dropped\":%llu,\"rx_bad_grant\":%llu,"
		     "\"rx_stalls\":%llu,\"protocol_errors\":%llu,\"grant_copies\":%llu,"
		     "\"grant_copy_batches\":%llu,\"notifications_in\":%llu,"
		     "\"notifications_out\":%llu,\"budget_yields\":%llu,"
		     "\"spurious_notifications\":%llu,\"storm_masks\":%llu,"
		     "\"fe_watch_events\":%llu}",
		     vif->domid, vif->devid, vif->state, pv_backd_state_name(vif->state), vif->ifname, vif->bridge,
		     vif->connected ? vif->nqueues : 0, vif->split, vif->sg, vif->gso4, vif->gso6,
		     vif->csum, vif->ipv6_csum, vif->rx_notify, U(vif->rate_bytes),
		     U(vif->rate_usec), U(s->tx_packets), U(s->tx_bytes), U(s->tx_gso),
		     U(s->tx_csum_blank), U(s->tx_dropped), U(s->tx_bad_size),
		     U(s->tx_too_many_slots), U(s->tx_bad_grant), U(s->tx_bad_csum),
		     U(s->tx_tap_errors), U(s->tx_mcast), U(s->tx_credit_waits),
		     U(s->tx_coalesced), U(s->rx_packets),
		     U(s->rx_bytes), U(s->rx_gso), U(s->rx_dropped), U(s->rx_bad_grant),
		     U(s->rx_stalls), U(s->protocol_errors), U(s->grant_copies),
		     U(s->grant_copy_batches), U(s->notifications_in), U(s->notifications_out),
		     U(s->budget_yields), U(s->spurious_notifications), U(s->storm_masks),
		     U(s->fe_watch_events));
#undef U
	return n < 0 || (size_t)n >= len ? -ENOSPC : n;
}
