/* SPDX-License-Identifier: MIT */
/* Xen's libxenstore, unchanged, against the daemon. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "harness.h"

#define MAX_NODES 40
#define MAX_WATCHES 8
#define MAX_TXNS 4

static struct srv srv;
static struct xs_handle *h0, *hb, *h1, *h2; /* hb: a second dom0 client */

int xsd_libxs_init(void)
{
	struct pv_xsd_limits lim = {
		.max_nodes = MAX_NODES, .max_watches = MAX_WATCHES, .max_transactions = MAX_TXNS,
	};
	int rc = srv_start(&srv, &lim);

	if (rc == 0) {
		h0 = xs_open_dom(&srv, 0);
		hb = xs_open_dom(&srv, 0);
		h1 = xs_open_dom(&srv, 1);
		h2 = xs_open_dom(&srv, 2);
	}
	return rc || !h0 || !hb || !h1 || !h2;
}

static void xsd_libxs_clean_handles(void)
{
	struct xs_handle **h[] = { &h0, &hb, &h1, &h2 };

	for (int i = 0; i < 4; i++) {
		if (*h[i])
			xs_close(*h[i]);
		*h[i] = NULL;
	}
}

int xsd_libxs_clean(void)
{
	xsd_libxs_clean_handles();
	srv_cleanup(&srv);
	return 0;
}

/* Reads path through h and compares, NULL meaning "fails with errno err". */
static void check_read(struct xs_handle *h, xs_transaction_t t, const char *path,
		       const char *want, int err)
{
	unsigned int len = 0;
	char *v;

	errno = 0;
	v = xs_read(h, t, path, &len);
	if (want) {
		CU_ASSERT_PTR_NOT_NULL(v);
		if (v) {
			CU_ASSERT_EQUAL(len, strlen(want));
			CU_ASSERT_STRING_EQUAL(v, want);
		}
	} else {
		CU_ASSERT_PTR_NULL(v);
		CU_ASSERT_EQUAL(errno, err);
	}
	free(v);
}

static bool wr(struct xs_handle *h, xs_transaction_t t, const char *path, const char *v)
{
	return xs_write(h, t, path, v, (unsigned int)strlen(v));
}

/* The names of a directory joined with ',' (or "!errno"). */
static const char *dir(struct xs_handle *h, xs_transaction_t t, const char *path)
{
	static char buf[16384];
	unsigned int n = 0;
	char **d = xs_directory(h, t, path, &n);
	size_t len = 0;

	if (!d) {
		snprintf(buf, sizeof(buf), "!%d", errno);
		return buf;
	}
	buf[0] = '\0';
	for (unsigned int i = 0; i < n; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s", i ? "," : "", d[i]);
	free(d);
	return buf;
}

/* Permissions as xenstore-ls prints them ("n0,r1"), or "!errno". */
static const char *perms(struct xs_handle *h, const char *path)
{
	static char buf[256];
	unsigned int n = 0;
	struct xs_permissions *p = xs_get_permissions(h, XBT_NULL, path, &n);
	size_t len = 0;

	if (!p) {
		snprintf(buf, sizeof(buf), "!%d", errno);
		return buf;
	}
	buf[0] = '\0';
	for (unsigned int i = 0; i < n; i++) {
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%c%u", i ? "," : "",
					"nrwb"[p[i].perms & 3], p[i].id);
	}
	free(p);
	return buf;
}

static bool set_perms(struct xs_handle *h, const char *path, const char *spec)
{
	struct xs_permissions p[8];
	char copy[128], *save = NULL;
	unsigned int n = 0;

	snprintf(copy, sizeof(copy), "%s", spec);
	for (char *tok = strtok_r(copy, ",", &save); tok && n < 8; tok = strtok_r(NULL, ",", &save))
		if (!xs_strings_to_perms(&p[n++], 1, tok))
			return false;
	return xs_set_permissions(h, XBT_NULL, path, p, n);
}

/* The next watch event as "path token", waiting at most ms; "" if none came. */
static const char *event(struct xs_handle *h, int ms)
{
	static char buf[512];
	struct pollfd p = { .fd = xs_fileno(h), .events = POLLIN };
	char **v;

	buf[0] = '\0';
	if (!(v = xs_check_watch(h)) && poll(&p, 1, ms) > 0)
		v = xs_check_watch(h);
	if (v) {
		snprintf(buf, sizeof(buf), "%s %s", v[XS_WATCH_PATH], v[XS_WATCH_TOKEN]);
		free(v);
	}
	return buf;
}

