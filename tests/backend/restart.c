/* SPDX-License-Identifier: MIT */
/*
 * restart.c - pvio-backd killed (SIGKILL) at random points with requests in flight and
 * answered out of order (--test-reorder holds finished requests back and answers them
 * shuffled), then restarted: every request must be answered exactly once, nothing may be
 * executed after its response, and every acknowledged write must be on disk.
 *
 * The guest side is the raw ring, so a duplicate, a lost request or a late access is
 * visible:
 *   - read:    after its response the guest writes a canary into the page; a read executed
 *              again later would overwrite it (checked at the end of the round and of the
 *              next one, while the page rests).
 *   - write:   after its response the guest overwrites its page; a write replayed later
 *              would put that on disk, where the written data must stay.
 *   - discard: after its response the guest writes new data there (host side); a discard
 *              replayed later would zero it.
 *   - flush, bad requests: answered exactly once, with the right status.
 * Every write goes to a 4 KiB region of its own, so all writes are checked at the end too.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "pv_test.h"
#include "restart.h"

#define R_ROUNDS   50
#define R_MAXREQ   28            /* per round; the ring has 32 slots */
#define R_REGIONS  2048          /* 4 KiB regions of the 8 MiB disk */
#define R_DISK     ((uint64_t)R_REGIONS * 4096)
#define R_DEVID    51800

enum { K_READ, K_WRITE, K_FLUSH, K_DISCARD, K_BAD };

struct r_req {
	uint64_t id;
	int kind;
	unsigned int page, region;
	unsigned int answers;
	int16_t status;
	uint8_t op;
};

static struct h_fe rf;
static uint64_t rseed = 0x9e3779b97f4a7c15ull;
static uint8_t written[R_REGIONS];   /* region holds pattern(region) (1) or the canary (2) */
static unsigned int next_region, settled; /* regions used; those before this round */
static unsigned long long tot_req, tot_lost, tot_dup, tot_late, tot_wrong;

static uint64_t rnd(void)
{
	rseed ^= rseed >> 12;
	rseed ^= rseed << 25;
	rseed ^= rseed >> 27;
	return rseed * 2685821657736338717ull;
}

static void pattern(uint8_t *p, uint32_t seed)
{
	unsigned int i;

	for (i = 0; i < 4096; i += 4) {
		uint32_t v = seed * 2654435761u + i;

		memcpy(p + i, &v, 4);
	}
}

static int disk_is(unsigned int region, uint32_t seed)
{
	uint8_t want[4096], got[4096];

	if (seed)
		pattern(want, seed);
	else
		memset(want, 0, sizeof(want));
	return pread(rf.diskfd, got, 4096, (off_t)region * 4096) == 4096 &&
	       memcmp(got, want, 4096) == 0;
}

static uint32_t canary(unsigned int x)
{
	return 0xC0DE0000u + x;
}

static int backd_start_seeded(unsigned int round)
{
	char opt[64];

	snprintf(opt, sizeof(opt), "--test-reorder=%u", 1000 + round);
	return h_backd_start(opt);
}

int restart_suite_init(void)
{
	struct h_conn c = { 0 };

	if (h_start("--test-reorder=999") < 0)
		return -1;
	if (h_attach(&rf, 1, R_DEVID, R_DISK, "w", NULL) < 0 || h_connect(&rf, &c) < 0)
		return -1;
	return 0;
}

int restart_suite_clean(void)
{
	int st = h_stop();

	h_fe_free(&rf);
	return st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0 ? -1 : 0;
}

/* A write of page 0 to sector 64: something to answer after a restart. */
static void fill_one(struct h_fe *f, struct blkif_request *r)
{
	memset(f->data, 0x42, 4096);
	h_rw(f, r, BLKIF_OP_WRITE, 64, 0, 8);
}

