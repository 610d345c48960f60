/* SPDX-License-Identifier: MIT */
/*
 * pvio-fuse - a sim (or Xen) guest's virtual disk as a regular file, so that standard
 * tools (mkfs, fsck, fio, qemu-img ...) can use it unchanged:
 *
 *     pvio-fuse --platform sim:<rundir>:<domid> --vdev xvdb|<devid> [--threads N]
 *               [--stats] [fuse options] MOUNTPOINT
 *
 * MOUNTPOINT/disk is the disk: its size, read, write, fsync (a cache flush on the back
 * end), fallocate(PUNCH_HOLE) (a discard, when the back end offers it).  Reads and writes
 * need no alignment: partial sectors are read, modified and written back.
 *
 * By default the FUSE loop is single-threaded and calls blkfront's synchronous API: one
 * request in flight at a time.  --threads N runs libfuse's multi-threaded loop with up to
 * N workers; a blkfront handle is used by one thread at a time, so the workers go through
 * pv_blkfront_mt_io() (pv_blkfront.h): an I/O thread owns the handle and puts as many
 * requests on the rings at once as the workers have.
 *
 * On unmount, SIGTERM or SIGINT the disk is flushed and the device closed through the
 * XenBus Closing -> Closed handshake.
 */
#define FUSE_USE_VERSION 312

#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <fuse_lowlevel.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pv_blkfront.h"

#define CHUNK (1u << 20)  /* bytes moved per blkfront call */
#define MAX_SECTOR 4096u  /* the largest sector-size we read-modify-write (on the stack) */
#define MAX_THREADS 256u

static struct {
	const char *spec;
	unsigned int devid;
	struct pv_platform *p;
	struct pv_blkfront *bf;
	struct pv_blkfront_info info;
	uint64_t size;       /* bytes, a multiple of the sector size */
	unsigned int ss;
	unsigned int threads; /* 1: fuse_loop() and blkfront's synchronous API */
	/* Read-modify-write of a partial sector excludes all other I/O (see disk_io). */
	pthread_rwlock_t rmw;
	struct pv_blkfront_mt *mt;  /* --threads > 1: the I/O thread (pv_blkfront.h) */
	uint64_t ios;               /* single-threaded: blkfront calls made */
} g = { .threads = 1, .rmw = PTHREAD_RWLOCK_INITIALIZER };

static const char disk_name[] = "disk";

static int is_disk(const char *path)
{
	return path[0] == '/' && strcmp(path + 1, disk_name) == 0;
}

/* ---- device ------------------------------------------------------------------------ */

static int dev_open(const char **why)
{
	int rc = pv_platform_open(g.spec, &g.p, why);

	if (rc < 0)
		return rc;
	rc = pv_blkfront_open(g.p, g.devid, NULL, &g.bf);
	if (rc < 0) {
		*why = "cannot connect to the virtual disk";
		pv_platform_close(g.p);
		g.p = NULL;
		return rc;
	}
	pv_blkfront_info(g.bf, &g.info);
	g.ss = g.info.sector_size;
	g.size = g.info.sectors * 512u / g.ss * g.ss;
	if (g.ss > MAX_SECTOR || (g.ss & (g.ss - 1))) {
		*why = "sector-size not supported";
		return -EPROTO; /* dev_close() undoes the rest */
	}
	return 0;
}

static int dev_close(void)
{
	int rc = 0;

	if (g.bf) {
		if (g.info.flush || g.info.barrier)
			rc = pv_blkfront_flush(g.bf);
		if (pv_blkfront_disconnect(g.bf) < 0 && rc == 0)
			rc = -EIO;
		pv_blkfront_close(g.bf);
		g.bf = NULL;
	}
	if (g.p)
		pv_platform_close(g.p);
	g.p = NULL;
	return rc;
}

