/* SPDX-License-Identifier: MIT */
/*
 * watch.c - watches and WATCH_EVENT delivery.
 *
 * Watches hang off their connection; a change walks every live connection's list.  That
 * is linear in the number of watches, which quotas bound for guests and which stays small
 * in a simulator; Xen's C xenstored does the same walk.
 */
#include <stdlib.h>
#include <string.h>

#include "xsd.h"

int xsd_watch_add(struct xsd_conn *c, const char *path, uint32_t rel, const char *token)
{
	size_t plen = strlen(path), tlen = strlen(token);
	struct xsd_watch *w, **pp;

	for (w = c->watches; w; w = w->next)
		if (!strcmp(w->path, path) && !strcmp(w->token, token))
			return -EEXIST;
	/* Per domain, over all its connections; C xenstored says E2BIG. */
	if (c->domid != 0 && c->x->acc[c->domid].watches >= c->x->lim.max_watches)
		return -E2BIG;
	w = malloc(sizeof(*w) + plen + tlen + 2);
	if (!w)
		return -ENOMEM;
	memcpy(w->path, path, plen + 1);
	w->token = w->path + plen + 1;
	memcpy(w->token, token, tlen + 1);
	w->rel = rel;
	w->next = NULL;
	/* Kept in registration order, so events for one change come out in that order. */
	for (pp = &c->watches; *pp; pp = &(*pp)->next)
		;
	*pp = w;
	c->nwatches++;
	c->x->acc[c->domid].watches++;
	return 0;
}

int xsd_watch_del(struct xsd_conn *c, const char *path, const char *token)
{
	struct xsd_watch **pp, *w;

	for (pp = &c->watches; (w = *pp); pp = &w->next) {
		if (!strcmp(w->path, path) && !strcmp(w->token, token)) {
			*pp = w->next;
			free(w);
			c->nwatches--;
			c->x->acc[c->domid].watches--;
			return 0;
		}
	}
	return -ENOENT;
}

void xsd_watches_free(struct xsd_conn *c)
{
	while (c->watches) {
		struct xsd_watch *w = c->watches;

		c->watches = w->next;
		free(w);
	}
	c->x->acc[c->domid].watches -= (uint16_t)c->nwatches;
	c->nwatches = 0;
}

/* Is path the watched path or below it?  "/" is above every node, never above "@...". */
static bool watched(const char *path, const char *wpath)
{
	size_t n = strlen(wpath);

	if (wpath[0] == '/' && wpath[1] == '\0')
		return path[0] == '/';
	return !strncmp(path, wpath, n) && (path[n] == '\0' || path[n] == '/');
}

static void send_event(struct xsd_conn *c, const struct xsd_watch *w, const char *path)
{
	const char *epath = path;
	struct iovec iov[2];

	/* A watch set with a relative path reports relative paths. */
	if (w->rel && strlen(path) > w->rel)
		epath = path + w->rel;
	iov[0] = (struct iovec){ (void *)epath, strlen(epath) + 1 };
	iov[1] = (struct iovec){ w->token, strlen(w->token) + 1 };
	/* Too long for the wire (a long token on a deep path): the client could not read it. */
	if (iov[0].iov_len + iov[1].iov_len > c->x->lim.max_payload)
		return;
	if (xsd_queue(c, XS_WATCH_EVENT, 0, 0, iov, 2) == 0)
		c->x->st.watch_events++;
}

/*
 * A change at path, whose node has permissions p (NULL: no check).  exact: only watches on
 * path itself (the nodes below a removed one), else also those on its ancestors.  Events
 * go only to connections that may read the node, as in Xen.
 */
void xsd_fire(struct pv_xsd *x, const char *path, const struct xsd_perm *p, uint32_t n,
	      bool exact)
{
	for (struct xsd_conn *c = x->conns; c; c = c->next) {
		if (c->dead || !c->watches)
			continue;
		if (p && !(xsd_perm_for(c->domid, p, n) & XSD_PERM_READ))
			continue;
		for (struct xsd_watch *w = c->watches; w && !c->dead; w = w->next)
			if (exact ? !strcmp(w->path, path) : watched(path, w->path))
				send_event(c, w, path);
	}
}

void xsd_fire_special(struct pv_xsd *x, unsigned int which)
{
	const struct xsd_special *s = &x->special[which];

	xsd_fire(x, s->name, s->perms, s->nperms, false);
}