static void build(struct r_req *q, struct blkif_request *r, unsigned int page)
{
	uint64_t x = rnd() % 100;

	memset(r, 0, sizeof(*r));
	q->page = page;
	q->kind = x < 35 ? K_WRITE : x < 65 ? K_READ : x < 77 ? K_FLUSH : x < 89 ? K_DISCARD : K_BAD;
	if ((q->kind == K_READ && settled == 0) || next_region + 1 >= R_REGIONS)
		q->kind = K_FLUSH;
	switch (q->kind) {
	case K_WRITE:
		q->region = next_region++;
		pattern(rf.data + (size_t)page * 4096, q->region + 1);
		h_rw(&rf, r, BLKIF_OP_WRITE, (uint64_t)q->region * 8, page, 8);
		break;
	case K_READ:
		/* A region settled in an earlier round: its content is known. */
		q->region = (unsigned int)(rnd() % settled);
		memset(rf.data + (size_t)page * 4096, 0xEE, 4096);
		h_rw(&rf, r, BLKIF_OP_READ, (uint64_t)q->region * 8, page, 8);
		break;
	case K_FLUSH:
		r->operation = BLKIF_OP_FLUSH_DISKCACHE;
		break;
	case K_DISCARD: {
		struct blkif_request_discard dr = { .operation = BLKIF_OP_DISCARD };
		uint8_t buf[4096];

		q->region = next_region++;
		pattern(buf, q->region + 1);
		CU_ASSERT_EQUAL(pwrite(rf.diskfd, buf, 4096, (off_t)q->region * 4096), 4096);
		written[q->region] = 1;
		dr.sector_number = (uint64_t)q->region * 8;
		dr.nr_sectors = 8;
		memcpy(r, &dr, sizeof(dr));
		break;
	}
	default:
		/* Unknown operation or a read of no segment: answered at once, with an error. */
		if (rnd() & 1) {
			r->operation = 0x77;
		} else {
			r->operation = BLKIF_OP_READ;
			r->nr_segments = 0;
		}
		break;
	}
	q->op = r->operation;
	q->id = r->id = 0x5000000000ull + tot_req++;
	q->answers = 0;
}

/* What the guest does with a response: check it, then reuse the page or region. */
static void answer(struct r_req *reqs, unsigned int n, const struct blkif_response *rsp)
{
	struct r_req *q = NULL;
	unsigned int i;

	for (i = 0; i < n; i++)
		if (reqs[i].id == rsp->id)
			q = &reqs[i];
	if (!q) {
		tot_wrong++; /* an id from nowhere: a stale slot answered */
		return;
	}
	if (++q->answers > 1) {
		tot_dup++;
		return;
	}
	q->status = rsp->status;
	if (rsp->operation != q->op || (q->kind == K_BAD) != (rsp->status != BLKIF_RSP_OKAY)) {
		tot_wrong++;
		return;
	}
	switch (q->kind) {
	case K_READ: {
		uint8_t want[4096];
		uint8_t *pg = rf.data + (size_t)q->page * 4096;

		if (written[q->region] == 2)
			pattern(want, canary(q->region));
		else if (written[q->region] == 1)
			pattern(want, q->region + 1);
		else
			memset(want, 0, sizeof(want));
		if (memcmp(pg, want, 4096) != 0)
			tot_wrong++;
		pattern(pg, canary(100000 + q->page));
		break;
	}
	case K_WRITE:
		written[q->region] = 1;
		pattern(rf.data + (size_t)q->page * 4096, canary(200000 + q->page));
		break;
	case K_DISCARD: {
		uint8_t buf[4096];

		pattern(buf, canary(q->region));
		CU_ASSERT_EQUAL(pwrite(rf.diskfd, buf, 4096, (off_t)q->region * 4096), 4096);
		written[q->region] = 2;
		break;
	}
	default:
		break;
	}
}

static unsigned int drain(struct r_req *reqs, unsigned int n, int ms)
{
	struct blkif_response rsp;
	unsigned int got = 0;

	while (h_get(&rf, 0, &rsp, ms) == 0) {
		answer(reqs, n, &rsp);
		got++;
	}
	return got;
}