/* A round trip on h: every event queued for h before it has arrived once it returns. */
static void sync_h(struct xs_handle *h)
{
	free(xs_read(h, XBT_NULL, "/", NULL));
}

static void test_basic(void)
{
	CU_ASSERT_TRUE(wr(h0, XBT_NULL, "/b/x", "1"));
	CU_ASSERT_TRUE(xs_write(h0, XBT_NULL, "/b/bin", "a\0b", 3));
	check_read(h0, XBT_NULL, "/b/x", "1", 0);
	{
		unsigned int len;
		char *v = xs_read(h0, XBT_NULL, "/b/bin", &len);

		CU_ASSERT_EQUAL(len, 3);
		CU_ASSERT_TRUE(v && !memcmp(v, "a\0b", 3));
		free(v);
	}
	check_read(h0, XBT_NULL, "/b", "", 0);
	CU_ASSERT_TRUE(xs_mkdir(h0, XBT_NULL, "/b/m/n"));
	CU_ASSERT_TRUE(xs_mkdir(h0, XBT_NULL, "/b/x")); /* exists: value kept */
	check_read(h0, XBT_NULL, "/b/x", "1", 0);
	CU_ASSERT_STRING_EQUAL(dir(h0, XBT_NULL, "/b"), "x,bin,m");
	CU_ASSERT_STRING_EQUAL(dir(h0, XBT_NULL, "/b/m/n"), "");
	CU_ASSERT_TRUE(xs_rm(h0, XBT_NULL, "/b/m"));
	CU_ASSERT_STRING_EQUAL(dir(h0, XBT_NULL, "/b"), "x,bin");
	check_read(h0, XBT_NULL, "/b/m/n", NULL, ENOENT);
	CU_ASSERT_TRUE(xs_rm(h0, XBT_NULL, "/b/m"));
	CU_ASSERT_FALSE(xs_rm(h0, XBT_NULL, "/b/m/n"));
	CU_ASSERT_EQUAL(errno, ENOENT);
	CU_ASSERT_FALSE(xs_rm(h0, XBT_NULL, "/"));
	CU_ASSERT_EQUAL(errno, EINVAL);
	CU_ASSERT_STRING_EQUAL(dir(h0, XBT_NULL, "/nope"), "!2");
	check_read(h0, XBT_NULL, "/bad//path", NULL, EINVAL);
	check_read(h0, XBT_NULL, "/bad path", NULL, EINVAL);
	check_read(h0, XBT_NULL, "/trailing/", NULL, EINVAL);
	/*
	 * The deepest tree a path allows, dom0 included: 2048 bytes (Xen 4.17's path-max),
	 * counted after "/local/domain/<id>/" in a domain's home.  Created, read and removed
	 * (recursively).
	 */
	{
		char deep[2100] = "/deep";
		char home[2200] = "/local/domain/0/deep";
		size_t len = 5;

		while (len + 2 <= 2048) {
			memcpy(deep + len, "/d", 3);
			len += 2;
		}
		CU_ASSERT_TRUE(wr(h0, XBT_NULL, deep, "bottom"));
		check_read(h0, XBT_NULL, deep, "bottom", 0);
		memcpy(deep + len, "/e", 3);
		check_read(h0, XBT_NULL, deep, NULL, EINVAL); /* 2049 bytes */
		CU_ASSERT_TRUE(xs_rm(h0, XBT_NULL, "/deep"));
		/* The same 2049 bytes below dom0's home are 2048 after the prefix... */
		memcpy(home + 16, deep + 1, len + 2);
		CU_ASSERT_TRUE(wr(h0, XBT_NULL, home, "bottom"));
		check_read(h0, XBT_NULL, home, "bottom", 0);
		/* ... one more is too long even for dom0. */
		memcpy(home + 16 + len + 1, "/f", 3);
		check_read(h0, XBT_NULL, home, NULL, EINVAL);
		CU_ASSERT_TRUE(xs_rm(h0, XBT_NULL, "/local/domain/0/deep"));
		check_read(h0, XBT_NULL, "/deep/d", NULL, ENOENT);
	}
	{
		char *p = xs_get_domain_path(h0, 7);

		CU_ASSERT_STRING_EQUAL(p ? p : "", "/local/domain/7");
		free(p);
	}
}

