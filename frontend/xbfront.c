/* SPDX-License-Identifier: MIT */
/*
 * xbfront.c - the xenbus handshake steps blkfront and netfront share.  See xbfront.h.
 *
 * Every value read from the back end's directory is untrusted: parsed strictly (plain
 * decimal; garbage or a value that does not fit is -EPROTO); what to make of a legal value
 * is the caller's business.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "xbfront.h"

uint64_t xbf_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int xbf_parse_u64(const char *s, uint64_t *v)
{
	uint64_t r = 0;

	if (!s || !*s)
		return -EINVAL;
	for (; *s; s++) {
		unsigned int d = (unsigned char)*s - '0';

		if (d > 9 || r > (UINT64_MAX - d) / 10)
			return -EINVAL;
		r = r * 10 + d;
	}
	*v = r;
	return 0;
}

int xbf_read_str(struct xbf *x, const char *dir, const char *node, char **val)
{
	char *path;
	int rc;

	if (asprintf(&path, "%s/%s", dir, node) < 0)
		return -ENOMEM;
	rc = pv_xs_read(x->p, 0, path, val, NULL);
	free(path);
	return rc;
}

int xbf_read_uint(struct xbf *x, const char *dir, const char *node, uint64_t def,
		  uint64_t max, uint64_t *v)
{
	char *s = NULL;
	int rc = xbf_read_str(x, dir, node, &s);

	if (rc == -ENOENT) {
		*v = def;
		return 0;
	}
	if (rc < 0)
		return rc;
	rc = xbf_parse_u64(s, v) < 0 || *v > max ? -EPROTO : 1;
	free(s);
	return rc;
}

int xbf_find_backend(struct xbf *x, struct pv_platform *p, const char *kind, unsigned int devid)
{
	uint64_t id;
	char *s = NULL;
	int rc;

	x->p = p;
	if (asprintf(&x->fe_path, "/local/domain/%u/device/%s/%u",
		     (unsigned int)pv_platform_domid(p), kind, devid) < 0) {
		x->fe_path = NULL;
		return -ENOMEM;
	}
	rc = xbf_read_str(x, x->fe_path, "backend", &s);
	if (rc < 0)
		return rc == -ENOENT || rc == -EACCES ? -ENOENT : rc;
	if (s[0] != '/' || strlen(s) >= XBF_PATH_MAX) {
		free(s);
		return -EPROTO;
	}
	x->be_path = s;
	rc = xbf_read_uint(x, x->fe_path, "backend-id", UINT64_MAX, PV_DOMID_FIRST_RESERVED - 1, &id);
	if (rc < 0)
		return rc;
	if (rc == 0)
		return -ENOENT;
	x->backend_id = (domid_t)id;
	return 0;
}

int xbf_watch(struct xbf *x, const char *lib, unsigned int devid, const void *owner)
{
	int rc;

	snprintf(x->token, sizeof(x->token), "%s/%u/%p", lib, devid, owner);
	rc = pv_xs_watch(x->p, x->be_path, x->token);
	if (rc < 0)
		return rc;
	x->watching = 1;
	return 0;
}

void xbf_unwatch(struct xbf *x)
{
	if (!x->watching)
		return;
	pv_xs_unwatch(x->p, x->be_path, x->token);
	xbf_drain_watch(x);
	x->watching = 0;
}

void xbf_forget_backend(struct xbf *x)
{
	xbf_unwatch(x);
	free(x->be_path);
	x->be_path = NULL;
}

/*
 * Writes our state only while the node exists, in a transaction: once the toolstack has
 * removed the device (a forced detach), a plain write would re-create the directory and
 * leave the device looking in use (Linux's xenbus_switch_state takes the same care).
 */
int xbf_write_state(struct xbf *x, int state)
{
	char *path;
	int rc = 0, tries;

	if (asprintf(&path, "%s/state", x->fe_path) < 0)
		return -ENOMEM;
	for (tries = 0; tries < 100; tries++) {
		pv_xs_txn_t t;
		char *old = NULL;

		rc = pv_xs_txn_start(x->p, &t);
		if (rc < 0)
			break;
		rc = pv_xs_read(x->p, t, path, &old, NULL);
		free(old);
		if (rc == 0)
			rc = pv_xs_printf(x->p, t, path, "%d", state);
		if (rc < 0) {
			pv_xs_txn_end(x->p, t, 1);
			if (rc == -ENOENT)
				rc = 0;
			break;
		}
		rc = pv_xs_txn_end(x->p, t, 0);
		if (rc != -EAGAIN)
			break;
	}
	free(path);
	return rc;
}

int xbf_backend_state(struct xbf *x)
{
	uint64_t v;

	if (xbf_read_uint(x, x->be_path, "state", XB_UNKNOWN, 255, &v) < 0)
		return XB_UNKNOWN;
	return (int)v;
}

int xbf_detach_requested(struct xbf *x)
{
	uint64_t online;

	return xbf_backend_state(x) == XB_CLOSING &&
	       xbf_read_uint(x, x->be_path, "online", 1, 1, &online) == 1 && online == 0;
}

int xbf_drain_watch(struct xbf *x)
{
	char *path, *token;
	int ours = 0;

	/*
	 * Events for other tokens belong to other users of this platform handle; we cannot
	 * give them back, so a handle shared with another xenbus client loses them (the
	 * porting guide says to give each device its own handle when that matters).
	 */
	while (pv_xs_watch_next(x->p, &path, &token) == 0) {
		if (strcmp(token, x->token) == 0)
			ours = 1;
		free(path);
		free(token);
	}
	return ours;
}