static int all_answered(const struct r_req *reqs, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (!reqs[i].answers)
			return 0;
	return 1;
}

/* Pages and regions a late access would have changed. */
static unsigned int late_accesses(const struct r_req *reqs, unsigned int n)
{
	uint8_t want[4096];
	unsigned int i, late = 0;

	for (i = 0; i < n; i++) {
		const struct r_req *q = &reqs[i];

		if (!q->answers || q->kind == K_BAD || q->kind == K_FLUSH)
			continue;
		switch (q->kind) {
		case K_READ:
			pattern(want, canary(100000 + q->page));
			late += memcmp(rf.data + (size_t)q->page * 4096, want, 4096) != 0;
			break;
		case K_WRITE:
			late += !disk_is(q->region, q->region + 1);
			break;
		case K_DISCARD:
			late += !disk_is(q->region, canary(q->region));
			break;
		}
	}
	return late;
}

static void test_kill_restart(void)
{
	static struct r_req prev[R_MAXREQ];
	static unsigned int nprev;
	unsigned int round, killed_busy = 0, reg;
	int rc;
	long long replayed = 0, lost_journals = 0;

	for (round = 0; round < R_ROUNDS; round++) {
		struct r_req reqs[R_MAXREQ];
		unsigned int n = 4 + (unsigned int)(rnd() % (R_MAXREQ - 3)), i, cut, t, left;
		unsigned int base = (round & 1) * 32;
		struct blkif_request r;
		int st;

		memset(reqs, 0, sizeof(reqs));
		settled = next_region;
		/* Published in two batches, the kill somewhere in or after them. */
		cut = (unsigned int)(rnd() % (n + 1));
		for (i = 0; i < n; i++) {
			build(&reqs[i], &r, base + i);
			h_put(&rf, 0, &r);
			if (i + 1 == cut) {
				h_push(&rf, 0);
				usleep((useconds_t)(rnd() % 300));
			}
		}
		h_push(&rf, 0);
		usleep((useconds_t)(rnd() % 2000));
		kill(h_backd, SIGKILL);
		waitpid(h_backd, &st, 0);
		h_backd = -1;
		drain(reqs, n, 1);
		killed_busy += !all_answered(reqs, n);
		CU_ASSERT_EQUAL_FATAL(backd_start_seeded(round), 0);
		for (t = 0; t < 500 && !all_answered(reqs, n); t++)
			drain(reqs, n, 10);
		drain(reqs, n, 30); /* a duplicate would come now */
		for (i = 0, left = 0; i < n; i++)
			left += !reqs[i].answers;
		/* This daemon's counters: it lived for this round only. */
		replayed += h_stat(&rf, "journal_replayed");
		lost_journals += h_stat(&rf, "journal_lost");
		tot_lost += left;
		tot_late += late_accesses(reqs, n) + late_accesses(prev, nprev);
		memcpy(prev, reqs, sizeof(reqs));
		nprev = n;
	}
	/* Everything written, from the first round on, is still there. */
	for (reg = 0; reg < next_region; reg++)
		if (written[reg] == 1)
			tot_late += !disk_is(reg, reg + 1);
	printf("\n    restart: %u rounds, %llu requests, killed with requests unanswered in %u, "
	       "executed again %lld: lost %llu, duplicated %llu, late page accesses %llu, "
	       "wrong %llu\n", R_ROUNDS, tot_req, killed_busy, replayed, tot_lost, tot_dup,
	       tot_late, tot_wrong);
	CU_ASSERT_EQUAL(tot_lost, 0);
	CU_ASSERT_EQUAL(tot_dup, 0);
	CU_ASSERT_EQUAL(tot_late, 0);
	CU_ASSERT_EQUAL(tot_wrong, 0);
	CU_ASSERT(killed_busy > R_ROUNDS / 4); /* the kills did land mid-flight */
	CU_ASSERT_EQUAL(lost_journals, 0);
	CU_ASSERT(replayed > 0);
	/*
	 * Closed by the back end (else -ETIMEDOUT), every page given back: the pins of a
	 * daemon killed mid-map live in pvio-simd, which drops them when it sees it go.
	 */
	rc = h_fe_close(&rf);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(h_detach(&rf), 0);
}

