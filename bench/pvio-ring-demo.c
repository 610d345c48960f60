/* SPDX-License-Identifier: MIT */
/*
 * pvio-ring-demo - a blkif ring between two processes, with event notification.
 *
 * The parent is a front end, the forked child a back end with a null device: they share
 * one ring page (MAP_SHARED) and kick each other through two eventfds, exactly as a
 * guest and pvio-backd will through an event channel.  The demo runs the ring at queue
 * depth 1 (latency) and 32 (throughput), then a raw eventfd ping-pong between two
 * processes as the baseline, and prints what it did and the ratios.
 *
 * The back end treats the front end as hostile (reads the producer index once, copies
 * each request before looking at it, checks it) and the front end treats responses the
 * same way (ids index a table of requests in flight).  Any violation ends the demo
 * with a non-zero status.
 *
 * With -s the two ends are simulated domains on pvio-simd instead: the demo starts a
 * pvio-simd, creates a domain for the front end, which grants its ring page to dom0,
 * allocates an event channel and publishes both in xenstore; the back end (dom0) reads
 * them, maps the grant and binds the channel, as blkback would.  Notifications then go
 * through the sim's event channels.
 *
 * Usage: pvio-ring-demo [-s] [-n requests] [-q depth] [-o ring-page-order]
 */
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pv_blkif.h"
#include "pv_platform.h"
#include "sim/pv_sim.h"

/* Shared between the two processes, after the ring pages. */
struct ctl {
	volatile int stop;
	uint64_t bad_requests;  /* written by the back end */
	uint64_t back_kicks;    /* back -> front notifications */
	uint64_t back_wakeups;  /* times the back end slept and was woken */
};

