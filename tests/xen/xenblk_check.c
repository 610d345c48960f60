/* SPDX-License-Identifier: MIT */
/*
 * xenblk_check - pvio's userspace blkfront (libpvio-front.a) against a real back end on Xen.
 *
 *   xenblk_check front SCEN DEVID [MIB]
 *       in a domU whose kernel has no xen-blkfront: connects to device/vbd/DEVID through the
 *       xen platform (libxengntshr, libxenevtchn, libxenstore), prints what was negotiated,
 *       then over the first MIB MiB (default 16): fills it with large writes (indirect),
 *       overwrites random extents at queue depth 32 (never two overlapping in flight),
 *       discards and rewrites 1 MiB when offered, flushes, reads everything back at random
 *       sizes and compares with a shadow copy, and disconnects.  Prints the region's hash
 *       so that dom0 can check the backing file after the detach.
 *   xenblk_check wait-gone SCEN DEVID SECS
 *       in the domU: waits until the toolstack has removed device/vbd/DEVID (the detach).
 *   xenblk_check hash FILE MIB
 *       in dom0: the same hash over the first MIB MiB of FILE.
 *
 * Results are "PVIO-XEN ok|fail|info SCEN ..." lines for tests/xen/run.py.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pv_blkfront.h"
#include "pv_platform.h"
#include "xen_report.h"

#define QD 32
#define MAX_IO (256u << 10)

static const char *scen = "?";

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	xr_vline("fail", scen, fmt, ap);
	va_end(ap);
	exit(1);
}

#define out(kind, ...) xr_line(kind, scen, __VA_ARGS__)

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dull;
}

static void fill(unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i + 8 <= n; i += 8) {
		uint64_t v = rnd();

		memcpy(p + i, &v, 8);
	}
}

/* FNV-1a, 64 bits, eight bytes at a time: enough to tell a backing file from its shadow. */
static uint64_t hash(const unsigned char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	size_t i;

	for (i = 0; i + 8 <= n; i += 8) {
		uint64_t v;

		memcpy(&v, p + i, 8);
		h = (h ^ v) * 0x100000001b3ull;
	}
	return h;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct slot {
	struct pv_blkfront_io io;
	unsigned char *buf;
	int busy;
	int status;
	uint64_t off;
	size_t len;
};

static struct slot slots[QD];
static unsigned int done_bad;
static unsigned char *rbuf;     /* where completed reads land, at their disk offset */

static void io_done(struct pv_blkfront_io *io, int status)
{
	struct slot *s = io->opaque;

	if (!status && io->op == PV_BLKFRONT_READ)
		memcpy(rbuf + s->off, s->buf, s->len);
	s->busy = 0;
	s->status = status;
	if (status)
		done_bad++;
}

static int overlaps_busy(uint64_t off, size_t len)
{
	unsigned int i;

	for (i = 0; i < QD; i++)
		if (slots[i].busy && off < slots[i].off + slots[i].len && slots[i].off < off + len)
			return 1;
	return 0;
}

static struct slot *free_slot(struct pv_blkfront *bf)
{
	unsigned int i;

	for (;;) {
		for (i = 0; i < QD; i++)
			if (!slots[i].busy)
				return &slots[i];
		int n = pv_blkfront_poll(bf, 10000);

		if (n < 0)
			fail("pv_blkfront_poll = %d (%s)", n, strerror(-n));
		if (n == 0)
			fail("no completion within 10 s");
	}
}

static void drain(struct pv_blkfront *bf)
{
	unsigned int i;

	for (i = 0; i < QD; i++)
		while (slots[i].busy) {
			int n = pv_blkfront_poll(bf, 10000);

			if (n < 0)
				fail("pv_blkfront_poll = %d (%s)", n, strerror(-n));
			if (n == 0)
				fail("no completion within 10 s while draining");
		}
	if (done_bad)
		fail("%u I/O completed with an error", done_bad);
}

static void submit(struct pv_blkfront *bf, struct slot *s, enum pv_blkfront_op op, uint64_t off,
		   size_t len)
{
	int rc;

	s->io = (struct pv_blkfront_io){ .op = op, .offset = off, .len = len,
					 .buf = op == PV_BLKFRONT_DISCARD ? NULL : s->buf,
					 .done = io_done, .opaque = s };
	s->off = off;
	s->len = len;
	s->busy = 1;
	while ((rc = pv_blkfront_submit(bf, &s->io)) == -EAGAIN)
		if ((rc = pv_blkfront_poll(bf, 10000)) < 0)
			break;
	if (rc < 0)
		fail("submit op %d at %llu len %zu = %d (%s)", (int)op, (unsigned long long)off, len, rc,
		     strerror(-rc));
	pv_blkfront_kick(bf);
}

static int cmd_hash(const char *file, unsigned long mib)
{
	size_t len = (size_t)mib << 20;
	unsigned char *b = malloc(len);
	int fd = open(file, O_RDONLY);

	if (!b || fd < 0 || pread(fd, b, len, 0) != (ssize_t)len) {
		fprintf(stderr, "xenblk_check: cannot read %lu MiB of %s\n", mib, file);
		return 1;
	}
	printf("%016llx\n", (unsigned long long)hash(b, len));
	close(fd);
	free(b);
	return 0;
}

static struct pv_blkfront *connect_dev(struct pv_platform *p, unsigned int devid)
{
	struct pv_blkfront_opts o = { .timeout_ms = 20000 };
	struct pv_blkfront *bf = NULL;
	double t0 = now();
	int rc;

	/* dom0 attaches the disk after this domU has booted: wait for the frontend node. */
	while ((rc = pv_blkfront_open(p, devid, &o, &bf)) == -ENOENT && now() - t0 < 90)
		usleep(200000);
	if (rc < 0) {
		char path[64], *be = NULL, *st = NULL, *err = NULL;

		/* what the back end showed, for the log */
		snprintf(path, sizeof(path), "device/vbd/%u/backend", devid);
		if (pv_xs_read(p, 0, path, &be, NULL) == 0) {
			snprintf(path, sizeof(path), "%.40s/state", be);
			pv_xs_read(p, 0, path, &st, NULL);
			snprintf(path, sizeof(path), "%.40s/error", be);
			pv_xs_read(p, 0, path, &err, NULL);
		}
		fail("pv_blkfront_open(%u) = %d (%s); back end %s state %s error %s", devid, rc,
		     strerror(-rc), be ? be : "?", st ? st : "?", err ? err : "-");
	}
	out("info", "connected in %.1f s", now() - t0);
	return bf;
}

static int cmd_front(unsigned int devid, unsigned long mib)
{
	struct pv_platform *p;
	struct pv_blkfront *bf;
	struct pv_blkfront_info in;
	struct pv_blkfront_stats st;
	const char *why = "";
	size_t region = (size_t)mib << 20, off;
	unsigned char *shadow;
	unsigned int i, nwrites = 0, nreads = 0;
	double t0;
	int rc;

	rc = pv_platform_open(getenv("PVIO_PLATFORM") ? NULL : "xen", &p, &why);
	if (rc < 0)
		fail("pv_platform_open(xen) = %d (%s): %s", rc, strerror(-rc), why ? why : "");
	bf = connect_dev(p, devid);
	if ((rc = pv_blkfront_info(bf, &in)) < 0)
		fail("pv_blkfront_info = %d", rc);
	out("info", "negotiated sectors=%llu sector_size=%u queues=%u ring_pages=%u persistent=%d "
	    "indirect_segments=%u flush=%d barrier=%d discard=%d",
	    (unsigned long long)in.sectors, in.sector_size, in.queues, in.ring_pages, in.persistent,
	    in.indirect_segments, in.flush, in.barrier, in.discard);
	if (in.sectors * 512 < region)
		fail("disk of %llu sectors smaller than the %lu MiB region", (unsigned long long)in.sectors,
		     mib);
	if (in.readonly)
		fail("disk is read-only");

	shadow = malloc(region);
	rbuf = malloc(region);
	if (!shadow || !rbuf)
		fail("out of memory");
	for (i = 0; i < QD; i++)
		if (!(slots[i].buf = malloc(MAX_IO)))
			fail("out of memory");
	rng ^= (uint64_t)time(NULL) << 20 ^ (uint64_t)getpid();
	out("info", "seed %016llx", (unsigned long long)rng);

	t0 = now();
	/* 1. the whole region in MAX_IO writes: each needs an indirect request when offered */
	for (off = 0; off < region; off += MAX_IO) {
		struct slot *s = free_slot(bf);

		fill(shadow + off, MAX_IO);
		memcpy(s->buf, shadow + off, MAX_IO);
		submit(bf, s, PV_BLKFRONT_WRITE, off, MAX_IO);
		nwrites++;
	}
	drain(bf);
	/* 2. random extents of 1..128 sectors (4 KiB aligned half of the time), QD in flight */
	for (i = 0; i < 3000; i++) {
		size_t len = (size_t)(rnd() % 128 + 1) * 512;
		uint64_t o;
		struct slot *s = free_slot(bf);

		do {
			o = (rnd() % (region / 512)) * 512;
			if (i & 1)
				o &= ~4095ull;
			if (o + len > region)
				o = region - len;
		} while (overlaps_busy(o, len));
		fill(shadow + o, len);
		memcpy(s->buf, shadow + o, len);
		submit(bf, s, PV_BLKFRONT_WRITE, o, len);
		nwrites++;
	}
	drain(bf);
	/* 3. discard (contents undefined afterwards), then define them again */
	if (in.discard) {
		off = region / 2;
		if ((rc = pv_blkfront_discard(bf, off, 1 << 20)) < 0)
			fail("discard = %d (%s)", rc, strerror(-rc));
		fill(shadow + off, 1 << 20);
		if (pv_blkfront_pwrite(bf, shadow + off, 1 << 20, off) != 1 << 20)
			fail("rewrite after discard failed");
	}
	if ((rc = pv_blkfront_flush(bf)) < 0)
		fail("flush = %d (%s)", rc, strerror(-rc));
	/* 4. read back at random sizes, QD in flight, and compare */
	for (off = 0; off < region;) {
		size_t len = (size_t)(rnd() % (MAX_IO / 512) + 1) * 512;
		struct slot *s = free_slot(bf);

		if (off + len > region)
			len = region - off;
		submit(bf, s, PV_BLKFRONT_READ, off, len);
		nreads++;
		off += len;
	}
	drain(bf);
	for (off = 0; off < region; off += 512)
		if (memcmp(rbuf + off, shadow + off, 512))
			fail("read back differs from what was written at byte %zu", off);
	pv_blkfront_get_stats(bf, &st);
	out("info", "%u writes + %u reads verified over %lu MiB in %.1f s; requests=%llu "
	    "persistent_hits=%llu indirect_requests=%llu kicks=%llu wakeups=%llu errors=%llu "
	    "bad_responses=%llu",
	    nwrites, nreads, mib, now() - t0, (unsigned long long)st.requests,
	    (unsigned long long)st.persistent_hits, (unsigned long long)st.indirect_requests,
	    (unsigned long long)st.kicks, (unsigned long long)st.wakeups,
	    (unsigned long long)st.errors, (unsigned long long)st.bad_responses);
	if (st.errors || st.bad_responses)
		fail("errors=%llu bad_responses=%llu", (unsigned long long)st.errors,
		     (unsigned long long)st.bad_responses);
	if (in.indirect_segments && !st.indirect_requests)
		fail("indirect offered but no indirect request was sent");
	out("ok", "front-io hash=%016llx", (unsigned long long)hash(shadow, region));
	if ((rc = pv_blkfront_disconnect(bf)) < 0)
		fail("pv_blkfront_disconnect = %d (%s)", rc, strerror(-rc));
	out("ok", "front-close");
	pv_blkfront_close(bf);
	pv_platform_close(p);
	for (i = 0; i < QD; i++)
		free(slots[i].buf);
	free(shadow);
	free(rbuf);
	return 0;
}

static int cmd_wait_gone(unsigned int devid, unsigned int secs)
{
	struct pv_platform *p;
	const char *why = "";
	char path[64];
	double t0 = now();
	int rc;

	rc = pv_platform_open(getenv("PVIO_PLATFORM") ? NULL : "xen", &p, &why);
	if (rc < 0)
		fail("pv_platform_open(xen) = %d (%s): %s", rc, strerror(-rc), why ? why : "");
	snprintf(path, sizeof(path), "device/vbd/%u", devid);
	for (;;) {
		char *v = NULL;

		rc = pv_xs_read(p, 0, path, &v, NULL);
		free(v);
		if (rc == -ENOENT)
			break;
		if (now() - t0 > secs)
			fail("%s still there after %u s", path, secs);
		usleep(200000);
	}
	out("info", "%s removed after %.1f s", path, now() - t0);
	pv_platform_close(p);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 4 && !strcmp(argv[1], "front")) {
		scen = argv[2];
		return cmd_front((unsigned int)strtoul(argv[3], NULL, 0),
				 argc > 4 ? strtoul(argv[4], NULL, 0) : 16);
	}
	if (argc == 5 && !strcmp(argv[1], "wait-gone")) {
		scen = argv[2];
		return cmd_wait_gone((unsigned int)strtoul(argv[3], NULL, 0),
				     (unsigned int)strtoul(argv[4], NULL, 0));
	}
	if (argc == 4 && !strcmp(argv[1], "hash"))
		return cmd_hash(argv[2], strtoul(argv[3], NULL, 0));
	fprintf(stderr, "usage: xenblk_check front SCEN DEVID [MIB] | wait-gone SCEN DEVID SECS |"
		" hash FILE MIB\n");
	return 2;
}