/* ---- a journal that is missing, corrupt, or contradicted by the guest -------------------- */

static void journal_path(const struct h_fe *f, char *buf, size_t len)
{
	snprintf(buf, len, "%s/vbd-%u-%u-q0.journal", h_sim.rundir, f->domid, f->devid);
}

static void backd_kill(void)
{
	int st;

	kill(h_backd, SIGKILL);
	waitpid(h_backd, &st, 0);
	h_backd = -1;
}

/* Three writes published, never kicked: outstanding on the ring when the daemon dies. */
static void put_unkicked(struct h_fe *f)
{
	struct blkif_request r;
	unsigned int i;

	for (i = 0; i < 3; i++) {
		h_rw(f, &r, BLKIF_OP_WRITE, i * 8, i, 8);
		h_put(f, 0, &r);
	}
	pv_ring_push_requests(&f->q[0].ring);
}

enum { J_DELETE, J_GARBAGE };

static void journal_spoil(const struct h_fe *f, int how)
{
	char path[300];
	FILE *fp;

	journal_path(f, path, sizeof(path));
	CU_ASSERT_EQUAL_FATAL(access(path, F_OK), 0); /* it was there */
	if (how == J_DELETE) {
		CU_ASSERT_EQUAL(unlink(path), 0);
		return;
	}
	/* Same size, random content: mapped, then refused by the checks. */
	fp = fopen(path, "r+");
	CU_ASSERT_FATAL(fp != NULL);
	while (ftell(fp) < 256 + 32 * 128) {
		uint64_t x = rnd();

		fwrite(&x, sizeof(x), 1, fp);
	}
	fclose(fp);
}

static void spoiled_case(int how, int outstanding, unsigned int devid)
{
	struct h_fe f;
	struct h_conn c = { 0 };
	struct blkif_request r;
	unsigned int i;

	CU_ASSERT_EQUAL_FATAL(h_attach(&f, 2, devid, 1u << 20, "w", NULL), 0);
	CU_ASSERT_EQUAL_FATAL(h_connect(&f, &c), 0);
	h_rw(&f, &r, BLKIF_OP_READ, 0, 0, 8);
	CU_ASSERT_EQUAL(h_do(&f, 0, &r), BLKIF_RSP_OKAY);
	if (outstanding)
		put_unkicked(&f);
	backd_kill();
	journal_spoil(&f, how);
	CU_ASSERT_EQUAL_FATAL(backd_start_seeded(7), 0);
	if (outstanding) {
		/*
		 * Which of them did the dead daemon answer?  Nobody knows: failed, with a
		 * reason, rather than possibly replaying stale writes.
		 */
		CU_ASSERT_EQUAL(h_wait_be_state(&f, 5, 5000), 0);
		CU_ASSERT(h_be_has(&f, "error"));
	} else {
		/*
		 * An idle ring: every request was answered and published, resuming is exact.
		 * (The state is Connected all along: wait for the new daemon to have judged.)
		 */
		for (i = 0; i < 500 && h_stat(&f, "journal_lost") != 1; i++)
			usleep(10000);
		CU_ASSERT_EQUAL(h_be_state(&f), 4);
		h_rw(&f, &r, BLKIF_OP_READ, 0, 0, 8);
		CU_ASSERT_EQUAL(h_do(&f, 0, &r), BLKIF_RSP_OKAY);
	}
	CU_ASSERT_EQUAL(h_stat(&f, "journal_lost"), 1);
	CU_ASSERT_EQUAL(h_detach(&f), 0);
	h_fe_free(&f);
}