struct demo {
	unsigned int order;
	size_t ring_bytes;
	void *shm;
	struct pv_sring *sring;
	struct ctl *ctl;
	int to_back, to_front;  /* eventfds */
	/* sim mode: this process's domain and its end of the event channel */
	struct pv_platform *plat;
	evtchn_port_t port;
	pid_t child;
	/* front end */
	struct pv_ring_front f;
	uint64_t *inflight_t0;  /* submit time per slot, 0 = free */
	unsigned int *free_ids;
	unsigned int nfree;
	uint64_t front_kicks, front_waits, bad_responses;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int kick(int fd)
{
	uint64_t one = 1;

	return write(fd, &one, sizeof(one)) == sizeof(one) ? 0 : -errno;
}

static int wait_kick(int fd)
{
	uint64_t v;

	for (;;) {
		if (read(fd, &v, sizeof(v)) == sizeof(v))
			return 0;
		if (errno != EINTR)
			return -errno;
	}
}

/* A notification to the other end: its eventfd, or our event channel in sim mode. */
static int demo_kick(struct demo *d, int fd)
{
	return d->plat ? pv_evtchn_notify(d->plat, d->port) : kick(fd);
}

static int demo_wait(struct demo *d, int fd)
{
	struct pollfd pfd;
	int port;

	if (!d->plat)
		return wait_kick(fd);
	pfd = (struct pollfd){ .fd = pv_evtchn_fd(d->plat), .events = POLLIN };
	for (;;) {
		port = pv_evtchn_pending(d->plat);
		if (port >= 0)
			return pv_evtchn_unmask(d->plat, (evtchn_port_t)port);
		if (port != -EAGAIN)
			return port;
		if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
			return -errno;
	}
}

/* ---- back end (child) ------------------------------------------------------------- */

/* A request the null device would accept: read or write, 1..11 sane segments. */
static int request_ok(const struct blkif_request *r)
{
	unsigned int i;

	if (r->operation != BLKIF_OP_READ && r->operation != BLKIF_OP_WRITE)
		return 0;
	if (r->nr_segments == 0 || r->nr_segments > BLKIF_MAX_SEGMENTS_PER_REQUEST)
		return 0;
	for (i = 0; i < r->nr_segments; i++)
		if (r->seg[i].last_sect >= PV_BLKIF_SECTORS_PER_PAGE ||
		    r->seg[i].first_sect > r->seg[i].last_sect)
			return 0;
	return 1;
}

static int back_main(struct demo *d)
{
	struct pv_ring_back b;

	if (pv_ring_back_init(&b, d->sring, d->ring_bytes, sizeof(union pv_blkif_sring_entry)))
		return 1;
	for (;;) {
		pv_ring_idx_t prod;

		if (pv_ring_back_req_prod(&b, &prod)) {
			fprintf(stderr, "back: producer index overflow, halting the ring\n");
			return 1;
		}
		while (b.req_cons != prod && !pv_ring_req_cons_overflow(&b, b.req_cons)) {
			struct blkif_request req;
			struct blkif_response *rsp;

			pv_blkif_back_copy_req(&b, b.req_cons++, &req);
			rsp = pv_blkif_back_rsp(&b, b.rsp_prod_pvt++);
			rsp->id = req.id;
			rsp->operation = req.operation;
			if (request_ok(&req)) {
				rsp->status = BLKIF_RSP_OKAY;
			} else {
				rsp->status = BLKIF_RSP_ERROR;
				d->ctl->bad_requests++;
			}
		}
		/* One notification per pass, and only if the front end asked for it. */
		if (pv_ring_push_responses_and_check_notify(&b)) {
			d->ctl->back_kicks++;
			demo_kick(d, d->to_front);
		}
		if (pv_ring_final_check_requests(&b))
			continue;
		if (d->ctl->stop)
			return 0;
		if (demo_wait(d, d->to_back))
			return 1;
		d->ctl->back_wakeups++;
	}
}

/* ---- front end (parent) ----------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Keeps qd requests in flight until total have completed.  Latencies (ns) go to lat[]
 * when it is not NULL.  Returns 0, or -EPROTO on a response that matches nothing.
 */
static int front_run(struct demo *d, unsigned int qd, uint64_t total, uint64_t *lat)
{
	uint64_t issued = 0, done = 0;

	while (done < total) {
		while (issued < total && d->nfree > 0 && d->f.nr_ents - d->nfree < qd) {
			unsigned int id = d->free_ids[--d->nfree];
			struct blkif_request *r = pv_blkif_front_req(&d->f, d->f.req_prod_pvt++);

			r->operation = issued & 1 ? BLKIF_OP_WRITE : BLKIF_OP_READ;
			r->nr_segments = 1;
			r->handle = 0;
			r->id = id;
			r->sector_number = issued * 8;
			r->seg[0].gref = id;
			r->seg[0].first_sect = 0;
			r->seg[0].last_sect = 7;
			d->inflight_t0[id] = now_ns();
			issued++;
		}
		if (pv_ring_push_requests_and_check_notify(&d->f)) {
			d->front_kicks++;
			demo_kick(d, d->to_back);
		}
		for (;;) {
			pv_ring_idx_t prod;
			long n = pv_ring_front_rsp_prod(&d->f, &prod);

			if (n < 0)
				return -EPROTO;
			while (d->f.rsp_cons != prod) {
				struct blkif_response rsp;
				uint64_t t;

				pv_blkif_front_copy_rsp(&d->f, d->f.rsp_cons++, &rsp);
				/* The id is the back end's word: check it indexes a request in flight. */
				if (rsp.id >= d->f.nr_ents || d->inflight_t0[rsp.id] == 0 ||
				    rsp.status != BLKIF_RSP_OKAY) {
					d->bad_responses++;
					return -EPROTO;
				}
				t = now_ns() - d->inflight_t0[rsp.id];
				d->inflight_t0[rsp.id] = 0;
				d->free_ids[d->nfree++] = (unsigned int)rsp.id;
				if (lat)
					lat[done] = t;
				done++;
			}
			if (issued < total && d->f.nr_ents - d->nfree < qd)
				break; /* room to submit more */
			if (pv_ring_final_check_responses(&d->f))
				continue;
			if (d->nfree == d->f.nr_ents)
				break; /* nothing in flight */
			if (demo_wait(d, d->to_front))
				return -EIO;
			d->front_waits++;
		}
	}
	return 0;
}

/* ---- baseline: raw eventfd ping-pong between two processes ------------------------- */

static int baseline_pingpong(unsigned int rounds, uint64_t *lat)
{
	int a = eventfd(0, EFD_CLOEXEC), b = eventfd(0, EFD_CLOEXEC);
	pid_t pid;
	unsigned int i;
	int st;

	if (a < 0 || b < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		for (i = 0; i < rounds; i++)
			if (wait_kick(a) || kick(b))
				_exit(1);
		_exit(0);
	}
	for (i = 0; i < rounds; i++) {
		uint64_t t0 = now_ns();

		if (kick(a) || wait_kick(b))
			break;
		lat[i] = now_ns() - t0;
	}
	waitpid(pid, &st, 0);
	close(a);
	close(b);
	return i == rounds && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -EIO;
}

static double pct_us(uint64_t *v, uint64_t n, double p)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	return v[(uint64_t)((double)(n - 1) * p)] / 1000.0;
}

