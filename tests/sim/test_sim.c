/* SPDX-License-Identifier: MIT */
/*
 * pvio-simd's grant tables, event channels and domains, through the sim platform.
 *
 * The suite starts a real pvio-simd (from $PVIO_BUILD/bin) in a fresh rundir and creates
 * domains 1, 2 and 3.  Platform handles are explicit, so this one process can act as
 * several domains at once; tests that need another process fork one.
 */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pv_test.h"
#include "pv_simtest.h"
#include "pv_platform.h"
#include "sim/pv_sim.h"
#include "pv_sim_proto.h"
#include "sim_unix.h"
#include "pv_ring.h"
#include "listen.h"

#include <xen/io/xs_wire.h>

static struct pv_simtest T;

static int open_dom(unsigned int domid, struct pv_platform **p)
{
	return pv_simtest_open(&T, domid, p);
}

static int raw_connect(unsigned int domid);
static int raw_fds(int fd, uint32_t op, uint64_t a0, int *got, unsigned int *n);

static int count_fds(pid_t pid)
{
	char path[64];
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static int suite_init(void)
{
	return pv_simtest_start(&T, "pvio-test-sim", 3);
}

/* pvio-simd exits 0 after a clean shutdown (and, under ASan, with no leak). */
static int suite_clean(void)
{
	return pv_simtest_stop(&T);
}

/* ---- grants ------------------------------------------------------------------------ */

static void test_share_map_copy(void)
{
	struct pv_platform *a, *b;
	grant_ref_t refs[2];
	uint8_t *pa, *pb, buf[100];
	struct pv_gnt_copy_seg seg;

	CU_ASSERT_EQUAL_FATAL(open_dom(1, &a), 0);
	CU_ASSERT_EQUAL_FATAL(open_dom(2, &b), 0);
	CU_ASSERT_EQUAL(pv_platform_domid(a), 1);
	CU_ASSERT_STRING_EQUAL(pv_platform_name(a), "sim");
	CU_ASSERT_EQUAL_FATAL(pv_gnt_share(a, 2, 2, 1, refs, (void **)&pa), 0);
	CU_ASSERT(refs[0] >= 8 && refs[1] >= 8 && refs[0] != refs[1]);
	memset(pa, 0x11, PV_PAGE_SIZE);
	memset(pa + PV_PAGE_SIZE, 0x22, PV_PAGE_SIZE);

	/* B maps both pages, contiguously, and sees and changes A's memory. */
	CU_ASSERT_EQUAL_FATAL(pv_gnt_map(b, 1, 2, refs, 1, (void **)&pb), 0);
	CU_ASSERT_EQUAL(pb[0], 0x11);
	CU_ASSERT_EQUAL(pb[PV_PAGE_SIZE + 4095], 0x22);
	pb[10] = 0x99;
	CU_ASSERT_EQUAL(pa[10], 0x99);
	CU_ASSERT_EQUAL(pv_gnt_unmap(b, pb, 2), 0);
	CU_ASSERT_EQUAL(pv_gnt_unmap(b, pb, 2), -EINVAL); /* twice is an error, not a crash */

	/* Grant copy, both directions, one page at an offset. */
	seg = (struct pv_gnt_copy_seg){ .local = buf, .ref = refs[1], .domid = 1, .offset = 100,
					.len = sizeof(buf), .to_granted = 0 };
	CU_ASSERT_EQUAL(pv_gnt_copy(b, &seg, 1), 0);
	CU_ASSERT_EQUAL(seg.status, 0);
	CU_ASSERT_EQUAL(buf[0], 0x22);
	memset(buf, 0x5A, sizeof(buf));
	seg.to_granted = 1;
	CU_ASSERT_EQUAL(pv_gnt_copy(b, &seg, 1), 0);
	CU_ASSERT_EQUAL(pa[PV_PAGE_SIZE + 100], 0x5A);
	CU_ASSERT_EQUAL(pa[PV_PAGE_SIZE + 99], 0x22);
	/* A segment crossing the page end is refused, the others in the batch still done. */
	{
		struct pv_gnt_copy_seg two[2] = { seg, seg };

		two[0].offset = 4000;
		CU_ASSERT_EQUAL(pv_gnt_copy(b, two, 2), -EIO);
		CU_ASSERT_EQUAL(two[0].status, -EINVAL);
		CU_ASSERT_EQUAL(two[1].status, 0);
	}
	CU_ASSERT_EQUAL(pv_gnt_unshare(a, pa, 2), 0);
	/* Once unshared, the grant is gone for B. */
	CU_ASSERT_EQUAL(pv_gnt_map(b, 1, 1, refs, 0, (void **)&pb), -EACCES);
	pv_platform_close(b);
	pv_platform_close(a);
}

static void test_refused(void)
{
	struct pv_platform *a, *c;
	grant_ref_t ref, bogus;
	uint8_t *pa, *pc, buf[16];
	struct pv_gnt_copy_seg seg;

	CU_ASSERT_EQUAL_FATAL(open_dom(1, &a), 0);
	CU_ASSERT_EQUAL_FATAL(open_dom(3, &c), 0);
	CU_ASSERT_EQUAL_FATAL(pv_gnt_share(a, 2, 1, 1, &ref, (void **)&pa), 0);
	/* Granted to 2, not to 3: 3 can neither map nor copy it. */
	CU_ASSERT_EQUAL(pv_gnt_map(c, 1, 1, &ref, 0, (void **)&pc), -EACCES);
	seg = (struct pv_gnt_copy_seg){ .local = buf, .ref = ref, .domid = 1, .len = 16 };
	CU_ASSERT_EQUAL(pv_gnt_copy(c, &seg, 1), -EIO);
	CU_ASSERT_EQUAL(seg.status, -EACCES);
	/* Refs outside the table and of a domain that does not exist. */
	CU_ASSERT_EQUAL_FATAL(pv_gnt_share(a, 3, 1, 1, &bogus, (void **)&pc), 0);
	bogus = 0xFFFFFF;
	CU_ASSERT_EQUAL(pv_gnt_map(c, 1, 1, &bogus, 0, (void **)&pc), -EINVAL);
	CU_ASSERT_EQUAL(pv_gnt_map(c, 77, 1, &ref, 0, (void **)&pc), -ESRCH);
	bogus = 3; /* a reserved entry nobody granted */
	CU_ASSERT_EQUAL(pv_gnt_map(c, 1, 1, &bogus, 0, (void **)&pc), -EACCES);
	pv_platform_close(c);
	pv_platform_close(a);
}

static void test_readonly(void)
{
	struct pv_platform *a, *b;
	grant_ref_t ref;
	uint8_t *pa, *pb, buf[8] = { 1 };
	struct pv_gnt_copy_seg seg;
	pid_t pid;
	int st;

	CU_ASSERT_EQUAL_FATAL(open_dom(1, &a), 0);
	CU_ASSERT_EQUAL_FATAL(open_dom(2, &b), 0);
	CU_ASSERT_EQUAL_FATAL(pv_gnt_share(a, 2, 1, 0, &ref, (void **)&pa), 0);
	pa[0] = 42;
	CU_ASSERT_EQUAL(pv_gnt_map(b, 1, 1, &ref, 1, (void **)&pb), -EACCES);
	seg = (struct pv_gnt_copy_seg){ .local = buf, .ref = ref, .domid = 1, .len = 8, .to_granted = 1 };
	CU_ASSERT_EQUAL(pv_gnt_copy(b, &seg, 1), -EIO);
	CU_ASSERT_EQUAL(seg.status, -EACCES);
	CU_ASSERT_EQUAL(pa[1], 0);
	CU_ASSERT_EQUAL_FATAL(pv_gnt_map(b, 1, 1, &ref, 0, (void **)&pb), 0);
	CU_ASSERT_EQUAL(pb[0], 42);
	/* The read-only mapping really is read-only: a write faults. */
	pid = fork();
	if (pid == 0) {
		signal(SIGSEGV, SIG_DFL);
		((volatile uint8_t *)pb)[0] = 1;
		_exit(0);
	}
	waitpid(pid, &st, 0);
	CU_ASSERT(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV);
	CU_ASSERT_EQUAL(pa[0], 42);
	CU_ASSERT_EQUAL(pv_gnt_unmap(b, pb, 1), 0);
	CU_ASSERT_EQUAL(pv_gnt_unshare(a, pa, 1), 0);
	pv_platform_close(b);
	pv_platform_close(a);
}

static void test_unshare_busy(void)
{
	struct pv_platform *a, *b;
	grant_ref_t refs[3];
	uint8_t *pa, *pb;

	CU_ASSERT_EQUAL_FATAL(open_dom(1, &a), 0);
	CU_ASSERT_EQUAL_FATAL(open_dom(2, &b), 0);
	CU_ASSERT_EQUAL_FATAL(pv_gnt_share(a, 2, 3, 1, refs, (void **)&pa), 0);
	/* Map only the last page: unshare of all three must refuse and change nothing. */
	CU_ASSERT_EQUAL_FATAL(pv_gnt_map(b, 1, 1, &refs[2], 1, (void **)&pb), 0);
	CU_ASSERT_EQUAL(pv_gnt_unshare(a, pa, 3), -EBUSY);
	CU_ASSERT_EQUAL(pv_gnt_unshare(a, pa, 2), -EINVAL); /* not what was shared */
	/* Still granted: B can map the first page too. */
	{
		uint8_t *p0;

		CU_ASSERT_EQUAL(pv_gnt_map(b, 1, 1, &refs[0], 1, (void **)&p0), 0);
		CU_ASSERT_EQUAL(pv_gnt_unmap(b, p0, 1), 0);
	}
	CU_ASSERT_EQUAL(pv_gnt_unmap(b, pb, 1), 0);
	CU_ASSERT_EQUAL(pv_gnt_unshare(a, pa, 3), 0);
	pv_platform_close(b);
	pv_platform_close(a);
}


/*
 * Maptrack handles name slots of the connection that mapped, in the daemon: another
 * connection (of a third domain, or of the mapper's own domain) that unmaps every handle
 * there is releases nothing of domain 2's, and is told so.
 */
static int raw_unmap_all(int fd)
{
	struct pv_sim_msg m = { .op = PV_SIM_OP_GNT_UNMAP, .a = { PV_SIM_UNMAP_BATCH } };
	int got[PV_SIM_MAX_FDS];
	unsigned int n;
	uint32_t h;

	for (h = 0; h < PV_SIM_UNMAP_BATCH; h++)
		memcpy(m.data + h * sizeof(h), &h, sizeof(h));
	m.ndata = PV_SIM_UNMAP_BATCH * sizeof(h);
	if (pv_sim_send(fd, &m, offsetof(struct pv_sim_msg, data) + m.ndata, NULL, 0) < 0 ||
	    pv_sim_recv(fd, &m, got, &n) < (ssize_t)offsetof(struct pv_sim_msg, data))
		return -1000;
	while (n)
		close(got[--n]);
	return m.ret;
}

/* pvio-simd's counter called name, or UINT64_MAX. */
static uint64_t simd_stat(const char *name)
{
	const char *names[32];
	uint64_t v[32];
	int n = pv_sim_stats(T.dom0, names, v, 32), i;

	for (i = 0; i < n && i < 32; i++)
		if (!strcmp(names[i], name))
			return v[i];
	return UINT64_MAX;
}

static void test_forged_maptrack(void)
{
	struct pv_platform *a, *b;
	int fd3, fd2;
	grant_ref_t ref;
	uint8_t *pa, *pb;
	uint64_t bad0 = simd_stat("bad-unmaps"), mapped0 = simd_stat("pages-mapped");
	const char *nm;
	uint64_t v;

	CU_ASSERT_EQUAL_FATAL(open_dom(1, &a), 0);
	CU_ASSERT_EQUAL_FATAL(open_dom(2, &b), 0);
	CU_ASSERT_EQUAL_FATAL(pv_gnt_share(a, 2, 1, 1, &ref, (void **)&pa), 0);
	CU_ASSERT_EQUAL_FATAL(pv_gnt_map(b, 1, 1, &ref, 1, (void **)&pb), 0);
	fd3 = raw_connect(3);
	fd2 = raw_connect(2);
	CU_ASSERT_FATAL(fd3 >= 0 && fd2 >= 0);
	CU_ASSERT_EQUAL(raw_unmap_all(fd3), -EINVAL);
	CU_ASSERT_EQUAL(raw_unmap_all(fd2), -EINVAL);
	close(fd3);
	close(fd2);
	/* Counted where an admin sees it (pvio-ctl domain-stats); a domU may not look. */
	CU_ASSERT_EQUAL(simd_stat("bad-unmaps") - bad0, 2 * PV_SIM_UNMAP_BATCH);
	CU_ASSERT_EQUAL(simd_stat("pages-mapped") - mapped0, 1);
	CU_ASSERT_EQUAL(pv_sim_stats(b, &nm, &v, 1), -EPERM);
	/* Domain 2 still has it mapped: domain 1 cannot take the page back. */
	CU_ASSERT_EQUAL(pv_gnt_unshare(a, pa, 1), -EBUSY);
	pb[0] = 0x5A;
	CU_ASSERT_EQUAL(pa[0], 0x5A);
	CU_ASSERT_EQUAL(pv_gnt_unmap(b, pb, 1), 0);
	CU_ASSERT_EQUAL(pv_gnt_unshare(a, pa, 1), 0);
	pv_platform_close(b);
	pv_platform_close(a);
}

/*
 * The granter's memory goes only to a domain it grants something to now: once every grant
 * to domain 2 is ended, domain 2 (a new process, or the library's next look) gets EACCES.
 */
static void test_get_peer_needs_live_grant(void)
{
	struct pv_platform *a, *b;
	int fd = raw_connect(2), got[PV_SIM_MAX_FDS];
	uint64_t refused0 = simd_stat("peer-refused");
	unsigned int n, i;
	grant_ref_t refs[2];
	uint8_t *pa, *pb;

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(open_dom(1, &a), 0);
	CU_ASSERT_EQUAL_FATAL(pv_gnt_share(a, 2, 2, 0, refs, (void **)&pa), 0);
	CU_ASSERT_EQUAL(raw_fds(fd, PV_SIM_OP_GET_PEER, 1, got, &n), 0);
	for (i = 0; i < n; i++)
		close(got[i]);
	CU_ASSERT_EQUAL_FATAL(pv_gnt_unshare(a, pa, 2), 0);
	CU_ASSERT_EQUAL(raw_fds(fd, PV_SIM_OP_GET_PEER, 1, got, &n), -EACCES);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_EQUAL(simd_stat("peer-refused") - refused0, 1);
	CU_ASSERT_EQUAL_FATAL(open_dom(2, &b), 0);
	CU_ASSERT_EQUAL(pv_gnt_map(b, 1, 1, refs, 0, (void **)&pb), -EACCES);
	/* A new grant (not the first entry of the table) opens it again. */
	CU_ASSERT_EQUAL_FATAL(pv_gnt_share(a, 3, 1, 0, refs, (void **)&pa), 0);
	CU_ASSERT_EQUAL_FATAL(pv_gnt_share(a, 2, 1, 0, &refs[1], (void **)&pb), 0);
	CU_ASSERT_EQUAL(raw_fds(fd, PV_SIM_OP_GET_PEER, 1, got, &n), 0);
	for (i = 0; i < n; i++)
		close(got[i]);
	close(fd);
	pv_platform_close(b);
	pv_platform_close(a);
}

/*
 * A failed map or copy on a current view of the granter is a bad grant: it must not ask
 * the daemon again (a hostile 256-segment request would cost 256 round trips and table
 * scans).  Only a view the daemon's epoch says is stale is refreshed.
 */
static void test_failed_grants_no_round_trips(void)
{
	static uint8_t buf[256][16];
	struct pv_gnt_copy_seg segs[256];
	struct pv_platform *a, *b, *c;
	grant_ref_t ref, bad;
	uint8_t *pa, *pb;
	uint64_t n0;
	unsigned int i;

	CU_ASSERT_EQUAL_FATAL(open_dom(1, &a), 0);
	CU_ASSERT_EQUAL_FATAL(open_dom(2, &b), 0);
	CU_ASSERT_EQUAL_FATAL(open_dom(3, &c), 0);
	CU_ASSERT_EQUAL_FATAL(pv_gnt_share(a, 2, 1, 1, &ref, (void **)&pa), 0);
	CU_ASSERT_EQUAL_FATAL(pv_gnt_map(b, 1, 1, &ref, 1, (void **)&pb), 0);

	n0 = pv_sim_hypercalls(b);
	for (i = 0; i < 256; i++)
		segs[i] = (struct pv_gnt_copy_seg){ .local = buf[i], .domid = 1, .len = 16,
						    .ref = i % 2 ? 3 : 0xFFFFFF };
	CU_ASSERT_EQUAL(pv_gnt_copy(b, segs, 256), -EIO);
	CU_ASSERT_EQUAL(segs[0].status, -EINVAL);
	CU_ASSERT_EQUAL(segs[1].status, -EACCES);
	for (i = 0; i < 256; i++) {
		bad = i % 2 ? 3 : 0xFFFFFF;
		CU_ASSERT(pv_gnt_map(b, 1, 1, &bad, 0, (void **)&pb) < 0);
	}
	CU_ASSERT_EQUAL(pv_sim_hypercalls(b), n0);

	/* With no view at all, one batch asks once per granter. */
	n0 = pv_sim_hypercalls(c);
	CU_ASSERT_EQUAL(pv_gnt_copy(c, segs, 256), -EIO);
	CU_ASSERT(pv_sim_hypercalls(c) - n0 <= 1);
	CU_ASSERT_EQUAL(segs[255].status, -EACCES);

	CU_ASSERT_EQUAL(pv_gnt_unmap(b, pb, 1), 0);
	CU_ASSERT_EQUAL(pv_gnt_unshare(a, pa, 1), 0);
	pv_platform_close(c);
	pv_platform_close(b);
	pv_platform_close(a);
}

static int count_own_fds(void)
{
	return count_fds(getpid());
}

/*
 * The epochs a grantee compares against are the daemon's alone: the fd it gets cannot be
 * mapped writable or written.  And a granter that restarts again and again costs its
 * grantee one view (one memfd), not one per restart.
 */
static void test_epochs_and_old_views(void)
{
	struct pv_sim_msg m = { .op = PV_SIM_OP_HELLO, .a = { PV_SIM_PROTO_VERSION } };
	struct pv_platform *a, *b;
	int fd = raw_connect(3), got[PV_SIM_MAX_FDS], fds0 = -1;
	unsigned int n = 0, i, round;
	uint32_t zero = 0;
	grant_ref_t ref;
	uint8_t *pa, *pb;
	void *w;

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(pv_sim_send(fd, &m, offsetof(struct pv_sim_msg, data), NULL, 0) >= 0);
	CU_ASSERT_FATAL(pv_sim_recv(fd, &m, got, &n) >= (ssize_t)offsetof(struct pv_sim_msg, data));
	CU_ASSERT_EQUAL_FATAL(n, 1);
	w = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, got[0], 0);
	CU_ASSERT(w == MAP_FAILED);
	if (w != MAP_FAILED)
		munmap(w, 4096);
	CU_ASSERT(pwrite(got[0], &zero, sizeof(zero), 0) < 0);
	for (i = 0; i < n; i++)
		close(got[i]);
	close(fd);

	CU_ASSERT_EQUAL_FATAL(open_dom(2, &b), 0);
	for (round = 0; round < 6; round++) {
		CU_ASSERT_EQUAL_FATAL(open_dom(1, &a), 0);
		CU_ASSERT_EQUAL_FATAL(pv_gnt_share(a, 2, 1, 1, &ref, (void **)&pa), 0);
		pa[0] = (uint8_t)(round + 1);
		CU_ASSERT_EQUAL_FATAL(pv_gnt_map(b, 1, 1, &ref, 0, (void **)&pb), 0);
		CU_ASSERT_EQUAL(pb[0], round + 1);
		CU_ASSERT_EQUAL(pv_gnt_unmap(b, pb, 1), 0);
		pv_platform_close(a); /* the next round's granter starts over */
		if (round == 1)
			fds0 = count_own_fds();
	}
	CU_ASSERT_EQUAL(count_own_fds(), fds0);
	pv_platform_close(b);
}