/* A directory longer than one payload: E2BIG, and libxenstore goes DIRECTORY_PART. */
static void test_big_directory(void)
{
	char path[64], want[12000];
	size_t len = 0;

	for (int i = 0; i < 300; i++) {
		snprintf(path, sizeof(path), "/big/child-with-a-long-name-%03d", i);
		CU_ASSERT_TRUE(xs_mkdir(h0, XBT_NULL, path));
		len += (size_t)snprintf(want + len, sizeof(want) - len, "%s%s", i ? "," : "",
					path + 5);
	}
	CU_ASSERT_STRING_EQUAL(dir(h0, XBT_NULL, "/big"), want);
	CU_ASSERT_TRUE(xs_rm(h0, XBT_NULL, "/big"));
}

static void test_permissions(void)
{
	CU_ASSERT_TRUE(wr(h0, XBT_NULL, "/p/a", "dom0's"));
	CU_ASSERT_STRING_EQUAL(perms(h0, "/p/a"), "n0");
	check_read(h1, XBT_NULL, "/p/a", NULL, EACCES);
	CU_ASSERT_FALSE(wr(h1, XBT_NULL, "/p/a", "x"));
	CU_ASSERT_EQUAL(errno, EACCES);
	/* An absent node under an unreadable one is EACCES, not ENOENT: no probing. */
	check_read(h1, XBT_NULL, "/p/none", NULL, EACCES);
	check_read(h1, XBT_NULL, "data/none", NULL, ENOENT);
	CU_ASSERT_STRING_EQUAL(perms(h1, "/p/a"), "!13");

	CU_ASSERT_TRUE(set_perms(h0, "/p/a", "n0,r1"));
	CU_ASSERT_STRING_EQUAL(perms(h0, "/p/a"), "n0,r1");
	check_read(h1, XBT_NULL, "/p/a", "dom0's", 0);
	check_read(h2, XBT_NULL, "/p/a", NULL, EACCES);
	CU_ASSERT_FALSE(wr(h1, XBT_NULL, "/p/a", "x"));
	CU_ASSERT_EQUAL(errno, EACCES);
	CU_ASSERT_FALSE(set_perms(h1, "/p/a", "n0,b1"));
	CU_ASSERT_EQUAL(errno, EACCES);
	/* The owner's entry is the default: "r0" lets every domain read. */
	CU_ASSERT_TRUE(set_perms(h0, "/p/a", "r0,n2"));
	check_read(h1, XBT_NULL, "/p/a", "dom0's", 0);
	check_read(h2, XBT_NULL, "/p/a", NULL, EACCES);

	/* New nodes inherit the parent's permissions; a guest owns what it creates. */
	CU_ASSERT_TRUE(set_perms(h0, "/p", "n0,w1"));
	CU_ASSERT_TRUE(wr(h0, XBT_NULL, "/p/q/r", "1"));
	CU_ASSERT_STRING_EQUAL(perms(h0, "/p/q"), "n0,w1");
	CU_ASSERT_STRING_EQUAL(perms(h0, "/p/q/r"), "n0,w1");
	CU_ASSERT_TRUE(wr(h1, XBT_NULL, "/p/g/h", "guest"));
	CU_ASSERT_STRING_EQUAL(perms(h0, "/p/g"), "n1,w1");
	check_read(h1, XBT_NULL, "/p/g/h", "guest", 0);
	check_read(h2, XBT_NULL, "/p/g/h", NULL, EACCES);

	/* The owner may set permissions, but not give the node away (Xen: EPERM). */
	CU_ASSERT_TRUE(wr(h1, XBT_NULL, "data/mine", "v"));
	CU_ASSERT_STRING_EQUAL(perms(h1, "data/mine"), "n1");
	CU_ASSERT_FALSE(set_perms(h1, "data/mine", "n2"));
	CU_ASSERT_EQUAL(errno, EPERM);
	CU_ASSERT_TRUE(set_perms(h1, "data/mine", "n1,r2"));
	check_read(h2, XBT_NULL, "/local/domain/1/data/mine", "v", 0);
	CU_ASSERT_FALSE(wr(h2, XBT_NULL, "/local/domain/1/data/mine", "x"));
	/* The home itself is dom0's, readable by the domain. */
	CU_ASSERT_STRING_EQUAL(perms(h1, "/local/domain/1"), "n0,r1");
	CU_ASSERT_FALSE(wr(h1, XBT_NULL, "/local/domain/1", "x"));
	CU_ASSERT_FALSE(xs_rm(h1, XBT_NULL, "/local/domain/2/data"));
	CU_ASSERT_EQUAL(errno, EACCES);
	CU_ASSERT_TRUE(xs_rm(h1, XBT_NULL, "/local/domain/1/data/mine"));
	/* Special nodes have permissions too; only dom0 sees them by default. */
	CU_ASSERT_STRING_EQUAL(perms(h0, "@releaseDomain"), "n0");
}