static void usage(void)
{
	fprintf(stderr, "usage: pvio-ring-demo [-s] [-n requests] [-q depth] [-o ring-page-order]\n"
		"  -s  run the two ends as domains on a pvio-simd it starts (grants, event channel)\n");
	exit(2);
}

/* ---- sim mode: the two ends as domains on pvio-simd ------------------------------------ */

struct sim {
	char rundir[64];
	char simd[512];
	struct pv_platform *tool; /* dom0's toolstack handle */
	domid_t domid;            /* the front end's domain */
	grant_ref_t refs[PV_RING_MAX_PAGES + 1];
	unsigned int npages;      /* ring pages + the control page */
	char dir[128];            /* the front end's xenstore directory */
	char bstate[128];         /* the back end's state node */
};

static int sim_open(struct sim *sm, unsigned int domid, struct pv_platform **p)
{
	char spec[128];
	const char *why = NULL;
	int rc;

	snprintf(spec, sizeof(spec), "sim:%s:%u", sm->rundir, domid);
	rc = pv_platform_open(spec, p, &why);
	if (rc < 0)
		fprintf(stderr, "pvio-ring-demo: %s: %s\n", spec, why ? why : strerror(-rc));
	return rc;
}

/* Polls a xenstore node until it reads want (setup only; a watch would do as well). */
static int sim_wait_node(struct pv_platform *p, const char *path, uint64_t want)
{
	uint64_t v;
	int i;

	for (i = 0; i < 5000; i++) {
		if (pv_xs_read_u64(p, 0, path, &v) == 0 && v == want)
			return 0;
		usleep(1000);
	}
	return -ETIMEDOUT;
}

static int sim_start(struct sim *sm, const char *argv0)
{
	char self[512];
	pid_t pid;
	int st;

	snprintf(sm->rundir, sizeof(sm->rundir), "/tmp/pvio-demo-XXXXXX");
	if (!mkdtemp(sm->rundir))
		return -errno;
	snprintf(self, sizeof(self), "%s", argv0);
	snprintf(sm->simd, sizeof(sm->simd), "%s/pvio-simd", dirname(self));
	pid = fork();
	if (pid == 0) {
		execl(sm->simd, "pvio-simd", "--rundir", sm->rundir, (char *)NULL);
		_exit(127);
	}
	/* Without --foreground, pvio-simd returns once its sockets are ready. */
	if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "pvio-ring-demo: cannot start %s\n", sm->simd);
		return -EIO;
	}
	return sim_open(sm, 0, &sm->tool);
}

