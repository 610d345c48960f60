/* SPDX-License-Identifier: MIT */
/*
 * pv_ctl_vif.c - a vif's toolstack nodes in xenstore.  See pv_ctl_vif.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pv_ctl_vif.h"

#define TXN_RETRIES 100

static int write_node(struct pv_platform *p, pv_xs_txn_t t, const char *dir, const char *name,
		      const char *val)
{
	char path[PV_CTL_PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return pv_xs_write(p, t, path, val, strlen(val));
}

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
		if (pv_ctl_parse_devid_name(names[i], &id) < 0 || id > PV_CTL_VIF_DEVID_MAX)
			continue;
		rc = devids_add(d, id);
		if (is_backend && (long)id > d->max_be)
			d->max_be = id;
	}
	free(names);
	return rc;
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
	char path[PV_CTL_PATH_MAX], **doms = NULL;
	unsigned int nd = 0, i;
	uint64_t id;
	domid_t be;
	int rc;

	/* Every backend domain's directory: backend=N puts a vif of fe under domain N. */
	rc = pv_xs_directory(p, t, "/local/domain", &doms, &nd);
	if (rc < 0 && rc != -ENOENT)
		return rc;
	rc = 0;
	for (i = 0; i < nd && rc == 0; i++) {
		if (pv_ctl_parse_domid_name(doms[i], &be) < 0)
			continue;
		snprintf(path, sizeof(path), "/local/domain/%u/backend/vif/%u", be, fe);
		rc = devids_scan(p, t, path, &d, 1);
	}
	free(doms);
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
	/* libxl's permissions, as for a vbd: the owner's own entry "n", the peer reads. */
	const struct pv_xs_perm be_perms[2] = { { be, PV_XS_PERM_NONE }, { fe, PV_XS_PERM_READ } };
	const struct pv_xs_perm fe_perms[2] = { { fe, PV_XS_PERM_NONE }, { be, PV_XS_PERM_READ } };
	char mac[18], handle[16], num[16], rate[48];
	int rc;

	pv_ctl_mac_format(v->mac, mac, sizeof(mac));
	snprintf(handle, sizeof(handle), "%u", devid);

	rc = pv_xs_mkdir(p, t, be_path);
	if (!rc)
		rc = pv_xs_set_perms(p, t, be_path, be_perms, 2);
	if (!rc)
		rc = write_node(p, t, be_path, "frontend", fe_path);
	snprintf(num, sizeof(num), "%u", fe);
	if (!rc)
		rc = write_node(p, t, be_path, "frontend-id", num);
	if (!rc)
		rc = write_node(p, t, be_path, "online", "1");
	if (!rc)
		rc = write_node(p, t, be_path, "state", "1");
	if (!rc && v->script[0])
		rc = write_node(p, t, be_path, "script", v->script);
	if (!rc && v->vifname[0])
		rc = write_node(p, t, be_path, "vifname", v->vifname);
	if (!rc)
		rc = write_node(p, t, be_path, "mac", mac);
	if (!rc && v->ip[0])
		rc = write_node(p, t, be_path, "ip", v->ip);
	if (!rc && v->rate_usecs) {
		/* libxl's "<bytes per interval>,<interval in microseconds>" */
		snprintf(rate, sizeof(rate), "%llu,%u", (unsigned long long)v->rate_bytes,
			 v->rate_usecs);
		rc = write_node(p, t, be_path, "rate", rate);
	}
	if (!rc && v->bridge[0])
		rc = write_node(p, t, be_path, "bridge", v->bridge);
	if (!rc)
		rc = write_node(p, t, be_path, "handle", handle);
	if (!rc)
		rc = write_node(p, t, be_path, "type", "vif");

	if (!rc)
		rc = pv_xs_mkdir(p, t, fe_path);
	if (!rc)
		rc = pv_xs_set_perms(p, t, fe_path, fe_perms, 2);
	if (!rc)
		rc = write_node(p, t, fe_path, "backend", be_path);
	snprintf(num, sizeof(num), "%u", be);
	if (!rc)
		rc = write_node(p, t, fe_path, "backend-id", num);
	if (!rc)
		rc = write_node(p, t, fe_path, "state", "1");
	if (!rc)
		rc = write_node(p, t, fe_path, "handle", handle);
	if (!rc)
		rc = write_node(p, t, fe_path, "mac", mac);
	return rc;
}

