/* SPDX-License-Identifier: MIT */
/*
 * pv_ctl_vbd.c - what is a vbd's own in its toolstack nodes: which nodes block-attach
 * writes, and what block-list reads back.  The record's plumbing (paths, transaction,
 * permissions, removal, the wait) is pv_ctl_dev.c's.  See pv_ctl_vbd.h and
 * docs/protocol.md.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pv_ctl_vbd.h"

/* pv_ctl_dev_table keys a listing's entries on their first member. */
_Static_assert(offsetof(struct pv_ctl_vbd_info, devid) == 0, "devid must come first");

/* The nodes of docs/protocol.md's toolstack tables, in their order there. */
static int write_dirs(struct pv_platform *p, pv_xs_txn_t t, domid_t fe, domid_t be,
		      const struct pv_ctl_disk *d, const char *fe_path, const char *be_path)
{
	const char *devtype = d->cdrom ? "cdrom" : "disk";
	char devid[16];
	int rc;

	snprintf(devid, sizeof(devid), "%u", d->devid);
	rc = pv_ctl_dev_mkdir(p, t, be_path, be, fe, "frontend", fe_path);
	if (!rc)
		rc = pv_ctl_dev_write_node(p, t, be_path, "params", d->target);
	if (!rc)
		rc = pv_ctl_dev_write_node(p, t, be_path, "type", d->backendtype);
	if (!rc)
		rc = pv_ctl_dev_write_node(p, t, be_path, "mode",
						   d->readonly ? "r" : d->shared ? "w!" : "w");
	if (!rc)
		rc = pv_ctl_dev_write_node(p, t, be_path, "device-type", devtype);
	if (!rc)
		rc = pv_ctl_dev_write_node(p, t, be_path, "online", "1");
	if (!rc)
		rc = pv_ctl_dev_write_node(p, t, be_path, "removable", "0");
	if (!rc)
		rc = pv_ctl_dev_write_node(p, t, be_path, "bootable", "1");
	if (!rc)
		rc = pv_ctl_dev_write_node(p, t, be_path, "dev", d->vdev);
	if (!rc)
		rc = pv_ctl_dev_write_node(p, t, be_path, "discard-enable", d->discard ? "1" : "0");
	/* As libxl: written only when given (absent means 0). */
	if (!rc && d->direct_io_safe)
		rc = pv_ctl_dev_write_node(p, t, be_path, "direct-io-safe", "1");
	if (!rc)
		rc = pv_ctl_dev_write_node(p, t, be_path, "state", "1");

	if (!rc)
		rc = pv_ctl_dev_mkdir(p, t, fe_path, fe, be, "backend", be_path);
	if (!rc)
		rc = pv_ctl_dev_write_node(p, t, fe_path, "virtual-device", devid);
	if (!rc)
		rc = pv_ctl_dev_write_node(p, t, fe_path, "device-type", devtype);
	if (!rc)
		rc = pv_ctl_dev_write_node(p, t, fe_path, "state", "1");
	return rc;
}

struct vbd_write {
	domid_t fe, be;
	const struct pv_ctl_disk *d;
	char fe_path[PV_CTL_PATH_MAX], be_path[PV_CTL_PATH_MAX];
};

static int write_body(struct pv_platform *p, pv_xs_txn_t t, void *arg)
{
	const struct vbd_write *w = arg;
	int rc;

	/*
	 * The in-use check is inside the transaction so that two racing attaches of one
	 * vdev cannot both succeed: the second conflicts, retries and then sees the first.
	 */
	rc = pv_ctl_dev_exists(p, t, w->fe_path);
	if (rc == 0)
		rc = pv_ctl_dev_exists(p, t, w->be_path);
	if (rc > 0)
		rc = -EEXIST;
	if (rc == 0)
		rc = write_dirs(p, t, w->fe, w->be, w->d, w->fe_path, w->be_path);
	return rc;
}

