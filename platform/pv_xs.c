/* SPDX-License-Identifier: MIT */
/*
 * pv_xs.c - the xenstore half of pv_platform.h, common to every platform: both speak to
 * a xenstored through the real libxenstore, whose handle the platform's open() leaves in
 * p->xs.  libxenstore reports failure as false or NULL with errno set; this file turns
 * that into -errno.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenstore.h>

#include "pv_platform_impl.h"
#include "pv_platform_priv.h"

struct xs_handle *pv_platform_xs_open(const char *path)
{
	static const char var[] = "XENSTORED_PATH";
	struct xs_handle *h;
	char *saved = NULL;
	const char *old;
	int err;

	if (!path)
		return xs_open(0);
	/* setenv() may free the old string, so keep a copy to put back. */
	old = getenv(var);
	if (old && !(saved = strdup(old)))
		return NULL;
	if (setenv(var, path, 1) < 0) {
		err = errno;
		free(saved);
		errno = err;
		return NULL;
	}
	h = xs_open(XS_OPEN_SOCKETONLY);
	err = errno;
	if (saved)
		setenv(var, saved, 1);
	else
		unsetenv(var);
	free(saved);
	errno = err;
	return h;
}

static inline int bad(const struct pv_platform *p, const void *arg)
{
	return !p || !p->xs || !arg;
}

int pv_xs_read(struct pv_platform *p, pv_xs_txn_t t, const char *path, char **val, size_t *len)
{
	unsigned int n;
	char *v;

	if (bad(p, path) || !val)
		return -EINVAL;
	*val = NULL;
	v = xs_read(p->xs, t, path, &n);
	if (!v)
		return pv_neg_errno();
	*val = v;
	if (len)
		*len = n;
	return 0;
}

int pv_xs_write(struct pv_platform *p, pv_xs_txn_t t, const char *path, const void *val,
		size_t len)
{
	if (bad(p, path) || (!val && len))
		return -EINVAL;
	if (len > UINT_MAX)
		return -E2BIG;
	if (!xs_write(p->xs, t, path, len ? val : "", (unsigned int)len))
		return pv_neg_errno();
	return 0;
}

int pv_xs_mkdir(struct pv_platform *p, pv_xs_txn_t t, const char *path)
{
	if (bad(p, path))
		return -EINVAL;
	return xs_mkdir(p->xs, t, path) ? 0 : pv_neg_errno();
}

int pv_xs_rm(struct pv_platform *p, pv_xs_txn_t t, const char *path)
{
	if (bad(p, path))
		return -EINVAL;
	return xs_rm(p->xs, t, path) ? 0 : pv_neg_errno();
}

/*
 * libxenstore already returns the pointer array and the strings in one allocation
 * ("call free() on it after use"), which is the layout pv_platform.h promises.
 */
int pv_xs_directory(struct pv_platform *p, pv_xs_txn_t t, const char *path, char ***names,
		    unsigned int *n)
{
	unsigned int num = 0;
	char **v;

	if (bad(p, path) || !names || !n)
		return -EINVAL;
	*names = NULL;
	*n = 0;
	v = xs_directory(p->xs, t, path, &num);
	if (!v)
		return pv_neg_errno();
	*names = v;
	*n = num;
	return 0;
}

int pv_xs_set_perms(struct pv_platform *p, pv_xs_txn_t t, const char *path,
		    const struct pv_xs_perm *perms, unsigned int n)
{
	struct xs_permissions *xp;
	unsigned int i;
	int rc = 0;

	if (bad(p, path) || !perms || !n)
		return -EINVAL;
	/* Each entry takes at least 3 bytes on the wire ("r0\0"): refuse before allocating. */
	if (n > XENSTORE_PAYLOAD_MAX / 3)
		return -E2BIG;
	xp = calloc(n, sizeof(*xp));
	if (!xp)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		xp[i].id = perms[i].domid;
		switch (perms[i].perm) {
		case PV_XS_PERM_NONE:
			xp[i].perms = XS_PERM_NONE;
			break;
		case PV_XS_PERM_READ:
			xp[i].perms = XS_PERM_READ;
			break;
		case PV_XS_PERM_WRITE:
			xp[i].perms = XS_PERM_WRITE;
			break;
		case PV_XS_PERM_BOTH:
			xp[i].perms = XS_PERM_READ | XS_PERM_WRITE;
			break;
		default:
			rc = -EINVAL;
			goto out;
		}
	}
	if (!xs_set_permissions(p->xs, t, path, xp, n))
		rc = pv_neg_errno();
out:
	free(xp);
	return rc;
}

int pv_xs_txn_start(struct pv_platform *p, pv_xs_txn_t *t)
{
	xs_transaction_t x;

	if (bad(p, t))
		return -EINVAL;
	x = xs_transaction_start(p->xs);
	if (x == XBT_NULL)
		return pv_neg_errno();
	*t = x;
	return 0;
}

int pv_xs_txn_end(struct pv_platform *p, pv_xs_txn_t t, int abort)
{
	if (!p || !p->xs || t == XBT_NULL)
		return -EINVAL;
	return xs_transaction_end(p->xs, t, abort != 0) ? 0 : pv_neg_errno();
}

int pv_xs_watch(struct pv_platform *p, const char *path, const char *token)
{
	if (bad(p, path) || !token)
		return -EINVAL;
	return xs_watch(p->xs, path, token) ? 0 : pv_neg_errno();
}

int pv_xs_unwatch(struct pv_platform *p, const char *path, const char *token)
{
	if (bad(p, path) || !token)
		return -EINVAL;
	return xs_unwatch(p->xs, path, token) ? 0 : pv_neg_errno();
}

int pv_xs_watch_fd(struct pv_platform *p)
{
	int fd;

	if (!p || !p->xs)
		return -EINVAL;
	fd = xs_fileno(p->xs);
	return fd < 0 ? pv_neg_errno() : fd;
}

int pv_xs_watch_next(struct pv_platform *p, char **path, char **token)
{
	char **ev;
	char *pa, *to;

	if (bad(p, path) || !token)
		return -EINVAL;
	*path = *token = NULL;
	ev = xs_check_watch(p->xs);
	if (!ev)
		return pv_neg_errno(); /* -EAGAIN: nothing queued */
	pa = strdup(ev[XS_WATCH_PATH]);
	to = strdup(ev[XS_WATCH_TOKEN]);
	free(ev);
	if (!pa || !to) {
		free(pa);
		free(to);
		return -ENOMEM;
	}
	*path = pa;
	*token = to;
	return 0;
}
