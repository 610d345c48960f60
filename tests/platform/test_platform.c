/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of platform/pv_platform.c and pv_xs.c: spec parsing, the xen platform's
 * failure on a machine without Xen, the dispatchers (through a fake operations table),
 * the xenstore number parser and the XENSTORED_PATH juggling of pv_platform_xs_open().
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pv_test.h"
#include "pv_platform_impl.h"
#include "pv_platform_priv.h"

/* ---- helpers ----------------------------------------------------------------------- */

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static int has_xen(void)
{
	struct stat st;

	return stat("/dev/xen/evtchn", &st) == 0;
}

/* A one-line, non-empty reason an administrator can read. */
static void assert_errmsg(const char *msg)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(msg);
	CU_ASSERT(strlen(msg) > 10);
	CU_ASSERT_PTR_NULL(strchr(msg, '\n'));
}

/* ---- spec parsing ------------------------------------------------------------------- */

static void test_bad_specs(void)
{
	static const char *const bad[] = {
		"", "bogus", "XEN", "xen:", "xen:foo", " xen", "xen ", "simulator",
		"sim", "sim:", "sim:/tmp", "sim:/tmp:", "sim::1", "sim:/tmp:abc",
		"sim:/tmp:-1", "sim:/tmp:+1", "sim:/tmp: 1", "sim:/tmp:1x", "sim:/tmp:0x10",
		"sim:/tmp:32752", "sim:/tmp:65535", "sim:/tmp:99999999999999999999999",
	};
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct pv_platform *p = (struct pv_platform *)&p; /* must be reset to NULL */
		const char *msg = NULL;
		int rc = pv_platform_open(bad[i], &p, &msg);

		if (rc != -EINVAL)
			fprintf(stderr, "\n  spec \"%s\": %d\n", bad[i], rc);
		CU_ASSERT_EQUAL(rc, -EINVAL);
		CU_ASSERT_PTR_NULL(p);
		assert_errmsg(msg);
	}
}

static void test_null_out_and_errmsg(void)
{
	const char *msg = NULL;

	CU_ASSERT_EQUAL(pv_platform_open("xen", NULL, &msg), -EINVAL);
	assert_errmsg(msg);
	/* errmsg is optional. */
	CU_ASSERT_EQUAL(pv_platform_open("bogus", NULL, NULL), -EINVAL);
	{
		struct pv_platform *p = NULL;

		CU_ASSERT_EQUAL(pv_platform_open("bogus", &p, NULL), -EINVAL);
		CU_ASSERT_PTR_NULL(p);
	}
}

/*
 * The sim platform is another engineer's: without it this build says -ENOTSUP; with it,
 * a run directory that does not exist must still fail, with a reason.
 */
static void test_sim_spec(void)
{
	struct pv_platform *p = NULL;
	const char *msg = NULL;
	int rc = pv_platform_open("sim:/nonexistent/pvio-test-rundir:1", &p, &msg);

	CU_ASSERT(rc < 0);
	CU_ASSERT_NOT_EQUAL(rc, -EINVAL); /* the spec itself is well formed */
	if (rc < 0) {
		CU_ASSERT_PTR_NULL(p);
		assert_errmsg(msg);
		if (rc == -ENOTSUP)
			CU_ASSERT_STRING_EQUAL(msg, "this build has no sim platform");
	} else {
		pv_platform_close(p);
	}
	/* A rundir containing ':' is fine: the domid follows the last one. */
	rc = pv_platform_open("sim:/nonexistent/a:b:2", &p, &msg);
	CU_ASSERT(rc < 0 && rc != -EINVAL);
	if (rc == 0)
		pv_platform_close(p);
}

/* ---- the xen platform on a machine without Xen --------------------------------------- */

static int xen_open_quietly(struct pv_platform **p, const char **msg, char *err, size_t errsz)
{
	FILE *tmp = tmpfile();
	int saved, rc;
	size_t n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(tmp);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	dup2(fileno(tmp), STDERR_FILENO);
	rc = pv_platform_open("xen", p, msg);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(tmp);
	n = fread(err, 1, errsz - 1, tmp);
	err[n] = '\0';
	fclose(tmp);
	return rc;
}

