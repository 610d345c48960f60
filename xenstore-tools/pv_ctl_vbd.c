/* SPDX-License-Identifier: MIT */
/*
 * pv_ctl_vbd.c - a vbd's toolstack nodes in xenstore, and pvio-backd's control socket.
 * See pv_ctl_vbd.h and docs/protocol.md.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "pv_backd_ctl.h"
#include "pv_ctl_vbd.h"

/* A transaction that keeps conflicting is someone else's bug; give up rather than spin. */
#define TXN_RETRIES 100

void pv_ctl_dev_fe_path(char *buf, size_t len, const char *kind, domid_t fe, uint32_t devid)
{
	snprintf(buf, len, "/local/domain/%u/device/%s/%u", fe, kind, devid);
}

void pv_ctl_dev_be_path(char *buf, size_t len, const char *kind, domid_t be, domid_t fe,
			uint32_t devid)
{
	snprintf(buf, len, "/local/domain/%u/backend/%s/%u/%u", be, kind, fe, devid);
}

void pv_ctl_vbd_fe_path(char *buf, size_t len, domid_t fe, uint32_t devid)
{
	pv_ctl_dev_fe_path(buf, len, "vbd", fe, devid);
}

void pv_ctl_vbd_be_path(char *buf, size_t len, domid_t be, domid_t fe, uint32_t devid)
{
	pv_ctl_dev_be_path(buf, len, "vbd", be, fe, devid);
}

int pv_ctl_xs_exists(struct pv_platform *p, pv_xs_txn_t t, const char *path)
{
	char *v;
	int rc = pv_xs_read(p, t, path, &v, NULL);

	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	free(v);
	return 1;
}