/*
 * A registration the daemon refuses (another process of the domain has the table) leaves
 * nothing half set up: once that process is gone, the next share registers and grants
 * for real.
 */
static void test_register_refused_then_retry(void)
{
	struct pv_platform *a1, *a2, *b;
	grant_ref_t ref;
	uint8_t *pa, *pb;
	int i, rc;

	CU_ASSERT_EQUAL_FATAL(open_dom(1, &a1), 0);
	CU_ASSERT_EQUAL_FATAL(open_dom(1, &a2), 0);
	CU_ASSERT_EQUAL_FATAL(open_dom(2, &b), 0);
	CU_ASSERT_EQUAL_FATAL(pv_gnt_share(a1, 2, 1, 1, &ref, (void **)&pa), 0);
	CU_ASSERT_EQUAL(pv_gnt_share(a2, 2, 1, 1, &ref, (void **)&pa), -EBUSY);
	pv_platform_close(a1);
	/* The daemon sees a1's close on its next pass: until then a2 is still refused. */
	for (i = 0; i < 500 && (rc = pv_gnt_share(a2, 2, 1, 1, &ref, (void **)&pa)) == -EBUSY; i++)
		usleep(10000);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	pa[0] = 0x77;
	CU_ASSERT_EQUAL_FATAL(pv_gnt_map(b, 1, 1, &ref, 0, (void **)&pb), 0);
	CU_ASSERT_EQUAL(pb[0], 0x77);
	CU_ASSERT_EQUAL(pv_gnt_unmap(b, pb, 1), 0);
	CU_ASSERT_EQUAL(pv_gnt_unshare(a2, pa, 1), 0);
	pv_platform_close(b);
	pv_platform_close(a2);
}

