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
 * N workers; a blkfront handle is used by one thread at a time (pv_blkfront.h), so one I/O
 * thread owns it and the workers hand it their requests (struct mt below), which puts as
 * many requests on the rings at once as the workers have.
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
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pv_blkfront.h"

#define CHUNK (1u << 20)  /* bytes moved per blkfront call */
#define MAX_SECTOR 4096u  /* the largest sector-size we read-modify-write (on the stack) */
#define MAX_THREADS 256u

/*
 * One request handed by a FUSE worker to the I/O thread.  The worker sleeps on cv until
 * the I/O thread has set done; the request lives on the worker's stack.
 */
struct mt_req {
	struct pv_blkfront_io io;
	pthread_cond_t cv;
	int done, status;
	struct mt_req *next;
};

/*
 * The multi-threaded mode's I/O thread and its queue.  Everything below lock is shared by
 * the workers and the I/O thread; inflight and peak only by the I/O thread.
 */
struct mt {
	pthread_t thread;
	int running;
	int efd;                   /* eventfd: wakes the I/O thread (new request, stop) */
	pthread_mutex_t lock;
	struct mt_req *head, **tail; /* submitted by workers, not yet taken */
	int stop;
	unsigned int inflight;     /* taken and not completed (I/O thread only) */
	unsigned int peak;         /* most at once */
	uint64_t requests;
};

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
	struct mt mt;
} g = { .threads = 1, .rmw = PTHREAD_RWLOCK_INITIALIZER,
	.mt = { .efd = -1, .lock = PTHREAD_MUTEX_INITIALIZER } };

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

/* ---- the I/O thread (--threads N > 1) ---------------------------------------------------- */

/* Called by pv_blkfront_poll() in the I/O thread. */
static void mt_done(struct pv_blkfront_io *io, int status)
{
	struct mt_req *r = io->opaque;

	g.mt.inflight--;
	pthread_mutex_lock(&g.mt.lock);
	r->status = status;
	r->done = 1;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&g.mt.lock);
}

static void mt_finish(struct mt_req *r, int status)
{
	r->io.opaque = r;
	g.mt.inflight++;
	mt_done(&r->io, status);
}

/*
 * Takes the workers' requests, submits them, and waits for responses, new requests or
 * the back end's xenstore nodes changing.  Requests the rings cannot take yet (-EAGAIN)
 * wait in order in a local list until responses free room.
 */
static void *mt_main(void *arg)
{
	struct mt_req *wait_head = NULL, **wait_tail = &wait_head, *r;
	int evfd = pv_evtchn_fd(g.p), xsfd = pv_xs_watch_fd(g.p), failed = 0;

	(void)arg;
	for (;;) {
		struct pollfd pfd[3];
		uint64_t v;
		int n, stop, progress;

		pthread_mutex_lock(&g.mt.lock);
		*wait_tail = g.mt.head;
		if (g.mt.head)
			wait_tail = g.mt.tail;
		g.mt.head = NULL;
		g.mt.tail = &g.mt.head;
		stop = g.mt.stop;
		pthread_mutex_unlock(&g.mt.lock);

		while ((r = wait_head) != NULL) {
			int rc;

			r->io.done = mt_done;
			r->io.opaque = r;
			rc = pv_blkfront_submit(g.bf, &r->io);
			if (rc == -EAGAIN)
				break;
			wait_head = r->next;
			if (!wait_head)
				wait_tail = &wait_head;
			if (rc < 0) {
				mt_finish(r, rc);
				continue;
			}
			g.mt.requests++;
			if (++g.mt.inflight > g.mt.peak)
				g.mt.peak = g.mt.inflight;
		}
		pv_blkfront_kick(g.bf);
		/*
		 * Non-blocking polls until one completes nothing: that one has also asked the back
		 * end for an event at the next response (pv_ring_final_check_responses), so the
		 * poll() below cannot miss it.
		 */
		progress = 0;
		while ((n = pv_blkfront_poll(g.bf, 0)) > 0)
			progress = 1;
		if (n < 0)
			failed = 1; /* every io in flight completed; submit() now fails at once */
		if (wait_head && (progress || failed))
			continue; /* room on the rings, or submit() fails them now */
		if (stop && !wait_head && !g.mt.inflight)
			break;

		pfd[0] = (struct pollfd){ .fd = g.mt.efd, .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = evfd, .events = POLLIN };
		/* A failed handle no longer drains the watch: do not spin on it. */
		pfd[2] = (struct pollfd){ .fd = failed ? -1 : xsfd, .events = POLLIN };
		/* A finite wait when requests are waiting for room: a back end that frees slots
		 * without an event for us must not stall them for good. */
		if (poll(pfd, 3, wait_head ? 100 : -1) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents & POLLIN)
			(void)!read(g.mt.efd, &v, sizeof(v));
	}
	/* Out of the loop by a poll() error: nobody may be left waiting. */
	while ((r = wait_head) != NULL) {
		wait_head = r->next;
		mt_finish(r, -EIO);
	}
	return NULL;
}

