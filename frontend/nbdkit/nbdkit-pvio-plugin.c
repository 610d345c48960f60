/* SPDX-License-Identifier: MIT */
/*
 * nbdkit-pvio-plugin - a sim (or Xen) guest's virtual disk served over NBD, so that NBD
 * clients (qemu-img, qemu, nbdfuse, nbd-client, fio's nbd engine) reach it with queue depth:
 *
 *     nbdkit [--foreground] [--unix SOCKET] build/lib/nbdkit-pvio-plugin.so \
 *            platform=sim:<rundir>:<domid> vdev=xvdb|<devid> [stats=1]
 *
 * This process is the guest: one blkfront connection to device/vbd/<devid> of its domain,
 * shared by every NBD connection.  nbdkit's parallel thread model calls us from many
 * threads at once; they go through pv_blkfront_mt_io(), whose I/O thread owns the handle
 * and keeps all of their requests on the rings together.
 *
 * Offsets and lengths must be multiples of the disk's sector size (the block_size callback
 * tells clients so; anything else is EINVAL).  Flush is the back end's cache flush;
 * FUA is emulated by nbdkit with a flush; trim is a discard when the back end offers it.
 * can_multi_conn: one blkfront serves all connections, so a flush on one covers the
 * writes every connection saw completed.
 *
 * nbdkit forks before serving (unless --foreground): the platform's threads and sockets
 * do not survive a fork, so get_ready connects once to check the device (a wrong vdev is
 * an error at start) and closes, and after_fork connects for good.
 */
#define NBDKIT_API_VERSION 2
#include <nbdkit-plugin.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pv_blkfront.h"

#define THREAD_MODEL NBDKIT_THREAD_MODEL_PARALLEL

static struct {
	char *spec;
	unsigned int devid;
	int have_vdev, stats;
	struct pv_platform *p;
	struct pv_blkfront *bf;
	struct pv_blkfront_mt *mt;
	struct pv_blkfront_info info;
	uint64_t size;
	unsigned int ss;
} g;

static int dev_open(void)
{
	const char *why = NULL;
	int rc = pv_platform_open(g.spec, &g.p, &why);

	if (rc < 0) {
		nbdkit_error("%s: %s", g.spec ? g.spec : "$PVIO_PLATFORM", why ? why : strerror(-rc));
		return -1;
	}
	rc = pv_blkfront_open(g.p, g.devid, NULL, &g.bf);
	if (rc < 0) {
		nbdkit_error("%s: cannot connect to the virtual disk %u: %s", g.spec ? g.spec : "",
			     g.devid, strerror(-rc));
		pv_platform_close(g.p);
		g.p = NULL;
		return -1;
	}
	pv_blkfront_info(g.bf, &g.info);
	g.ss = g.info.sector_size;
	g.size = g.info.sectors * 512u / g.ss * g.ss;
	/* The back end's values: nbdkit refuses a minimum block over 64 KiB, sizes are int64. */
	if (g.ss > 65536 || g.size > INT64_MAX) {
		nbdkit_error("virtual disk %u: sector size %u or size %llu out of range", g.devid,
			     g.ss, (unsigned long long)g.size);
		pv_blkfront_close(g.bf);
		g.bf = NULL;
		pv_platform_close(g.p);
		g.p = NULL;
		return -1;
	}
	return 0;
}

/* Flush, Closing -> Closed, close; the I/O thread must be stopped already. */
static void dev_close(void)
{
	if (g.bf) {
		if (g.info.flush || g.info.barrier)
			pv_blkfront_flush(g.bf);
		pv_blkfront_disconnect(g.bf);
		pv_blkfront_close(g.bf);
		g.bf = NULL;
	}
	if (g.p)
		pv_platform_close(g.p);
	g.p = NULL;
}

static int pvio_config(const char *key, const char *value)
{
	if (strcmp(key, "platform") == 0) {
		const char *colon = strrchr(value, ':');

		free(g.spec);
		g.spec = NULL;
		/* nbdkit runs in "/" once forked: make a sim rundir absolute. */
		if (strncmp(value, "sim:", 4) == 0 && value[4] != '/' && colon > value + 4) {
			char *dir = strndup(value + 4, (size_t)(colon - (value + 4)));
			char *abs = dir ? nbdkit_absolute_path(dir) : NULL;

			if (abs && asprintf(&g.spec, "sim:%s%s", abs, colon) < 0)
				g.spec = NULL;
			free(dir);
			free(abs);
		} else {
			g.spec = strdup(value);
		}
		if (!g.spec) {
			nbdkit_error("platform=%s: out of memory", value);
			return -1;
		}
		return 0;
	}
	if (strcmp(key, "vdev") == 0) {
		if (pv_blkfront_parse_vdev(value, &g.devid) < 0) {
			nbdkit_error("vdev=%s: want xvd<letters>[<partition>] or a device number", value);
			return -1;
		}
		g.have_vdev = 1;
		return 0;
	}
	if (strcmp(key, "stats") == 0) {
		g.stats = nbdkit_parse_bool(value);
		return g.stats < 0 ? -1 : 0;
	}
	nbdkit_error("unknown parameter '%s' (platform=, vdev=, stats=)", key);
	return -1;
}