static int write_node(struct pv_platform *p, pv_xs_txn_t t, const char *dir, const char *name,
		      const char *val)
{
	char path[PV_CTL_PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return pv_xs_write(p, t, path, val, strlen(val));
}

/* The nodes of docs/protocol.md's toolstack tables, in their order there. */
static int write_dirs(struct pv_platform *p, pv_xs_txn_t t, domid_t fe, domid_t be,
		      const struct pv_ctl_disk *d, const char *fe_path, const char *be_path)
{
	/* libxl's permissions: the owner's own entry is "n" (others: nothing), the peer reads. */
	const struct pv_xs_perm be_perms[2] = { { be, PV_XS_PERM_NONE }, { fe, PV_XS_PERM_READ } };
	const struct pv_xs_perm fe_perms[2] = { { fe, PV_XS_PERM_NONE }, { be, PV_XS_PERM_READ } };
	const char *devtype = d->cdrom ? "cdrom" : "disk";
	char num[16], devid[16];
	int rc;

	snprintf(devid, sizeof(devid), "%u", d->devid);
	rc = pv_xs_mkdir(p, t, be_path);
	if (!rc)
		rc = pv_xs_set_perms(p, t, be_path, be_perms, 2);
	/* Children inherit the directory's permissions, as in Xen's xenstored. */
	if (!rc)
		rc = write_node(p, t, be_path, "frontend", fe_path);
	snprintf(num, sizeof(num), "%u", fe);
	if (!rc)
		rc = write_node(p, t, be_path, "frontend-id", num);
	if (!rc)
		rc = write_node(p, t, be_path, "params", d->target);
	if (!rc)
		rc = write_node(p, t, be_path, "type", d->backendtype);
	if (!rc)
		rc = write_node(p, t, be_path, "mode", d->readonly ? "r" : "w");
	if (!rc)
		rc = write_node(p, t, be_path, "device-type", devtype);
	if (!rc)
		rc = write_node(p, t, be_path, "online", "1");
	if (!rc)
		rc = write_node(p, t, be_path, "removable", "0");
	if (!rc)
		rc = write_node(p, t, be_path, "bootable", "1");
	if (!rc)
		rc = write_node(p, t, be_path, "dev", d->vdev);
	if (!rc)
		rc = write_node(p, t, be_path, "discard-enable", d->discard ? "1" : "0");
	if (!rc)
		rc = write_node(p, t, be_path, "state", "1");

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
		rc = write_node(p, t, fe_path, "virtual-device", devid);
	if (!rc)
		rc = write_node(p, t, fe_path, "device-type", devtype);
	if (!rc)
		rc = write_node(p, t, fe_path, "state", "1");
	return rc;
}

int pv_ctl_vbd_write(struct pv_platform *p, domid_t fe, domid_t be, const struct pv_ctl_disk *d)
{
	char fe_path[PV_CTL_PATH_MAX], be_path[PV_CTL_PATH_MAX];
	pv_xs_txn_t t;
	int rc, tries;

	if (!p || !d)
		return -EINVAL;
	pv_ctl_vbd_fe_path(fe_path, sizeof(fe_path), fe, d->devid);
	pv_ctl_vbd_be_path(be_path, sizeof(be_path), be, fe, d->devid);
	for (tries = 0; tries < TXN_RETRIES; tries++) {
		rc = pv_xs_txn_start(p, &t);
		if (rc < 0)
			return rc;
		/*
		 * The in-use check is inside the transaction so that two racing attaches of one
		 * vdev cannot both succeed: the second conflicts, retries and then sees the first.
		 */
		rc = pv_ctl_xs_exists(p, t, fe_path);
		if (rc == 0)
			rc = pv_ctl_xs_exists(p, t, be_path);
		if (rc > 0)
			rc = -EEXIST;
		if (rc == 0)
			rc = write_dirs(p, t, fe, be, d, fe_path, be_path);
		if (rc < 0) {
			pv_xs_txn_end(p, t, 1);
			return rc;
		}
		rc = pv_xs_txn_end(p, t, 0);
		if (rc != -EAGAIN)
			return rc;
	}
	return -EAGAIN;
}

/*
 * Removes the parent of path (backend/vbd/<fe>) once its last device is gone, so that a
 * destroyed domain's id leaves nothing behind under the backend domain.
 */
int pv_ctl_xs_rm_if_empty(struct pv_platform *p, pv_xs_txn_t t, const char *path)
{
	char parent[PV_CTL_PATH_MAX], **names;
	unsigned int n;
	char *slash;
	int rc;

	snprintf(parent, sizeof(parent), "%s", path);
	slash = strrchr(parent, '/');
	if (!slash)
		return 0;
	*slash = '\0';
	rc = pv_xs_directory(p, t, parent, &names, &n);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	free(names);
	if (n)
		return 0;
	rc = pv_xs_rm(p, t, parent);
	return rc == -ENOENT ? 0 : rc;
}

int pv_ctl_vbd_remove(struct pv_platform *p, domid_t fe, int be, uint32_t devid)
{
	return pv_ctl_dev_remove(p, "vbd", fe, be, devid);
}

int pv_ctl_dev_remove(struct pv_platform *p, const char *kind, domid_t fe, int be,
		      uint32_t devid)
{
	char fe_path[PV_CTL_PATH_MAX], be_path[PV_CTL_PATH_MAX];
	pv_xs_txn_t t;
	int rc, tries;

	pv_ctl_dev_fe_path(fe_path, sizeof(fe_path), kind, fe, devid);
	if (be >= 0)
		pv_ctl_dev_be_path(be_path, sizeof(be_path), kind, (domid_t)be, fe, devid);
	for (tries = 0; tries < TXN_RETRIES; tries++) {
		rc = pv_xs_txn_start(p, &t);
		if (rc < 0)
			return rc;
		rc = pv_xs_rm(p, t, fe_path);
		if (rc == -ENOENT)
			rc = 0;
		if (!rc && be >= 0) {
			rc = pv_xs_rm(p, t, be_path);
			if (rc == -ENOENT)
				rc = 0;
			if (!rc)
				rc = pv_ctl_xs_rm_if_empty(p, t, be_path);
		}
		if (rc < 0) {
			pv_xs_txn_end(p, t, 1);
			return rc;
		}
		rc = pv_xs_txn_end(p, t, 0);
		if (rc != -EAGAIN)
			return rc;
	}
	return -EAGAIN;
}

int pv_ctl_vbd_close(struct pv_platform *p, domid_t fe, domid_t be, uint32_t devid)
{
	return pv_ctl_dev_close(p, "vbd", fe, be, devid);
}

int pv_ctl_dev_close(struct pv_platform *p, const char *kind, domid_t fe, domid_t be,
		     uint32_t devid)
{
	char be_path[PV_CTL_PATH_MAX];
	pv_xs_txn_t t;
	int rc, tries;

	pv_ctl_dev_be_path(be_path, sizeof(be_path), kind, be, fe, devid);
	for (tries = 0; tries < TXN_RETRIES; tries++) {
		rc = pv_xs_txn_start(p, &t);
		if (rc < 0)
			return rc;
		/* Writing into a directory that vanished would recreate it half-empty. */
		rc = pv_ctl_xs_exists(p, t, be_path);
		if (rc == 0)
			rc = -ENOENT;
		if (rc > 0)
			rc = write_node(p, t, be_path, "online", "0");
		if (!rc)
			rc = write_node(p, t, be_path, "state", "5");
		if (rc < 0) {
			pv_xs_txn_end(p, t, 1);
			return rc;
		}
		rc = pv_xs_txn_end(p, t, 0);
		if (rc != -EAGAIN)
			return rc;
	}
	return -EAGAIN;
}

int pv_ctl_parse_domid_name(const char *s, domid_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v >= 0x7FF0)
		return -EINVAL;
	*out = (domid_t)v;
	return 0;
}