/* One blkfront operation, by the synchronous API or through the I/O thread. */
static int blk_io(enum pv_blkfront_op op, void *buf, size_t len, uint64_t off)
{
	ssize_t r;

	if (g.mt)
		return pv_blkfront_mt_io(g.mt, op, buf, len, off);
	g.ios++;
	switch (op) {
	case PV_BLKFRONT_READ:
		r = pv_blkfront_pread(g.bf, buf, len, off);
		break;
	case PV_BLKFRONT_WRITE:
		r = pv_blkfront_pwrite(g.bf, buf, len, off);
		break;
	case PV_BLKFRONT_FLUSH:
		r = pv_blkfront_flush(g.bf);
		break;
	default:
		r = pv_blkfront_discard(g.bf, off, len);
		break;
	}
	return r < 0 ? (int)r : 0;
}

/*
 * Reads or writes [off, off + len) of the disk, any alignment.  Whole sectors move
 * straight between buf and blkfront; a partial sector at either end goes through a
 * bounce buffer (read, patch, write back).  With several workers, that read-modify-write
 * holds the rmw lock exclusively, so that no other request can land on the sector
 * between its read and its write and be undone by it; whole-sector I/O shares the lock.
 */
static int disk_io(int write, uint8_t *buf, size_t len, uint64_t off)
{
	const uint64_t mask = g.ss - 1;
	uint8_t bounce[MAX_SECTOR];

	while (len) {
		uint64_t head = off & mask;
		size_t n;
		int r;

		if (head || len < g.ss) {
			/* One partial sector. */
			uint64_t sec = off - head;

			n = g.ss - head < len ? g.ss - head : len;
			if (write)
				pthread_rwlock_wrlock(&g.rmw);
			else
				pthread_rwlock_rdlock(&g.rmw);
			r = blk_io(PV_BLKFRONT_READ, bounce, g.ss, sec);
			if (r == 0 && write) {
				memcpy(bounce + head, buf, n);
				r = blk_io(PV_BLKFRONT_WRITE, bounce, g.ss, sec);
			} else if (r == 0) {
				memcpy(buf, bounce + head, n);
			}
			pthread_rwlock_unlock(&g.rmw);
		} else {
			/* Whole sectors, up to a chunk. */
			n = len & ~(size_t)mask;
			if (n > CHUNK)
				n = CHUNK;
			pthread_rwlock_rdlock(&g.rmw);
			r = blk_io(write ? PV_BLKFRONT_WRITE : PV_BLKFRONT_READ, buf, n, off);
			pthread_rwlock_unlock(&g.rmw);
		}
		if (r < 0)
			return r;
		buf += n;
		off += n;
		len -= n;
	}
	return 0;
}

/* ---- FUSE operations --------------------------------------------------------------------- */

static int op_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	(void)fi;
	memset(st, 0, sizeof(*st));
	st->st_uid = getuid();
	st->st_gid = getgid();
	if (strcmp(path, "/") == 0) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
		return 0;
	}
	if (!is_disk(path))
		return -ENOENT;
	st->st_mode = S_IFREG | (g.info.readonly ? 0444 : 0644);
	st->st_nlink = 1;
	st->st_size = (off_t)g.size;
	st->st_blksize = g.info.physical_sector_size > 4096 ? (blksize_t)g.info.physical_sector_size : 4096;
	st->st_blocks = (blkcnt_t)(g.size / 512);
	return 0;
}

static int op_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
		      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	(void)off;
	(void)fi;
	(void)flags;
	if (strcmp(path, "/") != 0)
		return -ENOENT;
	fill(buf, ".", NULL, 0, 0);
	fill(buf, "..", NULL, 0, 0);
	fill(buf, disk_name, NULL, 0, 0);
	return 0;
}

static int op_open(const char *path, struct fuse_file_info *fi)
{
	if (!is_disk(path))
		return -ENOENT;
	if ((fi->flags & O_ACCMODE) != O_RDONLY && g.info.readonly)
		return -EROFS;
	return 0;
}