static void test_xen_absent(void)
{
	struct pv_platform *p = (struct pv_platform *)&p;
	const char *msg = NULL;
	char err[512];
	int fds = count_fds(), rc, i;

	if (has_xen()) {
		/* On a real Xen domain the open may succeed; only cleanliness is testable. */
		rc = pv_platform_open("xen", &p, &msg);
		if (rc == 0) {
			CU_ASSERT_STRING_EQUAL(pv_platform_name(p), "xen");
			CU_ASSERT(pv_platform_domid(p) < DOMID_SELF);
			pv_platform_close(p);
		} else {
			assert_errmsg(msg);
		}
		CU_ASSERT_EQUAL(count_fds(), fds);
		return;
	}
	/* Repeated, so a leak per attempt would show (fds here, memory under ASan). */
	for (i = 0; i < 3; i++) {
		rc = xen_open_quietly(&p, &msg, err, sizeof(err));
		CU_ASSERT_EQUAL(rc, -ENOENT);
		CU_ASSERT_PTR_NULL(p);
		assert_errmsg(msg);
		CU_ASSERT_PTR_NOT_NULL(strstr(msg, "/dev/xen/evtchn"));
		CU_ASSERT_PTR_NOT_NULL(strstr(msg, "no Xen hypervisor"));
		/* The Xen libraries print their own complaints unless silenced. */
		if (err[0])
			fprintf(stderr, "\n  stderr during open: %s\n", err);
		CU_ASSERT_EQUAL(err[0], '\0');
	}
	CU_ASSERT_EQUAL(count_fds(), fds);
}

static void test_default_platform(void)
{
	const char *old = getenv("PVIO_PLATFORM");
	char *saved = old ? strdup(old) : NULL;
	struct pv_platform *p = NULL;
	const char *msg = NULL;

	setenv("PVIO_PLATFORM", "bogus", 1);
	CU_ASSERT_EQUAL(pv_platform_open(NULL, &p, &msg), -EINVAL);
	assert_errmsg(msg);
	setenv("PVIO_PLATFORM", "sim:/tmp:x", 1);
	CU_ASSERT_EQUAL(pv_platform_open(NULL, &p, &msg), -EINVAL);
	if (!has_xen()) {
		/* Unset or empty: "xen". */
		unsetenv("PVIO_PLATFORM");
		CU_ASSERT_EQUAL(pv_platform_open(NULL, &p, &msg), -ENOENT);
		setenv("PVIO_PLATFORM", "", 1);
		CU_ASSERT_EQUAL(pv_platform_open(NULL, &p, &msg), -ENOENT);
		setenv("PVIO_PLATFORM", "xen", 1);
		CU_ASSERT_EQUAL(pv_platform_open(NULL, &p, &msg), -ENOENT);
	}
	CU_ASSERT_PTR_NULL(p);
	if (saved)
		setenv("PVIO_PLATFORM", saved, 1);
	else
		unsetenv("PVIO_PLATFORM");
	free(saved);
}

/* ---- the dispatchers, over a fake operations table ------------------------------------ */

/* What the fake operations saw last; each returns a distinctive value. */
static struct {
	int calls;
	const char *op;
	struct pv_platform *p;
	domid_t dom;
	unsigned int count;
	evtchn_port_t port;
	const void *ptr;
	int flag;
} seen;

static void saw(const char *op, struct pv_platform *p)
{
	seen.calls++;
	seen.op = op;
	seen.p = p;
}

static int fake_open(struct pv_platform *p, const char *arg, const char **errmsg)
{
	(void)arg, (void)errmsg;
	saw("open", p);
	return 0;
}

static void fake_close(struct pv_platform *p)
{
	saw("close", p);
}

static int fake_gnt_share(struct pv_platform *p, domid_t peer, unsigned int count, int writable,
			  grant_ref_t *refs, void **addr)
{
	saw("gnt_share", p);
	seen.dom = peer, seen.count = count, seen.flag = writable, seen.ptr = refs;
	refs[0] = 77;
	*addr = &seen;
	return 0;
}

static int fake_gnt_unshare(struct pv_platform *p, void *addr, unsigned int count)
{
	saw("gnt_unshare", p);
	seen.ptr = addr, seen.count = count;
	return -EBUSY;
}

static int fake_gnt_map(struct pv_platform *p, domid_t peer, unsigned int count,
			const grant_ref_t *refs, int writable, void **addr)
{
	saw("gnt_map", p);
	seen.dom = peer, seen.count = count, seen.flag = writable, seen.ptr = refs;
	if (refs[0] == 666)
		return -EACCES;
	*addr = (char *)&seen + refs[0]; /* tells the mappings apart */
	return 0;
}