static void test_watches(void)
{
	CU_ASSERT_TRUE(xs_watch(h0, "/wt", "tok"));
	CU_ASSERT_STRING_EQUAL(event(h0, 5000), "/wt tok");
	CU_ASSERT_FALSE(xs_watch(h0, "/wt", "tok"));
	CU_ASSERT_EQUAL(errno, EEXIST);
	CU_ASSERT_TRUE(wr(h0, XBT_NULL, "/wt/a/b", "1"));
	CU_ASSERT_STRING_EQUAL(event(h0, 5000), "/wt/a/b tok");
	CU_ASSERT_TRUE(xs_watch(h0, "/wt/a/b", "deep"));
	CU_ASSERT_STRING_EQUAL(event(h0, 5000), "/wt/a/b deep");
	/* Removal: the removed node for watches above it, each watched node below it. */
	CU_ASSERT_TRUE(xs_rm(h0, XBT_NULL, "/wt/a"));
	CU_ASSERT_STRING_EQUAL(event(h0, 5000), "/wt/a/b deep");
	CU_ASSERT_STRING_EQUAL(event(h0, 5000), "/wt/a tok");
	CU_ASSERT_TRUE(set_perms(h0, "/wt", "n0,r2"));
	CU_ASSERT_STRING_EQUAL(event(h0, 5000), "/wt tok");
	CU_ASSERT_TRUE(xs_unwatch(h0, "/wt", "tok"));
	CU_ASSERT_FALSE(xs_unwatch(h0, "/wt", "tok"));
	CU_ASSERT_EQUAL(errno, ENOENT);
	CU_ASSERT_TRUE(wr(h0, XBT_NULL, "/wt/c", "1"));
	sync_h(h0);
	CU_ASSERT_STRING_EQUAL(event(h0, 0), "");
	CU_ASSERT_TRUE(xs_unwatch(h0, "/wt/a/b", "deep"));

	/* Relative watches report relative paths. */
	CU_ASSERT_TRUE(xs_watch(h1, "data", "rel"));
	CU_ASSERT_STRING_EQUAL(event(h1, 5000), "data rel");
	CU_ASSERT_TRUE(wr(h0, XBT_NULL, "/local/domain/1/data/k", "v"));
	CU_ASSERT_STRING_EQUAL(event(h1, 5000), "data/k rel");
	CU_ASSERT_TRUE(xs_unwatch(h1, "data", "rel"));

	/* Only what the watcher may read. */
	CU_ASSERT_TRUE(xs_watch(h2, "/", "all"));
	CU_ASSERT_STRING_EQUAL(event(h2, 5000), "/ all");
	CU_ASSERT_TRUE(wr(h0, XBT_NULL, "/hidden", "x"));
	CU_ASSERT_TRUE(wr(h0, XBT_NULL, "/wt/c", "2")); /* n0,r2 */
	sync_h(h2);
	CU_ASSERT_STRING_EQUAL(event(h2, 0), "/wt/c all");
	CU_ASSERT_STRING_EQUAL(event(h2, 0), "");
	CU_ASSERT_TRUE(xs_unwatch(h2, "/", "all"));
}