static int op_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	int rc;

	(void)path;
	(void)fi;
	if (off < 0)
		return -EINVAL;
	if ((uint64_t)off >= g.size)
		return 0;
	if (size > g.size - (uint64_t)off)
		size = (size_t)(g.size - (uint64_t)off);
	if (size > INT_MAX)
		size = INT_MAX & ~(size_t)4095;
	rc = disk_io(0, (uint8_t *)buf, size, (uint64_t)off);
	return rc < 0 ? rc : (int)size;
}

static int op_write(const char *path, const char *buf, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	int rc;

	(void)path;
	(void)fi;
	if (off < 0)
		return -EINVAL;
	/* A disk does not grow. */
	if ((uint64_t)off >= g.size)
		return size ? -ENOSPC : 0;
	if (size > g.size - (uint64_t)off)
		size = (size_t)(g.size - (uint64_t)off);
	if (size > INT_MAX)
		size = INT_MAX & ~(size_t)4095;
	rc = disk_io(1, (uint8_t *)buf, size, (uint64_t)off);
	return rc < 0 ? rc : (int)size;
}

static int op_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	int rc;

	(void)path;
	(void)datasync;
	(void)fi;
	if (!g.info.flush && !g.info.barrier)
		return 0; /* no volatile cache to flush, as far as the back end tells */
	rc = blk_io(PV_BLKFRONT_FLUSH, NULL, 0, 0);
	return rc == -EOPNOTSUPP ? 0 : rc;
}

static int op_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	(void)fi;
	if (!is_disk(path))
		return -ENOENT;
	/* Opening with O_TRUNC of a disk makes no sense; "truncating" to its size is harmless. */
	return (uint64_t)size == g.size ? 0 : -EPERM;
}

/* Writes zeros over [s, e), any alignment. */
static int zero_range(uint64_t s, uint64_t e)
{
	static const uint8_t zeros[4096];

	while (s < e) {
		size_t n = e - s > sizeof(zeros) ? sizeof(zeros) : (size_t)(e - s);
		int rc = disk_io(1, (uint8_t *)zeros, n, s);

		if (rc < 0)
			return rc;
		s += n;
	}
	return 0;
}

/*
 * PUNCH_HOLE: the sectors wholly inside the range are discarded, partial ones written with
 * zeros.  A back end that offers discard must read discarded sectors back as zeros for
 * this to be a hole (pvio-backd's file back end punches holes; see docs/porting.md).
 * Without discard: EOPNOTSUPP, and tools (mke2fs) zero for themselves.
 */
static int op_fallocate(const char *path, int mode, off_t off, off_t len, struct fuse_file_info *fi)
{
	uint64_t start, end, a, b;
	int rc;

	(void)path;
	(void)fi;
	if (off < 0 || len <= 0)
		return -EINVAL;
	start = (uint64_t)off;
	end = start + (uint64_t)len < start || start + (uint64_t)len > g.size ? g.size : start + (uint64_t)len;
	if (!(mode & FALLOC_FL_PUNCH_HOLE)) {
		/* The whole disk is allocated already; it cannot grow. */
		if (mode & ~FALLOC_FL_KEEP_SIZE)
			return -EOPNOTSUPP;
		return (uint64_t)off + (uint64_t)len <= g.size || (mode & FALLOC_FL_KEEP_SIZE) ? 0 : -ENOSPC;
	}
	if (!(mode & FALLOC_FL_KEEP_SIZE) || (mode & ~(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)))
		return -EOPNOTSUPP;
	if (!g.info.discard)
		return -EOPNOTSUPP;
	if (start >= end)
		return 0;
	a = (start + g.ss - 1) & ~(uint64_t)(g.ss - 1);
	b = end & ~(uint64_t)(g.ss - 1);
	if (a >= b)
		return zero_range(start, end); /* no whole sector inside */
	if (b - a > SIZE_MAX)
		return -EINVAL;
	pthread_rwlock_rdlock(&g.rmw);
	rc = blk_io(PV_BLKFRONT_DISCARD, NULL, (size_t)(b - a), a);
	pthread_rwlock_unlock(&g.rmw);
	if (rc < 0)
		return rc;
	rc = zero_range(start, a);
	return rc < 0 ? rc : zero_range(b, end);
}