int pv_ctl_vbd_write(struct pv_platform *p, domid_t fe, domid_t be, const struct pv_ctl_disk *d)
{
	struct vbd_write w = { .fe = fe, .be = be, .d = d };

	if (!p || !d)
		return -EINVAL;
	pv_ctl_dev_fe_path(w.fe_path, sizeof(w.fe_path), "vbd", fe, d->devid);
	pv_ctl_dev_be_path(w.be_path, sizeof(w.be_path), "vbd", be, fe, d->devid);
	return pv_ctl_dev_txn(p, write_body, &w);
}

/* ---- block-list ------------------------------------------------------------------------ */

static void init_info(void *e)
{
	struct pv_ctl_vbd_info *nv = e;

	nv->backend_id = -1;
	nv->fe_state = nv->be_state = -1;
	nv->direct = -1;
}

static int read_state(struct pv_platform *p, const char *dir)
{
	char buf[16];

	return pv_ctl_dev_read_line(p, dir, "state", buf, sizeof(buf)) > 0 ? atoi(buf) : -1;
}

struct list_ctx {
	struct pv_platform *p;
	domid_t fe;
};

static int fill_backend(void *arg, void *entry, domid_t be)
{
	const struct list_ctx *c = arg;
	struct pv_ctl_vbd_info *e = entry;
	char path[PV_CTL_PATH_MAX + 16], *v;
	int rc;

	if (e->backend_id >= 0)
		return 0; /* two backends for one devid: show the first */
	e->backend_id = be;
	pv_ctl_dev_be_path(e->be_path, sizeof(e->be_path), "vbd", be, c->fe, e->devid);
	e->be_state = read_state(c->p, e->be_path);
	pv_ctl_dev_read_line(c->p, e->be_path, "dev", e->dev, sizeof(e->dev));
	pv_ctl_dev_read_line(c->p, e->be_path, "mode", e->mode, sizeof(e->mode));
	pv_ctl_dev_read_line(c->p, e->be_path, "type", e->type, sizeof(e->type));
	e->direct_io_safe = pv_ctl_dev_read_line(c->p, e->be_path, "direct-io-safe", path,
						 sizeof(path)) > 0 && !strcmp(path, "1");
	snprintf(path, sizeof(path), "%s/params", e->be_path);
	rc = pv_xs_read(c->p, 0, path, &v, NULL);
	if (rc == -ENOENT) {
		v = strdup("");
		rc = v ? 0 : -ENOMEM;
	}
	if (rc < 0)
		return rc;
	e->params = v;
	return 0;
}

static int fill_frontend(void *arg, void *entry)
{
	const struct list_ctx *c = arg;
	struct pv_ctl_vbd_info *e = entry;
	char path[PV_CTL_PATH_MAX];

	pv_ctl_dev_fe_path(path, sizeof(path), "vbd", c->fe, e->devid);
	e->fe_state = read_state(c->p, path);
	if (!e->params) {
		e->params = strdup("");
		if (!e->params)
			return -ENOMEM;
	}
	return 0;
}

int pv_ctl_vbd_list(struct pv_platform *p, domid_t fe, struct pv_ctl_vbd_info **out,
		    unsigned int *n)
{
	struct pv_ctl_dev_table tb = { .size = sizeof(struct pv_ctl_vbd_info), .init = init_info };
	struct list_ctx c = { p, fe };
	int rc;

	*out = NULL;
	*n = 0;
	rc = pv_ctl_dev_scan(p, "vbd", fe, &tb, fill_backend, fill_frontend, &c);
	if (rc < 0) {
		pv_ctl_vbd_list_free(tb.v, tb.n);
		return rc;
	}
	pv_ctl_dev_table_sort(&tb);
	*out = tb.v;
	*n = tb.n;
	return 0;
}

void pv_ctl_vbd_list_free(struct pv_ctl_vbd_info *v, unsigned int n)
{
	unsigned int i;

	for (i = 0; v && i < n; i++)
		free(v[i].params);
	free(v);
}