static void test_special_watches(void)
{
	CU_ASSERT_TRUE(xs_watch(h0, "@introduceDomain", "in"));
	CU_ASSERT_STRING_EQUAL(event(h0, 5000), "@introduceDomain in");
	CU_ASSERT_TRUE(xs_watch(h0, "@releaseDomain", "out"));
	CU_ASSERT_STRING_EQUAL(event(h0, 5000), "@releaseDomain out");
	CU_ASSERT_TRUE(xs_watch(h1, "@introduceDomain", "guest"));
	CU_ASSERT_STRING_EQUAL(event(h1, 5000), "@introduceDomain guest");

	CU_ASSERT_FALSE(xs_is_domain_introduced(h0, 7));
	CU_ASSERT_TRUE(xs_is_domain_introduced(h0, 1));
	CU_ASSERT_TRUE(xs_is_domain_introduced(h0, 0));
	CU_ASSERT_TRUE(xs_introduce_domain(h0, 7, 0x1234, 5));
	CU_ASSERT_STRING_EQUAL(event(h0, 5000), "@introduceDomain in");
	CU_ASSERT_TRUE(xs_is_domain_introduced(h0, 7));
	/* Again: no second event, as Xen. */
	CU_ASSERT_TRUE(xs_introduce_domain(h0, 7, 0x1234, 5));
	sync_h(h0);
	CU_ASSERT_STRING_EQUAL(event(h0, 0), "");
	/* A guest may not, and does not see the event without read permission. */
	CU_ASSERT_FALSE(xs_introduce_domain(h1, 8, 1, 1));
	CU_ASSERT_EQUAL(errno, EACCES);
	sync_h(h1);
	CU_ASSERT_STRING_EQUAL(event(h1, 0), "");
	CU_ASSERT_TRUE(set_perms(h0, "@introduceDomain", "n0,r1"));
	CU_ASSERT_TRUE(xs_introduce_domain(h0, 8, 1, 1));
	CU_ASSERT_STRING_EQUAL(event(h0, 5000), "@introduceDomain in");
	CU_ASSERT_STRING_EQUAL(event(h1, 5000), "@introduceDomain guest");

	CU_ASSERT_TRUE(xs_release_domain(h0, 7));
	CU_ASSERT_STRING_EQUAL(event(h0, 5000), "@releaseDomain out");
	CU_ASSERT_FALSE(xs_is_domain_introduced(h0, 7));
	CU_ASSERT_FALSE(xs_release_domain(h0, 7));
	CU_ASSERT_EQUAL(errno, ENOENT);
	CU_ASSERT_FALSE(xs_release_domain(h1, 8));
	CU_ASSERT_EQUAL(errno, EACCES);
	CU_ASSERT_TRUE(xs_release_domain(h0, 8));
	CU_ASSERT_STRING_EQUAL(event(h0, 5000), "@releaseDomain out");
	CU_ASSERT_TRUE(xs_unwatch(h0, "@introduceDomain", "in"));
	CU_ASSERT_TRUE(xs_unwatch(h0, "@releaseDomain", "out"));
	CU_ASSERT_TRUE(xs_unwatch(h1, "@introduceDomain", "guest"));
}