static int pvio_config_complete(void)
{
	if (!g.have_vdev) {
		nbdkit_error("vdev= is required (xvdb, or the device number)");
		return -1;
	}
	return 0;
}

static int pvio_get_ready(void)
{
	if (dev_open() < 0)
		return -1;
	dev_close();
	return 0;
}

static int pvio_after_fork(void)
{
	int rc;

	if (dev_open() < 0)
		return -1;
	rc = pv_blkfront_mt_start(g.bf, &g.mt);
	if (rc < 0) {
		nbdkit_error("cannot start the I/O thread: %s", strerror(-rc));
		return -1;
	}
	return 0;
}

/* After the last connection is gone: every request has been answered. */
static void pvio_cleanup(void)
{
	struct pv_blkfront_mt_stats st = { 0 };

	if (g.mt) {
		pv_blkfront_mt_stop(g.mt, &st);
		g.mt = NULL;
		if (g.stats)
			fprintf(stderr, "nbdkit-pvio-plugin: requests %llu, most in flight %u\n",
				(unsigned long long)st.ios, st.max_inflight);
	}
	dev_close();
}

static void pvio_unload(void)
{
	free(g.spec);
	g.spec = NULL;
}

static void *pvio_open(int readonly)
{
	(void)readonly;
	return &g; /* one device for every connection */
}

static int64_t pvio_get_size(void *h)
{
	(void)h;
	return (int64_t)g.size;
}

static int pvio_block_size(void *h, uint32_t *minimum, uint32_t *preferred, uint32_t *maximum)
{
	(void)h;
	*minimum = g.ss;
	*preferred = g.ss > 4096 ? g.ss : 4096;
	*maximum = 0xffffffffu;
	return 0;
}

static int pvio_can_write(void *h)
{
	(void)h;
	return !g.info.readonly;
}

static int pvio_can_flush(void *h)
{
	(void)h;
	return 1; /* a no-op when the back end has no volatile cache (no flush, no barrier) */
}

static int pvio_can_trim(void *h)
{
	(void)h;
	return g.info.discard;
}

static int pvio_can_fua(void *h)
{
	(void)h;
	return NBDKIT_FUA_EMULATE;
}

static int pvio_can_multi_conn(void *h)
{
	(void)h;
	return 1;
}

/* One io; nbdkit's error from -errno. */
static int io(enum pv_blkfront_op op, void *buf, uint32_t count, uint64_t offset)
{
	int rc;

	if (op != PV_BLKFRONT_FLUSH && ((offset | count) & (g.ss - 1))) {
		nbdkit_error("%s of %u bytes at %llu: not a multiple of the sector size %u",
			     op == PV_BLKFRONT_READ ? "read" : op == PV_BLKFRONT_WRITE ? "write" : "trim",
			     count, (unsigned long long)offset, g.ss);
		nbdkit_set_error(EINVAL);
		return -1;
	}
	rc = pv_blkfront_mt_io(g.mt, op, buf, count, offset);
	if (rc < 0) {
		nbdkit_set_error(-rc);
		return -1;
	}
	return 0;
}

static int pvio_pread(void *h, void *buf, uint32_t count, uint64_t offset, uint32_t flags)
{
	(void)h;
	(void)flags;
	return io(PV_BLKFRONT_READ, buf, count, offset);
}

static int pvio_pwrite(void *h, const void *buf, uint32_t count, uint64_t offset, uint32_t flags)
{
	(void)h;
	(void)flags; /* FUA: emulated by nbdkit (a flush after) */
	return io(PV_BLKFRONT_WRITE, (void *)buf, count, offset);
}

static int pvio_flush(void *h, uint32_t flags)
{
	(void)h;
	(void)flags;
	if (!g.info.flush && !g.info.barrier)
		return 0;
	return io(PV_BLKFRONT_FLUSH, NULL, 0, 0);
}

static int pvio_trim(void *h, uint32_t count, uint64_t offset, uint32_t flags)
{
	(void)h;
	(void)flags;
	return io(PV_BLKFRONT_DISCARD, NULL, count, offset);
}

static struct nbdkit_plugin plugin = {
	.name = "pvio",
	.longname = "pvio: a guest's paravirtual disk (blkfront)",
	.version = "1",
	.description = "A sim or Xen guest's vbd through pvio's blkfront",
	.config = pvio_config,
	.config_complete = pvio_config_complete,
	.config_help = "platform=sim:<rundir>:<domid>|xen  the guest (default $PVIO_PLATFORM)\n"
		       "vdev=xvdb|<devid>                  the disk (required)\n"
		       "stats=1                            at exit: requests, most in flight",
	.magic_config_key = "vdev",
	.get_ready = pvio_get_ready,
	.after_fork = pvio_after_fork,
	.cleanup = pvio_cleanup,
	.unload = pvio_unload,
	.open = pvio_open,
	.get_size = pvio_get_size,
	.block_size = pvio_block_size,
	.can_write = pvio_can_write,
	.can_flush = pvio_can_flush,
	.can_trim = pvio_can_trim,
	.can_fua = pvio_can_fua,
	.can_multi_conn = pvio_can_multi_conn,
	.pread = pvio_pread,
	.pwrite = pvio_pwrite,
	.flush = pvio_flush,
	.trim = pvio_trim,
	.errno_is_preserved = 0,
};

NBDKIT_REGISTER_PLUGIN(plugin)
