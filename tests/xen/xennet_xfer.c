/* SPDX-License-Identifier: MIT */
/*
 * xennet_xfer - whole-file TCP transfers for the net scenarios of tests/xen (busybox's nc
 * exits when its stdin ends and drops data still in flight, so it cannot be trusted with a
 * checksum comparison).
 *
 *   xennet_xfer serve PORT DIR          dom0: forever, one connection at a time:
 *                                       "PUT name\n" + data to EOF -> DIR/name
 *                                       "GET name\n" -> the contents of DIR/name
 *   xennet_xfer put HOST PORT FILE NAME the domU's upload
 *   xennet_xfer get HOST PORT NAME FILE the domU's download
 *
 * A sender half-closes and waits for the peer's EOF, so a zero exit status means the
 * receiver read every byte.  put and get print "bytes=N secs=S" on success.  Each side gives
 * up after 120 s of silence.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void timeouts(int s)
{
	struct timeval tv = { .tv_sec = 120 };

	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* in -> out until EOF; returns the byte count or -errno */
static long long pump(int in, int out)
{
	static char buf[1 << 16];
	long long total = 0;

	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf)), off = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return total;
		while (off < n) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				return w < 0 ? -errno : -EIO;
			off += w;
		}
		total += n;
	}
}

/* after sending: half-close, then wait for the peer to close (it has read everything) */
static int finish_send(int s)
{
	char c;
	ssize_t n;

	if (shutdown(s, SHUT_WR) < 0)
		return -errno;
	while ((n = read(s, &c, 1)) < 0 && errno == EINTR)
		;
	return n == 0 ? 0 : -EPROTO;
}

static int name_ok(const char *n)
{
	return *n && strlen(n) < 64 && !strchr(n, '/') && n[0] != '.';
}

static int serve(int port, const char *dir)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int one = 1, ls = socket(AF_INET, SOCK_STREAM, 0);

	if (ls < 0 || setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(ls, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(ls, 4) < 0) {
		perror("xennet_xfer: listen");
		return 2;
	}
	for (;;) {
		char line[128], path[512];
		size_t len = 0;
		long long n = -EPROTO;
		int s = accept(ls, NULL, NULL), fd;

		if (s < 0)
			continue;
		timeouts(s);
		while (len < sizeof(line) - 1 && read(s, line + len, 1) == 1 && line[len] != '\n')
			len++;
		line[len] = 0;
		if (len > 4 && name_ok(line + 4)) {
			snprintf(path, sizeof(path), "%s/%s", dir, line + 4);
			if (strncmp(line, "PUT ", 4) == 0) {
				fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
				n = fd < 0 ? -errno : pump(s, fd);
				if (fd >= 0)
					close(fd);
			} else if (strncmp(line, "GET ", 4) == 0) {
				fd = open(path, O_RDONLY);
				n = fd < 0 ? -errno : pump(fd, s);
				if (fd >= 0)
					close(fd);
				if (n >= 0 && finish_send(s) < 0)
					n = -EPROTO;
			}
		}
		fprintf(stderr, "xennet_xfer: %s: %lld\n", line, n);
		close(s);
	}
}

static int client(const char *host, int port, const char *cmd, const char *name, const char *file)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	char line[128];
	long long n;
	double t0 = now();
	int s, fd, put = strcmp(cmd, "put") == 0;

	if (inet_pton(AF_INET, host, &a.sin_addr) != 1 || !name_ok(name))
		return 2;
	fd = put ? open(file, O_RDONLY) : open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	s = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || s < 0 || (timeouts(s), connect(s, (struct sockaddr *)&a, sizeof(a))) < 0) {
		perror("xennet_xfer");
		return 1;
	}
	snprintf(line, sizeof(line), "%s %s\n", put ? "PUT" : "GET", name);
	if (write(s, line, strlen(line)) != (ssize_t)strlen(line)) {
		perror("xennet_xfer: write");
		return 1;
	}
	n = put ? pump(fd, s) : pump(s, fd);
	if (n >= 0 && put && finish_send(s) < 0)
		n = -EPROTO;
	if (n < 0) {
		fprintf(stderr, "xennet_xfer: %s %s: %s\n", cmd, name, strerror((int)-n));
		return 1;
	}
	if (close(fd) < 0)
		return 1;
	close(s);
	printf("bytes=%lld secs=%.3f\n", n, now() - t0);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "serve") == 0)
		return serve(atoi(argv[2]), argv[3]);
	if (argc == 6 && strcmp(argv[1], "put") == 0)
		return client(argv[2], atoi(argv[3]), "put", argv[5], argv[4]);
	if (argc == 6 && strcmp(argv[1], "get") == 0)
		return client(argv[2], atoi(argv[3]), "get", argv[4], argv[5]);
	fprintf(stderr, "usage: xennet_xfer serve PORT DIR | put HOST PORT FILE NAME | "
		"get HOST PORT NAME FILE\n");
	return 2;
}