static int fake_gnt_unmap(struct pv_platform *p, void *addr, unsigned int count)
{
	saw("gnt_unmap", p);
	seen.ptr = addr, seen.count = count;
	return count == 999 ? -EINVAL : 0;
}

static int fake_gnt_copy(struct pv_platform *p, struct pv_gnt_copy_seg *segs, unsigned int count)
{
	saw("gnt_copy", p);
	seen.ptr = segs, seen.count = count;
	segs[0].status = -EACCES;
	return -EIO;
}

static int fake_alloc_unbound(struct pv_platform *p, domid_t remote, evtchn_port_t *port)
{
	saw("alloc_unbound", p);
	seen.dom = remote;
	*port = 5;
	return 0;
}

static int fake_bind_interdomain(struct pv_platform *p, domid_t remote, evtchn_port_t remote_port,
				 evtchn_port_t *local)
{
	saw("bind_interdomain", p);
	seen.dom = remote, seen.port = remote_port;
	*local = 9;
	return 0;
}

static int fake_unbind(struct pv_platform *p, evtchn_port_t port)
{
	saw("unbind", p);
	seen.port = port;
	return 0;
}

static int fake_notify(struct pv_platform *p, evtchn_port_t port)
{
	saw("notify", p);
	seen.port = port;
	return 0;
}

static int fake_fd(struct pv_platform *p)
{
	saw("fd", p);
	return 42;
}

/* fake_npending ports pending (..., 4, 3), then -EAGAIN, or -EIO with fake_pending_err. */
static unsigned int fake_npending;
static int fake_pending_err;

static int fake_pending(struct pv_platform *p)
{
	saw("pending", p);
	if (!fake_npending)
		return fake_pending_err ? -EIO : -EAGAIN;
	return (int)(2 + fake_npending--);
}

static int fake_unmask(struct pv_platform *p, evtchn_port_t port)
{
	saw("unmask", p);
	seen.port = port;
	return 0;
}

static int fake_domain_info(struct pv_platform *p, domid_t domid, struct pv_dominfo *info)
{
	saw("domain_info", p);
	if (domid != 3)
		return -ESRCH;
	*info = (struct pv_dominfo){ .domid = domid, .dying = 1 };
	return 0;
}

static const struct pv_platform_ops fake_ops = {
	.name = "fake",
	.open = fake_open,
	.close = fake_close,
	.gnt_share = fake_gnt_share,
	.gnt_unshare = fake_gnt_unshare,
	.gnt_map = fake_gnt_map,
	.gnt_unmap = fake_gnt_unmap,
	.gnt_copy = fake_gnt_copy,
	.evtchn_alloc_unbound = fake_alloc_unbound,
	.evtchn_bind_interdomain = fake_bind_interdomain,
	.evtchn_unbind = fake_unbind,
	.evtchn_notify = fake_notify,
	.evtchn_fd = fake_fd,
	.evtchn_pending = fake_pending,
	.evtchn_unmask = fake_unmask,
	.domain_info = fake_domain_info,
};

/* A port that implements only the front end's needs: no map, copy or domain query. */
static const struct pv_platform_ops front_only_ops = {
	.name = "front-only",
	.open = fake_open,
	.close = fake_close,
	.gnt_share = fake_gnt_share,
	.gnt_unshare = fake_gnt_unshare,
	.evtchn_alloc_unbound = fake_alloc_unbound,
	.evtchn_notify = fake_notify,
};

static struct pv_platform *fake_platform(const struct pv_platform_ops *ops)
{
	struct pv_platform *p = calloc(1, sizeof(*p));

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	p->ops = ops;
	p->domid = 7;
	memset(&seen, 0, sizeof(seen));
	return p;
}