static void test_transactions(void)
{
	xs_transaction_t ta, tb, t;
	int retries = 0;

	CU_ASSERT_TRUE(wr(h0, XBT_NULL, "/tx/n", "0"));
	CU_ASSERT_TRUE(wr(h0, XBT_NULL, "/tx/p", "0"));
	CU_ASSERT_TRUE(wr(h0, XBT_NULL, "/tx/q", "0"));

	/* Two clients race a read-modify-write: exactly one commit gets EAGAIN. */
	ta = xs_transaction_start(h0);
	tb = xs_transaction_start(hb);
	CU_ASSERT_FATAL(ta != XBT_NULL && tb != XBT_NULL);
	check_read(h0, ta, "/tx/n", "0", 0);
	check_read(hb, tb, "/tx/n", "0", 0);
	CU_ASSERT_TRUE(wr(h0, ta, "/tx/n", "a"));
	CU_ASSERT_TRUE(wr(hb, tb, "/tx/n", "b"));
	check_read(h0, XBT_NULL, "/tx/n", "0", 0);
	CU_ASSERT_TRUE(xs_transaction_end(h0, ta, false));
	CU_ASSERT_FALSE(xs_transaction_end(hb, tb, false));
	CU_ASSERT_EQUAL(errno, EAGAIN);
	check_read(h0, XBT_NULL, "/tx/n", "a", 0);
	do {
		tb = xs_transaction_start(hb);
		check_read(hb, tb, "/tx/n", "a", 0);
		CU_ASSERT_TRUE(wr(hb, tb, "/tx/n", "b"));
	} while (!xs_transaction_end(hb, tb, false) && errno == EAGAIN && ++retries < 3);
	CU_ASSERT_EQUAL(retries, 0);
	check_read(h0, XBT_NULL, "/tx/n", "b", 0);

	/* Different nodes do not conflict. */
	ta = xs_transaction_start(h0);
	tb = xs_transaction_start(hb);
	CU_ASSERT_TRUE(wr(h0, ta, "/tx/p", "1"));
	CU_ASSERT_TRUE(wr(hb, tb, "/tx/q", "1"));
	CU_ASSERT_TRUE(xs_transaction_end(hb, tb, false));
	CU_ASSERT_TRUE(xs_transaction_end(h0, ta, false));

	/* A transaction sees its own view; others, and watches, only the commit. */
	CU_ASSERT_TRUE(xs_watch(h2, "/tx", "txw"));
	CU_ASSERT_STRING_EQUAL(event(h2, 5000), "/tx txw");
	CU_ASSERT_TRUE(set_perms(h0, "/tx", "n0,r2"));
	CU_ASSERT_STRING_EQUAL(event(h2, 5000), "/tx txw");
	t = xs_transaction_start(h0);
	CU_ASSERT_TRUE(wr(h0, t, "/tx/new/leaf", "v"));
	CU_ASSERT_TRUE(xs_rm(h0, t, "/tx/p"));
	check_read(h0, t, "/tx/new/leaf", "v", 0);
	check_read(h0, t, "/tx/p", NULL, ENOENT);
	CU_ASSERT_STRING_EQUAL(dir(h0, t, "/tx"), "n,q,new");
	check_read(h2, XBT_NULL, "/tx/new/leaf", NULL, ENOENT);
	check_read(hb, XBT_NULL, "/tx/p", "1", 0);
	CU_ASSERT_STRING_EQUAL(dir(h2, XBT_NULL, "/tx"), "n,p,q");
	sync_h(h2);
	CU_ASSERT_STRING_EQUAL(event(h2, 0), "");
	CU_ASSERT_TRUE(xs_transaction_end(h0, t, false));
	check_read(h2, XBT_NULL, "/tx/new/leaf", "v", 0);
	check_read(h2, XBT_NULL, "/tx/p", NULL, ENOENT);
	CU_ASSERT_STRING_EQUAL(dir(h2, XBT_NULL, "/tx"), "n,q,new");
	/* /tx/p was "n0": dom2 hears of the new node only. */
	CU_ASSERT_STRING_EQUAL(event(h2, 5000), "/tx/new/leaf txw");
	CU_ASSERT_STRING_EQUAL(event(h2, 0), "");

	/* Aborted: nothing happened. */
	t = xs_transaction_start(h0);
	CU_ASSERT_TRUE(wr(h0, t, "/tx/gone", "v"));
	CU_ASSERT_TRUE(xs_transaction_end(h0, t, true));
	check_read(h0, XBT_NULL, "/tx/gone", NULL, ENOENT);
	sync_h(h2);
	CU_ASSERT_STRING_EQUAL(event(h2, 0), "");
	CU_ASSERT_TRUE(xs_unwatch(h2, "/tx", "txw"));

	/* A node created meanwhile conflicts with a transaction that saw it absent. */
	t = xs_transaction_start(h1);
	check_read(h1, t, "data/race", NULL, ENOENT);
	CU_ASSERT_TRUE(wr(h1, t, "data/other", "1"));
	CU_ASSERT_TRUE(wr(h0, XBT_NULL, "/local/domain/1/data/race", "x"));
	CU_ASSERT_FALSE(xs_transaction_end(h1, t, false));
	CU_ASSERT_EQUAL(errno, EAGAIN);
	check_read(h1, XBT_NULL, "data/other", NULL, ENOENT);
	CU_ASSERT_TRUE(xs_rm(h0, XBT_NULL, "/local/domain/1/data/race"));
	/* Permissions hold inside transactions too. */
	t = xs_transaction_start(h1);
	check_read(h1, t, "/tx/n", NULL, EACCES);
	CU_ASSERT_FALSE(wr(h1, t, "/tx/n", "x"));
	CU_ASSERT_EQUAL(errno, EACCES);
	CU_ASSERT_TRUE(xs_transaction_end(h1, t, true));
}