static void sim_stop(struct sim *sm)
{
	char path[128];
	FILE *f;
	int pid = 0, i;

	if (sm->tool) {
		if (sm->domid)
			pv_sim_domain_destroy(sm->tool, sm->domid);
		pv_platform_close(sm->tool);
		sm->tool = NULL;
	}
	snprintf(path, sizeof(path), "%s/pvio-simd.pid", sm->rundir);
	f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%d", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	if (pid > 0 && kill(pid, SIGTERM) == 0)
		for (i = 0; i < 500 && access(path, F_OK) == 0; i++)
			usleep(10000);
	snprintf(path, sizeof(path), "%s/dom0", sm->rundir);
	rmdir(path);
	rmdir(sm->rundir);
}

/* Front end (this process, a new domain): grant the ring, offer a port, publish both. */
static int sim_front_setup(struct demo *d, struct sim *sm)
{
	char path[192];
	unsigned int i;
	int rc;

	rc = pv_sim_domain_create(sm->tool, PV_SIM_ANY_DOMID, &sm->domid);
	if (rc < 0)
		return rc;
	rc = sim_open(sm, sm->domid, &d->plat);
	if (rc < 0)
		return rc;
	sm->npages = (1u << d->order) + 1;
	rc = pv_gnt_share(d->plat, 0, sm->npages, 1, sm->refs, &d->shm);
	if (rc == 0)
		rc = pv_evtchn_alloc_unbound(d->plat, 0, &d->port);
	if (rc < 0)
		return rc;
	snprintf(sm->dir, sizeof(sm->dir), "/local/domain/%u/device/vdemo/0", sm->domid);
	snprintf(sm->bstate, sizeof(sm->bstate), "/local/domain/0/backend/vdemo/%u/0/state",
		 sm->domid);
	for (i = 0; i < sm->npages; i++) {
		snprintf(path, sizeof(path), "%s/ring-ref%u", sm->dir, i);
		if ((rc = pv_xs_printf(d->plat, 0, path, "%u", sm->refs[i])) < 0)
			return rc;
	}
	snprintf(path, sizeof(path), "%s/event-channel", sm->dir);
	if ((rc = pv_xs_printf(d->plat, 0, path, "%u", d->port)) < 0)
		return rc;
	snprintf(path, sizeof(path), "%s/state", sm->dir);
	return pv_xs_printf(d->plat, 0, path, "%d", XenbusStateInitialised);
}

/* Back end (the child, dom0): read what the front end published, map it, bind it. */
static int sim_back_setup(struct demo *d, struct sim *sm)
{
	struct pv_xs_perm perms[2] = { { 0, PV_XS_PERM_NONE }, { sm->domid, PV_XS_PERM_READ } };
	struct pv_platform *p;
	grant_ref_t refs[PV_RING_MAX_PAGES + 1];
	char path[192];
	uint64_t v;
	unsigned int i;
	void *addr;
	int rc;

	if ((rc = sim_open(sm, 0, &p)) < 0)
		return rc;
	snprintf(path, sizeof(path), "%s/state", sm->dir);
	if ((rc = sim_wait_node(p, path, XenbusStateInitialised)) < 0)
		goto fail;
	/* Values a guest wrote: range-checked before use. */
	for (i = 0; i < sm->npages; i++) {
		snprintf(path, sizeof(path), "%s/ring-ref%u", sm->dir, i);
		if ((rc = pv_xs_read_u64(p, 0, path, &v)) < 0 || v > UINT32_MAX)
			goto fail;
		refs[i] = (grant_ref_t)v;
	}
	snprintf(path, sizeof(path), "%s/event-channel", sm->dir);
	if ((rc = pv_xs_read_u64(p, 0, path, &v)) < 0 || v == 0 || v > UINT32_MAX) {
		rc = rc < 0 ? rc : -EINVAL;
		goto fail;
	}
	if ((rc = pv_gnt_map(p, sm->domid, sm->npages, refs, 1, &addr)) < 0)
		goto fail;
	if ((rc = pv_evtchn_bind_interdomain(p, sm->domid, (evtchn_port_t)v, &d->port)) < 0)
		goto fail;
	d->shm = addr;
	d->sring = addr;
	d->ctl = (struct ctl *)((char *)addr + d->ring_bytes);
	d->plat = p;
	if ((rc = pv_xs_printf(p, 0, sm->bstate, "%d", XenbusStateConnected)) < 0 ||
	    (rc = pv_xs_set_perms(p, 0, sm->bstate, perms, 2)) < 0)
		goto fail;
	return 0;
fail:
	fprintf(stderr, "pvio-ring-demo: back end setup: %s\n", strerror(-rc));
	pv_platform_close(p);
	d->plat = NULL;
	return rc;
}