static void test_dispatch_null_args(void)
{
	struct pv_platform *p = fake_platform(&fake_ops);
	struct pv_gnt_copy_seg seg = { 0 };
	struct pv_dominfo info;
	evtchn_port_t port;
	grant_ref_t refs[2];
	void *addr;

	CU_ASSERT_EQUAL(pv_gnt_share(NULL, 1, 1, 1, refs, &addr), -EINVAL);
	CU_ASSERT_EQUAL(pv_gnt_share(p, 1, 0, 1, refs, &addr), -EINVAL);
	CU_ASSERT_EQUAL(pv_gnt_share(p, 1, 1, 1, NULL, &addr), -EINVAL);
	CU_ASSERT_EQUAL(pv_gnt_share(p, 1, 1, 1, refs, NULL), -EINVAL);
	CU_ASSERT_EQUAL(pv_gnt_unshare(NULL, &seen, 1), -EINVAL);
	CU_ASSERT_EQUAL(pv_gnt_unshare(p, NULL, 1), -EINVAL);
	CU_ASSERT_EQUAL(pv_gnt_unshare(p, &seen, 0), -EINVAL);
	CU_ASSERT_EQUAL(pv_gnt_map(NULL, 1, 1, refs, 1, &addr), -EINVAL);
	CU_ASSERT_EQUAL(pv_gnt_map(p, 1, 0, refs, 1, &addr), -EINVAL);
	CU_ASSERT_EQUAL(pv_gnt_map(p, 1, 1, NULL, 1, &addr), -EINVAL);
	CU_ASSERT_EQUAL(pv_gnt_map(p, 1, 1, refs, 1, NULL), -EINVAL);
	CU_ASSERT_EQUAL(pv_gnt_unmap(NULL, &seen, 1), -EINVAL);
	CU_ASSERT_EQUAL(pv_gnt_unmap(p, NULL, 1), -EINVAL);
	CU_ASSERT_EQUAL(pv_gnt_unmap(p, &seen, 0), -EINVAL);
	CU_ASSERT_EQUAL(pv_gnt_copy(NULL, &seg, 1), -EINVAL);
	CU_ASSERT_EQUAL(pv_gnt_copy(p, NULL, 1), -EINVAL);
	CU_ASSERT_EQUAL(pv_gnt_copy(p, &seg, 0), -EINVAL);
	CU_ASSERT_EQUAL(pv_evtchn_alloc_unbound(NULL, 1, &port), -EINVAL);
	CU_ASSERT_EQUAL(pv_evtchn_alloc_unbound(p, 1, NULL), -EINVAL);
	CU_ASSERT_EQUAL(pv_evtchn_bind_interdomain(NULL, 1, 2, &port), -EINVAL);
	CU_ASSERT_EQUAL(pv_evtchn_bind_interdomain(p, 1, 2, NULL), -EINVAL);
	CU_ASSERT_EQUAL(pv_evtchn_unbind(NULL, 1), -EINVAL);
	CU_ASSERT_EQUAL(pv_evtchn_fd(NULL), -EINVAL);
	CU_ASSERT_EQUAL(pv_evtchn_pending(NULL), -EINVAL);
	CU_ASSERT_EQUAL(pv_evtchn_unmask(NULL, 1), -EINVAL);
	CU_ASSERT_EQUAL(pv_domain_info(NULL, 1, &info), -EINVAL);
	CU_ASSERT_EQUAL(pv_domain_info(p, 1, NULL), -EINVAL);
	/* Nothing reached the implementation. */
	CU_ASSERT_EQUAL(seen.calls, 0);

	CU_ASSERT_PTR_NULL(pv_platform_name(NULL));
	CU_ASSERT_EQUAL(pv_platform_domid(NULL), DOMID_INVALID);
	pv_platform_close(NULL);
	pv_platform_close(p);
	CU_ASSERT_EQUAL(seen.calls, 1);
	CU_ASSERT_STRING_EQUAL(seen.op, "close");
}

