/* SPDX-License-Identifier: MIT */
/*
 * pv_ctl_dev.c - a device's toolstack record in xenstore, any kind.  See pv_ctl_dev.h and
 * docs/protocol.md.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pv_ctl_dev.h"

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

int pv_ctl_dev_exists(struct pv_platform *p, pv_xs_txn_t t, const char *path)
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

/* A plain decimal directory entry no larger than max. */
static int parse_name(const char *s, unsigned long max, unsigned long *v)
{
	char *end;

	errno = 0;
	*v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *v > max)
		return -EINVAL;
	return 0;
}

int pv_ctl_dev_parse_domid_name(const char *s, domid_t *out)
{
	unsigned long v;

	if (parse_name(s, 0x7FF0 - 1, &v) < 0)
		return -EINVAL;
	*out = (domid_t)v;
	return 0;
}

int pv_ctl_dev_parse_devid_name(const char *s, uint32_t *out)
{
	unsigned long v;

	if (parse_name(s, UINT32_MAX, &v) < 0)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

int pv_ctl_dev_write_node(struct pv_platform *p, pv_xs_txn_t t, const char *dir,
			  const char *name, const char *val)
{
	char path[PV_CTL_PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return pv_xs_write(p, t, path, val, strlen(val));
}

int pv_ctl_dev_mkdir(struct pv_platform *p, pv_xs_txn_t t, const char *path, domid_t owner,
		     domid_t peer, const char *peer_end, const char *peer_path)
{
	/* libxl's permissions: the owner's own entry is "n" (others: nothing), the peer reads. */
	const struct pv_xs_perm perms[2] = { { owner, PV_XS_PERM_NONE }, { peer, PV_XS_PERM_READ } };
	char node[32], num[16];
	int rc = pv_xs_mkdir(p, t, path);

	if (!rc)
		rc = pv_xs_set_perms(p, t, path, perms, 2);
	/* Children inherit the directory's permissions, as in Xen's xenstored. */
	if (!rc)
		rc = pv_ctl_dev_write_node(p, t, path, peer_end, peer_path);
	snprintf(node, sizeof(node), "%s-id", peer_end);
	snprintf(num, sizeof(num), "%u", peer);
	if (!rc)
		rc = pv_ctl_dev_write_node(p, t, path, node, num);
	return rc;
}

int pv_ctl_dev_txn(struct pv_platform *p, int (*body)(struct pv_platform *p, pv_xs_txn_t t,
						     void *arg), void *arg)
{
	pv_xs_txn_t t;
	int rc, tries;

	for (tries = 0; tries < TXN_RETRIES; tries++) {
		rc = pv_xs_txn_start(p, &t);
		if (rc < 0)
			return rc;
		rc = body(p, t, arg);
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
 * Removes the parent of path (backend/<kind>/<fe>) once its last device is gone, so that a
 * destroyed domain's id leaves nothing behind under the backend domain.
 */
static int rm_parent_if_empty(struct pv_platform *p, pv_xs_txn_t t, const char *path)
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

struct dev_paths {
	char fe_path[PV_CTL_PATH_MAX], be_path[PV_CTL_PATH_MAX];
	int be;
};

static int remove_body(struct pv_platform *p, pv_xs_txn_t t, void *arg)
{
	const struct dev_paths *d = arg;
	int rc;

	rc = pv_xs_rm(p, t, d->fe_path);
	if (rc == -ENOENT)
		rc = 0;
	if (!rc && d->be >= 0) {
		rc = pv_xs_rm(p, t, d->be_path);
		if (rc == -ENOENT)
			rc = 0;
		if (!rc)
			rc = rm_parent_if_empty(p, t, d->be_path);
	}
	return rc;
}

int pv_ctl_dev_remove(struct pv_platform *p, const char *kind, domid_t fe, int be,
		      uint32_t devid)
{
	struct dev_paths d = { .be = be };

	pv_ctl_dev_fe_path(d.fe_path, sizeof(d.fe_path), kind, fe, devid);
	if (be >= 0)
		pv_ctl_dev_be_path(d.be_path, sizeof(d.be_path), kind, (domid_t)be, fe, devid);
	return pv_ctl_dev_txn(p, remove_body, &d);
}

static int close_body(struct pv_platform *p, pv_xs_txn_t t, void *arg)
{
	const struct dev_paths *d = arg;
	int rc;

	/* Writing into a directory that vanished would recreate it half-empty. */
	rc = pv_ctl_dev_exists(p, t, d->be_path);
	if (rc == 0)
		rc = -ENOENT;
	if (rc > 0)
		rc = pv_ctl_dev_write_node(p, t, d->be_path, "online", "0");
	if (!rc)
		rc = pv_ctl_dev_write_node(p, t, d->be_path, "state", "5");
	return rc;
}

int pv_ctl_dev_close(struct pv_platform *p, const char *kind, domid_t fe, domid_t be,
		     uint32_t devid)
{
	struct dev_paths d = { .be = be };

	pv_ctl_dev_be_path(d.be_path, sizeof(d.be_path), kind, be, fe, devid);
	return pv_ctl_dev_txn(p, close_body, &d);
}

int pv_ctl_dev_find(struct pv_platform *p, const char *kind, domid_t fe, uint32_t devid, int *be)
{
	char path[PV_CTL_PATH_MAX];
	char **doms = NULL;
	unsigned int n = 0, i;
	domid_t d;
	int rc, fe_exists;

	pv_ctl_dev_fe_path(path, sizeof(path), kind, fe, devid);
	fe_exists = pv_ctl_dev_exists(p, 0, path);
	if (fe_exists < 0)
		return fe_exists;
	rc = pv_xs_directory(p, 0, "/local/domain", &doms, &n);
	if (rc < 0 && rc != -ENOENT)
		return rc;
	for (i = 0; i < n; i++) {
		if (pv_ctl_dev_parse_domid_name(doms[i], &d) < 0)
			continue;
		pv_ctl_dev_be_path(path, sizeof(path), kind, d, fe, devid);
		rc = pv_ctl_dev_exists(p, 0, path);
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

int pv_ctl_dev_read_line(struct pv_platform *p, const char *dir, const char *name, char *buf,
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

	rc = pv_ctl_dev_read_line(p, be_path, "state", buf, sizeof(buf));
	if (rc < 0)
		return rc;
	if (rc == 0) {
		if (pv_ctl_dev_exists(p, 0, be_path) == 0) {
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

	rc = pv_ctl_dev_read_line(p, be_path, "error", buf, sizeof(buf));
	if (rc > 0 && buf[0]) {
		snprintf(why, whylen, "backend error: %s", buf);
		return -EIO;
	}
	rc = pv_ctl_dev_read_line(p, be_path, "hotplug-status", buf, sizeof(buf));
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

int pv_ctl_dev_wait(struct pv_platform *p, const char *be_path, enum pv_ctl_wait what,
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

/* ---- listing --------------------------------------------------------------------------- */

void *pv_ctl_dev_table_get(struct pv_ctl_dev_table *tb, uint32_t devid)
{
	unsigned char *e;
	unsigned int i;

	for (i = 0; i < tb->n; i++) {
		e = (unsigned char *)tb->v + (size_t)i * tb->size;
		if (*(uint32_t *)e == devid)
			return e;
	}
	if (tb->n == tb->cap) {
		unsigned int ncap = tb->cap ? tb->cap * 2 : 8;
		void *nv = realloc(tb->v, ncap * tb->size);

		if (!nv)
			return NULL;
		tb->v = nv;
		tb->cap = ncap;
	}
	e = (unsigned char *)tb->v + (size_t)tb->n++ * tb->size;
	memset(e, 0, tb->size);
	*(uint32_t *)e = devid;
	if (tb->init)
		tb->init(e);
	return e;
}

static int cmp_devid(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

void pv_ctl_dev_table_sort(struct pv_ctl_dev_table *tb)
{
	if (tb->n)
		qsort(tb->v, tb->n, tb->size, cmp_devid);
}

/* Calls fn(arg, entry) for each devid named under dir; 0 also when dir cannot be read. */
static int scan_dir(struct pv_platform *p, const char *dir, struct pv_ctl_dev_table *tb,
		    int (*fn)(void *arg, void *e, domid_t be), domid_t be, void *arg)
{
	char **names;
	unsigned int nn, j;
	uint32_t devid;
	void *e;
	int rc = 0;

	if (pv_xs_directory(p, 0, dir, &names, &nn) < 0)
		return 0;
	for (j = 0; j < nn; j++) {
		if (pv_ctl_dev_parse_devid_name(names[j], &devid) < 0)
			continue;
		e = pv_ctl_dev_table_get(tb, devid);
		if (!e) {
			rc = -ENOMEM;
			break;
		}
		rc = fn ? fn(arg, e, be) : 0;
		if (rc < 0)
			break;
	}
	free(names);
	return rc;
}

/* on_frontend has no backend domain to take: this adapts it to scan_dir's callback. */
struct fe_call {
	int (*fn)(void *arg, void *e);
	void *arg;
};

static int call_frontend(void *arg, void *e, domid_t be)
{
	const struct fe_call *c = arg;

	(void)be;
	return c->fn ? c->fn(c->arg, e) : 0;
}

int pv_ctl_dev_each_backend(struct pv_platform *p, pv_xs_txn_t t, const char *kind, domid_t fe,
			    int (*fn)(void *arg, domid_t be, const char *dir), void *arg)
{
	char path[PV_CTL_PATH_MAX], **doms = NULL;
	unsigned int nd = 0, i;
	domid_t be;
	int rc;

	rc = pv_xs_directory(p, t, "/local/domain", &doms, &nd);
	if (rc < 0 && rc != -ENOENT)
		return rc;
	rc = 0;
	for (i = 0; i < nd && rc == 0; i++) {
		if (pv_ctl_dev_parse_domid_name(doms[i], &be) < 0)
			continue;
		snprintf(path, sizeof(path), "/local/domain/%u/backend/%s/%u", be, kind, fe);
		rc = fn(arg, be, path);
	}
	free(doms);
	return rc;
}

struct scan_ctx {
	struct pv_platform *p;
	struct pv_ctl_dev_table *tb;
	int (*on_backend)(void *arg, void *e, domid_t be);
	struct fe_call fc;
	void *arg;
};

static int scan_backend(void *arg, domid_t be, const char *dir)
{
	struct scan_ctx *c = arg;

	return scan_dir(c->p, dir, c->tb, c->on_backend, be, c->arg);
}

int pv_ctl_dev_scan(struct pv_platform *p, const char *kind, domid_t fe,
		    struct pv_ctl_dev_table *tb, int (*on_backend)(void *arg, void *e, domid_t be),
		    int (*on_frontend)(void *arg, void *e), void *arg)
{
	struct scan_ctx c = { p, tb, on_backend, { on_frontend, arg }, arg };
	char path[PV_CTL_PATH_MAX];
	int rc;

	rc = pv_ctl_dev_each_backend(p, 0, kind, fe, scan_backend, &c);
	if (rc < 0)
		return rc;
	snprintf(path, sizeof(path), "/local/domain/%u/device/%s", fe, kind);
	return scan_dir(p, path, tb, call_frontend, 0, &c.fc);
}

struct remove_all_ctx {
	struct pv_platform *p;
	const char *kind;
	domid_t fe;
	int removed;
};

static int remove_all_in(void *arg, domid_t be, const char *dir)
{
	struct remove_all_ctx *c = arg;
	char **devs = NULL;
	unsigned int n = 0, i;
	uint32_t devid;
	int rc;

	rc = pv_xs_directory(c->p, 0, dir, &devs, &n);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	for (i = 0; i < n && rc == 0; i++) {
		if (pv_ctl_dev_parse_devid_name(devs[i], &devid) < 0)
			continue;
		rc = pv_ctl_dev_remove(c->p, c->kind, c->fe, be, devid);
		if (rc == 0)
			c->removed++;
	}
	free(devs);
	return rc;
}

int pv_ctl_dev_remove_all(struct pv_platform *p, const char *kind, domid_t fe)
{
	struct remove_all_ctx c = { p, kind, fe, 0 };
	int rc = pv_ctl_dev_each_backend(p, 0, kind, fe, remove_all_in, &c);

	return rc < 0 ? rc : c.removed;
}
