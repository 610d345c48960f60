/* SPDX-License-Identifier: MIT */
/*
 * pv_ctl_vif.c - a vif's toolstack nodes in xenstore.  See pv_ctl_vif.h.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pv_ctl_vif.h"

/* pv_ctl_dev_table keys a listing's entries on their first member. */
_Static_assert(offsetof(struct pv_ctl_vif_info, devid) == 0, "devid must come first");

/* ---- devid allocation ---------------------------------------------------------------- */

struct devids {
	uint32_t *v;
	unsigned int n, cap;
	long max_be; /* highest devid under any backend, -1 if none */
};

static int devids_add(struct devids *d, uint32_t id)
{
	if (d->n == d->cap) {
		unsigned int ncap = d->cap ? d->cap * 2 : 16;
		uint32_t *nv = realloc(d->v, ncap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		d->v = nv;
		d->cap = ncap;
	}
	d->v[d->n++] = id;
	return 0;
}

/* Adds the devids named under dir; 0 also when dir does not exist. */
static int devids_scan(struct pv_platform *p, pv_xs_txn_t t, const char *dir, struct devids *d,
		       int is_backend)
{
	char **names = NULL;
	unsigned int n = 0, i;
	uint32_t id;
	int rc;

	rc = pv_xs_directory(p, t, dir, &names, &n);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	for (i = 0; i < n && rc == 0; i++) {
		if (pv_ctl_dev_parse_devid_name(names[i], &id) < 0 || id > PV_CTL_VIF_DEVID_MAX)
			continue;
		rc = devids_add(d, id);
		if (is_backend && (long)id > d->max_be)
			d->max_be = id;
	}
	free(names);
	return rc;
}

struct backend_scan {
	struct pv_platform *p;
	pv_xs_txn_t t;
	struct devids *d;
};

/* Unlike a listing, the choice must see every backend's devids, or not be made. */
static int scan_backend(void *arg, domid_t be, const char *dir)
{
	const struct backend_scan *b = arg;

	(void)be;
	return devids_scan(b->p, b->t, dir, b->d, 1);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int devid_used(const struct devids *d, uint32_t id)
{
	/* bsearch's base must not be NULL, even for no elements (UBSan holds it to that) */
	if (!d->n)
		return 0;
	return bsearch(&id, d->v, d->n, sizeof(*d->v), cmp_u32) != NULL;
}

/* The next free devid of fe's vifs, within transaction t. */
static int next_devid(struct pv_platform *p, pv_xs_txn_t t, domid_t fe, uint32_t *out)
{
	struct devids d = { .max_be = -1 };
	struct backend_scan b = { p, t, &d };
	char path[PV_CTL_PATH_MAX];
	uint64_t id;
	int rc;

	/* Every backend domain's directory: backend=N puts a vif of fe under domain N. */
	rc = pv_ctl_dev_each_backend(p, t, "vif", fe, scan_backend, &b);
	snprintf(path, sizeof(path), "/local/domain/%u/device/vif", fe);
	if (rc == 0)
		rc = devids_scan(p, t, path, &d, 0);
	if (rc < 0) {
		free(d.v);
		return rc;
	}
	if (d.n)
		qsort(d.v, d.n, sizeof(*d.v), cmp_u32);
	/*
	 * libxl counts on from its highest devid, so a detached vif's number is not handed to
	 * the next one at once; numbers only the guest's own directory holds are skipped.
	 */
	for (id = (uint64_t)(d.max_be + 1); id <= PV_CTL_VIF_DEVID_MAX; id++)
		if (!devid_used(&d, (uint32_t)id))
			break;
	if (id > PV_CTL_VIF_DEVID_MAX)
		for (id = 0; id <= PV_CTL_VIF_DEVID_MAX; id++)
			if (!devid_used(&d, (uint32_t)id))
				break;
	free(d.v);
	if (id > PV_CTL_VIF_DEVID_MAX)
		return -ENOSPC;
	*out = (uint32_t)id;
	return 0;
}

/* ---- writing ------------------------------------------------------------------------- */

static int write_dirs(struct pv_platform *p, pv_xs_txn_t t, domid_t fe, domid_t be,
		      const struct pv_ctl_vif *v, uint32_t devid, const char *fe_path,
		      const char *be_path)
{
	char mac[18], handle[16], rate[48];
	int rc;

	pv_ctl_mac_format(v->mac, mac, sizeof(mac));
	snprintf(handle, sizeof(handle), "%u", devid);

	rc = pv_ctl_dev_mkdir(p, t, be_path, be, fe, "frontend", fe_path);
	if (!rc)
		rc = pv_ctl_dev_write_node(p, t, be_path, "online", "1");
	if (!rc)
		rc = pv_ctl_dev_write_node(p, t, be_path, "state", "1");
	if (!rc && v->script[0])
		rc = pv_ctl_dev_write_node(p, t, be_path, "script", v->script);
	if (!rc && v->vifname[0])
		rc = pv_ctl_dev_write_node(p, t, be_path, "vifname", v->vifname);
	if (!rc)
		rc = pv_ctl_dev_write_node(p, t, be_path, "mac", mac);
	if (!rc && v->ip[0])
		rc = pv_ctl_dev_write_node(p, t, be_path, "ip", v->ip);
	if (!rc && v->rate_usecs) {
		/* libxl's "<bytes per interval>,<interval in microseconds>" */
		snprintf(rate, sizeof(rate), "%llu,%u", (unsigned long long)v->rate_bytes,
			 v->rate_usecs);
		rc = pv_ctl_dev_write_node(p, t, be_path, "rate", rate);
	}
	if (!rc && v->bridge[0])
		rc = pv_ctl_dev_write_node(p, t, be_path, "bridge", v->bridge);
	if (!rc)
		rc = pv_ctl_dev_write_node(p, t, be_path, "handle", handle);
	if (!rc)
		rc = pv_ctl_dev_write_node(p, t, be_path, "type", "vif");

	if (!rc)
		rc = pv_ctl_dev_mkdir(p, t, fe_path, fe, be, "backend", be_path);
	if (!rc)
		rc = pv_ctl_dev_write_node(p, t, fe_path, "state", "1");
	if (!rc)
		rc = pv_ctl_dev_write_node(p, t, fe_path, "handle", handle);
	if (!rc)
		rc = pv_ctl_dev_write_node(p, t, fe_path, "mac", mac);
	return rc;
}

struct vif_write {
	domid_t fe, be;
	const struct pv_ctl_vif *v;
	uint32_t id; /* the devid of the last attempt: the one committed */
};

static int write_body(struct pv_platform *p, pv_xs_txn_t t, void *arg)
{
	struct vif_write *w = arg;
	char fe_path[PV_CTL_PATH_MAX], be_path[PV_CTL_PATH_MAX];
	int rc;

	/*
	 * The choice and the in-use check are inside the transaction, so two racing
	 * attaches cannot take one devid: the second conflicts, retries and moves on.
	 */
	if (w->v->devid >= 0) {
		w->id = (uint32_t)w->v->devid;
		rc = 0;
	} else {
		rc = next_devid(p, t, w->fe, &w->id);
	}
	if (rc == 0) {
		pv_ctl_dev_fe_path(fe_path, sizeof(fe_path), "vif", w->fe, w->id);
		pv_ctl_dev_be_path(be_path, sizeof(be_path), "vif", w->be, w->fe, w->id);
		rc = pv_ctl_dev_exists(p, t, fe_path);
		if (rc == 0)
			rc = pv_ctl_dev_exists(p, t, be_path);
		if (rc > 0)
			rc = -EEXIST;
	}
	if (rc == 0)
		rc = write_dirs(p, t, w->fe, w->be, w->v, w->id, fe_path, be_path);
	return rc;
}

int pv_ctl_vif_write(struct pv_platform *p, domid_t fe, domid_t be, const struct pv_ctl_vif *v,
		     uint32_t *devid)
{
	struct vif_write w = { .fe = fe, .be = be, .v = v };
	int rc;

	if (!p || !v || !devid || !v->mac_given || v->devid > PV_CTL_VIF_DEVID_MAX)
		return -EINVAL;
	rc = pv_ctl_dev_txn(p, write_body, &w);
	if (rc == 0)
		*devid = w.id;
	return rc;
}

/* ---- listing ------------------------------------------------------------------------- */

const char *pv_ctl_state_name(long state)
{
	static const char *const names[] = {
		"Unknown", "Initialising", "InitWait", "Initialised", "Connected", "Closing",
		"Closed", "Reconfiguring", "Reconfigured",
	};

	if (state < 0 || state > 8)
		return NULL;
	return names[state];
}

/* Reads dir/name; returns 1 with *v (malloc'd), 0 when absent, -errno. */
static int read_raw(struct pv_platform *p, const char *dir, const char *name, char **v)
{
	char path[PV_CTL_PATH_MAX + 48];
	int rc;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	rc = pv_xs_read(p, 0, path, v, NULL);
	if (rc == -ENOENT || rc == -EACCES)
		return 0;
	return rc < 0 ? rc : 1;
}

/*
 * A number a guest wrote: decimal digits only (no sign, space or newline), at most max.
 * Returns it, PV_CTL_INVALID, or PV_CTL_ABSENT (also for a node this domain may not read).
 */
static long read_num(struct pv_platform *p, const char *dir, const char *name, unsigned long max)
{
	unsigned long n = 0;
	const char *s;
	char *v;
	int digits = 0;

	if (read_raw(p, dir, name, &v) <= 0)
		return PV_CTL_ABSENT;
	for (s = v; *s >= '0' && *s <= '9' && digits < 11; s++, digits++)
		n = n * 10 + (unsigned long)(*s - '0');
	if (!digits || *s || n > max) {
		free(v);
		return PV_CTL_INVALID;
	}
	free(v);
	return (long)n;
}

/* Copies a backend string for display: "" when absent, "?" unless printable and short. */
static void read_str(struct pv_platform *p, const char *dir, const char *name, char *buf,
		     size_t len)
{
	const char *s;
	char *v;

	buf[0] = '\0';
	if (read_raw(p, dir, name, &v) <= 0)
		return;
	for (s = v; *s; s++)
		if (*s < 0x20 || *s >= 0x7f)
			break;
	if (*s || strlen(v) >= len)
		snprintf(buf, len, "?");
	else
		memcpy(buf, v, strlen(v) + 1);
	free(v);
}

static int read_mac(struct pv_platform *p, const char *dir, uint8_t mac[6])
{
	char *v;
	int ok;

	if (read_raw(p, dir, "mac", &v) <= 0)
		return 0;
	ok = pv_ctl_mac_parse(v, mac) == 0;
	free(v);
	return ok;
}

static void init_info(void *e)
{
	struct pv_ctl_vif_info *nv = e;

	nv->backend_id = -1;
	nv->fe_state = nv->be_state = PV_CTL_ABSENT;
	nv->evtch = nv->tx_ref = nv->rx_ref = nv->queues = PV_CTL_ABSENT;
}

struct list_ctx {
	struct pv_platform *p;
	domid_t fe;
};

static int fill_backend(void *arg, void *entry, domid_t be)
{
	const struct list_ctx *c = arg;
	struct pv_ctl_vif_info *e = entry;
	struct pv_platform *p = c->p;

	if (e->backend_id >= 0)
		return 0; /* two backends for one devid: show the first */
	e->backend_id = be;
	pv_ctl_dev_be_path(e->be_path, sizeof(e->be_path), "vif", be, c->fe, e->devid);
	e->be_state = read_num(p, e->be_path, "state", 8);
	e->has_mac = read_mac(p, e->be_path, e->mac);
	read_str(p, e->be_path, "bridge", e->bridge, sizeof(e->bridge));
	read_str(p, e->be_path, "vifname", e->vifname, sizeof(e->vifname));
	read_str(p, e->be_path, "ip", e->ip, sizeof(e->ip));
	read_str(p, e->be_path, "rate", e->rate, sizeof(e->rate));
	read_str(p, e->be_path, "script", e->script, sizeof(e->script));
	return 0;
}

/* The guest's own nodes: parsed, never copied. */
static void fill_frontend(struct pv_platform *p, domid_t fe, struct pv_ctl_vif_info *e)
{
	char dir[PV_CTL_PATH_MAX + 16];
	size_t n;

	pv_ctl_dev_fe_path(dir, sizeof(dir), "vif", fe, e->devid);
	e->fe_state = read_num(p, dir, "state", 8);
	if (!e->has_mac && e->backend_id < 0)
		e->has_mac = read_mac(p, dir, e->mac);
	/* netif.h allows 1..multi-queue-max-queues; anything in 32 bits is shown as given */
	e->queues = read_num(p, dir, "multi-queue-num-queues", UINT32_MAX);
	if (e->queues != PV_CTL_ABSENT) {
		/* with queues, the rings and channels are queue-N's: show queue-0's, as a hint */
		n = strlen(dir);
		snprintf(dir + n, sizeof(dir) - n, "/queue-0");
	}
	e->tx_ref = read_num(p, dir, "tx-ring-ref", UINT32_MAX);
	e->rx_ref = read_num(p, dir, "rx-ring-ref", UINT32_MAX);
	e->evtch = read_num(p, dir, "event-channel", UINT32_MAX);
	if (e->evtch == PV_CTL_ABSENT) /* split channels: the tx one */
		e->evtch = read_num(p, dir, "event-channel-tx", UINT32_MAX);
}

int pv_ctl_vif_list(struct pv_platform *p, domid_t fe, struct pv_ctl_vif_info **out,
		    unsigned int *n)
{
	struct pv_ctl_dev_table tb = { .size = sizeof(struct pv_ctl_vif_info), .init = init_info };
	struct list_ctx c = { p, fe };
	struct pv_ctl_vif_info *v;
	unsigned int i;
	int rc;

	*out = NULL;
	*n = 0;
	/* The guest's own directories are only counted here: fill_frontend reads them all. */
	rc = pv_ctl_dev_scan(p, "vif", fe, &tb, fill_backend, NULL, &c);
	if (rc < 0) {
		free(tb.v);
		return rc;
	}
	v = tb.v;
	for (i = 0; i < tb.n; i++)
		fill_frontend(p, fe, &v[i]);
	pv_ctl_dev_table_sort(&tb);
	*out = tb.v;
	*n = tb.n;
	return 0;
}