static void test_dispatch_passes_through(void)
{
	struct pv_platform *p = fake_platform(&fake_ops);
	struct pv_gnt_copy_seg segs[3] = { { 0 } };
	grant_ref_t refs[2] = { 0, 0 };
	struct pv_dominfo info = { 0 };
	evtchn_port_t port = 0;
	void *addr = NULL;

	CU_ASSERT_STRING_EQUAL(pv_platform_name(p), "fake");
	CU_ASSERT_EQUAL(pv_platform_domid(p), 7);

	CU_ASSERT_EQUAL(pv_gnt_share(p, 4, 2, 1, refs, &addr), 0);
	CU_ASSERT_STRING_EQUAL(seen.op, "gnt_share");
	CU_ASSERT_PTR_EQUAL(seen.p, p);
	CU_ASSERT(seen.dom == 4 && seen.count == 2 && seen.flag == 1 && seen.ptr == refs);
	CU_ASSERT(refs[0] == 77 && addr == &seen);

	CU_ASSERT_EQUAL(pv_gnt_unshare(p, addr, 2), -EBUSY);
	CU_ASSERT(seen.ptr == addr && seen.count == 2);

	CU_ASSERT_EQUAL(pv_gnt_map(p, 5, 1, refs, 0, &addr), 0);
	CU_ASSERT_STRING_EQUAL(seen.op, "gnt_map");
	CU_ASSERT(seen.dom == 5 && seen.count == 1 && seen.flag == 0 && seen.ptr == refs);
	CU_ASSERT_EQUAL(pv_gnt_unmap(p, addr, 1), 0);
	CU_ASSERT_STRING_EQUAL(seen.op, "gnt_unmap");

	CU_ASSERT_EQUAL(pv_gnt_copy(p, segs, 3), -EIO);
	CU_ASSERT(seen.ptr == segs && seen.count == 3 && segs[0].status == -EACCES);

	CU_ASSERT_EQUAL(pv_evtchn_alloc_unbound(p, 6, &port), 0);
	CU_ASSERT(seen.dom == 6 && port == 5);
	CU_ASSERT_EQUAL(pv_evtchn_bind_interdomain(p, 8, 11, &port), 0);
	CU_ASSERT(seen.dom == 8 && seen.port == 11 && port == 9);
	CU_ASSERT_EQUAL(pv_evtchn_notify(p, 12), 0);
	CU_ASSERT(!strcmp(seen.op, "notify") && seen.port == 12);
	CU_ASSERT_EQUAL(pv_evtchn_fd(p), 42);
	CU_ASSERT_EQUAL(pv_evtchn_pending(p), -EAGAIN);
	CU_ASSERT_EQUAL(pv_evtchn_unmask(p, 13), 0);
	CU_ASSERT(!strcmp(seen.op, "unmask") && seen.port == 13);
	CU_ASSERT_EQUAL(pv_evtchn_unbind(p, 14), 0);
	CU_ASSERT(!strcmp(seen.op, "unbind") && seen.port == 14);

	CU_ASSERT_EQUAL(pv_domain_info(p, 3, &info), 0);
	CU_ASSERT(info.domid == 3 && info.dying == 1 && info.shutdown == 0);
	CU_ASSERT_EQUAL(pv_domain_info(p, 4, &info), -ESRCH);
	CU_ASSERT_EQUAL(seen.calls, 14);
	pv_platform_close(p);
}

/*
 * A platform without a batch unmap (xen, and this fake) gets one gnt_unmap per mapping;
 * a bad one does not stop the rest, and its error is the answer.  Bad arguments reach
 * nothing.
 */
static void test_dispatch_unmap_batch(void)
{
	struct pv_platform *p = fake_platform(&fake_ops);
	char pages[3];
	void *addrs[3] = { &pages[0], &pages[1], &pages[2] }, *nul[2] = { &pages[0], NULL };
	unsigned int counts[3] = { 1, 2, 3 }, zero[2] = { 1, 0 };

	CU_ASSERT_EQUAL(pv_gnt_unmap_batch(NULL, addrs, counts, 3), -EINVAL);
	CU_ASSERT_EQUAL(pv_gnt_unmap_batch(p, NULL, counts, 3), -EINVAL);
	CU_ASSERT_EQUAL(pv_gnt_unmap_batch(p, addrs, NULL, 3), -EINVAL);
	CU_ASSERT_EQUAL(pv_gnt_unmap_batch(p, addrs, counts, 0), -EINVAL);
	CU_ASSERT_EQUAL(pv_gnt_unmap_batch(p, nul, counts, 2), -EINVAL);
	CU_ASSERT_EQUAL(pv_gnt_unmap_batch(p, addrs, zero, 2), -EINVAL);
	CU_ASSERT_EQUAL(seen.calls, 0);
	CU_ASSERT_EQUAL(pv_gnt_unmap_batch(p, addrs, counts, 3), 0);
	CU_ASSERT_EQUAL(seen.calls, 3);
	CU_ASSERT_STRING_EQUAL(seen.op, "gnt_unmap");
	CU_ASSERT(seen.ptr == &pages[2] && seen.count == 3);
	/* The fake refuses a count of 999: the others are still unmapped. */
	counts[1] = 999;
	CU_ASSERT_EQUAL(pv_gnt_unmap_batch(p, addrs, counts, 3), -EINVAL);
	CU_ASSERT_EQUAL(seen.calls, 6);
	CU_ASSERT(seen.ptr == &pages[2] && seen.count == 3);
	pv_platform_close(p);
}

/*
 * A platform without a batch map (xen, and this fake) gets one gnt_map per mapping, each
 * with its own refs; one that fails undoes those made before it, and nothing is left.
 */