static void test_quotas(void)
{
	xs_transaction_t t[MAX_TXNS + 1];
	char path[64], token[16];
	int created = 0;

	/* Watches: E2BIG, as C xenstored. */
	for (int i = 0; i < MAX_WATCHES; i++) {
		snprintf(token, sizeof(token), "q%d", i);
		CU_ASSERT_TRUE(xs_watch(h1, "data", token));
	}
	CU_ASSERT_FALSE(xs_watch(h1, "data", "one-too-many"));
	CU_ASSERT_EQUAL(errno, E2BIG);
	CU_ASSERT_TRUE(xs_unwatch(h1, "data", "q0"));
	CU_ASSERT_TRUE(xs_watch(h1, "data", "one-too-many"));
	for (int i = 1; i < MAX_WATCHES; i++) {
		snprintf(token, sizeof(token), "q%d", i);
		CU_ASSERT_TRUE(xs_unwatch(h1, "data", token));
	}
	CU_ASSERT_TRUE(xs_unwatch(h1, "data", "one-too-many"));
	/* dom0 has no watch quota. */
	for (int i = 0; i < MAX_WATCHES + 2; i++) {
		snprintf(token, sizeof(token), "z%d", i);
		CU_ASSERT_TRUE(xs_watch(h0, "/zz", token));
	}
	for (int i = 0; i < MAX_WATCHES + 2; i++) {
		snprintf(token, sizeof(token), "z%d", i);
		CU_ASSERT_TRUE(xs_unwatch(h0, "/zz", token));
	}

	/* Transactions: ENOSPC. */
	for (int i = 0; i < MAX_TXNS; i++)
		CU_ASSERT_NOT_EQUAL(t[i] = xs_transaction_start(h1), XBT_NULL);
	CU_ASSERT_EQUAL(t[MAX_TXNS] = xs_transaction_start(h1), XBT_NULL);
	CU_ASSERT_EQUAL(errno, ENOSPC);
	CU_ASSERT_TRUE(xs_transaction_end(h1, t[0], true));
	CU_ASSERT_NOT_EQUAL(t[0] = xs_transaction_start(h1), XBT_NULL);
	for (int i = 0; i < MAX_TXNS; i++)
		CU_ASSERT_TRUE(xs_transaction_end(h1, t[i], true));

	/* Nodes: the domain owns its home's 7 children plus what it created. */
	for (int i = 0; i < 2 * MAX_NODES; i++) {
		snprintf(path, sizeof(path), "data/n%d", i);
		if (!wr(h1, XBT_NULL, path, "x"))
			break;
		created++;
	}
	CU_ASSERT_EQUAL(errno, ENOSPC);
	CU_ASSERT_TRUE(created > 0 && created < MAX_NODES);
	/* ... inside a transaction too, and a parent counts. */
	t[0] = xs_transaction_start(h1);
	CU_ASSERT_TRUE(xs_rm(h1, t[0], "data/n0"));
	CU_ASSERT_FALSE(wr(h1, t[0], "data/deep/er", "x"));
	CU_ASSERT_EQUAL(errno, ENOSPC);
	CU_ASSERT_TRUE(wr(h1, t[0], "data/n0again", "x"));
	CU_ASSERT_TRUE(xs_transaction_end(h1, t[0], false));
	CU_ASSERT_FALSE(wr(h1, XBT_NULL, "data/n0", "x"));
	CU_ASSERT_TRUE(xs_rm(h1, XBT_NULL, "data/n0again"));
	CU_ASSERT_TRUE(wr(h1, XBT_NULL, "data/n0", "x"));
	/* Nodes dom0 creates in the domain's home count for the domain, but dom0 is free. */
	CU_ASSERT_TRUE(wr(h0, XBT_NULL, "/local/domain/1/data/by-dom0", "x"));
	CU_ASSERT_FALSE(wr(h1, XBT_NULL, "data/one-more", "x"));
	for (int i = 0; i < created; i++) {
		snprintf(path, sizeof(path), "data/n%d", i);
		CU_ASSERT_TRUE(xs_rm(h1, XBT_NULL, path));
	}
	CU_ASSERT_TRUE(wr(h1, XBT_NULL, "data/one-more", "x"));

	/* Payload: libxenstore refuses an oversized write itself; the handle stays good. */
	{
		char *big = malloc(5000);

		memset(big, 'v', 5000);
		CU_ASSERT_FALSE(xs_write(h1, XBT_NULL, "data/big", big, 5000));
		CU_ASSERT_EQUAL(errno, E2BIG);
		/* A domU's node is at most 2048 bytes as Xen stores it (node-size): 24 of
		 * header, 8 per permission, the value, the children's names. */
		CU_ASSERT_FALSE(xs_write(h1, XBT_NULL, "data/big", big, 4000));
		CU_ASSERT_EQUAL(errno, ENOSPC);
		CU_ASSERT_FALSE(xs_write(h1, XBT_NULL, "data/big", big, 2048 - 24 - 8));
		CU_ASSERT_EQUAL(errno, ENOSPC);
		CU_ASSERT_TRUE(xs_write(h1, XBT_NULL, "data/big", big, 2048 - 24 - 8 - 1));
		/* dom0 has no node-size quota. */
		CU_ASSERT_TRUE(xs_write(h0, XBT_NULL, "/local/domain/1/data/big", big, 4000));
		CU_ASSERT_TRUE(xs_rm(h0, XBT_NULL, "/local/domain/1/data/big"));
		free(big);
		check_read(h1, XBT_NULL, "data/one-more", "x", 0);
	}
}


/*
 * Xen 4.17's quotas count per domain: a guest opening a second connection gets no more
 * watches or transactions (each of h1 and h1b has half).
 */