static int op_statfs(const char *path, struct statvfs *sv)
{
	(void)path;
	memset(sv, 0, sizeof(*sv));
	sv->f_bsize = sv->f_frsize = 4096;
	sv->f_blocks = g.size / 4096;
	sv->f_files = 1;
	sv->f_namemax = 255;
	return 0;
}

static void *op_init(struct fuse_conn_info *conn, struct fuse_config *cfg);

static const struct fuse_operations ops = {
	.init = op_init,
	.getattr = op_getattr,
	.readdir = op_readdir,
	.open = op_open,
	.read = op_read,
	.write = op_write,
	.fsync = op_fsync,
	.truncate = op_truncate,
	.fallocate = op_fallocate,
	.statfs = op_statfs,
};

/* ---- command line ------------------------------------------------------------------------ */

static void usage(FILE *f)
{
	fprintf(f, "usage: pvio-fuse --platform SPEC --vdev xvdX|DEVID [--threads N] [--stats]\n"
		   "                 [fuse options] MOUNTPOINT\n"
		   "  SPEC: sim:<rundir>:<domid> (pvio-simd) or xen; MOUNTPOINT/disk is the disk\n"
		   "  --threads N: up to N FUSE workers, so up to N requests in flight (default 1)\n"
		   "  --stats: at exit, print the requests made and the most in flight at once\n");
}

/* "sim:<dir>:<id>" with dir made absolute: a daemonized process runs in "/". */
static char *absolute_spec(const char *spec)
{
	const char *dir, *colon;
	char *rel, *abs, *out = NULL;

	if (strncmp(spec, "sim:", 4) != 0 || spec[4] == '/' || !(colon = strrchr(spec + 4, ':')))
		return strdup(spec);
	dir = spec + 4;
	rel = strndup(dir, (size_t)(colon - dir));
	abs = rel ? realpath(rel, NULL) : NULL;
	if (abs && asprintf(&out, "sim:%s%s", abs, colon) < 0)
		out = NULL;
	free(rel);
	free(abs);
	return out ? out : strdup(spec);
}

/* Lets the kernel send as many requests at once as we have workers to take them. */
static void *op_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	(void)cfg;
	if (g.threads > 1 && conn->max_background < 2 * g.threads) {
		conn->max_background = 2 * g.threads;
		conn->congestion_threshold = 2 * g.threads * 3 / 4;
	}
	return NULL;
}

static int parse_threads(const char *s)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (!*s || *end || v < 1 || v > MAX_THREADS)
		return -EINVAL;
	g.threads = (unsigned int)v;
	return 0;
}

/*
 * What the command line gave.  spec_arg and vdev point into argv (never freed); spec
 * is ours (absolute_spec()).
 */