static void test_journal_spoiled(void)
{
	spoiled_case(J_DELETE, 0, R_DEVID + 1);
	spoiled_case(J_DELETE, 1, R_DEVID + 2);
	spoiled_case(J_GARBAGE, 0, R_DEVID + 4);
	spoiled_case(J_GARBAGE, 1, R_DEVID + 3);
}

/* While the daemon is dead, the guest rewrites rsp_prod: believed only within the journal. */
static void test_guest_rsp_prod(void)
{
	static const uint32_t lies[] = { 1000, 0xffffffffu, 0x80000000u };
	struct h_fe f;
	struct h_conn c = { 0 };
	struct blkif_request r;
	unsigned int i;

	CU_ASSERT_EQUAL_FATAL(h_attach(&f, 2, R_DEVID + 8, 1u << 20, "w", NULL), 0);
	CU_ASSERT_EQUAL_FATAL(h_connect(&f, &c), 0);
	for (i = 0; i < 3; i++) {
		struct pv_sring *s = f.q[0].sring;

		h_rw(&f, &r, BLKIF_OP_READ, 0, 0, 8);
		CU_ASSERT_EQUAL(h_do(&f, 0, &r), BLKIF_RSP_OKAY);
		backd_kill();
		__atomic_store_n(&s->rsp_prod, s->rsp_prod + lies[i], __ATOMIC_RELEASE);
		CU_ASSERT_EQUAL_FATAL(backd_start_seeded(8 + i), 0);
		/* Served as if the guest had not lied (its next response sets rsp_prod right). */
		fill_one(&f, &r);
		CU_ASSERT_EQUAL(h_do(&f, 0, &r), BLKIF_RSP_OKAY);
		CU_ASSERT_EQUAL(h_be_state(&f), 4);
		CU_ASSERT_EQUAL(h_stat(&f, "journal_lost"), 0);
	}
	CU_ASSERT_EQUAL(h_detach(&f), 0);
	h_fe_free(&f);
}

/*
 * The journal's file layout (pv_blkback_journal.c), as far as these tests write it: a
 * 256-byte header whose req_cons and rsp_pub follow the identity, then 128-byte entries
 * of state, req_idx, rsp_idx, pad and the request's copy.
 */
#define J_HDR        256
#define J_REQ_CONS   104
#define J_RSP_PUB    108
#define J_ENT        128
#define J_INFLIGHT   1u

static void journal_path_q(const struct h_fe *f, unsigned int qi, char *buf, size_t len)
{
	snprintf(buf, len, "%s/vbd-%u-%u-q%u.journal", h_sim.rundir, f->domid, f->devid, qi);
}

static int pwrite_u32(int fd, off_t off, uint32_t v)
{
	return pwrite(fd, &v, 4, off) == 4 ? 0 : -1;
}

/*
 * Two entries for one request, the request before it missing: the entry count still
 * matches req_cons - rsp_prod, but a resume would execute one write twice and lose the
 * other.  Refused as inconsistent: with requests outstanding, the device fails.
 */