/* An unshare refused as busy leaves every entry as it was, read-only included. */
static void test_unshare_busy_keeps_readonly(void)
{
	struct pv_platform *a, *b;
	grant_ref_t refs[2];
	uint8_t *pa, *pb, *p0;

	CU_ASSERT_EQUAL_FATAL(open_dom(1, &a), 0);
	CU_ASSERT_EQUAL_FATAL(open_dom(2, &b), 0);
	CU_ASSERT_EQUAL_FATAL(pv_gnt_share(a, 2, 2, 0, refs, (void **)&pa), 0);
	CU_ASSERT_EQUAL_FATAL(pv_gnt_map(b, 1, 1, &refs[1], 0, (void **)&pb), 0);
	CU_ASSERT_EQUAL(pv_gnt_unshare(a, pa, 2), -EBUSY);
	CU_ASSERT_EQUAL(pv_gnt_map(b, 1, 1, &refs[0], 1, (void **)&p0), -EACCES);
	CU_ASSERT_EQUAL(pv_gnt_map(b, 1, 1, &refs[0], 0, (void **)&p0), 0);
	CU_ASSERT_EQUAL(pv_gnt_unmap(b, p0, 1), 0);
	CU_ASSERT_EQUAL(pv_gnt_unmap(b, pb, 1), 0);
	CU_ASSERT_EQUAL(pv_gnt_unshare(a, pa, 2), 0);
	pv_platform_close(b);
	pv_platform_close(a);
}

/*
 * A guest process dies while the back end maps its page, and a new process of the same
 * domain grants the same ref: the back end must reach the new memory, never the dead one.
 */
static void test_granter_restarts(void)
{
	struct pv_platform *a, *b;
	grant_ref_t ref, ref2;
	uint8_t *pa, *pb;

	CU_ASSERT_EQUAL_FATAL(open_dom(1, &a), 0);
	CU_ASSERT_EQUAL_FATAL(open_dom(2, &b), 0);
	CU_ASSERT_EQUAL_FATAL(pv_gnt_share(a, 2, 1, 1, &ref, (void **)&pa), 0);
	memset(pa, 0x0D, PV_PAGE_SIZE); /* the dead process's data */
	CU_ASSERT_EQUAL_FATAL(pv_gnt_map(b, 1, 1, &ref, 1, (void **)&pb), 0);
	pv_platform_close(a); /* "dies" with the page mapped by b */
	usleep(100000);       /* the daemon sees the disconnect */
	CU_ASSERT_EQUAL(pv_gnt_unmap(b, pb, 1), 0);
	CU_ASSERT_EQUAL_FATAL(open_dom(1, &a), 0);
	CU_ASSERT_EQUAL_FATAL(pv_gnt_share(a, 2, 1, 1, &ref2, (void **)&pa), 0);
	CU_ASSERT_EQUAL(ref2, ref); /* same ref number, new memory */
	memset(pa, 0x0E, PV_PAGE_SIZE);
	CU_ASSERT_EQUAL_FATAL(pv_gnt_map(b, 1, 1, &ref2, 1, (void **)&pb), 0);
	CU_ASSERT_EQUAL(pb[0], 0x0E);
	pb[1] = 0x42;
	CU_ASSERT_EQUAL(pa[1], 0x42);
	CU_ASSERT_EQUAL(pv_gnt_unmap(b, pb, 1), 0);
	CU_ASSERT_EQUAL(pv_gnt_unshare(a, pa, 1), 0);
	pv_platform_close(b);
	pv_platform_close(a);
}

/* A grantee that dies with pages mapped: the daemon unpins them for it. */
static void test_grantee_dies(void)
{
	struct pv_platform *a;
	grant_ref_t ref;
	uint8_t *pa;
	int pipefd[2], st, rc = -EBUSY, tries;
	pid_t pid;
	char c;

	CU_ASSERT_EQUAL_FATAL(open_dom(1, &a), 0);
	CU_ASSERT_EQUAL_FATAL(pv_gnt_share(a, 2, 1, 1, &ref, (void **)&pa), 0);
	CU_ASSERT_EQUAL_FATAL(pipe(pipefd), 0);
	pid = fork();
	if (pid == 0) {
		struct pv_platform *b;
		void *pb;

		close(pipefd[0]);
		if (open_dom(2, &b) < 0 || pv_gnt_map(b, 1, 1, &ref, 1, &pb) < 0)
			_exit(1);
		if (write(pipefd[1], "m", 1) != 1)
			_exit(1);
		pause(); /* killed with the page mapped */
		_exit(0);
	}
	close(pipefd[1]);
	CU_ASSERT_EQUAL(read(pipefd[0], &c, 1), 1);
	close(pipefd[0]);
	CU_ASSERT_EQUAL(pv_gnt_unshare(a, pa, 1), -EBUSY);
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	for (tries = 0; tries < 200 && rc == -EBUSY; tries++) {
		rc = pv_gnt_unshare(a, pa, 1);
		if (rc == -EBUSY)
			usleep(10000);
	}
	CU_ASSERT_EQUAL(rc, 0);
	pv_platform_close(a);
}

/* ---- event channels ------------------------------------------------------------------ */

static int wait_readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms);
}

static void test_evtchn_notify_and_mask(void)
{
	struct pv_platform *a, *b;
	evtchn_port_t pa, pb;
	int fa, fb;

	CU_ASSERT_EQUAL_FATAL(open_dom(1, &a), 0);
	CU_ASSERT_EQUAL_FATAL(open_dom(2, &b), 0);
	CU_ASSERT_EQUAL_FATAL(pv_evtchn_alloc_unbound(a, 2, &pa), 0);
	CU_ASSERT_EQUAL_FATAL(pv_evtchn_bind_interdomain(b, 1, pa, &pb), 0);
	CU_ASSERT(pa > 0 && pb > 0);
	fa = pv_evtchn_fd(a);
	fb = pv_evtchn_fd(b);
	CU_ASSERT_EQUAL(pv_evtchn_pending(b), -EAGAIN);
	CU_ASSERT_EQUAL(pv_evtchn_notify(a, pa), 0);
	CU_ASSERT_EQUAL(wait_readable(fb, 1000), 1);
	CU_ASSERT_EQUAL(pv_evtchn_pending(b), (int)pb);
	CU_ASSERT_EQUAL(pv_evtchn_pending(b), -EAGAIN);
	/*
	 * Masked now: notifications pend but deliver nothing.  The first may wake B once
	 * (the sim's mask is B's own: the kernel learns of it then), none after it ...
	 */
	CU_ASSERT_EQUAL(pv_evtchn_notify(a, pa), 0);
	CU_ASSERT_EQUAL(pv_evtchn_notify(a, pa), 0);
	CU_ASSERT_EQUAL(pv_evtchn_pending(b), -EAGAIN);
	CU_ASSERT_EQUAL(wait_readable(fb, 50), 0);
	CU_ASSERT_EQUAL(pv_evtchn_notify(a, pa), 0);
	CU_ASSERT_EQUAL(wait_readable(fb, 50), 0);
	CU_ASSERT_EQUAL(pv_evtchn_pending(b), -EAGAIN);
	/* ... until unmasked, when the pending event is delivered, once. */
	CU_ASSERT_EQUAL(pv_evtchn_unmask(b, pb), 0);
	CU_ASSERT_EQUAL(wait_readable(fb, 1000), 1);
	CU_ASSERT_EQUAL(pv_evtchn_pending(b), (int)pb);
	CU_ASSERT_EQUAL(pv_evtchn_unmask(b, pb), 0);
	CU_ASSERT_EQUAL(wait_readable(fb, 50), 0);
	/* And the other way. */
	CU_ASSERT_EQUAL(pv_evtchn_notify(b, pb), 0);
	CU_ASSERT_EQUAL(wait_readable(fa, 1000), 1);
	CU_ASSERT_EQUAL(pv_evtchn_pending(a), (int)pa);
	CU_ASSERT_EQUAL(pv_evtchn_unbind(b, pb), 0);
	CU_ASSERT_EQUAL(pv_evtchn_unbind(a, pa), 0);
	CU_ASSERT_EQUAL(pv_evtchn_notify(a, pa), -EINVAL);
	pv_platform_close(b);
	pv_platform_close(a);
}

/*
 * pv_evtchn_pending_batch: every pending port in one call (each masked, as
 * pv_evtchn_pending leaves it), at most max of them (the rest stay pending for the next
 * call), none while masked, and the one left pending during the mask after the unmask.
 */