int main(int argc, char **argv)
{
	struct fuse_cmdline_opts fo = { 0 };
	struct fuse_args args;
	struct fuse_loop_config *lc = NULL;
	struct fuse *f = NULL;
	char **av, *spec = NULL;
	const char *spec_arg = NULL, *vdev = NULL, *threads = NULL, *why = "";
	int ac = 0, i, rc, status = 1, stats = 0;
	unsigned int peak = 1;

	av = calloc((size_t)argc + 1, sizeof(*av));
	if (!av)
		return 1;
	av[ac++] = argv[0];
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--platform") == 0 && i + 1 < argc)
			spec_arg = argv[++i];
		else if (strncmp(argv[i], "--platform=", 11) == 0)
			spec_arg = argv[i] + 11;
		else if (strcmp(argv[i], "--vdev") == 0 && i + 1 < argc)
			vdev = argv[++i];
		else if (strncmp(argv[i], "--vdev=", 7) == 0)
			vdev = argv[i] + 7;
		else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
			threads = argv[++i];
		else if (strncmp(argv[i], "--threads=", 10) == 0)
			threads = argv[i] + 10;
		else if (strcmp(argv[i], "--stats") == 0)
			stats = 1;
		else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			free(av);
			return 0;
		} else
			av[ac++] = argv[i];
	}
	args = (struct fuse_args)FUSE_ARGS_INIT(ac, av);
	if (!vdev || pv_blkfront_parse_vdev(vdev, &g.devid) < 0) {
		usage(stderr);
		fprintf(stderr, "pvio-fuse: %s\n", vdev ? "bad --vdev" : "--vdev is required");
		goto out;
	}
	if (threads && parse_threads(threads) < 0) {
		usage(stderr);
		fprintf(stderr, "pvio-fuse: bad --threads (1 to %u)\n", MAX_THREADS);
		goto out;
	}
	/* libfuse says what is wrong with a bad mount point or option itself. */
	if (fuse_parse_cmdline(&args, &fo) != 0)
		goto out;
	if (!fo.mountpoint) {
		usage(stderr);
		fprintf(stderr, "pvio-fuse: MOUNTPOINT is missing\n");
		goto out;
	}
	if (!spec_arg)
		spec_arg = getenv("PVIO_PLATFORM") ? getenv("PVIO_PLATFORM") : "xen";
	g.spec = spec = absolute_spec(spec_arg);
	if (!spec)
		goto out;

	/*
	 * Connect before mounting, so that a wrong vdev is an error on the command line, not an
	 * empty mount.  A daemon cannot keep the connection across fork() (the platform has
	 * threads and sockets), so in the background it closes and connects again.
	 */
	rc = dev_open(&why);
	if (rc < 0) {
		fprintf(stderr, "pvio-fuse: %s: %s: %s\n", g.spec, why ? why : "", strerror(-rc));
		goto out_dev;
	}
	f = fuse_new(&args, &ops, sizeof(ops), NULL);
	if (!f)
		goto out_dev;
	if (fuse_mount(f, fo.mountpoint) != 0)
		goto out_dev;
	if (fuse_set_signal_handlers(fuse_get_session(f)) != 0)
		goto out_unmount;
	if (!fo.foreground) {
		dev_close();
		if (fuse_daemonize(0) != 0)
			goto out_signals;
		if (dev_open(&why) < 0)
			goto out_signals;
	}
	/* libfuse returns the signal's number when SIGTERM/SIGINT/SIGHUP ended the loop. */
	if (g.threads == 1) {
		/* One request at a time, blkfront's synchronous API straight from the loop. */
		rc = fuse_loop(f);
	} else {
		struct pv_blkfront_mt_stats st = { 0 };

		lc = fuse_loop_cfg_create();
		if (!lc || pv_blkfront_mt_start(g.bf, &g.mt) < 0) {
			fprintf(stderr, "pvio-fuse: cannot start the I/O thread\n");
			goto out_signals;
		}
		fuse_loop_cfg_set_max_threads(lc, g.threads);
		fuse_loop_cfg_set_idle_threads(lc, g.threads);
		rc = fuse_loop_mt(f, lc);
		/* No worker is left: the handle goes back to this thread (dev_close()). */
		pv_blkfront_mt_stop(g.mt, &st);
		g.mt = NULL;
		g.ios = st.ios;
		peak = st.max_inflight;
	}
	status = rc == 0 || rc == SIGTERM || rc == SIGINT || rc == SIGHUP ? 0 : 1;
	if (stats)
		fprintf(stderr, "pvio-fuse: threads %u, requests %llu, most in flight %u\n", g.threads,
			(unsigned long long)g.ios, peak);
out_signals:
	fuse_remove_signal_handlers(fuse_get_session(f));
out_unmount:
	fuse_unmount(f);
out_dev:
	/* Flush and leave through Closing -> Closed, whatever ended the loop. */
	if (dev_close() < 0)
		status = 1;
	if (f)
		fuse_destroy(f);
out:
	if (lc)
		fuse_loop_cfg_destroy(lc);
	free(fo.mountpoint);
	fuse_opt_free_args(&args);
	free(spec);
	free(av);
	return status;
}