static void test_journal_duplicate(void)
{
	struct h_fe f;
	struct h_conn c = { 0 };
	struct blkif_request r;
	uint8_t slot[112];
	char path[300];
	uint32_t x;
	int fd;

	CU_ASSERT_EQUAL_FATAL(h_attach(&f, 2, R_DEVID + 10, 1u << 20, "w", NULL), 0);
	CU_ASSERT_EQUAL_FATAL(h_connect(&f, &c), 0);
	h_rw(&f, &r, BLKIF_OP_READ, 0, 0, 8);
	CU_ASSERT_EQUAL(h_do(&f, 0, &r), BLKIF_RSP_OKAY);
	put_unkicked(&f); /* ring indices x, x + 1, x + 2 */
	backd_kill();
	journal_path(&f, path, sizeof(path));
	fd = open(path, O_RDWR);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(pread(fd, &x, 4, J_RSP_PUB), 4);
	/* As if x and x + 1 were taken, with entry 0 and 1 both recording x + 1. */
	memcpy(slot, (uint8_t *)f.q[0].sring + 64 + (size_t)((x + 1) & 31) * 112, sizeof(slot));
	for (unsigned int e = 0; e < 2; e++) {
		off_t off = J_HDR + (off_t)e * J_ENT;

		CU_ASSERT_EQUAL(pwrite_u32(fd, off + 4, x + 1), 0);
		CU_ASSERT_EQUAL(pwrite(fd, slot, sizeof(slot), off + 16), (ssize_t)sizeof(slot));
		CU_ASSERT_EQUAL(pwrite_u32(fd, off, J_INFLIGHT), 0);
	}
	CU_ASSERT_EQUAL(pwrite_u32(fd, J_REQ_CONS, x + 2), 0);
	close(fd);
	CU_ASSERT_EQUAL_FATAL(backd_start_seeded(20), 0);
	CU_ASSERT_EQUAL(h_wait_be_state(&f, 5, 5000), 0);
	CU_ASSERT(h_be_has(&f, "error"));
	CU_ASSERT_EQUAL(h_stat(&f, "journal_lost"), 1);
	CU_ASSERT_EQUAL(h_stat(&f, "journal_replayed"), 0);
	CU_ASSERT_EQUAL(h_detach(&f), 0);
	h_fe_free(&f);
}

/* Three writes on queue qi, published, never kicked. */
static void put_unkicked_q(struct h_fe *f, unsigned int qi)
{
	struct blkif_request r;
	unsigned int i;

	for (i = 0; i < 3; i++) {
		h_rw(f, &r, BLKIF_OP_WRITE, 64 + qi * 32 + i * 8, i, 8);
		h_put(f, qi, &r);
	}
	pv_ring_push_requests(&f->q[qi].ring);
}

/*
 * A resume that fails part-way (queue 1's journal is missing, queue 0's was recovered
 * already) keeps the journals: a later attempt with queue 1's journal back resumes
 * exactly.  Before, the failed attempt deleted queue 0's journal, so every later attempt
 * failed the device too.
 */
static void test_journal_kept_after_failed_resume(void)
{
	struct h_fe f;
	struct h_conn c = { .nq = 2 };
	struct blkif_request r;
	struct blkif_response rsp;
	char j0[300], j1[300], bak[310], state[200];
	unsigned int qi, i;

	CU_ASSERT_EQUAL_FATAL(h_attach(&f, 3, R_DEVID + 11, 1u << 20, "w", NULL), 0);
	CU_ASSERT_EQUAL_FATAL(h_connect(&f, &c), 0);
	for (qi = 0; qi < 2; qi++) {
		h_rw(&f, &r, BLKIF_OP_READ, 0, 0, 8);
		CU_ASSERT_EQUAL(h_do(&f, qi, &r), BLKIF_RSP_OKAY);
		put_unkicked_q(&f, qi);
	}
	backd_kill();
	journal_path_q(&f, 0, j0, sizeof(j0));
	journal_path_q(&f, 1, j1, sizeof(j1));
	snprintf(bak, sizeof(bak), "%s.bak", j1);
	CU_ASSERT_EQUAL_FATAL(rename(j1, bak), 0);
	CU_ASSERT_EQUAL_FATAL(backd_start_seeded(21), 0);
	CU_ASSERT_EQUAL(h_wait_be_state(&f, 5, 5000), 0);
	CU_ASSERT(h_be_has(&f, "error"));
	CU_ASSERT_EQUAL(access(j0, F_OK), 0); /* kept for a later attempt */
	/* A later attempt: the state still Connected (say the Closing never got written). */
	backd_kill();
	CU_ASSERT_EQUAL_FATAL(rename(bak, j1), 0);
	snprintf(state, sizeof(state), "%s/state", f.be);
	CU_ASSERT_EQUAL(pv_xs_write(h_sim.dom0, 0, state, "4", 1), 0);
	CU_ASSERT_EQUAL_FATAL(backd_start_seeded(22), 0);
	for (qi = 0; qi < 2; qi++) {
		for (i = 0; i < 3; i++) {
			CU_ASSERT_EQUAL_FATAL(h_get(&f, qi, &rsp, 5000), 0);
			CU_ASSERT_EQUAL(rsp.status, BLKIF_RSP_OKAY);
		}
	}
	CU_ASSERT_EQUAL(h_be_state(&f), 4);
	CU_ASSERT_EQUAL(h_stat(&f, "journal_lost"), 0);
	CU_ASSERT_EQUAL(h_detach(&f), 0);
	/* The connection ended: its journals with it. */
	CU_ASSERT_NOT_EQUAL(access(j0, F_OK), 0);
	CU_ASSERT_NOT_EQUAL(access(j1, F_OK), 0);
	h_fe_free(&f);
}