int main(int argc, char **argv)
{
	struct demo d = { 0 };
	uint64_t total = 200000, lat_n = 20000, t0 = 0, t1 = 0;
	unsigned int qd = 32, i;
	uint64_t *lat;
	double qd1_p50 = 0, qd1_p99, base_p50, secs;
	int opt, rc, st, sim_mode = 0;
	struct sim sm = { .domid = 0 };

	while ((opt = getopt(argc, argv, "sn:q:o:")) != -1) {
		switch (opt) {
		case 's': sim_mode = 1; break;
		case 'n': total = strtoull(optarg, NULL, 0); break;
		case 'q': qd = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'o': d.order = (unsigned int)strtoul(optarg, NULL, 0); break;
		default: usage();
		}
	}
	if (total == 0 || qd == 0 || d.order > PV_RING_MAX_PAGE_ORDER)
		usage();
	if (qd > pv_blkif_ring_size(d.order))
		qd = pv_blkif_ring_size(d.order);
	d.ring_bytes = (size_t)PV_PAGE_SIZE << d.order;
	if (sim_mode) {
		rc = sim_start(&sm, argv[0]);
		if (rc == 0)
			rc = sim_front_setup(&d, &sm);
		if (rc < 0) {
			fprintf(stderr, "pvio-ring-demo: sim setup failed: %s\n", strerror(-rc));
			if (d.plat)
				pv_platform_close(d.plat);
			sim_stop(&sm);
			return 1;
		}
		d.to_back = d.to_front = -1;
	} else {
		d.shm = mmap(NULL, d.ring_bytes + PV_PAGE_SIZE, PROT_READ | PROT_WRITE,
			     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		d.to_back = eventfd(0, EFD_CLOEXEC);
		d.to_front = eventfd(0, EFD_CLOEXEC);
		if (d.shm == MAP_FAILED || d.to_back < 0 || d.to_front < 0) {
			perror("pvio-ring-demo: setup");
			return 1;
		}
	}
	d.sring = d.shm;
	d.ctl = (struct ctl *)((char *)d.shm + d.ring_bytes);
	if (pv_ring_front_init(&d.f, d.sring, d.ring_bytes, sizeof(union pv_blkif_sring_entry)))
		return 1;
	d.inflight_t0 = calloc(d.f.nr_ents, sizeof(*d.inflight_t0));
	d.free_ids = calloc(d.f.nr_ents, sizeof(*d.free_ids));
	lat = calloc(lat_n, sizeof(*lat));
	if (!d.inflight_t0 || !d.free_ids || !lat)
		return 1;
	for (i = 0; i < d.f.nr_ents; i++)
		d.free_ids[d.nfree++] = d.f.nr_ents - 1 - i;

	d.child = fork();
	if (d.child < 0) {
		perror("fork");
		return 1;
	}
	if (d.child == 0) {
		if (sim_mode) {
			int brc;

			/* The front end's handle is the parent's; this process is dom0. */
			d.plat = NULL;
			if (sim_back_setup(&d, &sm) < 0)
				_exit(1);
			brc = back_main(&d);
			pv_platform_close(d.plat);
			_exit(brc);
		}
		_exit(back_main(&d));
	}

	printf("pvio ring demo: front end pid %d, back end pid %d\n", (int)getpid(), (int)d.child);
	if (sim_mode) {
		if (sim_wait_node(d.plat, sm.bstate, XenbusStateConnected) < 0) {
			fprintf(stderr, "pvio-ring-demo: the back end never connected\n");
			kill(d.child, SIGKILL);
			waitpid(d.child, &st, 0);
			pv_platform_close(d.plat);
			sim_stop(&sm);
			return 1;
		}
		printf("  on pvio-simd (%s): front end is domain %u, back end dom0; %u pages granted "
		       "(refs %u..), event channel port %u, handshake through xenstore\n",
		       sm.rundir, sm.domid, sm.npages, sm.refs[0], d.port);
		printf("  ring: blkif, %zu bytes (order %u), %u slots; notification: sim event channel\n",
		       d.ring_bytes, d.order, d.f.nr_ents);
	} else {
		printf("  ring: blkif, %zu bytes (order %u), %u slots, shared with MAP_SHARED; "
		       "notification: two eventfds\n", d.ring_bytes, d.order, d.f.nr_ents);
	}

	rc = front_run(&d, 1, lat_n, lat);
	if (rc == 0) {
		qd1_p50 = pct_us(lat, lat_n, 0.50);
		qd1_p99 = pct_us(lat, lat_n, 0.99);
		printf("  qd 1 : %" PRIu64 " round trips, p50 %.1f us, p99 %.1f us\n",
		       lat_n, qd1_p50, qd1_p99);
		d.front_kicks = d.front_waits = 0;
		d.ctl->back_kicks = 0;
		t0 = now_ns();
		rc = front_run(&d, qd, total, NULL);
		t1 = now_ns();
	}
	d.ctl->stop = 1;
	demo_kick(&d, d.to_back);
	waitpid(d.child, &st, 0);
	if (rc || !WIFEXITED(st) || WEXITSTATUS(st) != 0 || d.ctl->bad_requests) {
		fprintf(stderr, "pvio-ring-demo: FAILED (front %d, back status %d, bad requests %"
			PRIu64 ", bad responses %" PRIu64 ")\n", rc, st, d.ctl->bad_requests,
			d.bad_responses);
		rc = 1;
		goto out;
	}
	secs = (double)(t1 - t0) / 1e9;
	printf("  qd %-2u: %" PRIu64 " requests in %.3f s = %.0f k req/s; kicks per request: "
	       "front->back %.3f, back->front %.3f\n", qd, total, secs, total / secs / 1000.0,
	       (double)d.front_kicks / total, (double)d.ctl->back_kicks / total);

	if (baseline_pingpong((unsigned int)lat_n, lat)) {
		fprintf(stderr, "pvio-ring-demo: baseline failed\n");
		rc = 1;
		goto out;
	}
	base_p50 = pct_us(lat, lat_n, 0.50);
	printf("  baseline: raw eventfd ping-pong between two processes, p50 %.1f us\n", base_p50);
	printf("  ring qd1 p50 / eventfd p50 = %.2f\n", qd1_p50 / base_p50);
	printf("  every response matched a request in flight; back end saw 0 bad requests\n");
out:
	free(lat);
	free(d.free_ids);
	free(d.inflight_t0);
	if (sim_mode) {
		/* The back end has unmapped (it exited): the pages are ours to take back. */
		int urc = pv_gnt_unshare(d.plat, d.shm, sm.npages);

		if (urc < 0) {
			fprintf(stderr, "pvio-ring-demo: unshare: %s\n", strerror(-urc));
			rc = 1;
		}
		pv_platform_close(d.plat);
		sim_stop(&sm);
	} else {
		close(d.to_back);
		close(d.to_front);
		munmap(d.shm, d.ring_bytes + PV_PAGE_SIZE);
	}
	return rc;
}
