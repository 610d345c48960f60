/* SPDX-License-Identifier: MIT */
/*
 * copy_probe - how fast this (dom0) kernel moves a tmpfs file's bytes each way the two
 * block back ends do it, outside any guest:
 *
 *   copy_probe FILE LOOPDEV
 *
 * read_mibs: pread(2) of FILE in 1 MiB pieces into one user buffer (copy_to_user: what
 * pvio-backd's preadv into a guest's mapped pages does); loop_mibs: O_DIRECT pread(2) of
 * LOOPDEV, a loop device over FILE (the loop driver's in-kernel copy into the pinned
 * pages, what blkback's loop device does); memcpy_mibs: a user-space memcpy of the same
 * size, for scale.  Each the best of three passes over the whole file.  Prints one line
 * "read_mibs=R loop_mibs=L memcpy_mibs=M"; exits 1 on an error.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (1u << 20)

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* MiB/s of reading all of fd (size bytes) into buf, best of three; -1 on an error. */
static double pass(int fd, off_t size, void *buf)
{
	double best = -1;
	int k;

	for (k = 0; k < 3; k++) {
		double t0 = now(), t;
		off_t off;

		for (off = 0; off < size; off += CHUNK)
			if (pread(fd, buf, CHUNK, off) <= 0)
				return -1;
		t = now() - t0;
		if (t > 0 && (best < 0 || (double)size / t / 1048576 > best))
			best = (double)size / t / 1048576;
	}
	return best;
}

int main(int argc, char **argv)
{
	void *buf, *dst;
	struct stat st;
	double r, l, m = -1;
	int fd, lfd, k;

	if (argc != 3) {
		fprintf(stderr, "usage: copy_probe FILE LOOPDEV\n");
		return 2;
	}
	fd = open(argv[1], O_RDONLY);
	lfd = open(argv[2], O_RDONLY | O_DIRECT);
	if (fd < 0 || lfd < 0 || fstat(fd, &st) < 0 || posix_memalign(&buf, 4096, CHUNK) ||
	    posix_memalign(&dst, 4096, CHUNK)) {
		perror("copy_probe");
		return 1;
	}
	st.st_size -= st.st_size % CHUNK;
	memset(buf, 1, CHUNK);
	memset(dst, 2, CHUNK);
	r = pass(fd, st.st_size, buf);
	l = pass(lfd, st.st_size, buf);
	for (k = 0; k < 3; k++) {
		double t0 = now(), t;
		off_t off;

		for (off = 0; off < st.st_size; off += CHUNK) {
			memcpy(dst, buf, CHUNK);
			__asm__ volatile("" : : "r"(dst) : "memory"); /* keep every copy */
		}
		t = now() - t0;
		if (t > 0 && (m < 0 || (double)st.st_size / t / 1048576 > m))
			m = (double)st.st_size / t / 1048576;
	}
	if (r < 0 || l < 0) {
		perror("copy_probe: pread");
		return 1;
	}
	printf("read_mibs=%.0f loop_mibs=%.0f memcpy_mibs=%.0f\n", r, l, m);
	return 0;
}