int pv_ctl_vbd_find(struct pv_platform *p, domid_t fe, uint32_t devid, int *be)
{
	return pv_ctl_dev_find(p, "vbd", fe, devid, be);
}

int pv_ctl_dev_find(struct pv_platform *p, const char *kind, domid_t fe, uint32_t devid, int *be)
{
	char path[PV_CTL_PATH_MAX];
	char **doms = NULL;
	unsigned int n = 0, i;
	domid_t d;
	int rc, fe_exists;

	pv_ctl_dev_fe_path(path, sizeof(path), kind, fe, devid);
	fe_exists = pv_ctl_xs_exists(p, 0, path);
	if (fe_exists < 0)
		return fe_exists;
	rc = pv_xs_directory(p, 0, "/local/domain", &doms, &n);
	if (rc < 0 && rc != -ENOENT)
		return rc;
	for (i = 0; i < n; i++) {
		if (pv_ctl_parse_domid_name(doms[i], &d) < 0)
			continue;
		pv_ctl_dev_be_path(path, sizeof(path), kind, d, fe, devid);
		rc = pv_ctl_xs_exists(p, 0, path);
		if (rc > 0) {
			*be = d;
			free(doms);
			return 0;
		}
	}
	free(doms);
	if (!fe_exists)
		return -ENOENT;
	*be = -1;
	return 0;
}

/* ---- waiting for the backend ----------------------------------------------------------- */

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads dir/name into buf ("" when absent); returns 1 if present, 0 if not, -errno. */
static int read_small(struct pv_platform *p, const char *dir, const char *name, char *buf,
		      size_t len)
{
	char path[PV_CTL_PATH_MAX + 32], *v;
	size_t n;
	int rc;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	rc = pv_xs_read(p, 0, path, &v, &n);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	snprintf(buf, len, "%s", v);
	free(v);
	/* One line for the administrator, whatever the backend wrote. */
	buf[strcspn(buf, "\r\n")] = '\0';
	return 1;
}

/* 1: done, 0: not yet, -EIO: failed (why set), other -errno. */
static int check_backend(struct pv_platform *p, const char *be_path, enum pv_ctl_wait what,
			 int *state, char *why, size_t whylen)
{
	char buf[256];
	int rc;

	rc = read_small(p, be_path, "state", buf, sizeof(buf));
	if (rc < 0)
		return rc;
	if (rc == 0) {
		if (pv_ctl_xs_exists(p, 0, be_path) == 0) {
			if (what == PV_CTL_WAIT_CLOSED)
				return 1;
			snprintf(why, whylen, "the backend directory %s was removed", be_path);
			return -EIO;
		}
		*state = -1;
	} else {
		*state = atoi(buf);
	}
	if (what == PV_CTL_WAIT_CLOSED)
		return *state == 6;

	rc = read_small(p, be_path, "error", buf, sizeof(buf));
	if (rc > 0 && buf[0]) {
		snprintf(why, whylen, "backend error: %s", buf);
		return -EIO;
	}
	rc = read_small(p, be_path, "hotplug-status", buf, sizeof(buf));
	if (rc > 0 && !strcmp(buf, "connected"))
		return 1;
	if (rc > 0 && !strcmp(buf, "error")) {
		snprintf(why, whylen, "backend hotplug-status is error");
		return -EIO;
	}
	if (*state == 2 || *state == 4)
		return 1;
	if (*state == 5 || *state == 6) {
		snprintf(why, whylen, "backend went to %s (%d)", *state == 5 ? "Closing" : "Closed",
			 *state);
		return -EIO;
	}
	return 0;
}

