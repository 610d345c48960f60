/* SPDX-License-Identifier: MIT */
/*
 * pv_blkback_xenbus.c - the XenBus back state machine of each vbd (docs/protocol.md).
 *
 * Every watch event only marks devices dirty; pv_blkback_process_dirty() then looks at
 * the current xenstore contents and moves each dirty device towards where they say it
 * should be.  Looking at state instead of at events makes the machine tolerant of
 * coalesced watches, missed intermediate states, the event at registration and of a
 * daemon restarted in the middle of a session.
 *
 *   new backend dir ------> open target, write features ---------------> InitWait(2)
 *   front Initialised(3)/Connected(4) -> map, bind, write sectors ... -> Connected(4)
 *   front Closing(5) ------> drain, unmap -----------------------------> Closing(5)
 *   front Closed(6) -------> drain -----------------------------------> Closed(6)
 *   online=0 / state 5 by the toolstack: serve on until the front end leaves Connected,
 *                           then drain -------------------------------> Closed(6)
 *   front Initialising(1) after a close -------------------------------> InitWait(2)
 *   backend dir removed ---> drain, unmap, forget
 *   bad frontend values ---> `error` node -----------------------------> Closing(5)
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pv_blkback.h"

#define COMP "xenbus"

enum { ST_INITIALISING = 1, ST_INITWAIT, ST_INITIALISED, ST_CONNECTED, ST_CLOSING, ST_CLOSED };
#define TARGET_REMOVE (-1)

int pv_backd_parse_types(const char *s, unsigned int *mask)
{
	static const struct { const char *name; unsigned int bit; } t[] = {
		{ "phy", PV_BACKD_TYPE_PHY }, { "file", PV_BACKD_TYPE_FILE },
		{ "pvio", PV_BACKD_TYPE_PVIO }, { "null", PV_BACKD_TYPE_NULL },
	};
	unsigned int m = 0, i;

	while (*s) {
		size_t len = strcspn(s, ",");

		for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
			if (strlen(t[i].name) == len && strncmp(s, t[i].name, len) == 0)
				break;
		if (i == sizeof(t) / sizeof(t[0]))
			return -EINVAL;
		m |= t[i].bit;
		s += len;
		if (*s == ',')
			s++;
	}
	if (!m)
		return -EINVAL;
	*mask = m;
	return 0;
}

static unsigned int type_bit(const char *type)
{
	unsigned int m = 0;

	return pv_backd_parse_types(type, &m) == 0 && !strchr(type, ',') ? m : 0;
}

/* Plain decimal, at most max; else -EINVAL. */
static int parse_uint(const char *s, size_t len, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0 || len > 10)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* ---- xenstore helpers -------------------------------------------------------------------- */

static int be_read(struct pv_blkback_dev *dev, const char *node, char **val)
{
	char path[160];

	snprintf(path, sizeof(path), "%s/%s", dev->be_path, node);
	return pv_xs_read(dev->d->plat, 0, path, val, NULL);
}

/*
 * Is the directory under our path the toolstack's new device?  It writes Initialising,
 * which we never write, so under a device we moved on from that state means our device
 * was removed and another written in its place: nothing of ours may land there.
 */
static int recreated(struct pv_blkback_dev *dev, struct pv_platform *p, pv_xs_txn_t t,
		     int worker)
{
	char path[sizeof(dev->be_path) + 8], *s;
	uint64_t v = 0;
	size_t len;

	/*
	 * dev->state is the main thread's.  A worker writes here only for a queue it serves,
	 * so of a device that went past InitWait: it need not (and may not) look.
	 */
	if (!worker && dev->state < ST_INITWAIT)
		return 0;
	snprintf(path, sizeof(path), "%s/state", dev->be_path);
	if (pv_xs_read(p, t, path, &s, &len) < 0)
		return 0;
	if (parse_uint(s, len, 8, &v) < 0)
		v = 0;
	free(s);
	return v == ST_INITIALISING;
}

