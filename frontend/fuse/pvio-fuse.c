/* SPDX-License-Identifier: MIT */
/*
 * pvio-fuse - a sim (or Xen) guest's virtual disk as a regular file, so that standard
 * tools (mkfs, fsck, fio, qemu-img ...) can use it unchanged:
 *
 *     pvio-fuse --platform sim:<rundir>:<domid> --vdev xvdb|<devid> [fuse options] MOUNTPOINT
 *
 * MOUNTPOINT/disk is the disk: its size, read, write, fsync (a cache flush on the back
 * end), fallocate(PUNCH_HOLE) (a discard, when the back end offers it).  Reads and writes
 * need no alignment: partial sectors are read, modified and written back.
 *
 * The FUSE loop is single-threaded (a blkfront handle is used by one thread at a time).
 * On unmount, SIGTERM or SIGINT the disk is flushed and the device closed through the
 * XenBus Closing -> Closed handshake.
 */
#define FUSE_USE_VERSION 31

#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <fuse_lowlevel.h>
#include <limits.h>
#include <signal.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pv_blkfront.h"

#define CHUNK (1u << 20) /* bytes moved per blkfront call */

static struct {
	const char *spec;
	unsigned int devid;
	struct pv_platform *p;
	struct pv_blkfront *bf;
	struct pv_blkfront_info info;
	uint64_t size;       /* bytes, a multiple of the sector size */
	unsigned int ss;
	uint8_t *bounce;     /* two sectors for read-modify-write */
} g;

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

/*
 * Reads or writes [off, off + len) of the disk, any alignment.  Whole sectors move
 * straight between buf and blkfront; a partial sector at either end goes through the
 * bounce buffer (read, patch, write back).
 */
static int disk_io(int write, uint8_t *buf, size_t len, uint64_t off)
{
	const uint64_t mask = g.ss - 1;

	while (len) {
		uint64_t head = off & mask;
		size_t n;
		ssize_t r;

		if (head || len < g.ss) {
			/* One partial sector. */
			uint64_t sec = off - head;

			n = g.ss - head < len ? g.ss - head : len;
			r = pv_blkfront_pread(g.bf, g.bounce, g.ss, sec);
			if (r < 0)
				return (int)r;
			if (write) {
				memcpy(g.bounce + head, buf, n);
				r = pv_blkfront_pwrite(g.bf, g.bounce, g.ss, sec);
				if (r < 0)
					return (int)r;
			} else {
				memcpy(buf, g.bounce + head, n);
			}
		} else {
			/* Whole sectors, up to a chunk. */
			n = len & ~(size_t)mask;
			if (n > CHUNK)
				n = CHUNK;
			r = write ? pv_blkfront_pwrite(g.bf, buf, n, off) : pv_blkfront_pread(g.bf, buf, n, off);
			if (r < 0)
				return (int)r;
		}
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
	rc = pv_blkfront_flush(g.bf);
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
	rc = pv_blkfront_discard(g.bf, a, b - a);
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

static const struct fuse_operations ops = {
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

/*
 * Xen's virtual-device number (docs/protocol.md): xvd<letters>[<partition>], or a plain
 * number.  Returns 0 and *devid, or -EINVAL.
 */
static int parse_vdev(const char *s, unsigned int *devid)
{
	unsigned long d = 0, part = 0;
	const char *c;
	char *end;

	if (s[0] >= '0' && s[0] <= '9') {
		unsigned long v = strtoul(s, &end, 10);

		if (*end || v > UINT_MAX)
			return -EINVAL;
		*devid = (unsigned int)v;
		return 0;
	}
	if (strncmp(s, "xvd", 3) != 0 || !(s[3] >= 'a' && s[3] <= 'z'))
		return -EINVAL;
	for (c = s + 3; *c >= 'a' && *c <= 'z'; c++) {
		d = d * 26 + (unsigned long)(*c - 'a' + 1);
		if (d > 1u << 20)
			return -EINVAL;
	}
	d--; /* bijective base 26: a = 0, z = 25, aa = 26 */
	if (*c) {
		part = strtoul(c, &end, 10);
		if (*end || part > 255)
			return -EINVAL;
	}
	if (d < 16 && part < 16)
		*devid = (unsigned int)((202u << 8) | (d << 4) | part);
	else
		*devid = (unsigned int)((1u << 28) | (d << 8) | part);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: pvio-fuse --platform SPEC --vdev xvdX|DEVID [fuse options] MOUNTPOINT\n"
		   "  SPEC: sim:<rundir>:<domid> (pvio-simd) or xen; MOUNTPOINT/disk is the disk\n");
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

int main(int argc, char **argv)
{
	struct fuse_cmdline_opts fo = { 0 };
	struct fuse_args args;
	struct fuse *f = NULL;
	char **av, *spec = NULL;
	const char *vdev = NULL, *why = "";
	int ac = 0, i, rc, status = 1;

	av = calloc((size_t)argc + 1, sizeof(*av));
	if (!av)
		return 1;
	av[ac++] = argv[0];
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--platform") == 0 && i + 1 < argc)
			spec = argv[++i];
		else if (strncmp(argv[i], "--platform=", 11) == 0)
			spec = argv[i] + 11;
		else if (strcmp(argv[i], "--vdev") == 0 && i + 1 < argc)
			vdev = argv[++i];
		else if (strncmp(argv[i], "--vdev=", 7) == 0)
			vdev = argv[i] + 7;
		else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			free(av);
			return 0;
		} else
			av[ac++] = argv[i];
	}
	args = (struct fuse_args)FUSE_ARGS_INIT(ac, av);
	if (!vdev || parse_vdev(vdev, &g.devid) < 0) {
		usage(stderr);
		fprintf(stderr, "pvio-fuse: %s\n", vdev ? "bad --vdev" : "--vdev is required");
		goto out;
	}
	if (fuse_parse_cmdline(&args, &fo) != 0 || !fo.mountpoint) {
		usage(stderr);
		goto out;
	}
	g.spec = spec = absolute_spec(spec ? spec : (getenv("PVIO_PLATFORM") ? getenv("PVIO_PLATFORM") : "xen"));
	g.bounce = malloc(4096);
	if (!spec || !g.bounce)
		goto out;

	/*
	 * Connect before mounting, so that a wrong vdev is an error on the command line, not an
	 * empty mount.  A daemon cannot keep the connection across fork() (the platform has
	 * threads and sockets), so in the background it closes and connects again.
	 */
	rc = dev_open(&why);
	if (rc < 0) {
		fprintf(stderr, "pvio-fuse: %s: %s: %s\n", g.spec, why ? why : "", strerror(-rc));
		goto out;
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
	/* Single-threaded on purpose: one thread at a time per blkfront handle. */
	/* libfuse returns the signal's number when SIGTERM/SIGINT/SIGHUP ended the loop. */
	rc = fuse_loop(f);
	status = rc == 0 || rc == SIGTERM || rc == SIGINT || rc == SIGHUP ? 0 : 1;
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
	free(fo.mountpoint);
	fuse_opt_free_args(&args);
	free(spec);
	free(g.bounce);
	free(av);
	return status;
}