/* Reads the state after every watch event rather than trusting the event: watches coalesce. */
int xbf_wait_backend(struct xbf *x, unsigned int want, unsigned int bad, uint64_t deadline)
{
	int fd = pv_xs_watch_fd(x->p);

	for (;;) {
		int st = xbf_backend_state(x);
		uint64_t now;
		struct pollfd pfd;

		if (st >= 0 && st < 32 && (want & ST(st)))
			return st;
		if (st >= 0 && st < 32 && (bad & ST(st)))
			return -EPROTO;
		now = xbf_now_ms();
		if (now >= deadline)
			return -ETIMEDOUT;
		if (fd < 0) {
			/* No watch fd on this platform: poll the node, gently. */
			usleep(1000);
			continue;
		}
		pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
		/* Cap each sleep so a watch lost to another client costs 50 ms, not the timeout. */
		if (poll(&pfd, 1, (int)(deadline - now < 50 ? deadline - now : 50)) > 0)
			xbf_drain_watch(x);
	}
}

void xbf_reset_stale(struct xbf *x, uint64_t deadline)
{
	int st = xbf_backend_state(x);

	if (st != XB_INITIALISED && st != XB_CONNECTED)
		return;
	xbf_write_state(x, XB_CLOSING);
	xbf_wait_backend(x, ST(XB_UNKNOWN) | ST(XB_CLOSING) | ST(XB_CLOSED) | ST(XB_INITWAIT), 0,
			 deadline);
	xbf_write_state(x, XB_CLOSED);
	xbf_wait_backend(x, ST(XB_UNKNOWN) | ST(XB_CLOSED) | ST(XB_INITWAIT), 0, deadline);
}

int xbf_close(struct xbf *x, uint64_t deadline)
{
	int rc, detach;

	if (!x->be_path || !x->fe_path || x->closed)
		return 0;
	x->closed = 1;
	detach = x->close_waits_closed && xbf_detach_requested(x);
	xbf_write_state(x, XB_CLOSING);
	/* Tolerate a back end that is gone or never started (no state). */
	rc = xbf_wait_backend(x, ST(XB_UNKNOWN) | ST(XB_CLOSED) | (detach ? 0 : ST(XB_CLOSING)), 0,
			      deadline);
	xbf_write_state(x, XB_CLOSED);
	return rc < 0 ? rc : 0;
}

int xbf_txn_u(struct xbf *x, pv_xs_txn_t t, const char *dir, const char *node, unsigned int v)
{
	char path[XBF_PATH_MAX + 64];

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, node) >= sizeof(path))
		return -ENAMETOOLONG;
	return pv_xs_printf(x->p, t, path, "%u", v);
}

/* One attempt at the transaction; -EAGAIN from the end means "again". */
static int publish_once(struct xbf *x, int (*ours)(const char *node),
			int (*write)(void *arg, pv_xs_txn_t t), void *arg, int state)
{
	char **names = NULL, path[XBF_PATH_MAX + 64];
	unsigned int n = 0, i;
	pv_xs_txn_t t;
	int rc;

	rc = pv_xs_txn_start(x->p, &t);
	if (rc < 0)
		return rc;
	rc = pv_xs_directory(x->p, t, x->fe_path, &names, &n);
	for (i = 0; rc == 0 && i < n; i++) {
		if (!ours(names[i]))
			continue;
		snprintf(path, sizeof(path), "%s/%s", x->fe_path, names[i]);
		rc = pv_xs_rm(x->p, t, path);
		if (rc == -ENOENT)
			rc = 0;
	}
	free(names);
	if (rc == 0)
		rc = write(arg, t);
	if (rc == 0)
		rc = xbf_txn_u(x, t, x->fe_path, "state", (unsigned int)state);
	if (rc < 0) {
		pv_xs_txn_end(x->p, t, 1);
		return rc == -EAGAIN ? -EIO : rc;
	}
	return pv_xs_txn_end(x->p, t, 0);
}

int xbf_publish(struct xbf *x, int (*ours)(const char *node),
		int (*write)(void *arg, pv_xs_txn_t t), void *arg, int state)
{
	unsigned int tries;
	int rc;

	for (tries = 0; tries < 64; tries++) {
		rc = publish_once(x, ours, write, arg, state);
		if (rc != -EAGAIN)
			return rc;
		usleep(100u << (tries < 6 ? tries : 6));
	}
	return -EAGAIN;
}

unsigned int xbf_drain_events(struct pv_platform *p)
{
	evtchn_port_t ports[16];
	unsigned int n = 0;
	int i, got;

	/* Fewer than asked for: nothing else was pending (no empty look to make sure). */
	do {
		got = pv_evtchn_pending_batch(p, ports, 16);
		/*
		 * Unmask whoever's port it is: another user of this platform handle loses this
		 * one wakeup but not its channel (see the porting guide).
		 */
		for (i = 0; i < got; i++)
			pv_evtchn_unmask(p, ports[i]);
		n += got > 0 ? (unsigned int)got : 0;
	} while (got == 16);
	return n;
}

void xbf_free(struct xbf *x)
{
	free(x->be_path);
	free(x->fe_path);
	x->be_path = x->fe_path = NULL;
}
