/* SPDX-License-Identifier: MIT */
/*
 * pv_blkback_journal.c - the restart journal of one queue: what a pvio-backd that was
 * killed (kill -9, a crash, a SIGTERM drain that timed out) leaves behind so that its
 * successor resumes the ring exactly.
 *
 * Why the shared ring alone is not enough.  Responses are written at rsp_prod_pvt in the
 * order requests finish (bad requests at once, io_uring in any order), and each response
 * overwrites the slot of a request copied out earlier.  So after a crash, [rsp_prod,
 * req_prod) is not "the requests nobody answered": some of them were answered, and the
 * slots of others hold responses, not requests.  Resuming there answers requests twice,
 * re-runs reads into pages the guest reused, replays writes with stale data and loses the
 * requests whose slots were overwritten.
 *
 * The journal: a small file per queue beside the daemon's lock (the rundir on sim,
 * /run/pvio on Xen), mapped MAP_SHARED, so every store is in the page cache the moment it
 * is made and survives the process (not the host; a host crash takes the guest with it).
 * It holds req_cons, the rsp_prod last published, and for every request consumed but not
 * yet published: its private copy (the copy we validated and executed, not the slot the
 * guest can rewrite), its ring index, and whether it is in flight or being answered at
 * ring slot P.  The stores are ordered (release: the process dies between two
 * instructions, so what survives is a prefix of program order) such that every crash
 * point is recoverable:
 *
 *   intake     entry := {idx, copy}; entry.state := INFLIGHT; req_cons := idx + 1
 *   response   entry.rsp := P; entry.state := RESPONDING; write the response at slot P
 *   push       shared rsp_prod := R; rsp_pub := R; the entries answered below R := FREE
 *
 * Restart: R is the shared rsp_prod, the only witness of what the guest may have seen.
 * It is the guest's page, so it is checked against what the journal allows: rsp_pub <= R
 * <= rsp_pub + (entries RESPONDING at or after rsp_pub); outside that, rsp_pub (a guest
 * that rewrote its own rsp_prod can only hurt itself).  Entries RESPONDING below R were
 * answered: dropped.  Every other entry with an index below req_cons is executed again
 * and answered from R on: its response was never published, so the guest cannot have
 * reused its pages yet.  An INFLIGHT entry at or past req_cons was never consumed: its
 * request is still on the ring and is taken again as new.  The journal is consistent
 * exactly when no two entries share a ring index and the entries left are req_cons - R;
 * anything else (a corrupt, truncated or foreign file) is treated like a missing journal.
 *
 * Which connection: a resume is attempted when the back end's state, written by the
 * previous daemon, is Connected.  The header names domid, devid, queue, queue count, ring
 * order, ring refs and the front end's event channel, and the ring must continue where
 * the journal stopped (req_prod no more than a ring ahead of req_cons).  A front end that
 * started over while we were dead has a new ring (reset indices, usually new refs and a
 * new port): its journal does not match and, as its ring is idle, it is connected fresh
 * and the old journal overwritten, never applied.  The file is created at a fresh connect
 * and deleted when the connection ends (detach, Closing, removal); a daemon that exits on
 * SIGTERM keeps it for its successor, and so does a resume that fails part-way (another
 * queue's journal unusable, a port that will not bind): a later attempt can still resume
 * exactly, and the file goes with the device.  Journals of devices removed while no
 * daemon ran are removed when the next one starts (pv_blkback_journal_sweep).
 *
 * Missing or unusable journal on a Connected ring (/run wiped, an older daemon): if the
 * ring is idle (req_prod == rsp_prod) every request was answered and published, so
 * resuming at rsp_prod is exact: done, logged and counted.  Otherwise nobody can tell
 * which of the outstanding requests were answered, and re-running them may replay stale
 * writes over newer data: the device is failed (Closing, `error` node, counted) instead,
 * so the guest sees an I/O error rather than silent corruption.
 *
 * The old daemon's I/O must be over before anything runs again: see take_lock() in
 * pvio-backd.c and pv_blkback_io_start() (every io_uring holds the lock's file).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pv_blkback.h"

#define COMP "journal"

#define PV_BJ_MAGIC   0x4a4b4250u /* "PBKJ" */
#define PV_BJ_VERSION 1u
#define PV_BJ_HDR_SIZE 256u

enum { BJ_FREE = 0, BJ_INFLIGHT = 1, BJ_RESPONDING = 2 };