static void test_dispatch_map_batch(void)
{
	struct pv_platform *p = fake_platform(&fake_ops);
	grant_ref_t refs[4] = { 1, 2, 3, 4 };
	unsigned int counts[3] = { 1, 2, 1 }, zero[2] = { 1, 0 };
	void *addrs[3] = { NULL, NULL, NULL };

	CU_ASSERT_EQUAL(pv_gnt_map_batch(NULL, 1, 3, counts, refs, 1, addrs), -EINVAL);
	CU_ASSERT_EQUAL(pv_gnt_map_batch(p, 1, 0, counts, refs, 1, addrs), -EINVAL);
	CU_ASSERT_EQUAL(pv_gnt_map_batch(p, 1, 3, NULL, refs, 1, addrs), -EINVAL);
	CU_ASSERT_EQUAL(pv_gnt_map_batch(p, 1, 3, counts, NULL, 1, addrs), -EINVAL);
	CU_ASSERT_EQUAL(pv_gnt_map_batch(p, 1, 3, counts, refs, 1, NULL), -EINVAL);
	CU_ASSERT_EQUAL(pv_gnt_map_batch(p, 1, 2, zero, refs, 1, addrs), -EINVAL);
	CU_ASSERT_EQUAL(seen.calls, 0);
	CU_ASSERT_EQUAL(pv_gnt_map_batch(p, 9, 3, counts, refs, 0, addrs), 0);
	CU_ASSERT_EQUAL(seen.calls, 3);
	CU_ASSERT(seen.dom == 9 && seen.flag == 0 && seen.ptr == &refs[3] && seen.count == 1);
	CU_ASSERT(addrs[0] == (char *)&seen + 1 && addrs[1] == (char *)&seen + 2 &&
		  addrs[2] == (char *)&seen + 4);
	/* The third is refused: the first two are unmapped again, the last one first. */
	refs[3] = 666;
	CU_ASSERT_EQUAL(pv_gnt_map_batch(p, 9, 3, counts, refs, 1, addrs), -EACCES);
	CU_ASSERT_EQUAL(seen.calls, 8);
	CU_ASSERT_STRING_EQUAL(seen.op, "gnt_unmap");
	CU_ASSERT(seen.ptr == (char *)&seen + 1 && seen.count == 1);
	pv_platform_close(p);
}

/*
 * A platform without a batch look (xen, and this fake) gets evtchn_pending until it has
 * none or max ports; an error after some ports still returns those (they are masked and
 * the caller's), an error first is the answer.
 */
static void test_dispatch_pending_batch(void)
{
	struct pv_platform *p = fake_platform(&fake_ops);
	evtchn_port_t ports[8];

	CU_ASSERT_EQUAL(pv_evtchn_pending_batch(NULL, ports, 8), -EINVAL);
	CU_ASSERT_EQUAL(pv_evtchn_pending_batch(p, NULL, 8), -EINVAL);
	CU_ASSERT_EQUAL(pv_evtchn_pending_batch(p, ports, 0), -EINVAL);
	CU_ASSERT_EQUAL(seen.calls, 0);
	fake_npending = 3;
	CU_ASSERT_EQUAL(pv_evtchn_pending_batch(p, ports, 8), 3);
	CU_ASSERT(ports[0] == 5 && ports[1] == 4 && ports[2] == 3);
	CU_ASSERT_EQUAL(seen.calls, 4); /* the last one said -EAGAIN */
	fake_npending = 5;
	CU_ASSERT_EQUAL(pv_evtchn_pending_batch(p, ports, 2), 2);
	CU_ASSERT_EQUAL(seen.calls, 6); /* no look past max */
	fake_npending = 1, fake_pending_err = 1;
	CU_ASSERT_EQUAL(pv_evtchn_pending_batch(p, ports, 8), 1);
	CU_ASSERT_EQUAL(ports[0], 3);
	CU_ASSERT_EQUAL(pv_evtchn_pending_batch(p, ports, 8), -EIO);
	fake_npending = 0, fake_pending_err = 0;
	pv_platform_close(p);
}