int pv_blkback_node_write(struct pv_blkback_dev *dev, pv_xs_txn_t t, const char *node,
			  const char *val)
{
	/* A worker (pv_blkback_fatal) writes through its own xenstore connection. */
	struct pv_backd *self = pv_backd_worker_self();
	struct pv_platform *p = self ? self->plat : dev->d->plat;
	char path[160], *dir;
	int rc = -EAGAIN, tries;

	snprintf(path, sizeof(path), "%s/%s", dev->be_path, node);
	for (tries = 0; tries < 100 && rc == -EAGAIN; tries++) {
		pv_xs_txn_t own = 0, txn = t;

		if (!t && (rc = pv_xs_txn_start(p, &own)) < 0)
			return rc;
		if (!t)
			txn = own;
		dir = NULL;
		rc = pv_xs_read(p, txn, dev->be_path, &dir, NULL);
		free(dir);
		/* In the transaction: a removal and a new device after this read fail the commit. */
		if (rc == 0 && recreated(dev, p, txn, self != NULL)) {
			pv_blkback_mark_dirty(dev); /* dev_update drops the old device */
			rc = -ESTALE;
		}
		if (rc == 0)
			rc = pv_xs_write(p, txn, path, val, strlen(val));
		if (t)
			return rc == -ENOENT ? 0 : rc;
		if (rc < 0) {
			pv_xs_txn_end(p, own, 1);
			return rc == -ENOENT ? 0 : rc;
		}
		rc = pv_xs_txn_end(p, own, 0);
	}
	return rc;
}