/*
 * The toolstack removes a device while no daemon runs (a guest destroyed meanwhile): the
 * next daemon removes its journal as it starts, and keeps those of devices that exist.
 */
static void test_journal_swept(void)
{
	struct h_fe f;
	struct h_conn c = { 0 };
	struct blkif_request r;
	char gone[300], stray[300], live[300];
	FILE *fp;

	CU_ASSERT_EQUAL_FATAL(h_attach(&f, 2, R_DEVID + 12, 1u << 20, "w", NULL), 0);
	CU_ASSERT_EQUAL_FATAL(h_connect(&f, &c), 0);
	h_rw(&f, &r, BLKIF_OP_READ, 0, 0, 8);
	CU_ASSERT_EQUAL(h_do(&f, 0, &r), BLKIF_RSP_OKAY);
	put_unkicked(&f);
	backd_kill();
	journal_path(&f, gone, sizeof(gone));
	journal_path(&rf, live, sizeof(live));
	snprintf(stray, sizeof(stray), "%s/vbd-3-4242-q2.journal", h_sim.rundir);
	fp = fopen(stray, "w");
	CU_ASSERT_FATAL(fp != NULL);
	fclose(fp);
	CU_ASSERT_EQUAL(access(gone, F_OK), 0);
	CU_ASSERT_EQUAL(access(live, F_OK), 0);
	pv_xs_rm(h_sim.dom0, 0, f.be);
	pv_xs_rm(h_sim.dom0, 0, f.fe);
	CU_ASSERT_EQUAL_FATAL(backd_start_seeded(23), 0);
	CU_ASSERT_NOT_EQUAL(access(gone, F_OK), 0);
	CU_ASSERT_NOT_EQUAL(access(stray, F_OK), 0);
	CU_ASSERT_EQUAL(access(live, F_OK), 0);
	/* The device still there resumed as before. */
	fill_one(&rf, &r);
	CU_ASSERT_EQUAL(h_do(&rf, 0, &r), BLKIF_RSP_OKAY);
	h_fe_release(&f);
	h_fe_free(&f);
}

CU_TestInfo restart_tests[] = {
	{ "journal with two entries for one request: refused, the device fails",
	  test_journal_duplicate },
	{ "a resume failing part-way keeps the journals: a later attempt resumes exactly",
	  test_journal_kept_after_failed_resume },
	{ "journals of devices removed while no daemon ran: removed at start, others kept",
	  test_journal_swept },
	{ "journal missing or garbage: an idle ring resumes, a busy one fails with error",
	  test_journal_spoiled },
	{ "a guest's rsp_prod rewritten while the daemon was dead: not believed",
	  test_guest_rsp_prod },
	{ "SIGKILL at random points, answers reordered: exactly once, no late access, 50 rounds",
	  test_kill_restart },
	CU_TEST_INFO_NULL,
};