static void test_quotas_per_domain(void)
{
	struct xs_handle *h1b = xs_open_dom(&srv, 1);
	xs_transaction_t t[MAX_TXNS + 1];
	char token[16];
	int i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(h1b);
	for (i = 0; i < MAX_WATCHES; i++) {
		snprintf(token, sizeof(token), "pd%d", i);
		CU_ASSERT_TRUE(xs_watch(i % 2 ? h1b : h1, "data", token));
	}
	CU_ASSERT_FALSE(xs_watch(h1b, "data", "over"));
	CU_ASSERT_EQUAL(errno, E2BIG);
	CU_ASSERT_FALSE(xs_watch(h1, "data", "over"));
	CU_ASSERT_EQUAL(errno, E2BIG);
	for (i = 0; i < MAX_TXNS; i++)
		CU_ASSERT_NOT_EQUAL(t[i] = xs_transaction_start(i % 2 ? h1b : h1), XBT_NULL);
	CU_ASSERT_EQUAL(xs_transaction_start(h1b), XBT_NULL);
	CU_ASSERT_EQUAL(errno, ENOSPC);
	/* Closing a connection gives its share back. */
	for (i = 0; i < MAX_TXNS; i += 2)
		CU_ASSERT_TRUE(xs_transaction_end(h1, t[i], true));
	xs_close(h1b);
	CU_ASSERT_NOT_EQUAL(t[0] = xs_transaction_start(h1), XBT_NULL);
	CU_ASSERT_TRUE(xs_transaction_end(h1, t[0], true));
	CU_ASSERT_TRUE(xs_watch(h1, "data", "over"));
	CU_ASSERT_TRUE(xs_unwatch(h1, "data", "over"));
	for (i = 0; i < MAX_WATCHES; i += 2) {
		snprintf(token, sizeof(token), "pd%d", i);
		CU_ASSERT_TRUE(xs_unwatch(h1, "data", token));
	}
}

/*
 * Permission rules of Xen 4.17: at most 5 entries (owner included) for a guest; an owner
 * that is no domain is refused (its accounting fails: ENOMEM); entries naming no domain
 * are ignored, i.e. not kept.
 */
static void test_perm_rules(void)
{
	CU_ASSERT_TRUE(wr(h1, XBT_NULL, "data/pr", "x"));
	CU_ASSERT_TRUE(set_perms(h1, "data/pr", "n1,r0,r2,w0,b2"));
	CU_ASSERT_FALSE(set_perms(h1, "data/pr", "n1,r0,r2,w0,b2,r0"));
	CU_ASSERT_EQUAL(errno, ENOSPC);
	CU_ASSERT_STRING_EQUAL(perms(h0, "/local/domain/1/data/pr"), "n1,r0,r2,w0,b2");
	/* dom0 has no such quota. */
	CU_ASSERT_TRUE(wr(h0, XBT_NULL, "/pr", "x"));
	CU_ASSERT_TRUE(set_perms(h0, "/pr", "n0,r1,r2,w1,b2,r1,r2"));
	/* An owner that is no domain; entries naming none. */
	CU_ASSERT_FALSE(set_perms(h0, "/pr", "n77,r1"));
	CU_ASSERT_EQUAL(errno, ENOMEM);
	CU_ASSERT_TRUE(set_perms(h0, "/pr", "n0,r77,r1,w300"));
	CU_ASSERT_STRING_EQUAL(perms(h0, "/pr"), "n0,r1");
	CU_ASSERT_TRUE(xs_rm(h0, XBT_NULL, "/pr"));
	CU_ASSERT_TRUE(xs_rm(h1, XBT_NULL, "data/pr"));
}

static void test_exit(void)
{
	int status;

	xsd_libxs_clean_handles();
	status = srv_stop(&srv);
	CU_ASSERT_TRUE(WIFEXITED(status));
	CU_ASSERT_EQUAL(WEXITSTATUS(status), 0);
}

CU_TestInfo xsd_libxs_tests[] = {
	{ "read/write/mkdir/rm/directory, bad paths, domain path", test_basic },
	{ "directory beyond one payload (DIRECTORY_PART)", test_big_directory },
	{ "permissions: owner, default, listed, inheritance, EPERM", test_permissions },
	{ "watches: initial, subtree, rm, relative, filtered", test_watches },
	{ "@introduceDomain/@releaseDomain, INTRODUCE/RELEASE", test_special_watches },
	{ "transactions: EAGAIN race and retry, isolation, commit events", test_transactions },
	{ "quotas: watches, transactions, nodes; E2BIG", test_quotas },
	{ "quotas count per domain, over all its connections", test_quotas_per_domain },
	{ "permissions: 5 entries, owner must be a domain, dead entries ignored", test_perm_rules },
	{ "server frees everything and exits 0 (LeakSanitizer)", test_exit },
	CU_TEST_INFO_NULL,
};