static int be_printf(struct pv_blkback_dev *dev, pv_xs_txn_t t, const char *node,
		     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int be_printf(struct pv_blkback_dev *dev, pv_xs_txn_t t, const char *node,
		     const char *fmt, ...)
{
	char val[64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	return pv_blkback_node_write(dev, t, node, val);
}

static void be_rm(struct pv_blkback_dev *dev, const char *node)
{
	char path[160];

	snprintf(path, sizeof(path), "%s/%s", dev->be_path, node);
	pv_xs_rm(dev->d->plat, 0, path);
}

/* A state node: 1..8, else 0 (garbage is ignored); -ENOENT when absent. */
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

static void set_state(struct pv_blkback_dev *dev, int st)
{
	if (be_printf(dev, 0, "state", "%d", st) == 0) {
		pv_backd_log(PV_LOG_DEBUG, COMP, "vbd %u/%u: state %d -> %d", dev->domid,
			     dev->devid, dev->state, st);
		dev->state = st;
	}
}

/* ---- the data path, on the threads that own it (pv_backd_worker.c) --------------------- */

static int call_kick(struct pv_blkback_queue *q, void *arg)
{
	(void)arg;
	pv_blkback_kick(q);
	return 0;
}

static int call_bounce_tick(struct pv_blkback_queue *q, void *arg)
{
	(void)arg;
	pv_blkback_bounce_tick(q);
	return 0;
}

/* A grown disk: requests are checked against the new size from now on. */
static int call_set_sectors(struct pv_blkback_queue *q, void *arg)
{
	q->lim.sectors = *(const uint64_t *)arg;
	return 0;
}

/* SIGTERM: stop taking requests; 1 once nothing is in flight. */
static int call_shutdown(struct pv_blkback_queue *q, void *arg)
{
	(void)arg;
	/* No snapshot: what is not taken yet stays on the ring for the next daemon. */
	pv_blkback_queue_stop_intake(q, 0);
	return pv_blkback_queue_drained(q);
}

void pv_blkback_mark_dirty(struct pv_blkback_dev *dev)
{
	struct pv_backd *self = pv_backd_worker_self();

	if (!self) {
		dev->dirty = 1;
		return;
	}
	atomic_fetch_or(&dev->async, PV_BLKBACK_ASYNC_DIRTY);
	pv_backd_worker_wake_main(self);
}

void pv_blkback_async_apply(struct pv_backd *d)
{
	struct pv_blkback_dev *dev;
	uint64_t v;

	if (read(d->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	for (dev = d->devs; dev; dev = dev->next) {
		unsigned int bits = atomic_exchange(&dev->async, 0u);

		/* A queue's ring broke: its thread stopped it, the others stop here. */
		if ((bits & PV_BLKBACK_ASYNC_FAILED) && dev->connected)
			pv_blkback_stop_intake(dev, 0);
		if ((bits & PV_BLKBACK_ASYNC_FAILED) && !dev->target)
			dev->target = ST_CLOSING;
		if (bits)
			dev->dirty = 1;
	}
	pv_blkback_process_dirty(d);
}

/* ---- devices ----------------------------------------------------------------------------- */

struct pv_blkback_dev *pv_blkback_find(struct pv_backd *d, unsigned int domid, unsigned int devid)
{
	struct pv_blkback_dev *dev;

	for (dev = d->devs; dev; dev = dev->next)
		if (dev->domid == domid && dev->devid == devid)
			return dev;
	return NULL;
}

static struct pv_blkback_dev *dev_new(struct pv_backd *d, unsigned int domid, unsigned int devid)
{
	struct pv_blkback_dev *dev;
	int st;

	if (d->ndevs >= PV_BLKBACK_MAX_DEVICES)
		return NULL;
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return NULL;
	dev->d = d;
	dev->domid = domid;
	dev->devid = devid;
	dev->fd = -1;
	dev->dfd = -1;
	dev->uid = ++d->next_dev_id;
	snprintf(dev->be_path, sizeof(dev->be_path), "%s/%u/%u", d->root, domid, devid);
	snprintf(dev->token, sizeof(dev->token), "fe:%llu", (unsigned long long)dev->uid);
	/* A state a previous daemon wrote is ours: not a request from the toolstack. */
	st = read_state(d->plat, dev->be_path);
	dev->state = st >= ST_INITWAIT ? st : 0;
	dev->next = d->devs;
	d->devs = dev;
	d->ndevs++;
	return dev;
}

/*
 * The front end's state node, not its directory: everything else there is read when the
 * state says so, and a guest writing nodes in its own directory must not wake us (Linux's
 * xenbus_watch_otherend watches the state node alone too).
 */
static int fe_watch(struct pv_blkback_dev *dev, int on)
{
	char path[sizeof(dev->fe_path) + 8];

	snprintf(path, sizeof(path), "%s/state", dev->fe_path);
	return on ? pv_xs_watch(dev->d->plat, path, dev->token) :
		    pv_xs_unwatch(dev->d->plat, path, dev->token);
}

static void dev_free(struct pv_blkback_dev *dev)
{
	struct pv_backd *d = dev->d;
	struct pv_blkback_dev **pp;

	pv_blkback_disconnect(dev);
	pv_blkback_io_close(dev);
	if (dev->fe_watched && !d->stopping)
		fe_watch(dev, 0);
	/* Removed (not our exit): a journal a failed resume kept has nobody to resume it. */
	if (!d->stopping)
		pv_blkback_journal_forget(d, dev->domid, dev->devid);
	for (pp = &d->devs; *pp && *pp != dev; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = dev->next;
	d->ndevs--;
	pv_backd_log(PV_LOG_INFO, COMP, "vbd %u/%u: removed", dev->domid, dev->devid);
	free(dev->params);
	free(dev);
}

/* Refuses to open, says why in `error` and hotplug-status for the toolstack. */
static int open_error(struct pv_blkback_dev *dev, int rc, const char *what)
{
	char msg[200];

	snprintf(msg, sizeof(msg), "%s: %s", what, strerror(-rc));
	pv_blkback_node_write(dev, 0, "error", msg);
	be_printf(dev, 0, "hotplug-status", "error");
	pv_backd_log(PV_LOG_WARN, COMP, "vbd %u/%u: %s", dev->domid, dev->devid, msg);
	return rc;
}

/* The toolstack's nodes: trusted more than a guest's, still checked. */
static int dev_open(struct pv_blkback_dev *dev)
{
	struct pv_backd *d = dev->d;
	char *fe = NULL, *feid = NULL, *mode = NULL, *s = NULL;
	char prefix[64];
	uint64_t id;
	int rc;
	pv_xs_txn_t t;

	free(dev->params);
	dev->params = NULL;
	if (be_read(dev, "params", &dev->params) < 0 || be_read(dev, "mode", &mode) < 0 ||
	    be_read(dev, "frontend", &fe) < 0 || be_read(dev, "frontend-id", &feid) < 0) {
		/* Not all written yet (no transaction?): the next event brings the rest. */
		rc = -EAGAIN;
		goto out;
	}
	rc = -EINVAL;
	if (parse_uint(feid, strlen(feid), PV_DOMID_FIRST_RESERVED - 1, &id) < 0 || id != dev->domid) {
		open_error(dev, rc, "frontend-id does not match the directory");
		goto out;
	}
	/* Only the frontend domain's own device area: never another domain's nodes. */
	snprintf(prefix, sizeof(prefix), "/local/domain/%u/device/", dev->domid);
	if (strncmp(fe, prefix, strlen(prefix)) != 0 || strlen(fe) >= sizeof(dev->fe_path) ||
	    strstr(fe, "/.") || strspn(fe, "abcdefghijklmnopqrstuvwxyz0123456789-_/") != strlen(fe)) {
		open_error(dev, rc, "frontend path refused");
		goto out;
	}
	/* "w!": writable, shared with other guests on the administrator's word (Xen's block
	 * script); the toolstack did the sharing check, the device is served as "w". */
	if (strcmp(mode, "r") != 0 && strcmp(mode, "w") != 0 && strcmp(mode, "w!") != 0) {
		open_error(dev, rc, "mode must be r, w or w!");
		goto out;
	}
	snprintf(dev->mode, sizeof(dev->mode), "%s", mode);
	dev->lim.readonly = mode[0] == 'r';
	dev->lim.max_indirect = PV_BLKBACK_MAX_INDIRECT_SEGS;
	dev->info = dev->lim.readonly ? VDISK_READONLY : 0;
	if (be_read(dev, "device-type", &s) == 0 && strcmp(s, "cdrom") == 0)
		dev->info |= VDISK_CDROM;
	free(s);
	s = NULL;
	if (!dev->fe_watched || strcmp(dev->fe_path, fe) != 0) {
		if (dev->fe_watched)
			fe_watch(dev, 0);
		snprintf(dev->fe_path, sizeof(dev->fe_path), "%s", fe);
		rc = fe_watch(dev, 1);
		dev->fe_watched = rc == 0;
		if (rc < 0) {
			open_error(dev, rc, "cannot watch the frontend");
			goto out;
		}
	}
	/* libxl writes "1" for xl's direct-io-safe: O_DIRECT is allowed (--cache auto). */
	dev->direct_io_safe = be_read(dev, "direct-io-safe", &s) == 0 && strcmp(s, "1") == 0;
	free(s);
	s = NULL;
	rc = pv_blkback_io_open(dev);
	if (rc < 0) {
		open_error(dev, rc, "cannot open params");
		goto out;
	}
	if (be_read(dev, "discard-enable", &s) == 0 && strcmp(s, "0") == 0)
		dev->lim.discard = 0;
	free(s);
	s = NULL;
	for (;;) {
		rc = pv_xs_txn_start(d->plat, &t);
		if (rc < 0)
			break;
		be_printf(dev, t, "max-ring-page-order", "%u", PV_RING_MAX_PAGE_ORDER);
		be_printf(dev, t, "feature-persistent", "1");
		be_printf(dev, t, "feature-max-indirect-segments", "%u", dev->lim.max_indirect);
		be_printf(dev, t, "multi-queue-max-queues", "%u", d->max_queues);
		be_printf(dev, t, "feature-flush-cache", "%u", dev->lim.flush);
		be_printf(dev, t, "feature-barrier", "%u", dev->lim.barrier);
		be_printf(dev, t, "feature-discard", "%u", dev->lim.discard);
		if (dev->lim.discard) {
			be_printf(dev, t, "discard-granularity", "%u", dev->discard_gran);
			be_printf(dev, t, "discard-alignment", "0");
			be_printf(dev, t, "discard-secure", "0");
		}
		be_printf(dev, t, "sector-size", "%u", dev->sector_size);
		be_printf(dev, t, "physical-sector-size", "%u", dev->phys_sector_size);
		be_printf(dev, t, "sectors", "%llu", (unsigned long long)dev->lim.sectors);
		be_printf(dev, t, "info", "%u", dev->info);
		be_printf(dev, t, "hotplug-status", "connected");
		rc = pv_xs_txn_end(d->plat, t, 0);
		if (rc != -EAGAIN)
			break;
	}
	if (rc < 0) {
		pv_blkback_io_close(dev);
		open_error(dev, rc, "cannot write the backend nodes");
		goto out;
	}
	dev->opened = 1;
	pv_backd_log(PV_LOG_INFO, COMP, "vbd %u/%u: %s (%s, %llu sectors%s)", dev->domid,
		     dev->devid, dev->params, dev->mode, (unsigned long long)dev->lim.sectors,
		     dev->driver == PV_BLKBACK_DRV_NULL ? ", null driver" :
		     dev->dfd >= 0 ? ", O_DIRECT" : "");
	rc = 0;
out:
	free(fe);
	free(feid);
	free(mode);
	return rc;
}

/* Maps and binds, then publishes what the front end reads once Connected. */
static void dev_connect(struct pv_blkback_dev *dev)
{
	struct pv_backd *d = dev->d;
	pv_xs_txn_t t;
	int rc;

	if (pv_blkback_connect(dev) < 0) {
		set_state(dev, ST_CLOSING);
		return;
	}
	for (;;) {
		rc = pv_xs_txn_start(d->plat, &t);
		if (rc < 0)
			break;
		be_printf(dev, t, "sectors", "%llu", (unsigned long long)dev->lim.sectors);
		be_printf(dev, t, "info", "%u", dev->info);
		be_printf(dev, t, "sector-size", "%u", dev->sector_size);
		be_printf(dev, t, "physical-sector-size", "%u", dev->phys_sector_size);
		be_printf(dev, t, "state", "%d", ST_CONNECTED);
		rc = pv_xs_txn_end(d->plat, t, 0);
		if (rc != -EAGAIN)
			break;
	}
	if (rc < 0) {
		pv_backd_log(PV_LOG_WARN, COMP, "vbd %u/%u: cannot publish Connected: %s",
			     dev->domid, dev->devid, strerror(-rc));
		pv_blkback_disconnect(dev);
		return;
	}
	dev->state = ST_CONNECTED;
	/* Requests may be waiting already: a front end that resumed after our restart. */
	pv_backd_worker_call_all(dev, call_kick, NULL);
}

static void begin_disconnect(struct pv_blkback_dev *dev, int target)
{
	dev->target = target;
	if (dev->connected)
		pv_blkback_stop_intake(dev, 1);
	dev->dirty = 1;
}

void pv_blkback_failed(struct pv_blkback_queue *q)
{
	struct pv_blkback_dev *dev = q->dev;

	if (pv_backd_worker_self()) {
		/* The target is the state machine's: the main thread sets it. */
		pv_blkback_queue_stop_intake(q, 0);
		atomic_fetch_or(&dev->async, PV_BLKBACK_ASYNC_FAILED);
		pv_backd_worker_wake_main(pv_backd_worker_self());
		return;
	}
	if (!dev->target)
		dev->target = ST_CLOSING;
	pv_blkback_stop_intake(dev, 0);
	dev->dirty = 1;
}

static void mark(struct pv_backd *d, unsigned int domid, unsigned int devid);

static void drain_done(struct pv_blkback_dev *dev)
{
	struct pv_backd *d = dev->d;
	unsigned int domid = dev->domid, devid = dev->devid;
	int t = dev->target;
	char path[sizeof(dev->be_path)], *s = NULL;

	dev->target = 0;
	pv_blkback_disconnect(dev);
	if (t == TARGET_REMOVE) {
		memcpy(path, dev->be_path, sizeof(path));
		dev_free(dev);
		/* A new device under the same path (its watch events may have come while we
		 * drained, and were spent on the old one): serve it from scratch. */
		if (!d->stopping && pv_xs_read(d->plat, 0, path, &s, NULL) == 0)
			mark(d, domid, devid);
		free(s);
		return;
	}
	if (t == ST_INITWAIT)
		be_rm(dev, "error");
	if (t > 0)
		set_state(dev, t);
	dev->dirty = 1; /* the front end may have moved on while we drained */
}

static void dev_update(struct pv_blkback_dev *dev)
{
	struct pv_backd *d = dev->d;
	char *s = NULL;
	int fe, be;

	if (pv_xs_read(d->plat, 0, dev->be_path, &s, NULL) == -ENOENT) {
		begin_disconnect(dev, TARGET_REMOVE);
		return;
	}
	free(s);
	s = NULL;
	be = read_state(d->plat, dev->be_path);
	if (be == ST_INITIALISING && dev->state >= ST_INITWAIT) {
		/* We never write Initialising: the toolstack removed our device and wrote a new one
		 * under the same path before we saw the removal (a detach and an attach while we
		 * were busy).  Nothing of the old one (its detach request, its Closed, its open
		 * target) may leak into the new one: drop the old, then start over. */
		pv_backd_log(PV_LOG_INFO, COMP, "vbd %u/%u: recreated by the toolstack", dev->domid,
			     dev->devid);
		begin_disconnect(dev, TARGET_REMOVE);
		return;
	}
	if (dev->ignored)
		return;
	if (!dev->opened) {
		if (be_read(dev, "type", &s) < 0)
			return;
		snprintf(dev->type, sizeof(dev->type), "%s", s);
		free(s);
		s = NULL;
		if (!(type_bit(dev->type) & d->types_mask)) {
			dev->ignored = 1;
			pv_backd_log(PV_LOG_DEBUG, COMP, "vbd %u/%u: type %s not served", dev->domid,
				     dev->devid, dev->type);
			return;
		}
	}
	if (be_read(dev, "online", &s) == 0 && strcmp(s, "0") == 0)
		dev->detach = 1;
	free(s);
	if (be == ST_CLOSING && dev->state != ST_CLOSING && dev->state != ST_CLOSED)
		dev->detach = 1; /* the toolstack asks us to close */
	if (dev->detach) {
		/*
		 * As Linux's blkback: asked to close, the back end goes on serving until the
		 * front end closes (the guest sees the backend's Closing and lets go, or refuses
		 * while the disk is in use).  The toolstack waits for our Closed, and says
		 * "busy" or removes the device (--force) when it does not come.
		 */
		if (dev->connected) {
			fe = read_state(d->plat, dev->fe_path);
			if (fe != ST_INITIALISED && fe != ST_CONNECTED)
				begin_disconnect(dev, ST_CLOSED);
		} else if (dev->state != ST_CLOSED || be != ST_CLOSED) {
			set_state(dev, ST_CLOSED); /* the toolstack waits for this Closed */
		}
		return;
	}
	if (!dev->opened && dev_open(dev) < 0)
		return;
	fe = read_state(d->plat, dev->fe_path);
	if (fe == -ENOENT)
		fe = ST_CLOSED; /* the front end's directory is gone */
	switch (fe) {
	case ST_INITIALISING:
	case ST_INITWAIT:
		if (dev->connected)
			begin_disconnect(dev, ST_INITWAIT); /* the guest started over */
		else if (dev->state != ST_INITWAIT) {
			be_rm(dev, "error");
			set_state(dev, ST_INITWAIT);
		}
		break;
	case ST_INITIALISED:
	case ST_CONNECTED:
		/* After our own Closing/Closed, wait for the front end to start over. */
		if (!dev->connected && dev->state != ST_CLOSING && dev->state != ST_CLOSED)
			dev_connect(dev);
		break;
	case ST_CLOSING:
		if (dev->connected)
			begin_disconnect(dev, ST_CLOSING);
		else if (dev->state != ST_CLOSING && dev->state != ST_CLOSED)
			set_state(dev, ST_CLOSING);
		break;
	case ST_CLOSED:
		if (dev->connected)
			begin_disconnect(dev, ST_CLOSED);
		else if (dev->state != ST_CLOSED && dev->state != 0)
			set_state(dev, ST_CLOSED);
		break;
	default:
		break; /* garbage, Reconfiguring: nothing to do */
	}
}

void pv_blkback_process_dirty(struct pv_backd *d)
{
	unsigned int round;

	/* A worker's marks reach the main thread through pv_blkback_async_apply(). */
	if (d->main)
		return;
	/* A few rounds: a finished drain may make the next step possible at once. */
	for (round = 0; round < 8; round++) {
		struct pv_blkback_dev *dev, *next;
		int any = 0;

		for (dev = d->devs; dev; dev = next) {
			next = dev->next;
			if (!dev->dirty)
				continue;
			dev->dirty = 0;
			any = 1;
			if (d->stopping)
				continue;
			if (dev->target) {
				if (!dev->connected || pv_blkback_drained(dev))
					drain_done(dev);
				continue;
			}
			dev_update(dev);
		}
		if (!any)
			break;
	}
}

/* ---- watch events ------------------------------------------------------------------------ */

static void mark(struct pv_backd *d, unsigned int domid, unsigned int devid)
{
	struct pv_blkback_dev *dev = pv_blkback_find(d, domid, devid);

	if (!dev && !d->stopping)
		dev = dev_new(d, domid, devid);
	if (dev)
		dev->dirty = 1;
}

static void rescan(struct pv_backd *d)
{
	struct pv_blkback_dev *dev;
	char **fes = NULL, **ids, path[128];
	unsigned int nfe = 0, nid, i, j;
	uint64_t fe, id;

	for (dev = d->devs; dev; dev = dev->next)
		dev->dirty = 1; /* notices removed directories */
	if (pv_xs_directory(d->plat, 0, d->root, &fes, &nfe) < 0)
		return;
	for (i = 0; i < nfe; i++) {
		if (parse_uint(fes[i], strlen(fes[i]), PV_DOMID_FIRST_RESERVED - 1, &fe) < 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", d->root, fes[i]);
		if (pv_xs_directory(d->plat, 0, path, &ids, &nid) < 0)
			continue;
		for (j = 0; j < nid; j++)
			if (parse_uint(ids[j], strlen(ids[j]), UINT32_MAX, &id) == 0)
				mark(d, (unsigned int)fe, (unsigned int)id);
		free(ids);
	}
	free(fes);
}

void pv_blkback_watch_event(struct pv_backd *d, const char *path, const char *token)
{
	size_t rl = strlen(d->root);
	uint64_t fe, id;
	const char *p, *e;

	if (strncmp(token, "fe:", 3) == 0) {
		struct pv_blkback_dev *dev;
		uint64_t uid;

		if (parse_uint(token + 3, strlen(token + 3), UINT64_MAX, &uid) < 0)
			return;
		for (dev = d->devs; dev; dev = dev->next) {
			if (dev->uid == uid) {
				dev->dirty = 1;
				dev->st.fe_watch_events++;
			}
		}
		return;
	}
	if (strcmp(token, "vbd") != 0 || strncmp(path, d->root, rl) != 0 ||
	    (path[rl] && path[rl] != '/'))
		return;
	p = path + rl;
	if (!*p) {
		rescan(d);
		return;
	}
	p++;
	e = p + strcspn(p, "/");
	if (parse_uint(p, (size_t)(e - p), PV_DOMID_FIRST_RESERVED - 1, &fe) < 0)
		return;
	if (!*e) {
		rescan(d); /* a whole frontend domain's directory came or went */
		return;
	}
	p = e + 1;
	e = p + strcspn(p, "/");
	if (parse_uint(p, (size_t)(e - p), UINT32_MAX, &id) < 0)
		return;
	mark(d, (unsigned int)fe, (unsigned int)id);
}

/* ---- timer, shutdown --------------------------------------------------------------------- */

void pv_blkback_tick(struct pv_backd *d)
{
	struct pv_blkback_dev *dev;

	for (dev = d->devs; dev; dev = dev->next) {
		uint64_t sectors;

		if (dev->connected)
			pv_backd_worker_call_all(dev, call_bounce_tick, NULL);
		if (!dev->connected || dev->driver != PV_BLKBACK_DRV_FILE ||
		    pv_blkback_io_size(dev, &sectors) < 0 || sectors == dev->lim.sectors)
			continue;
		if (sectors < dev->lim.sectors) {
			/* Shrinking under a guest cannot be announced safely; requests past the new
			 * end fail with an I/O error. */
			pv_backd_log_rl(&dev->rl_ctl, PV_LOG_WARN, COMP, "vbd %u/%u: target shrank",
					dev->domid, dev->devid);
			continue;
		}
		dev->lim.sectors = sectors;
		pv_backd_worker_call_all(dev, call_set_sectors, &sectors);
		be_printf(dev, 0, "sectors", "%llu", (unsigned long long)sectors);
		pv_backd_log(PV_LOG_INFO, COMP, "vbd %u/%u: resized to %llu sectors", dev->domid,
			     dev->devid, (unsigned long long)sectors);
	}
}

int pv_blkback_shutdown_step(struct pv_backd *d)
{
	struct pv_blkback_dev *dev;
	int done = 1;

	for (dev = d->devs; dev; dev = dev->next) {
		if (!dev->connected)
			continue;
		if (pv_backd_worker_call_all(dev, call_shutdown, NULL) > 0)
			pv_blkback_disconnect(dev);
		else
			done = 0;
	}
	return done;
}

void pv_blkback_free_all(struct pv_backd *d)
{
	while (d->devs)
		dev_free(d->devs);
	pv_blkback_sched_fini(d);
	free(d->ports);
	d->ports = NULL;
	d->nports = 0;
}