static void test_dispatch_missing_ops(void)
{
	struct pv_platform *p = fake_platform(&front_only_ops);
	struct pv_gnt_copy_seg seg = { 0 };
	grant_ref_t refs[1] = { 0 };
	unsigned int one = 1;
	struct pv_dominfo info;
	evtchn_port_t port;
	void *addr;

	CU_ASSERT_EQUAL(pv_gnt_map(p, 1, 1, refs, 1, &addr), -ENOTSUP);
	CU_ASSERT_EQUAL(pv_gnt_map_batch(p, 1, 1, &one, refs, 1, &addr), -ENOTSUP);
	CU_ASSERT_EQUAL(pv_gnt_unmap(p, &seen, 1), -ENOTSUP);
	CU_ASSERT_EQUAL(pv_gnt_copy(p, &seg, 1), -ENOTSUP);
	CU_ASSERT_EQUAL(pv_evtchn_bind_interdomain(p, 1, 2, &port), -ENOTSUP);
	CU_ASSERT_EQUAL(pv_evtchn_unbind(p, 1), -ENOTSUP);
	CU_ASSERT_EQUAL(pv_evtchn_fd(p), -ENOTSUP);
	CU_ASSERT_EQUAL(pv_evtchn_pending(p), -ENOTSUP);
	CU_ASSERT_EQUAL(pv_evtchn_unmask(p, 1), -ENOTSUP);
	CU_ASSERT_EQUAL(pv_domain_info(p, 1, &info), -ENOTSUP);
	CU_ASSERT_EQUAL(seen.calls, 0);
	CU_ASSERT_EQUAL(pv_gnt_share(p, 1, 1, 1, refs, &addr), 0);
	CU_ASSERT_EQUAL(seen.calls, 1);
	pv_platform_close(p);
}

/* ---- xenstore ---------------------------------------------------------------------- */

static void test_parse_u64(void)
{
	static const struct {
		const char *s;
		size_t len; /* 0: strlen(s) */
		int rc;
		uint64_t v;
	} t[] = {
		{ "0", 0, 0, 0 },
		{ "7", 0, 0, 7 },
		{ "4096", 0, 0, 4096 },
		{ "000000000000000000000000000042", 0, 0, 42 },
		{ "18446744073709551615", 0, 0, UINT64_MAX },
		{ "18446744073709551616", 0, -EINVAL, 0 },
		{ "18446744073709551620", 0, -EINVAL, 0 },
		{ "99999999999999999999", 0, -EINVAL, 0 },
		{ "184467440737095516150", 0, -EINVAL, 0 },
		{ "", 0, -EINVAL, 0 },
		{ "-1", 0, -EINVAL, 0 },
		{ "+1", 0, -EINVAL, 0 },
		{ " 1", 0, -EINVAL, 0 },
		{ "1 ", 0, -EINVAL, 0 },
		{ "1\n", 0, -EINVAL, 0 },
		{ "0x10", 0, -EINVAL, 0 },
		{ "12a", 0, -EINVAL, 0 },
		{ "1.5", 0, -EINVAL, 0 },
		{ "1e3", 0, -EINVAL, 0 },
		{ "\xff", 0, -EINVAL, 0 },
		{ "1\0" "2", 3, -EINVAL, 0 }, /* a NUL inside the value */
		{ "12", 1, 0, 1 },            /* only len bytes count */
	};
	unsigned int i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		size_t len = t[i].len ? t[i].len : strlen(t[i].s);
		uint64_t v = 12345;
		int rc = pv_xs_parse_u64(t[i].s, len, &v);

		if (rc != t[i].rc)
			fprintf(stderr, "\n  \"%s\": %d\n", t[i].s, rc);
		CU_ASSERT_EQUAL(rc, t[i].rc);
		CU_ASSERT_EQUAL(v, rc == 0 ? t[i].v : 12345);
	}
	CU_ASSERT_EQUAL(pv_xs_parse_u64(NULL, 1, &(uint64_t){ 0 }), -EINVAL);
	CU_ASSERT_EQUAL(pv_xs_parse_u64("1", 1, NULL), -EINVAL);
}