int pv_ctl_vbd_wait(struct pv_platform *p, const char *be_path, enum pv_ctl_wait what,
		    int timeout_ms, char *why, size_t whylen)
{
	static const char token[] = "pvio-ctl-wait";
	long long deadline = now_ms() + timeout_ms;
	struct pollfd pfd;
	char *wpath, *wtok;
	int rc, fd, state = -1;

	if (why && whylen)
		why[0] = '\0';
	rc = pv_xs_watch(p, be_path, token);
	if (rc < 0)
		return rc;
	fd = pv_xs_watch_fd(p);
	if (fd < 0) {
		pv_xs_unwatch(p, be_path, token);
		return fd;
	}
	for (;;) {
		/* Check first: the watch is set, so no change after this read can be missed. */
		rc = check_backend(p, be_path, what, &state, why, whylen);
		if (rc != 0)
			break;
		long long left = deadline - now_ms();

		if (left <= 0) {
			if (state >= 0)
				snprintf(why, whylen, "backend state is still %d", state);
			else
				snprintf(why, whylen, "backend wrote no state");
			rc = -ETIMEDOUT;
			break;
		}
		pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
		rc = poll(&pfd, 1, left > 1000 ? 1000 : (int)left);
		if (rc < 0 && errno != EINTR) {
			rc = -errno;
			break;
		}
		while (pv_xs_watch_next(p, &wpath, &wtok) == 0) {
			free(wpath);
			free(wtok);
		}
	}
	pv_xs_unwatch(p, be_path, token);
	return rc > 0 ? 0 : rc;
}

/* ---- block-list ------------------------------------------------------------------------ */

int pv_ctl_parse_devid_name(const char *s, uint32_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > UINT32_MAX)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

static struct pv_ctl_vbd_info *find_or_add(struct pv_ctl_vbd_info **v, unsigned int *n,
					   unsigned int *cap, uint32_t devid)
{
	struct pv_ctl_vbd_info *nv;
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
	nv->fe_state = nv->be_state = -1;
	return nv;
}

static int cmp_devid(const void *a, const void *b)
{
	const struct pv_ctl_vbd_info *x = a, *y = b;

	return x->devid < y->devid ? -1 : x->devid > y->devid;
}

static int read_state(struct pv_platform *p, const char *dir)
{
	char buf[16];

	return read_small(p, dir, "state", buf, sizeof(buf)) > 0 ? atoi(buf) : -1;
}

static int fill_backend(struct pv_platform *p, struct pv_ctl_vbd_info *e)
{
	char path[PV_CTL_PATH_MAX + 16], *v;
	int rc;

	e->be_state = read_state(p, e->be_path);
	read_small(p, e->be_path, "dev", e->dev, sizeof(e->dev));
	read_small(p, e->be_path, "mode", e->mode, sizeof(e->mode));
	read_small(p, e->be_path, "type", e->type, sizeof(e->type));
	snprintf(path, sizeof(path), "%s/params", e->be_path);
	rc = pv_xs_read(p, 0, path, &v, NULL);
	if (rc == -ENOENT) {
		v = strdup("");
		rc = v ? 0 : -ENOMEM;
	}
	if (rc < 0)
		return rc;
	e->params = v;
	return 0;
}

int pv_ctl_vbd_list(struct pv_platform *p, domid_t fe, struct pv_ctl_vbd_info **out,
		    unsigned int *n)
{
	struct pv_ctl_vbd_info *v = NULL, *e;
	unsigned int cap = 0, cnt = 0, nd = 0, nn, i, j;
	char path[PV_CTL_PATH_MAX], **doms = NULL, **names;
	domid_t be;
	uint32_t devid;
	int rc;

	*out = NULL;
	*n = 0;
	/* Backend directories first: only they are written by trusted domains. */
	rc = pv_xs_directory(p, 0, "/local/domain", &doms, &nd);
	if (rc < 0 && rc != -ENOENT)
		return rc;
	for (i = 0; i < nd; i++) {
		if (pv_ctl_parse_domid_name(doms[i], &be) < 0)
			continue;
		snprintf(path, sizeof(path), "/local/domain/%u/backend/vbd/%u", be, fe);
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
			pv_ctl_vbd_be_path(e->be_path, sizeof(e->be_path), be, fe, devid);
			rc = fill_backend(p, e);
			if (rc < 0)
				break;
		}
		free(names);
		if (rc < 0)
			goto fail;
	}
	/* Frontend directories with no backend (a half-removed device) are shown too. */
	snprintf(path, sizeof(path), "/local/domain/%u/device/vbd", fe);
	if (pv_xs_directory(p, 0, path, &names, &nn) == 0) {
		for (j = 0; j < nn; j++) {
			if (pv_ctl_parse_devid_name(names[j], &devid) < 0)
				continue;
			e = find_or_add(&v, &cnt, &cap, devid);
			if (!e) {
				rc = -ENOMEM;
				break;
			}
			pv_ctl_vbd_fe_path(path, sizeof(path), fe, devid);
			e->fe_state = read_state(p, path);
			if (!e->params) {
				e->params = strdup("");
				if (!e->params) {
					rc = -ENOMEM;
					break;
				}
			}
		}
		free(names);
		if (rc < 0)
			goto fail;
	}
	free(doms);
	if (cnt)
		qsort(v, cnt, sizeof(*v), cmp_devid);
	*out = v;
	*n = cnt;
	return 0;