struct pv_bj_hdr {
	uint32_t magic, version;
	uint32_t domid, devid, queue, nqueues, order, nr_ents;
	uint32_t remote_port, nrefs;
	uint32_t refs[PV_RING_MAX_PAGES];
	uint32_t req_cons; /* live: requests consumed, each one journalled first */
	uint32_t rsp_pub;  /* live: the rsp_prod we last published */
};

struct pv_bj_ent {
	uint32_t state;
	uint32_t req_idx; /* ring index the request was taken from */
	uint32_t rsp_idx; /* RESPONDING: ring slot of its response */
	uint32_t pad;
	struct blkif_request req;
};

_Static_assert(sizeof(struct pv_bj_hdr) <= PV_BJ_HDR_SIZE, "journal header too large");
_Static_assert(sizeof(struct pv_bj_ent) == 128, "journal entry layout");

static void store(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static uint32_t load(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static size_t bj_len(unsigned int n)
{
	return PV_BJ_HDR_SIZE + (size_t)n * sizeof(struct pv_bj_ent);
}

static int bj_alloc(struct pv_blkback_queue *q)
{
	unsigned int n = q->ring.nr_ents;

	q->jn = n;
	q->jfree = calloc(n, sizeof(*q->jfree));
	q->junpub = calloc(n, sizeof(*q->junpub));
	q->jreplay = calloc(n, sizeof(*q->jreplay));
	return q->jfree && q->junpub && q->jreplay ? 0 : -ENOMEM;
}

static int bj_map(struct pv_blkback_queue *q, int create)
{
	size_t len = bj_len(q->ring.nr_ents);
	struct stat st;
	void *p;
	int fd, rc = 0;

	fd = open(q->jpath, create ? O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW :
				     O_RDWR | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	if (create && ftruncate(fd, (off_t)len) < 0)
		rc = -errno;
	else if (fstat(fd, &st) < 0)
		rc = -errno;
	else if (!S_ISREG(st.st_mode) || (size_t)st.st_size != len)
		rc = -EBADMSG; /* truncated, or another ring size: not ours */
	if (rc == 0) {
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED) {
			rc = -errno;
		} else {
			q->jh = p;
			q->je = (struct pv_bj_ent *)((uint8_t *)p + PV_BJ_HDR_SIZE);
			q->jlen = len;
		}
	}
	close(fd);
	return rc;
}

static void bj_unmap(struct pv_blkback_queue *q)
{
	if (q->jh)
		munmap(q->jh, q->jlen);
	q->jh = NULL;
	q->je = NULL;
	q->jlen = 0;
}

static void bj_identity(struct pv_blkback_queue *q, const grant_ref_t *refs, struct pv_bj_hdr *h)
{
	struct pv_blkback_dev *dev = q->dev;
	unsigned int i;

	memset(h, 0, sizeof(*h));
	h->magic = PV_BJ_MAGIC;
	h->version = PV_BJ_VERSION;
	h->domid = dev->domid;
	h->devid = dev->devid;
	h->queue = q->idx;
	h->nqueues = dev->nqueues;
	h->order = dev->ring_order;
	h->nr_ents = q->ring.nr_ents;
	h->remote_port = q->remote_port;
	h->nrefs = q->ring_pages;
	for (i = 0; i < q->ring_pages && i < PV_RING_MAX_PAGES; i++)
		h->refs[i] = refs[i];
}

/* A fresh journal at index idx (file mapped or created here).  Returns 0 or -errno. */
static int bj_create(struct pv_blkback_queue *q, const grant_ref_t *refs, pv_ring_idx_t idx)
{
	struct pv_bj_hdr h;
	unsigned int i;
	int rc;

	bj_unmap(q);
	rc = bj_map(q, 1);
	if (rc < 0)
		return rc;
	/* O_TRUNC zeroed the entries (all FREE); the identity goes in before anything. */
	bj_identity(q, refs, &h);
	h.req_cons = idx;
	h.rsp_pub = idx;
	memcpy(q->jh, &h, sizeof(h));
	for (i = 0; i < q->jn; i++)
		q->jfree[i] = (uint16_t)(q->jn - 1 - i);
	q->njfree = q->jn;
	q->njunpub = 0;
	q->njreplay = 0;
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Reads a journal left by a previous daemon.  Returns 0 and *rsp and *cons with the entries
 * to execute again in q->jreplay, or -EBADMSG (not this connection's, or inconsistent).
 */
static int bj_recover(struct pv_blkback_queue *q, const grant_ref_t *refs, pv_ring_idx_t shared_rsp,
		      pv_ring_idx_t shared_req, pv_ring_idx_t *rsp, pv_ring_idx_t *cons)
{
	struct pv_blkback_dev *dev = q->dev;
	struct pv_bj_hdr want, *h = q->jh;
	unsigned int n = q->jn, i, k = 0, live = 0, dropped = 0, nidx = 0;
	uint32_t jc, jp, r, *idx;
	uint8_t *seen;
	int rc = 0;

	bj_identity(q, refs, &want);
	if (memcmp(h, &want, offsetof(struct pv_bj_hdr, req_cons)) != 0)
		return -EBADMSG;
	jc = load(&h->req_cons);
	jp = load(&h->rsp_pub);
	if ((uint32_t)(jc - jp) >= n)
		return -EBADMSG;
	/* A ring that does not continue where we stopped is not the one we journalled. */
	if ((uint32_t)(shared_req - jc) > n)
		return -EBADMSG;
	seen = calloc(n, 1);
	idx = calloc(n, sizeof(*idx));
	if (!seen || !idx) {
		free(seen);
		free(idx);
		return -ENOMEM;
	}
	/*
	 * Pass 1: check every entry; the responses at or after rsp_pub must be distinct, and
	 * so must the ring indices of all entries (one request, one entry: two entries of one
	 * index would execute it twice, and the count below would not see the one missing).
	 */
	for (i = 0; i < n && rc == 0; i++) {
		struct pv_bj_ent *e = &q->je[i];
		uint32_t st = load(&e->state);

		if (st == BJ_FREE)
			continue;
		if (st != BJ_INFLIGHT && st != BJ_RESPONDING) {
			rc = -EBADMSG;
			break;
		}
		idx[nidx++] = e->req_idx;
		if ((int32_t)(jc - e->req_idx) <= 0 || (uint32_t)(jc - e->req_idx) > INT32_MAX)
			continue; /* journalled, never consumed: still on the ring */
		if (st == BJ_RESPONDING && (uint32_t)(e->rsp_idx - jp) < n) {
			if (seen[e->rsp_idx - jp])
				rc = -EBADMSG;
			seen[e->rsp_idx - jp] = 1;
			k++;
		} else if (st == BJ_RESPONDING && (int32_t)(jp - e->rsp_idx) <= 0) {
			rc = -EBADMSG; /* a response slot past anything written */
		}
	}
	for (i = 0; i < k && rc == 0; i++)
		if (!seen[i])
			rc = -EBADMSG; /* responses are written at consecutive slots */
	if (rc == 0 && nidx > 1) {
		qsort(idx, nidx, sizeof(*idx), cmp_u32);
		for (i = 1; i < nidx && rc == 0; i++)
			if (idx[i] == idx[i - 1])
				rc = -EBADMSG;
	}
	free(seen);
	free(idx);
	if (rc < 0)
		return rc;
	/* The guest's rsp_prod, believed only inside what we could have published. */
	r = shared_rsp;
	if ((uint32_t)(r - jp) > k) {
		pv_backd_log_rl(&q->rl, PV_LOG_WARN, COMP,
				"vbd %u/%u queue %u: rsp_prod %u on the ring, journal allows %u..%u: "
				"using %u", dev->domid, dev->devid, q->idx, r, jp, jp + k, jp);
		r = jp;
	}
	/* Pass 2: count what stays before touching the file. */
	for (i = 0; i < n; i++) {
		struct pv_bj_ent *e = &q->je[i];
		uint32_t st = load(&e->state);

		if (st == BJ_FREE || (int32_t)(jc - e->req_idx) <= 0 ||
		    (uint32_t)(jc - e->req_idx) > INT32_MAX)
			continue;
		if (st == BJ_RESPONDING && (int32_t)(r - e->rsp_idx) > 0)
			dropped++;
		else
			live++;
	}
	if (live != (uint32_t)(jc - r))
		return -EBADMSG;
	/* Commit: what stays is INFLIGHT again (its old slot P >= r will be reused). */
	q->njfree = 0;
	q->njreplay = 0;
	for (i = 0; i < n; i++) {
		struct pv_bj_ent *e = &q->je[i];
		uint32_t st = load(&e->state);

		if (st != BJ_FREE && (int32_t)(jc - e->req_idx) > 0 &&
		    (uint32_t)(jc - e->req_idx) <= INT32_MAX &&
		    !(st == BJ_RESPONDING && (int32_t)(r - e->rsp_idx) > 0)) {
			unsigned int j = q->njreplay++;

			store(&e->state, BJ_INFLIGHT);
			/* In ring order: oldest first, as the guest queued them. */
			while (j > 0 && (int32_t)(q->je[q->jreplay[j - 1]].req_idx - e->req_idx) > 0) {
				q->jreplay[j] = q->jreplay[j - 1];
				j--;
			}
			q->jreplay[j] = (uint16_t)i;
		} else {
			store(&e->state, BJ_FREE);
		}
	}
	/* Free entries in a second sweep: those kept above must not be handed out. */
	for (i = n; i-- > 0;)
		if (load(&q->je[i].state) == BJ_FREE)
			q->jfree[q->njfree++] = (uint16_t)i;
	store(&h->rsp_pub, r);
	q->njunpub = 0;
	q->st.journal_dropped += dropped;
	*rsp = r;
	*cons = jc;
	pv_backd_log(PV_LOG_INFO, COMP,
		     "vbd %u/%u queue %u: resumed from the journal at %u: %u request(s) to execute "
		     "again, %u answered before the restart", dev->domid, dev->devid, q->idx, r,
		     live, dropped);
	return 0;
}

int pv_blkback_journal_open(struct pv_blkback_queue *q, const grant_ref_t *refs, int mode,
			    pv_ring_idx_t *rsp, pv_ring_idx_t *cons)
{
	struct pv_blkback_dev *dev = q->dev;
	struct pv_sring *s = q->ring.sring;
	pv_ring_idx_t shared_rsp = __atomic_load_n(&s->rsp_prod, __ATOMIC_ACQUIRE);
	pv_ring_idx_t shared_req = __atomic_load_n(&s->req_prod, __ATOMIC_ACQUIRE);
	const char *why = "missing";
	int rc;

	*rsp = *cons = shared_rsp;
	if (!q->w->state_dir) {
		if (mode == PV_BJ_RESUME && shared_req != shared_rsp)
			goto lost;
		return 0; /* no journal: restarts are exact only on an idle ring */
	}
	if (asprintf(&q->jpath, "%s/vbd-%u-%u-q%u.journal", q->w->state_dir, dev->domid,
		     dev->devid, q->idx) < 0) {
		q->jpath = NULL;
		return -ENOMEM;
	}
	if (bj_alloc(q) < 0)
		return -ENOMEM;
	if (mode == PV_BJ_RESUME) {
		rc = bj_map(q, 0);
		if (rc == 0) {
			rc = bj_recover(q, refs, shared_rsp, shared_req, rsp, cons);
			if (rc == 0)
				return 0;
			why = rc == -ENOMEM ? "out of memory" : "stale or inconsistent";
		} else if (rc != -ENOENT) {
			why = "unreadable";
		}
		bj_unmap(q);
		q->st.journal_lost++;
		if (shared_req != shared_rsp)
			goto lost;
		pv_backd_log(PV_LOG_WARN, COMP,
			     "vbd %u/%u queue %u: restart journal %s, ring idle: resuming at %u",
			     dev->domid, dev->devid, q->idx, why, shared_rsp);
	}
	rc = bj_create(q, refs, shared_rsp);
	if (rc < 0) {
		/* Served anyway: losing the disk now is worse than a restart that may fail it. */
		bj_unmap(q);
		q->st.journal_lost++;
		pv_backd_log(PV_LOG_WARN, COMP,
			     "vbd %u/%u queue %u: cannot create %s: %s: a restart with requests in "
			     "flight will fail this device", dev->domid, dev->devid, q->idx, q->jpath,
			     strerror(-rc));
	}
	return 0;
lost:
	if (mode == PV_BJ_RESUME && !q->w->state_dir)
		q->st.journal_lost++;
	pv_blkback_queue_fatal(q, "queue %u: restart journal %s with %u request(s) outstanding: "
			 "cannot resume exactly", q->idx, why, (unsigned int)(shared_req - shared_rsp));
	return -ESTALE;
}

void pv_blkback_journal_close(struct pv_blkback_queue *q, int remove)
{
	bj_unmap(q);
	if (remove && q->jpath)
		unlink(q->jpath);
	free(q->jpath);
	free(q->jfree);
	free(q->junpub);
	free(q->jreplay);
	q->jpath = NULL;
	q->jfree = q->junpub = q->jreplay = NULL;
	q->jn = q->njfree = q->njunpub = q->njreplay = 0;
}

int pv_blkback_journal_free_slots(const struct pv_blkback_queue *q)
{
	return q->jh ? (int)q->njfree : INT_MAX;
}

int pv_blkback_journal_take(struct pv_blkback_queue *q, pv_ring_idx_t idx,
			    const struct blkif_request *r)
{
	struct pv_bj_ent *e;
	unsigned int js;

	if (!q->jh || !q->njfree)
		return -1;
	js = q->jfree[--q->njfree];
	e = &q->je[js];
	e->req_idx = idx;
	memcpy(&e->req, r, sizeof(*r));
	store(&e->state, BJ_INFLIGHT); /* the copy is complete before the entry counts */
	return (int)js;
}

void pv_blkback_journal_consumed(struct pv_blkback_queue *q)
{
	if (q->jh)
		store(&q->jh->req_cons, q->ring.req_cons); /* after the entry it covers */
}

void pv_blkback_journal_responding(struct pv_blkback_queue *q, int js)
{
	struct pv_bj_ent *e;

	if (!q->jh || js < 0 || (unsigned int)js >= q->jn)
		return;
	e = &q->je[js];
	e->rsp_idx = q->ring.rsp_prod_pvt;
	/* Before the response overwrites slot rsp_idx (the caller's next store). */
	store(&e->state, BJ_RESPONDING);
	q->junpub[q->njunpub++] = (uint16_t)js;
}

void pv_blkback_journal_published(struct pv_blkback_queue *q)
{
	unsigned int i;

	if (!q->jh)
		return;
	/* rsp_prod is in the shared page already: a restart reads it from there if we die now. */
	store(&q->jh->rsp_pub, q->ring.rsp_prod_pvt);
	for (i = 0; i < q->njunpub; i++) {
		store(&q->je[q->junpub[i]].state, BJ_FREE);
		q->jfree[q->njfree++] = q->junpub[i];
	}
	q->njunpub = 0;
}

int pv_blkback_journal_replay_peek(const struct pv_blkback_queue *q, struct blkif_request *r)
{
	if (!q->jh || !q->njreplay)
		return -1;
	memcpy(r, &q->je[q->jreplay[0]].req, sizeof(*r));
	return 0;
}

int pv_blkback_journal_replay_next(struct pv_blkback_queue *q, struct blkif_request *r)
{
	unsigned int js;

	if (!q->jh || !q->njreplay)
		return -1;
	js = q->jreplay[0];
	memmove(q->jreplay, q->jreplay + 1, --q->njreplay * sizeof(*q->jreplay));
	memcpy(r, &q->je[js].req, sizeof(*r));
	q->st.journal_replayed++;
	return (int)js;
}

/* "vbd-<domid>-<devid>-q<queue>.journal", as pv_blkback_journal_open() names them. */
static int bj_name(const char *name, unsigned int *domid, unsigned int *devid)
{
	unsigned int qi;
	int end = 0;

	if (strncmp(name, "vbd-", 4) != 0 ||
	    sscanf(name, "vbd-%u-%u-q%u.journal%n", domid, devid, &qi, &end) != 3 || name[end])
		return -EINVAL;
	return 0;
}

/* Removes the journals in state_dir of every device keep() says no. */
static void bj_remove_if(struct pv_backd *d, int (*keep)(struct pv_backd *, unsigned int,
							 unsigned int, const void *),
			 const void *arg)
{
	struct dirent *de;
	DIR *dir;

	if (!d->state_dir || !(dir = opendir(d->state_dir)))
		return;
	while ((de = readdir(dir))) {
		unsigned int domid, devid;

		if (bj_name(de->d_name, &domid, &devid) < 0 || keep(d, domid, devid, arg))
			continue;
		if (unlinkat(dirfd(dir), de->d_name, 0) == 0)
			pv_backd_log(PV_LOG_INFO, COMP, "vbd %u/%u: restart journal %s removed",
				     domid, devid, de->d_name);
	}
	closedir(dir);
}

static int keep_other(struct pv_backd *d, unsigned int domid, unsigned int devid, const void *arg)
{
	const unsigned int *dev = arg;

	(void)d;
	return domid != dev[0] || devid != dev[1];
}

void pv_blkback_journal_forget(struct pv_backd *d, unsigned int domid, unsigned int devid)
{
	const unsigned int dev[2] = { domid, devid };

	bj_remove_if(d, keep_other, dev);
}

/* Kept while the backend directory may exist: only a clear ENOENT removes a journal. */
static int keep_present(struct pv_backd *d, unsigned int domid, unsigned int devid,
			const void *arg)
{
	char path[sizeof(d->root) + 24], *s = NULL;
	int rc;

	(void)arg;
	snprintf(path, sizeof(path), "%s/%u/%u", d->root, domid, devid);
	rc = pv_xs_read(d->plat, 0, path, &s, NULL);
	free(s);
	return rc != -ENOENT;
}

void pv_blkback_journal_sweep(struct pv_backd *d)
{
	bj_remove_if(d, keep_present, NULL);
}