/* No xenstore here: every call must refuse a platform without one, not crash. */
static void test_xs_null_args(void)
{
	struct pv_platform *p = fake_platform(&fake_ops);
	struct pv_xs_perm perm = { 0, PV_XS_PERM_READ };
	char *val = (char *)&val, *tok = (char *)&tok, **names;
	unsigned int n;
	uint64_t v;
	size_t len;
	pv_xs_txn_t t;

	CU_ASSERT_EQUAL(pv_xs_read(NULL, 0, "a", &val, &len), -EINVAL);
	CU_ASSERT_EQUAL(pv_xs_read(p, 0, "a", &val, &len), -EINVAL);
	CU_ASSERT_EQUAL(pv_xs_write(NULL, 0, "a", "b", 1), -EINVAL);
	CU_ASSERT_EQUAL(pv_xs_write(p, 0, "a", "b", 1), -EINVAL);
	CU_ASSERT_EQUAL(pv_xs_printf(NULL, 0, "a", "%d", 1), -EINVAL);
	CU_ASSERT_EQUAL(pv_xs_read_u64(NULL, 0, "a", &v), -EINVAL);
	CU_ASSERT_EQUAL(pv_xs_read_u64(p, 0, "a", NULL), -EINVAL);
	CU_ASSERT_EQUAL(pv_xs_mkdir(NULL, 0, "a"), -EINVAL);
	CU_ASSERT_EQUAL(pv_xs_rm(p, 0, "a"), -EINVAL);
	CU_ASSERT_EQUAL(pv_xs_directory(p, 0, "a", &names, &n), -EINVAL);
	CU_ASSERT_EQUAL(pv_xs_set_perms(p, 0, "a", &perm, 1), -EINVAL);
	CU_ASSERT_EQUAL(pv_xs_txn_start(p, &t), -EINVAL);
	CU_ASSERT_EQUAL(pv_xs_txn_end(p, 1, 0), -EINVAL);
	CU_ASSERT_EQUAL(pv_xs_watch(p, "a", "t"), -EINVAL);
	CU_ASSERT_EQUAL(pv_xs_unwatch(p, "a", "t"), -EINVAL);
	CU_ASSERT_EQUAL(pv_xs_watch_fd(NULL), -EINVAL);
	CU_ASSERT_EQUAL(pv_xs_watch_fd(p), -EINVAL);
	CU_ASSERT_EQUAL(pv_xs_watch_next(p, &val, &tok), -EINVAL);
	CU_ASSERT_EQUAL(seen.calls, 0);
	pv_platform_close(p);
}

/* The XENSTORED_PATH set for the call is taken back, whatever was there before. */
static void test_xs_open_restores_env(void)
{
	const char *old = getenv("XENSTORED_PATH");
	char *saved = old ? strdup(old) : NULL;
	struct xs_handle *h;

	setenv("XENSTORED_PATH", "/before", 1);
	errno = 0;
	h = pv_platform_xs_open("/nonexistent/pvio-test/socket");
	CU_ASSERT_PTR_NULL(h);
	CU_ASSERT_EQUAL(errno, ENOENT);
	CU_ASSERT_STRING_EQUAL(getenv("XENSTORED_PATH"), "/before");

	unsetenv("XENSTORED_PATH");
	h = pv_platform_xs_open("/nonexistent/pvio-test/socket");
	CU_ASSERT_PTR_NULL(h);
	CU_ASSERT_PTR_NULL(getenv("XENSTORED_PATH"));

	if (saved)
		setenv("XENSTORED_PATH", saved, 1);
	free(saved);
}

static CU_TestInfo spec_tests[] = {
	{ "malformed and unknown specs are -EINVAL with a reason", test_bad_specs },
	{ "NULL out is refused; errmsg is optional", test_null_out_and_errmsg },
	{ "a well-formed sim spec opens or fails with a reason", test_sim_spec },
	{ "xen without a hypervisor: -ENOENT, a clear reason, silent, nothing leaked",
	  test_xen_absent },
	{ "NULL spec reads $PVIO_PLATFORM, else xen", test_default_platform },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo dispatch_tests[] = {
	{ "NULL pointers and empty batches never reach the ops", test_dispatch_null_args },
	{ "arguments and results pass through unchanged", test_dispatch_passes_through },
	{ "an operation a port left out is -ENOTSUP", test_dispatch_missing_ops },
	{ "unmap batch without a batch op: one unmap per mapping, first error", test_dispatch_unmap_batch },
	{ "map batch without a batch op: one map per mapping, undone on error", test_dispatch_map_batch },
	{ "pending batch without a batch op: pending until none or max; errors", test_dispatch_pending_batch },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo xs_tests[] = {
	{ "untrusted numbers: decimal u64 only", test_parse_u64 },
	{ "a platform without xenstore is refused", test_xs_null_args },
	{ "pv_platform_xs_open puts XENSTORED_PATH back", test_xs_open_restores_env },
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{ "platform-open", NULL, NULL, NULL, NULL, spec_tests },
	{ "platform-dispatch", NULL, NULL, NULL, NULL, dispatch_tests },
	{ "platform-xs", NULL, NULL, NULL, NULL, xs_tests },
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return pv_test_main(suites);
}