static int mt_start(void)
{
	int rc;

	g.mt.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (g.mt.efd < 0)
		return -errno;
	g.mt.tail = &g.mt.head;
	g.mt.stop = 0;
	rc = pthread_create(&g.mt.thread, NULL, mt_main, NULL);
	if (rc) {
		close(g.mt.efd);
		g.mt.efd = -1;
		return -rc;
	}
	g.mt.running = 1;
	return 0;
}

static void mt_kick(void)
{
	uint64_t one = 1;

	(void)!write(g.mt.efd, &one, sizeof(one));
}

/* After the FUSE loop ended (no worker left): completes what is in flight and joins. */
static void mt_stop(void)
{
	if (!g.mt.running)
		return;
	pthread_mutex_lock(&g.mt.lock);
	g.mt.stop = 1;
	pthread_mutex_unlock(&g.mt.lock);
	mt_kick();
	pthread_join(g.mt.thread, NULL);
	g.mt.running = 0;
	close(g.mt.efd);
	g.mt.efd = -1;
}

/* Queues io for the I/O thread and waits for its status. */
static int mt_run(struct pv_blkfront_io *io)
{
	struct mt_req r = { .io = *io };
	int rc;

	pthread_cond_init(&r.cv, NULL);
	pthread_mutex_lock(&g.mt.lock);
	*g.mt.tail = &r;
	g.mt.tail = &r.next;
	pthread_mutex_unlock(&g.mt.lock);
	mt_kick();
	pthread_mutex_lock(&g.mt.lock);
	while (!r.done)
		pthread_cond_wait(&r.cv, &g.mt.lock);
	rc = r.status;
	pthread_mutex_unlock(&g.mt.lock);
	pthread_cond_destroy(&r.cv);
	return rc;
}

/* One blkfront operation, by the synchronous API or through the I/O thread. */
static int blk_io(enum pv_blkfront_op op, void *buf, size_t len, uint64_t off)
{
	struct pv_blkfront_io io = { .op = op, .offset = off, .len = len, .buf = buf };
	ssize_t r;

	if (g.mt.running)
		return mt_run(&io);
	g.mt.requests++; /* one thread: nobody else counts */
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
	if (!vdev || parse_vdev(vdev, &g.devid) < 0) {
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
		lc = fuse_loop_cfg_create();
		if (!lc || (rc = mt_start()) < 0) {
			fprintf(stderr, "pvio-fuse: cannot start the I/O thread\n");
			goto out_signals;
		}
		fuse_loop_cfg_set_max_threads(lc, g.threads);
		fuse_loop_cfg_set_idle_threads(lc, g.threads);
		rc = fuse_loop_mt(f, lc);
		mt_stop();
	}
	status = rc == 0 || rc == SIGTERM || rc == SIGINT || rc == SIGHUP ? 0 : 1;
	if (stats)
		fprintf(stderr, "pvio-fuse: threads %u, requests %llu, most in flight %u\n", g.threads,
			(unsigned long long)g.mt.requests, g.threads > 1 ? g.mt.peak : 1u);
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