fail:
	free(doms);
	pv_ctl_vbd_list_free(v, cnt);
	return rc;
}

void pv_ctl_vbd_list_free(struct pv_ctl_vbd_info *v, unsigned int n)
{
	unsigned int i;

	for (i = 0; v && i < n; i++)
		free(v[i].params);
	free(v);
}

/* ---- pvio-backd's control socket --------------------------------------------------------- */

int pv_ctl_backd_socket(const char *spec, char *buf, size_t len)
{
	const char *rundir, *colon;
	size_t n;

	if (!spec)
		spec = getenv("PVIO_PLATFORM");
	if (!spec || !strcmp(spec, "xen")) {
		n = (size_t)snprintf(buf, len, "%s", PV_BACKD_CTL_XEN_PATH);
		return n < len ? 0 : -ENAMETOOLONG;
	}
	if (strncmp(spec, "sim:", 4))
		return -EINVAL;
	/* sim:<rundir>:<domid>; the rundir may itself contain colons, the domid not. */
	rundir = spec + 4;
	colon = strrchr(rundir, ':');
	if (!colon || colon == rundir)
		return -EINVAL;
	n = (size_t)snprintf(buf, len, "%.*s/%s", (int)(colon - rundir), rundir,
			     PV_BACKD_CTL_SIM_NAME);
	return n < len ? 0 : -ENAMETOOLONG;
}

int pv_ctl_backd_query(const char *sock_path, const char *request, int timeout_ms, char **reply)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	long long deadline = now_ms() + timeout_ms;
	size_t used = 0, cap = 256, reqlen = strlen(request), off = 0;
	struct pollfd pfd;
	char *buf, *nl;
	ssize_t r;
	int fd, rc;

	*reply = NULL;
	if (strlen(sock_path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, sock_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	while (off < reqlen) {
		r = send(fd, request + off, reqlen - off, MSG_NOSIGNAL);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			close(fd);
			return rc;
		}
		off += (size_t)r;
	}
	buf = malloc(cap);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		long long left = deadline - now_ms();

		if (left <= 0) {
			rc = -ETIMEDOUT;
			goto out;
		}
		pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
		rc = poll(&pfd, 1, (int)left);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0) {
			rc = -errno;
			goto out;
		}
		if (rc == 0)
			continue;
		if (used + 1 == cap) {
			/* The daemon's "list" can be long, but not unbounded. */
			char *nb = cap >= (1u << 24) ? NULL : realloc(buf, cap * 2);

			if (!nb) {
				rc = -E2BIG;
				goto out;
			}
			buf = nb;
			cap *= 2;
		}
		r = recv(fd, buf + used, cap - used - 1, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			goto out;
		}
		used += (size_t)r;
		buf[used] = '\0';
		nl = memchr(buf, '\n', used);
		if (nl || r == 0) {
			if (nl)
				*nl = '\0';
			if (!nl && used == 0) {
				rc = -ECONNRESET; /* closed without an answer */
				goto out;
			}
			*reply = buf;
			close(fd);
			return 0;
		}
	}
out:
	free(buf);
	close(fd);
	return rc;
}

void pv_ctl_json_puts(FILE *f, const char *s)
{
	unsigned char c;

	fputc('"', f);
	for (; (c = (unsigned char)*s); s++) {
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}