int pv_ctl_vif_write(struct pv_platform *p, domid_t fe, domid_t be, const struct pv_ctl_vif *v,
		     uint32_t *devid)
{
	char fe_path[PV_CTL_PATH_MAX], be_path[PV_CTL_PATH_MAX];
	pv_xs_txn_t t;
	uint32_t id;
	int rc, tries;

	if (!p || !v || !devid || !v->mac_given || v->devid > PV_CTL_VIF_DEVID_MAX)
		return -EINVAL;
	for (tries = 0; tries < TXN_RETRIES; tries++) {
		rc = pv_xs_txn_start(p, &t);
		if (rc < 0)
			return rc;
		/*
		 * The choice and the in-use check are inside the transaction, so two racing
		 * attaches cannot take one devid: the second conflicts, retries and moves on.
		 */
		if (v->devid >= 0) {
			id = (uint32_t)v->devid;
			rc = 0;
		} else {
			rc = next_devid(p, t, fe, &id);
		}
		if (rc == 0) {
			pv_ctl_dev_fe_path(fe_path, sizeof(fe_path), "vif", fe, id);
			pv_ctl_dev_be_path(be_path, sizeof(be_path), "vif", be, fe, id);
			rc = pv_ctl_xs_exists(p, t, fe_path);
			if (rc == 0)
				rc = pv_ctl_xs_exists(p, t, be_path);
			if (rc > 0)
				rc = -EEXIST;
		}
		if (rc == 0)
			rc = write_dirs(p, t, fe, be, v, id, fe_path, be_path);
		if (rc < 0) {
			pv_xs_txn_end(p, t, 1);
			return rc;
		}
		rc = pv_xs_txn_end(p, t, 0);
		if (rc == 0)
			*devid = id;
		if (rc != -EAGAIN)
			return rc;
	}
	return -EAGAIN;
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

static struct pv_ctl_vif_info *find_or_add(struct pv_ctl_vif_info **v, unsigned int *n,
					   unsigned int *cap, uint32_t devid)
{
	struct pv_ctl_vif_info *nv;
	unsigned int i;

	for (i = 0; i < *n; i++)
		if ((*v)[i].devid == devid)
			return &(*v)[i];
	if (*n == *cap) {
		unsigned int ncap = *cap ? *cap * 2 : 8;

		nv = realloc(*v, ncap * sizeof(**v));
		if (!nv)
			return NULL;
		*v = nv;
		*cap = ncap;
	}
	nv = &(*v)[(*n)++];
	memset(nv, 0, sizeof(*nv));
	nv->devid = devid;
	nv->backend_id = -1;
	nv->fe_state = nv->be_state = PV_CTL_ABSENT;
	nv->evtch = nv->tx_ref = nv->rx_ref = nv->queues = PV_CTL_ABSENT;
	return nv;
}

static int cmp_info(const void *a, const void *b)
{
	const struct pv_ctl_vif_info *x = a, *y = b;

	return x->devid < y->devid ? -1 : x->devid > y->devid;
}

static void fill_backend(struct pv_platform *p, struct pv_ctl_vif_info *e)
{
	e->be_state = read_num(p, e->be_path, "state", 8);
	e->has_mac = read_mac(p, e->be_path, e->mac);
	read_str(p, e->be_path, "bridge", e->bridge, sizeof(e->bridge));
	read_str(p, e->be_path, "vifname", e->vifname, sizeof(e->vifname));
	read_str(p, e->be_path, "ip", e->ip, sizeof(e->ip));
	read_str(p, e->be_path, "rate", e->rate, sizeof(e->rate));
	read_str(p, e->be_path, "script", e->script, sizeof(e->script));
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
	struct pv_ctl_vif_info *v = NULL, *e;
	unsigned int cap = 0, cnt = 0, nd = 0, nn, i, j;
	char path[PV_CTL_PATH_MAX], **doms = NULL, **names;
	uint32_t devid;
	domid_t be;
	int rc = 0;

	*out = NULL;
	*n = 0;
	/* Backend directories first: only they are written by trusted domains. */
	rc = pv_xs_directory(p, 0, "/local/domain", &doms, &nd);
	if (rc < 0 && rc != -ENOENT)
		return rc;
	rc = 0;
	for (i = 0; i < nd && rc == 0; i++) {
		if (pv_ctl_parse_domid_name(doms[i], &be) < 0)
			continue;
		snprintf(path, sizeof(path), "/local/domain/%u/backend/vif/%u", be, fe);
		if (pv_xs_directory(p, 0, path, &names, &nn) < 0)
			continue;
		for (j = 0; j < nn; j++) {
			if (pv_ctl_parse_devid_name(names[j], &devid) < 0)
				continue;
			e = find_or_add(&v, &cnt, &cap, devid);
			if (!e) {
				rc = -ENOMEM;
				break;
			}
			if (e->backend_id >= 0)
				continue; /* two backends for one devid: show the first */
			e->backend_id = be;
			pv_ctl_dev_be_path(e->be_path, sizeof(e->be_path), "vif", be, fe, devid);
			fill_backend(p, e);
		}
		free(names);
	}
	free(doms);
	if (rc < 0)
		goto fail;
	/* Frontend directories with no backend (half removed, or the guest's own) too. */
	snprintf(path, sizeof(path), "/local/domain/%u/device/vif", fe);
	if (pv_xs_directory(p, 0, path, &names, &nn) == 0) {
		for (j = 0; j < nn; j++) {
			if (pv_ctl_parse_devid_name(names[j], &devid) < 0)
				continue;
			e = find_or_add(&v, &cnt, &cap, devid);
			if (!e) {
				rc = -ENOMEM;
				break;
			}
		}
		free(names);
		if (rc < 0)
			goto fail;
	}
	for (i = 0; i < cnt; i++)
		fill_frontend(p, fe, &v[i]);
	if (cnt)
		qsort(v, cnt, sizeof(*v), cmp_info);
	*out = v;
	*n = cnt;
	return 0;
fail:
	free(v);
	return rc;
}