static void test_evtchn_pending_batch(void)
{
	struct pv_platform *a, *b;
	evtchn_port_t pa[3], pb[3], got[8];
	unsigned int i, seen;
	int fb, n;

	CU_ASSERT_EQUAL_FATAL(open_dom(1, &a), 0);
	CU_ASSERT_EQUAL_FATAL(open_dom(2, &b), 0);
	for (i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL_FATAL(pv_evtchn_alloc_unbound(a, 2, &pa[i]), 0);
		CU_ASSERT_EQUAL_FATAL(pv_evtchn_bind_interdomain(b, 1, pa[i], &pb[i]), 0);
	}
	fb = pv_evtchn_fd(b);
	CU_ASSERT_EQUAL(pv_evtchn_pending_batch(b, got, 8), 0);
	for (i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(pv_evtchn_notify(a, pa[i]), 0);
	CU_ASSERT_EQUAL(wait_readable(fb, 1000), 1);
	/* Two asked for: two given, the third still pending (the fd still readable). */
	n = pv_evtchn_pending_batch(b, got, 2);
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT_EQUAL(wait_readable(fb, 1000), 1);
	CU_ASSERT_EQUAL(pv_evtchn_pending_batch(b, got + 2, 8), 1);
	for (i = 0, seen = 0; i < 3; i++)
		seen |= (got[i] == pb[0]) << 0 | (got[i] == pb[1]) << 1 | (got[i] == pb[2]) << 2;
	CU_ASSERT_EQUAL(seen, 7u);
	CU_ASSERT_EQUAL(pv_evtchn_pending_batch(b, got, 8), 0);
	/*
	 * All masked: a notification pends and delivers nothing (it may wake b once), until
	 * its port is unmasked; a port unmasked with nothing pending stays quiet.
	 */
	CU_ASSERT_EQUAL(pv_evtchn_notify(a, pa[1]), 0);
	CU_ASSERT_EQUAL(pv_evtchn_pending_batch(b, got, 8), 0);
	CU_ASSERT_EQUAL(pv_evtchn_notify(a, pa[1]), 0);
	CU_ASSERT_EQUAL(wait_readable(fb, 50), 0);
	CU_ASSERT_EQUAL(pv_evtchn_pending_batch(b, got, 8), 0);
	for (i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(pv_evtchn_unmask(b, pb[i]), 0);
	CU_ASSERT_EQUAL(wait_readable(fb, 1000), 1);
	n = pv_evtchn_pending_batch(b, got, 8);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_EQUAL(got[0], pb[1]);
	CU_ASSERT_EQUAL(pv_evtchn_pending_batch(b, got, 8), 0);
	CU_ASSERT_EQUAL(pv_evtchn_pending_batch(b, NULL, 8), -EINVAL);
	CU_ASSERT_EQUAL(pv_evtchn_pending_batch(b, got, 0), -EINVAL);
	pv_platform_close(b);
	pv_platform_close(a);
}

static void test_evtchn_refused(void)
{
	struct pv_platform *a, *b, *c;
	evtchn_port_t pa, px;

	CU_ASSERT_EQUAL_FATAL(open_dom(1, &a), 0);
	CU_ASSERT_EQUAL_FATAL(open_dom(2, &b), 0);
	CU_ASSERT_EQUAL_FATAL(open_dom(3, &c), 0);
	CU_ASSERT_EQUAL_FATAL(pv_evtchn_alloc_unbound(a, 2, &pa), 0);
	CU_ASSERT_EQUAL(pv_evtchn_bind_interdomain(c, 1, pa, &px), -EINVAL); /* not for 3 */
	CU_ASSERT_EQUAL(pv_evtchn_bind_interdomain(b, 1, pa + 100, &px), -EINVAL);
	CU_ASSERT_EQUAL(pv_evtchn_bind_interdomain(b, 1, 0, &px), -EINVAL);
	CU_ASSERT_EQUAL(pv_evtchn_bind_interdomain(b, 99, pa, &px), -ESRCH);
	CU_ASSERT_EQUAL(pv_evtchn_alloc_unbound(a, 99, &px), -ESRCH);
	CU_ASSERT_EQUAL(pv_evtchn_bind_interdomain(b, 1, pa, &px), 0);
	CU_ASSERT_EQUAL(pv_evtchn_bind_interdomain(b, 1, pa, &px), -EINVAL); /* bound already */
	CU_ASSERT_EQUAL(pv_evtchn_notify(c, 5), -EINVAL);
	CU_ASSERT_EQUAL(pv_evtchn_unmask(c, 5000), -EINVAL);
	pv_platform_close(c);
	pv_platform_close(b);
	pv_platform_close(a);
}

/* A notification crosses processes: the child is domain 2 and answers every kick. */
static void test_evtchn_cross_process(void)
{
	struct pv_platform *a;
	evtchn_port_t pa;
	int i, st, got = 0;
	pid_t pid;

	CU_ASSERT_EQUAL_FATAL(open_dom(1, &a), 0);
	CU_ASSERT_EQUAL_FATAL(pv_evtchn_alloc_unbound(a, 2, &pa), 0);
	pid = fork();
	if (pid == 0) {
		struct pv_platform *b;
		evtchn_port_t pb;
		int k;

		if (open_dom(2, &b) < 0 || pv_evtchn_bind_interdomain(b, 1, pa, &pb) < 0)
			_exit(1);
		for (k = 0; k < 100; k++) {
			if (wait_readable(pv_evtchn_fd(b), 5000) != 1 || pv_evtchn_pending(b) != (int)pb ||
			    pv_evtchn_unmask(b, pb) < 0 || pv_evtchn_notify(b, pb) < 0)
				_exit(2);
		}
		pv_platform_close(b);
		_exit(0);
	}
	/* The child binds before our first kick lands: retry the first until it answers. */
	for (i = 0; i < 100; i++) {
		int r;

		do {
			CU_ASSERT_EQUAL(pv_evtchn_notify(a, pa), 0);
			r = wait_readable(pv_evtchn_fd(a), i == 0 ? 100 : 5000);
		} while (r == 0 && i == 0 && got++ < 50);
		if (r != 1 || pv_evtchn_pending(a) != (int)pa || pv_evtchn_unmask(a, pa) < 0)
			break;
	}
	CU_ASSERT_EQUAL(i, 100);
	waitpid(pid, &st, 0);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	pv_platform_close(a);
}

/* ---- domains and hostile callers ---------------------------------------------------------- */

static void test_domain_destroy_releases(void)
{
	struct pv_platform *a, *b;
	struct pv_dominfo info;
	grant_ref_t ref;
	uint8_t *pa, *pb;
	evtchn_port_t pa_port, pb_port;
	domid_t id;
	int before, after, rc = -EBUSY, tries;

	before = count_fds(T.simd);
	CU_ASSERT_EQUAL_FATAL(pv_sim_domain_create(T.dom0, PV_SIM_ANY_DOMID, &id), 0);
	CU_ASSERT(id >= 4);
	CU_ASSERT_EQUAL(pv_domain_info(T.dom0, id, &info), 0);
	CU_ASSERT_EQUAL(info.dying, 0);
	CU_ASSERT_EQUAL(pv_sim_domain_create(T.dom0, id, &id), -EEXIST);
	CU_ASSERT_EQUAL_FATAL(open_dom(1, &a), 0);
	CU_ASSERT_EQUAL_FATAL(open_dom(id, &b), 0);
	CU_ASSERT_EQUAL_FATAL(pv_gnt_share(a, id, 1, 1, &ref, (void **)&pa), 0);
	CU_ASSERT_EQUAL_FATAL(pv_gnt_map(b, 1, 1, &ref, 1, (void **)&pb), 0);
	CU_ASSERT_EQUAL_FATAL(pv_evtchn_alloc_unbound(b, 1, &pb_port), 0);
	CU_ASSERT_EQUAL_FATAL(pv_evtchn_bind_interdomain(a, id, pb_port, &pa_port), 0);
	CU_ASSERT_EQUAL(pv_gnt_unshare(a, pa, 1), -EBUSY);

	CU_ASSERT_EQUAL(pv_sim_domain_destroy(T.dom0, id), 0);
	CU_ASSERT_EQUAL(pv_domain_info(T.dom0, id, &info), -ESRCH);
	CU_ASSERT_EQUAL(pv_sim_domain_destroy(T.dom0, id), -ESRCH);
	CU_ASSERT_EQUAL(pv_sim_domain_destroy(T.dom0, 0), -EPERM);
	/* Its pins are released: the granter may take its page back. */
	for (tries = 0; tries < 100 && rc == -EBUSY; tries++) {
		rc = pv_gnt_unshare(a, pa, 1);
		if (rc == -EBUSY)
			usleep(10000);
	}
	CU_ASSERT_EQUAL(rc, 0);
	/* The dead domain's handle fails cleanly. */
	CU_ASSERT(pv_evtchn_alloc_unbound(b, 1, &pb_port) < 0);
	pv_platform_close(b);
	pv_platform_close(a);
	/* The daemon sees our handles close asynchronously: give it a moment. */
	for (tries = 0; tries < 100 && (after = count_fds(T.simd)) != before; tries++)
		usleep(10000);
	CU_ASSERT_EQUAL(before, after); /* the daemon holds no fd of the dead domain */
	if (before != after) {
		char cmd[96];

		snprintf(cmd, sizeof(cmd), "ls -l /proc/%d/fd >&2", (int)T.simd);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot list the daemon's fds\n");
	}
}

/*
 * A domain destroyed and created again under the same id gets a new grant table, which a
 * long-lived grantee (dom0 here, with the old domain's table cached) must reach.
 */
static void test_domid_reused(void)
{
	struct pv_platform *g;
	grant_ref_t ref;
	uint8_t *pg, *p0;
	domid_t id, id2;
	int round;

	CU_ASSERT_EQUAL_FATAL(pv_sim_domain_create(T.dom0, PV_SIM_ANY_DOMID, &id), 0);
	for (round = 0; round < 2; round++) {
		CU_ASSERT_EQUAL_FATAL(open_dom(id, &g), 0);
		CU_ASSERT_EQUAL_FATAL(pv_gnt_share(g, 0, 1, 1, &ref, (void **)&pg), 0);
		memset(pg, 0x30 + round, PV_PAGE_SIZE);
		CU_ASSERT_EQUAL_FATAL(pv_gnt_map(T.dom0, id, 1, &ref, 1, (void **)&p0), 0);
		CU_ASSERT_EQUAL(p0[0], 0x30 + round);
		CU_ASSERT_EQUAL(pv_gnt_unmap(T.dom0, p0, 1), 0);
		CU_ASSERT_EQUAL(pv_gnt_unshare(g, pg, 1), 0);
		pv_platform_close(g);
		CU_ASSERT_EQUAL_FATAL(pv_sim_domain_destroy(T.dom0, id), 0);
		if (round == 0) {
			CU_ASSERT_EQUAL_FATAL(pv_sim_domain_create(T.dom0, id, &id2), 0);
			CU_ASSERT_EQUAL(id2, id);
		}
	}
}

static void test_domu_is_not_toolstack(void)
{
	struct pv_platform *a;
	domid_t id;
	domid_t ids[16];

	CU_ASSERT_EQUAL_FATAL(open_dom(1, &a), 0);
	CU_ASSERT_EQUAL(pv_sim_domain_create(a, 50, &id), -EPERM);
	CU_ASSERT_EQUAL(pv_sim_domain_destroy(a, 2), -EPERM);
	CU_ASSERT(pv_sim_domain_list(T.dom0, ids, 16) >= 4);
	pv_platform_close(a);
}

/* Raw packets on a hypercall socket, as a broken or hostile process would send them. */
static int raw_connect(unsigned int domid)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/dom%u/hypercall", T.rundir, domid);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int raw_call(int fd, const void *buf, size_t len, const int *fds, unsigned int nfds)
{
	struct pv_sim_msg r;
	int got[PV_SIM_MAX_FDS];
	unsigned int n, i;
	ssize_t k;

	if (pv_sim_send(fd, buf, len, fds, nfds) < 0)
		return -1000;
	k = pv_sim_recv(fd, &r, got, &n);
	for (i = 0; i < n; i++)
		close(got[i]);
	if (k < (ssize_t)offsetof(struct pv_sim_msg, data))
		return -1001;
	return r.ret;
}

static void test_hostile_hypercalls(void)
{
	struct pv_sim_msg m;
	int fd = raw_connect(1), mfd, gfd, fds[2];
	char tiny[3] = { 1, 2, 3 };

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(raw_call(fd, tiny, sizeof(tiny), NULL, 0), -EINVAL);
	memset(&m, 0, sizeof(m));
	m.op = 9999;
	CU_ASSERT_EQUAL(raw_call(fd, &m, offsetof(struct pv_sim_msg, data), NULL, 0), -ENOSYS);
	m.op = PV_SIM_OP_HELLO;
	m.a[0] = 77;
	CU_ASSERT_EQUAL(raw_call(fd, &m, offsetof(struct pv_sim_msg, data), NULL, 0), -EPROTONOSUPPORT);
	m.op = PV_SIM_OP_EVTCHN_CLOSE;
	m.a[0] = 1ull << 40;
	CU_ASSERT_EQUAL(raw_call(fd, &m, offsetof(struct pv_sim_msg, data), NULL, 0), -EINVAL);
	m.op = PV_SIM_OP_EVTCHN_BIND;
	m.a[0] = 1ull << 40;
	CU_ASSERT_EQUAL(raw_call(fd, &m, offsetof(struct pv_sim_msg, data), NULL, 0), -ESRCH);
	m.op = PV_SIM_OP_DOMAIN_INFO;
	m.a[0] = ~0ull;
	CU_ASSERT_EQUAL(raw_call(fd, &m, offsetof(struct pv_sim_msg, data), NULL, 0), -ESRCH);
	m.op = PV_SIM_OP_GET_PEER;
	m.a[0] = 2;
	CU_ASSERT(raw_call(fd, &m, offsetof(struct pv_sim_msg, data), NULL, 0) < 0);

	/* Registering memory: no fds, unsealed fds, fds too small, absurd sizes. */
	m.op = PV_SIM_OP_REGISTER_GNTTAB;
	m.a[0] = 16;
	m.a[1] = 64;
	CU_ASSERT_EQUAL(raw_call(fd, &m, offsetof(struct pv_sim_msg, data), NULL, 0), -EINVAL);
	mfd = memfd_create("t", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	gfd = memfd_create("t", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	CU_ASSERT_FATAL(mfd >= 0 && gfd >= 0);
	CU_ASSERT_EQUAL(ftruncate(mfd, 16 * 4096), 0);
	CU_ASSERT_EQUAL(ftruncate(gfd, 64 * 8), 0);
	fds[0] = mfd;
	fds[1] = gfd;
	CU_ASSERT_EQUAL(raw_call(fd, &m, offsetof(struct pv_sim_msg, data), fds, 2), -EINVAL); /* unsealed */
	CU_ASSERT_EQUAL(fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);
	CU_ASSERT_EQUAL(fcntl(gfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);
	m.a[0] = 17; /* more pages than the memfd holds */
	CU_ASSERT_EQUAL(raw_call(fd, &m, offsetof(struct pv_sim_msg, data), fds, 2), -EINVAL);
	m.a[0] = 1ull << 40;
	CU_ASSERT_EQUAL(raw_call(fd, &m, offsetof(struct pv_sim_msg, data), fds, 2), -EINVAL);
	m.a[0] = 16;
	m.a[1] = 65;
	CU_ASSERT_EQUAL(raw_call(fd, &m, offsetof(struct pv_sim_msg, data), fds, 2), -EINVAL);
	m.a[1] = 64;
	CU_ASSERT_EQUAL(raw_call(fd, &m, offsetof(struct pv_sim_msg, data), fds, 2), 0);
	CU_ASSERT_EQUAL(raw_call(fd, &m, offsetof(struct pv_sim_msg, data), fds, 2), -EBUSY);
	/* Fds sent with an op that takes none are closed, not kept. */
	m.op = PV_SIM_OP_DOMAIN_INFO;
	m.a[0] = 1;
	CU_ASSERT_EQUAL(raw_call(fd, &m, offsetof(struct pv_sim_msg, data), fds, 2), 0);
	close(mfd);
	close(gfd);
	close(fd);
	/* And the daemon still serves everyone. */
	{
		struct pv_dominfo info;

		CU_ASSERT_EQUAL(pv_domain_info(T.dom0, 1, &info), 0);
	}
}



/*
 * Everything a domain can write, written over: the fds its hypercall connection gets
 * (HELLO, and GET_PEER of its granter, but the granter's memory itself: the sim shares
 * that, docs/sim-platform.md) are mapped writable, or re-opened read-write through
 * /proc when the mapping is refused, and filled with 0xFF and then zeros.  Domain 2 has
 * a page of domain 1 mapped through the library meanwhile: domain 1 must still see it in
 * use (unshare -EBUSY), and once domain 2 unmaps it, take it back.
 */
static void scribble_fd(int fd)
{
	char path[64];
	struct stat st;
	uint8_t *w;
	int rw;

	if (fstat(fd, &st) < 0 || st.st_size <= 0)
		return;
	w = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (w == MAP_FAILED) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		rw = open(path, O_RDWR | O_CLOEXEC);
		if (rw < 0)
			return;
		w = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, rw, 0);
		if (w == MAP_FAILED) {
			static const uint8_t zero[64];

			/* No writable mapping: plain writes, wherever they are let through. */
			for (off_t o = 0; o < st.st_size; o += sizeof(zero))
				if (pwrite(rw, zero, sizeof(zero), o) < 0)
					break;
			close(rw);
			return;
		}
		close(rw);
	}
	memset(w, 0xFF, (size_t)st.st_size);
	memset(w, 0, (size_t)st.st_size);
	munmap(w, (size_t)st.st_size);
}

static int raw_fds(int fd, uint32_t op, uint64_t a0, int *got, unsigned int *n)
{
	struct pv_sim_msg m = { .op = op, .a = { a0 } };

	*n = 0;
	if (pv_sim_send(fd, &m, offsetof(struct pv_sim_msg, data), NULL, 0) < 0 ||
	    pv_sim_recv(fd, &m, got, n) < (ssize_t)offsetof(struct pv_sim_msg, data))
		return -1;
	return m.ret;
}

static void test_scribbling_mapper(void)
{
	struct pv_platform *a, *b;
	int fd, got[PV_SIM_MAX_FDS];
	unsigned int n, i;
	grant_ref_t ref;
	uint8_t *pa, *pb;

	CU_ASSERT_EQUAL_FATAL(open_dom(1, &a), 0);
	CU_ASSERT_EQUAL_FATAL(open_dom(2, &b), 0);
	CU_ASSERT_EQUAL_FATAL(pv_gnt_share(a, 2, 1, 1, &ref, (void **)&pa), 0);
	CU_ASSERT_EQUAL_FATAL(pv_gnt_map(b, 1, 1, &ref, 1, (void **)&pb), 0);
	fd = raw_connect(2);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(raw_fds(fd, PV_SIM_OP_HELLO, PV_SIM_PROTO_VERSION, got, &n), 0);
	for (i = 0; i < n; i++) {
		scribble_fd(got[i]);
		close(got[i]);
	}
	CU_ASSERT_EQUAL_FATAL(raw_fds(fd, PV_SIM_OP_GET_PEER, 1, got, &n), 0);
	CU_ASSERT_FATAL(n >= 2);
	for (i = 0; i < n; i++) {
		if (i > 0) /* got[0] is domain 1's memory */
			scribble_fd(got[i]);
		close(got[i]);
	}
	/* The library's own view of domain 1, too: another mapper is as hostile as this one. */
	CU_ASSERT_EQUAL(pv_gnt_unshare(a, pa, 1), -EBUSY);
	close(fd);
	CU_ASSERT_EQUAL(pv_domain_info(T.dom0, 2, &(struct pv_dominfo){ 0 }), 0);
	CU_ASSERT_EQUAL(pv_gnt_unshare(a, pa, 1), -EBUSY);
	pb[0] = 0x5A;
	CU_ASSERT_EQUAL(pa[0], 0x5A);
	CU_ASSERT_EQUAL(pv_gnt_unmap(b, pb, 1), 0);
	CU_ASSERT_EQUAL(pv_gnt_unshare(a, pa, 1), 0);
	pv_platform_close(b);
	pv_platform_close(a);
}

/*
 * A mapper SIGKILLed at any point of mapping and unmapping 32 pages in a loop leaves no
 * pin behind: once the daemon has seen it go, the granter takes every page back.  The
 * kill points are random (seeded, so a failure can be replayed).
 */
#define KILL_ROUNDS 60
#define KILL_PAGES  32

static void test_mapper_killed_anywhere(void)
{
	uint64_t seed = 0x9e3779b97f4a7c15ull ^ (uint64_t)getpid();
	struct pv_platform *a;
	grant_ref_t refs[KILL_PAGES];
	unsigned int round, leaked = 0, i;
	uint8_t *pa;
	int rc = 0;

	printf("\n    seed %#llx\n", (unsigned long long)seed);
	CU_ASSERT_EQUAL_FATAL(open_dom(1, &a), 0);
	for (round = 0; round < KILL_ROUNDS && !leaked; round++) {
		int go[2], st;
		char c;
		pid_t pid;

		CU_ASSERT_EQUAL_FATAL(pv_gnt_share(a, 2, KILL_PAGES, 1, refs, (void **)&pa), 0);
		CU_ASSERT_EQUAL_FATAL(pipe(go), 0);
		pid = fork();
		CU_ASSERT_FATAL(pid >= 0);
		if (pid == 0) {
			struct pv_platform *b;
			void *pb;

			close(go[0]);
			if (open_dom(2, &b) < 0)
				_exit(1);
			for (i = 0;; i++) {
				if (pv_gnt_map(b, 1, KILL_PAGES, refs, 1, &pb) < 0)
					_exit(2);
				((uint8_t *)pb)[0] = (uint8_t)i;
				if (pv_gnt_unmap(b, pb, KILL_PAGES) < 0)
					_exit(3);
				if (i == 0 && write(go[1], "g", 1) != 1)
					_exit(4);
			}
		}
		close(go[1]);
		/* Killed once it has mapped at least once, at a random point after. */
		CU_ASSERT_EQUAL(read(go[0], &c, 1), 1);
		close(go[0]);
		usleep((useconds_t)pv_simtest_rand(&seed, 3000));
		kill(pid, SIGKILL);
		CU_ASSERT_EQUAL(waitpid(pid, &st, 0), pid);
		CU_ASSERT(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
		/* The daemon sees the connection close on its next pass. */
		for (i = 0; i < 500 && (rc = pv_gnt_unshare(a, pa, KILL_PAGES)) == -EBUSY; i++)
			usleep(10000);
		if (rc != 0) {
			printf("    round %u: the killed mapper left a pin (unshare %d)\n", round, rc);
			leaked++;
		}
	}
	CU_ASSERT_EQUAL(leaked, 0);
	pv_platform_close(a);
}

/*
 * What a map and an unmap cost: the round trips to the daemon (asserted: at most one
 * each per call) and the time (printed only: the machine is shared and noisy).
 */
static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void test_map_unmap_cost(void)
{
	static const unsigned int sizes[] = { 1, 32 };
	struct pv_platform *a, *b;
	grant_ref_t refs[32];
	unsigned int k, i, iters = 2000;
	uint8_t *pa;
	void *pb;

	CU_ASSERT_EQUAL_FATAL(open_dom(1, &a), 0);
	CU_ASSERT_EQUAL_FATAL(open_dom(2, &b), 0);
	CU_ASSERT_EQUAL_FATAL(pv_gnt_share(a, 2, 32, 1, refs, (void **)&pa), 0);
	CU_ASSERT_EQUAL_FATAL(pv_gnt_map(b, 1, 1, refs, 1, &pb), 0); /* learn the peer */
	CU_ASSERT_EQUAL_FATAL(pv_gnt_unmap(b, pb, 1), 0);
	printf("\n");
	for (k = 0; k < 2; k++) {
		uint64_t h0 = pv_sim_hypercalls(b);
		double t0 = now_us();

		for (i = 0; i < iters; i++) {
			if (pv_gnt_map(b, 1, sizes[k], refs, 1, &pb) < 0 ||
			    pv_gnt_unmap(b, pb, sizes[k]) < 0)
				break;
		}
		CU_ASSERT_EQUAL(i, iters);
		printf("    map+unmap of %2u pages: %.1f us, %.2f round trips\n", sizes[k],
		       (now_us() - t0) / iters, (double)(pv_sim_hypercalls(b) - h0) / iters);
		CU_ASSERT(pv_sim_hypercalls(b) - h0 <= 2ull * iters);
	}
	CU_ASSERT_EQUAL(pv_gnt_unshare(a, pa, 32), 0);
	pv_platform_close(b);
	pv_platform_close(a);
}

/*
 * pv_gnt_unmap_batch: a bad batch (an address not mapped, a wrong count, a mapping named
 * twice) is -EINVAL, costs no round trip and leaves every mapping in place; a good one
 * releases every page in one round trip per 512 pages, and the granter can then unshare.
 */
static void test_unmap_batch(void)
{
	struct pv_platform *a, *b;
	static grant_ref_t refs[600];
	void *m[16], *big[3], *two[2], *bad[2];
	unsigned int c[16], bigc[3] = { 200, 200, 200 }, twoc[2], badc[2], i, pages = 0;
	uint64_t h0, u0, mapped0;
	uint8_t *pa, junk[PV_PAGE_SIZE];

	CU_ASSERT_EQUAL_FATAL(open_dom(1, &a), 0);
	CU_ASSERT_EQUAL_FATAL(open_dom(2, &b), 0);
	CU_ASSERT_EQUAL_FATAL(pv_gnt_share(a, 2, 600, 1, refs, (void **)&pa), 0);
	mapped0 = simd_stat("pages-mapped");
	/* 16 mappings of 1 or 2 pages, as blkback's per-request maps are. */
	for (i = 0; i < 16; i++) {
		c[i] = 1 + i % 2;
		CU_ASSERT_EQUAL_FATAL(pv_gnt_map(b, 1, c[i], refs + pages, 1, &m[i]), 0);
		pages += c[i];
	}
	CU_ASSERT_EQUAL(simd_stat("pages-mapped") - mapped0, pages);

	h0 = pv_sim_hypercalls(b);
	bad[0] = m[0], badc[0] = c[0];
	bad[1] = junk, badc[1] = 1;
	CU_ASSERT_EQUAL(pv_gnt_unmap_batch(b, bad, badc, 2), -EINVAL);  /* not a mapping */
	bad[1] = m[1], badc[1] = c[1] + 1;
	CU_ASSERT_EQUAL(pv_gnt_unmap_batch(b, bad, badc, 2), -EINVAL);  /* wrong count */
	bad[1] = m[0], badc[1] = c[0];
	CU_ASSERT_EQUAL(pv_gnt_unmap_batch(b, bad, badc, 2), -EINVAL);  /* named twice */
	CU_ASSERT_EQUAL(pv_gnt_unmap_batch(b, m, c, 0), -EINVAL);
	CU_ASSERT_EQUAL(pv_sim_hypercalls(b), h0);
	CU_ASSERT_EQUAL(simd_stat("pages-mapped") - mapped0, pages);
	CU_ASSERT_EQUAL(((volatile uint8_t *)m[0])[0], pa[0]); /* still mapped */

	/* A partial batch (the last two), then the other 14 in one: one round trip each. */
	two[0] = m[14], twoc[0] = c[14];
	two[1] = m[15], twoc[1] = c[15];
	CU_ASSERT_EQUAL(pv_gnt_unmap_batch(b, two, twoc, 2), 0);
	CU_ASSERT_EQUAL(pv_sim_hypercalls(b) - h0, 1);
	CU_ASSERT_EQUAL(simd_stat("pages-mapped") - mapped0, pages - c[14] - c[15]);
	CU_ASSERT_EQUAL(pv_gnt_unmap_batch(b, m, c, 14), 0);
	CU_ASSERT_EQUAL(pv_sim_hypercalls(b) - h0, 2);
	CU_ASSERT_EQUAL(simd_stat("pages-mapped"), mapped0);
	CU_ASSERT_EQUAL(pv_gnt_unmap(b, m[3], c[3]), -EINVAL); /* gone */
	CU_ASSERT_EQUAL(pv_gnt_unmap_batch(b, two, twoc, 2), -EINVAL);

	/* 600 pages: two round trips (512 handles each at most). */
	for (i = 0; i < 3; i++)
		CU_ASSERT_EQUAL_FATAL(pv_gnt_map(b, 1, 200, refs + 200 * i, 1, &big[i]), 0);
	h0 = pv_sim_hypercalls(b);
	u0 = simd_stat("unmap-calls");
	CU_ASSERT_EQUAL(pv_gnt_unmap_batch(b, big, bigc, 3), 0);
	CU_ASSERT_EQUAL(pv_sim_hypercalls(b) - h0, 2);
	CU_ASSERT_EQUAL(simd_stat("unmap-calls") - u0, 2); /* as the daemon counts them */
	CU_ASSERT_EQUAL(simd_stat("pages-mapped"), mapped0);
	/* Nothing pinned any more: the granter can end every grant. */
	CU_ASSERT_EQUAL(pv_gnt_unshare(a, pa, 600), 0);
	pv_platform_close(b);
	pv_platform_close(a);
}

/*
 * pv_gnt_map_batch: 16 mappings of 1 or 2 pages in one round trip, each its own mapping
 * (its pages are the granter's, in order; unmapped on its own or in a batch).  A batch with
 * a ref not granted to us is refused whole, at no round trip (the daemon's table says so),
 * and one the daemon refuses (a ref past the granter's table) leaves nothing pinned.
 */
static void test_map_batch(void)
{
	struct pv_platform *a, *b;
	static grant_ref_t refs[600], brefs[600];
	unsigned int c[16], bigc[3] = { 200, 200, 200 }, i, j, pages = 0;
	void *m[16], *big[3];
	uint64_t h0, mapped0;
	uint8_t *pa;

	CU_ASSERT_EQUAL_FATAL(open_dom(1, &a), 0);
	CU_ASSERT_EQUAL_FATAL(open_dom(2, &b), 0);
	CU_ASSERT_EQUAL_FATAL(pv_gnt_share(a, 2, 600, 1, refs, (void **)&pa), 0);
	for (i = 0; i < 600; i++)
		memset(pa + (size_t)i * PV_PAGE_SIZE, (int)(i * 7 + 1), PV_PAGE_SIZE);
	/* Every other page, in reverse: the mappings need not be the granter's order. */
	for (i = 0; i < 16; i++) {
		c[i] = 1 + i % 2;
		for (j = 0; j < c[i]; j++, pages++)
			brefs[pages] = refs[598 - 2 * pages];
	}
	CU_ASSERT_EQUAL_FATAL(pv_gnt_map(b, 1, 1, refs, 1, &m[0]), 0); /* learn the peer */
	CU_ASSERT_EQUAL_FATAL(pv_gnt_unmap(b, m[0], 1), 0);
	mapped0 = simd_stat("pages-mapped");
	h0 = pv_sim_hypercalls(b);
	CU_ASSERT_EQUAL_FATAL(pv_gnt_map_batch(b, 1, 16, c, brefs, 1, m), 0);
	CU_ASSERT_EQUAL(pv_sim_hypercalls(b) - h0, 1);
	CU_ASSERT_EQUAL(simd_stat("pages-mapped") - mapped0, pages);
	for (i = 0, pages = 0; i < 16; i++)
		for (j = 0; j < c[i]; j++, pages++) {
			uint8_t *pg = (uint8_t *)m[i] + (size_t)j * PV_PAGE_SIZE;
			unsigned int idx = 598 - 2 * pages;

			CU_ASSERT_EQUAL(pg[0], (uint8_t)(idx * 7 + 1));
			CU_ASSERT_EQUAL(pg[PV_PAGE_SIZE - 1], (uint8_t)(idx * 7 + 1));
			pg[5] = 0xa5; /* writable, and the granter's own page */
			CU_ASSERT_EQUAL(pa[(size_t)idx * PV_PAGE_SIZE + 5], 0xa5);
		}
	CU_ASSERT_EQUAL(pv_gnt_unmap(b, m[3], c[3] + 1), -EINVAL); /* each mapping is its own */
	CU_ASSERT_EQUAL(pv_gnt_unmap(b, m[3], c[3]), 0);
	CU_ASSERT_EQUAL(pv_gnt_unshare(a, pa, 600), -EBUSY);
	CU_ASSERT_EQUAL(pv_gnt_unmap_batch(b, m, c, 3), 0);
	CU_ASSERT_EQUAL(pv_gnt_unmap_batch(b, m + 4, c + 4, 12), 0);
	CU_ASSERT_EQUAL(simd_stat("pages-mapped"), mapped0);

	/* 600 pages in 3 mappings: one round trip per 256 refs. */
	h0 = pv_sim_hypercalls(b);
	CU_ASSERT_EQUAL_FATAL(pv_gnt_map_batch(b, 1, 3, bigc, refs, 0, big), 0);
	CU_ASSERT_EQUAL(pv_sim_hypercalls(b) - h0, 3);
	CU_ASSERT_EQUAL(((uint8_t *)big[2])[(size_t)199 * PV_PAGE_SIZE], (uint8_t)(599 * 7 + 1));
	CU_ASSERT_EQUAL(pv_gnt_unmap_batch(b, big, bigc, 3), 0);

	/* Refused whole: a ref never granted (no round trip), a ref past the table. */
	h0 = pv_sim_hypercalls(b);
	brefs[5] = refs[599] + 1000;
	CU_ASSERT(pv_gnt_map_batch(b, 1, 16, c, brefs, 1, m) < 0);
	brefs[5] = 1u << 30;
	CU_ASSERT(pv_gnt_map_batch(b, 1, 16, c, brefs, 1, m) < 0);
	CU_ASSERT_EQUAL(simd_stat("pages-mapped"), mapped0);
	CU_ASSERT(pv_sim_hypercalls(b) - h0 <= 2);
	/* Nothing pinned any more: the granter can end every grant. */
	CU_ASSERT_EQUAL(pv_gnt_unshare(a, pa, 600), 0);
	pv_platform_close(b);
	pv_platform_close(a);
}

/*
 * Creating a domain whose socket path another live daemon serves fails with EADDRINUSE,
 * and leaves that daemon's socket where it was.
 */
static void test_create_keeps_foreign_socket(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[128];
	domid_t id;
	int lfd, cfd;

	snprintf(dir, sizeof(dir), "%s/dom50", T.rundir);
	CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0755), 0);
	CU_ASSERT_FATAL((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/dom50/hypercall", T.rundir) < sizeof(sa.sun_path));
	lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	CU_ASSERT_FATAL(lfd >= 0);
	CU_ASSERT_EQUAL_FATAL(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	CU_ASSERT_EQUAL_FATAL(listen(lfd, 4), 0);
	CU_ASSERT_EQUAL(pv_sim_domain_create(T.dom0, 50, &id), -EADDRINUSE);
	/* Still there, still answering. */
	cfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	CU_ASSERT_EQUAL(connect(cfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(cfd);
	close(lfd);
	unlink(sa.sun_path);
	rmdir(dir);
	/* And with the path free, the domain can be made. */
	CU_ASSERT_EQUAL(pv_sim_domain_create(T.dom0, 50, &id), 0);
	CU_ASSERT_EQUAL(pv_sim_domain_destroy(T.dom0, 50), 0);
}

/* Runs pvio-ctl with args against this suite's daemon; returns its exit status, output in out. */
static int run_ctl(char *out, size_t outsz, const char *args)
{
	char cmd[1024];
	FILE *f;
	size_t n;
	int st;

	snprintf(cmd, sizeof(cmd), "%s --platform sim:%s:0 %s 2>&1", pv_simtest_bin("pvio-ctl"),
		 T.rundir, args);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	n = fread(out, 1, outsz - 1, f);
	out[n] = '\0';
	st = pclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_pvio_ctl_domains(void)
{
	char out[4096];
	struct pv_dominfo info;
	int st;

	CU_ASSERT_EQUAL(run_ctl(out, sizeof(out), "domain-create 42"), 0);
	CU_ASSERT_STRING_EQUAL(out, "42\n");
	CU_ASSERT_EQUAL(pv_domain_info(T.dom0, 42, &info), 0);
	CU_ASSERT_EQUAL(run_ctl(out, sizeof(out), "domain-list"), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\n42 "));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\n0 "));
	CU_ASSERT_EQUAL(run_ctl(out, sizeof(out), "domain-create 42"), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "File exists"));
	CU_ASSERT_EQUAL(run_ctl(out, sizeof(out), "domain-destroy 42"), 0);
	CU_ASSERT_EQUAL(pv_domain_info(T.dom0, 42, &info), -ESRCH);
	CU_ASSERT_EQUAL(run_ctl(out, sizeof(out), "domain-destroy 42"), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "No such process"));
	/* Bad arguments are usage errors, never a request. */
	CU_ASSERT_EQUAL(run_ctl(out, sizeof(out), "domain-create 99999"), 2);
	CU_ASSERT_EQUAL(run_ctl(out, sizeof(out), "domain-create 12abc"), 2);
	CU_ASSERT_EQUAL(run_ctl(out, sizeof(out), "domain-destroy"), 2);
	CU_ASSERT_EQUAL(run_ctl(out, sizeof(out), "domain-list extra"), 2);
	CU_ASSERT_EQUAL(run_ctl(out, sizeof(out), "domain-create +43"), 2);
	CU_ASSERT_EQUAL(run_ctl(out, sizeof(out), "domain-create ' 43'"), 2);
	CU_ASSERT_EQUAL(pv_domain_info(T.dom0, 43, &info), -ESRCH);
	CU_ASSERT_EQUAL(run_ctl(out, sizeof(out), "no-such-command"), 2);
	/* A domain that is not dom0 is refused by the daemon. */
	{
		char cmd[1024];

		snprintf(cmd, sizeof(cmd), "%s --platform sim:%s:1 domain-create >/dev/null 2>&1",
			 pv_simtest_bin("pvio-ctl"), T.rundir);
		st = system(cmd);
		CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 1);
	}
}


/* ---- a flooding domain ------------------------------------------------------------------ */

/*
 * The flood suite's daemon runs with a small RLIMIT_NOFILE (soft and hard, so that its own
 * raise to the hard limit changes nothing): a few hundred connections reach it.
 */
#define FLOOD_NOFILE 256
#define FLOOD_TRIES  (4 * FLOOD_NOFILE)
#define REPLY_MS     3000

static int reply_ms = REPLY_MS;

static int flood_init(void)
{
	char sock[128];
	domid_t id;
	unsigned int i;

	memset(&T, 0, sizeof(T));
	snprintf(T.rundir, sizeof(T.rundir), "/tmp/pvio-test-flood-XXXXXX");
	if (!mkdtemp(T.rundir))
		return -1;
	T.simd = fork();
	if (T.simd == 0) {
		struct rlimit rl = { FLOOD_NOFILE, FLOOD_NOFILE };

		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			_exit(126);
		execl(pv_simtest_bin("pvio-simd"), "pvio-simd", "--rundir", T.rundir, "--foreground",
		      (char *)NULL);
		_exit(127);
	}
	snprintf(sock, sizeof(sock), "%s/dom0/hypercall", T.rundir);
	if (T.simd < 0 || pv_simtest_wait_path(sock, 5000) < 0)
		goto fail;
	/* The path exists from bind(), a moment before listen(): connect may be refused. */
	for (i = 0; open_dom(0, &T.dom0) < 0; i++) {
		if (i == 500)
			goto fail;
		usleep(10000);
	}
	for (i = 1; i <= 2; i++)
		if (pv_sim_domain_create(T.dom0, i, &id) < 0 || id != i)
			goto fail;
	return 0;
fail:
	pv_simtest_stop(&T);
	return -1;
}

static int wait_in(int fd, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, ms) == 1 ? 0 : -1;
}

/* A new hypercall connection of domid says HELLO.  Returns its fd, or -1 if not served. */
static int hc_hello(unsigned int domid)
{
	struct pv_sim_msg m = { .op = PV_SIM_OP_HELLO, .a = { PV_SIM_PROTO_VERSION } };
	int fd = raw_connect(domid), got[PV_SIM_MAX_FDS];
	unsigned int n = 0, i;
	ssize_t k;

	if (fd < 0)
		return -1;
	fcntl(fd, F_SETFL, O_NONBLOCK);
	if (pv_sim_send(fd, &m, offsetof(struct pv_sim_msg, data), NULL, 0) < 0 ||
	    wait_in(fd, reply_ms) < 0) {
		close(fd);
		return -1;
	}
	k = pv_sim_recv(fd, &m, got, &n);
	for (i = 0; i < n; i++)
		close(got[i]);
	if (k < (ssize_t)offsetof(struct pv_sim_msg, data) || m.ret != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A new xenstore connection of domid reads path.  Returns its fd, or -1 if not served. */
static int xs_read_new(unsigned int domid, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct {
		struct xsd_sockmsg h;
		char body[256];
	} msg = { .h = { .type = XS_READ, .req_id = 7 } };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ssize_t k;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/dom%u/socket", T.rundir, domid);
	if (fd < 0)
		return -1;
	fcntl(fd, F_SETFL, O_NONBLOCK);
	msg.h.len = (uint32_t)strlen(path) + 1;
	memcpy(msg.body, path, msg.h.len);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    send(fd, &msg, sizeof(msg.h) + msg.h.len, MSG_NOSIGNAL) < 0 ||
	    wait_in(fd, reply_ms) < 0 ||
	    (k = recv(fd, &msg, sizeof(msg), 0)) < (ssize_t)sizeof(msg.h) ||
	    msg.h.type != XS_READ || msg.h.req_id != 7) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Domain 1 opens hypercall and xenstore connections and allocates event channels until
 * it is refused.  The daemon must refuse it before running out of fds, never spin on
 * accept(), and keep serving dom0 (old and new connections) and domain 2.
 */
static void test_flood_dom0_served(void)
{
	static int hc[FLOOD_TRIES], xs[FLOOD_TRIES];
	struct pv_platform *u;
	struct pv_dominfo info;
	unsigned int nhc = 0, nxs = 0, nports = 0, i;
	evtchn_port_t port;
	char *val = NULL;
	size_t len;
	int fd;

	CU_ASSERT_EQUAL_FATAL(open_dom(1, &u), 0);
	while (nhc < FLOOD_TRIES && (hc[nhc] = hc_hello(1)) >= 0)
		nhc++;
	while (nxs < FLOOD_TRIES && (xs[nxs] = xs_read_new(1, "domid")) >= 0)
		nxs++;
	while (nports < FLOOD_TRIES && pv_evtchn_alloc_unbound(u, 0, &port) == 0)
		nports++;
	/* Refused each time, and not because the test gave up first (the connections use
	 * up the domain's fd budget, so its ports may be refused at once). */
	CU_ASSERT(nhc > 0 && nhc < FLOOD_TRIES);
	CU_ASSERT(nxs > 0 && nxs < FLOOD_TRIES);
	CU_ASSERT(nports < FLOOD_TRIES);

	/* dom0's open connection: xenstore and hypercalls. */
	CU_ASSERT_EQUAL(pv_domain_info(T.dom0, 1, &info), 0);
	CU_ASSERT_EQUAL(pv_xs_read(T.dom0, 0, "/local/domain/1/domid", &val, &len), 0);
	free(val);
	CU_ASSERT_EQUAL(pv_evtchn_alloc_unbound(T.dom0, 2, &port), 0);
	/* New connections of dom0 and of the other domain are accepted and answered. */
	fd = hc_hello(0);
	CU_ASSERT(fd >= 0);
	if (fd >= 0)
		close(fd);
	fd = xs_read_new(0, "/local/domain/1/domid");
	CU_ASSERT(fd >= 0);
	if (fd >= 0)
		close(fd);
	fd = hc_hello(2);
	CU_ASSERT(fd >= 0);
	if (fd >= 0)
		close(fd);
	fd = xs_read_new(2, "domid");
	CU_ASSERT(fd >= 0);
	if (fd >= 0)
		close(fd);

	/* The flood ends: domain 1 is served again. */
	for (i = 0; i < nhc; i++)
		close(hc[i]);
	for (i = 0; i < nxs; i++)
		close(xs[i]);
	pv_platform_close(u);
	for (i = 0; i < 50 && (fd = hc_hello(1)) < 0; i++)
		usleep(20000); /* the daemon sees the closes on its next pass */
	CU_ASSERT(fd >= 0);
	if (fd >= 0)
		close(fd);
}


/*
 * A domU's event channels are capped (libxl's max_event_channels, or its fd budget if
 * that is smaller) well below the port space: a loop of allocations is refused early and
 * dom0 still gets ports.  Closing the handle gives them all back.
 */
static void test_evtchn_cap(void)
{
	struct pv_platform *u;
	evtchn_port_t port;
	unsigned int n = 0;
	int rc;

	CU_ASSERT_EQUAL_FATAL(open_dom(3, &u), 0);
	while ((rc = pv_evtchn_alloc_unbound(u, 0, &port)) == 0 && n < PV_SIM_MAX_PORTS)
		n++;
	CU_ASSERT(rc == -ENOSPC || rc == -EMFILE);
	CU_ASSERT(n > 0 && n < PV_SIM_MAX_PORTS / 2);
	CU_ASSERT_EQUAL(pv_evtchn_alloc_unbound(T.dom0, 3, &port), 0);
	CU_ASSERT_EQUAL(pv_evtchn_unbind(T.dom0, port), 0);
	pv_platform_close(u);
	/* The daemon sees the close on its next pass. */
	CU_ASSERT_EQUAL_FATAL(open_dom(3, &u), 0);
	for (n = 0; n < 500 && (rc = pv_evtchn_alloc_unbound(u, 0, &port)) < 0; n++)
		usleep(10000);
	CU_ASSERT_EQUAL(rc, 0);
	pv_platform_close(u);
}

static CU_TestInfo grant_tests[] = {
	{ "share A->B; B maps, copies both ways; unshare ends access", test_share_map_copy },
	{ "domain C, bogus refs and absent domains are refused", test_refused },
	{ "read-only grant: no writable map, no copy into it, a write faults", test_readonly },
	{ "unshare while mapped is -EBUSY and changes nothing", test_unshare_busy },
	{ "a grantee killed with pages mapped: its pins are released", test_grantee_dies },
	{ "a busy unshare leaves read-only entries read-only", test_unshare_busy_keeps_readonly },
	{ "a third domain's forged maptrack leaves another's pins intact", test_forged_maptrack },
	{ "GET_PEER needs a live grant: revoked grants close the granter's memory", test_get_peer_needs_live_grant },
	{ "a mapper writing over all it can write leaves its granter's in-use view", test_scribbling_mapper },
	{ "a mapper killed at any point leaves no pin behind", test_mapper_killed_anywhere },
	{ "map+unmap of 1 and 32 pages: round trips and time", test_map_unmap_cost },
	{ "unmap batch: bad batches change nothing; one round trip per 512 pages", test_unmap_batch },
	{ "map batch: many mappings, one round trip; refused whole, nothing pinned", test_map_batch },
	{ "failed maps and copies on a current view ask the daemon nothing", test_failed_grants_no_round_trips },
	{ "epochs are read-only to domains; old views of a granter are freed", test_epochs_and_old_views },
	{ "a refused registration leaves nothing half set up", test_register_refused_then_retry },
	{ "a granter that restarts: grantees reach its new memory, not the dead one", test_granter_restarts },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo evtchn_tests[] = {
	{ "notify both ways; mask holds an event pending until unmask", test_evtchn_notify_and_mask },
	{ "pending batch: every pending port in one call, at most max; masks hold", test_evtchn_pending_batch },
	{ "binding a port not offered to us, or of no domain, is refused", test_evtchn_refused },
	{ "notifications cross processes", test_evtchn_cross_process },
	{ "a domU's event channels are capped; dom0 still gets ports", test_evtchn_cap },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo domain_tests[] = {
	{ "domain destroy releases grants, ports and daemon fds", test_domain_destroy_releases },
	{ "a domU cannot create or destroy domains", test_domu_is_not_toolstack },
	{ "a domain id reused: its new grant table is reached, not the old one", test_domid_reused },
	{ "pvio-ctl domain-create, -list, -destroy and their errors", test_pvio_ctl_domains },
	{ "hostile hypercall packets get errors; the daemon keeps serving", test_hostile_hypercalls },
	{ "a failed domain create leaves another daemon's socket alone", test_create_keeps_foreign_socket },
	CU_TEST_INFO_NULL,
};


/*
 * Six domains flooding together use up the daemon's fds (each stays inside its own
 * budget): accept() fails and the listeners pause.  dom0's open connection is served
 * throughout, and once the flood ends the listeners are back: new connections of dom0
 * and of a flooder are answered again.
 */
static void test_flood_fds_exhausted(void)
{
	static int fds[2 * FLOOD_TRIES];
	struct pv_dominfo info;
	unsigned int n = 0, i, d;
	char *val = NULL;
	size_t len;
	domid_t id;
	int fd = -1;

	for (d = 3; d <= 6; d++)
		CU_ASSERT_EQUAL_FATAL(pv_sim_domain_create(T.dom0, d, &id), 0);
	reply_ms = 300; /* a paused listener answers nobody: do not wait long for it */
	for (d = 1; d <= 6; d++) {
		while (n < 2 * FLOOD_TRIES && (fds[n] = hc_hello(d)) >= 0)
			n++;
		while (n < 2 * FLOOD_TRIES && (fds[n] = xs_read_new(d, "domid")) >= 0)
			n++;
	}
	reply_ms = REPLY_MS;
	/*
	 * Each domain may hold FLOOD_NOFILE / 8 daemon fds (two per hypercall connection)
	 * and as many xenstore connections: six of them would hold more fds than the daemon
	 * has, so it ran out before their caps did.
	 */
	CU_ASSERT(n > FLOOD_NOFILE / 2);
	CU_ASSERT(n < 6 * (FLOOD_NOFILE / 8 / 2 + FLOOD_NOFILE / 8));
	CU_ASSERT_EQUAL(pv_domain_info(T.dom0, 6, &info), 0);
	CU_ASSERT_EQUAL(pv_xs_read(T.dom0, 0, "/local/domain/6/domid", &val, &len), 0);
	free(val);
	for (i = 0; i < n; i++)
		close(fds[i]);
	/* The listeners come back (100 ms after their last failed accept). */
	for (i = 0; i < 100 && (fd = hc_hello(0)) < 0; i++)
		usleep(20000);
	CU_ASSERT(fd >= 0);
	if (fd >= 0)
		close(fd);
	for (i = 0; i < 100 && (fd = xs_read_new(0, "/local/domain/1/domid")) < 0; i++)
		usleep(20000);
	CU_ASSERT(fd >= 0);
	if (fd >= 0)
		close(fd);
	for (i = 0; i < 100 && (fd = hc_hello(4)) < 0; i++)
		usleep(20000);
	CU_ASSERT(fd >= 0);
	if (fd >= 0)
		close(fd);
	for (d = 3; d <= 6; d++)
		CU_ASSERT_EQUAL(pv_sim_domain_destroy(T.dom0, d), 0);
}

static CU_TestInfo flood_tests[] = {
	{ "a domain flooding connections and ports is refused; dom0 stays served", test_flood_dom0_served },
	{ "domains together exhaust the daemon's fds: it pauses, serves dom0, recovers", test_flood_fds_exhausted },
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{ "sim-grant", suite_init, suite_clean, NULL, NULL, grant_tests },
	{ "sim-evtchn", suite_init, suite_clean, NULL, NULL, evtchn_tests },
	{ "sim-domain", suite_init, suite_clean, NULL, NULL, domain_tests },
	{ "sim-flood", flood_init, suite_clean, NULL, NULL, flood_tests },
	{ "sim-listen", NULL, NULL, NULL, NULL, listen_tests },
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return pv_test_main(suites);
}
