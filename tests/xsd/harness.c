/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void srv_path(const struct srv *s, int dom, const char *leaf, char *buf, size_t len)
{
	snprintf(buf, len, "%s/dom%d%s%s", s->dir, dom, leaf ? "/" : "", leaf ? leaf : "");
}

static int listen_at(const struct srv *s, int dom)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	char dir[sizeof(a.sun_path)];
	int fd;

	srv_path(s, dom, NULL, dir, sizeof(dir));
	if (mkdir(dir, 0700) < 0)
		return -errno;
	srv_path(s, dom, "socket", a.sun_path, sizeof(a.sun_path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 64) < 0) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	return fd;
}

static void stop_cb(struct pv_loop *loop, int fd, uint32_t events, void *opaque)
{
	(void)fd;
	(void)events;
	(void)opaque;
	pv_loop_stop(loop);
}

/* The child: serve until SIGTERM, then free everything so LeakSanitizer can judge. */
static void serve(int *lfd, const struct pv_xsd_limits *lim)
{
	struct pv_loop *loop;
	struct pv_xsd *x;
	sigset_t set;
	int sfd, rc = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	loop = pv_loop_new();
	x = loop ? pv_xsd_new(loop, lim) : NULL;
	if (sfd < 0 || !x)
		_exit(90);
	for (int d = 0; d < 3; d++)
		rc |= pv_xsd_listen(x, lfd[d], (domid_t)d);
	rc |= pv_xsd_domain_introduce(x, 1);
	rc |= pv_xsd_domain_introduce(x, 2);
	rc |= pv_loop_add(loop, sfd, EPOLLIN, stop_cb, NULL);
	if (rc || pv_loop_run(loop, -1, NULL, NULL) < 0)
		_exit(91);
	pv_xsd_free(x);
	pv_loop_free(loop);
	close(sfd);
	exit(0);
}

int srv_start(struct srv *s, const struct pv_xsd_limits *lim)
{
	int lfd[3], rc = 0;

	snprintf(s->dir, sizeof(s->dir), "/tmp/pvio-xsd-XXXXXX");
	if (!mkdtemp(s->dir))
		return -errno;
	/* Listening before the fork: clients can connect as soon as this returns. */
	for (int d = 0; d < 3; d++)
		if ((lfd[d] = listen_at(s, d)) < 0)
			rc = lfd[d];
	if (rc == 0) {
		fflush(NULL); /* or the child's exit() prints the parent's buffered output again */
		s->pid = fork();
		if (s->pid == 0)
			serve(lfd, lim);
		if (s->pid < 0)
			rc = -errno;
	}
	for (int d = 0; d < 3; d++)
		if (lfd[d] >= 0)
			close(lfd[d]);
	return rc;
}

int srv_stop(struct srv *s)
{
	long long end = now_ms() + 20000;
	int status;

	if (s->pid <= 0)
		return -1;
	kill(s->pid, SIGTERM);
	while (waitpid(s->pid, &status, WNOHANG) == 0) {
		if (now_ms() > end) {
			kill(s->pid, SIGKILL);
			waitpid(s->pid, &status, 0);
			s->pid = 0;
			return -1;
		}
		usleep(2000);
	}
	s->pid = 0;
	return status;
}

static void rm_tree(const char *path)
{
	char buf[512];

	/* Only our own three sockets and their folders live there. */
	for (int d = 0; d < 3; d++) {
		snprintf(buf, sizeof(buf), "%s/dom%d/socket", path, d);
		unlink(buf);
		snprintf(buf, sizeof(buf), "%s/dom%d", path, d);
		rmdir(buf);
	}
	rmdir(path);
}

void srv_cleanup(struct srv *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
		s->pid = 0;
	}
	if (s->dir[0])
		rm_tree(s->dir);
	s->dir[0] = '\0';
}

static void tool_env(const struct srv *s, int dom)
{
	char dir[256];

	srv_path(s, dom, NULL, dir, sizeof(dir));
	setenv("XENSTORED_RUNDIR", dir, 1);
	unsetenv("XENSTORED_PATH");
}

pid_t spawn_tool(const struct srv *s, int dom, const char *const *argv, int *fd)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		tool_env(s, dom);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	if (pid < 0)
		close(p[0]);
	else
		*fd = p[0];
	return pid;
}

int run_tool(const struct srv *s, int dom, char *out, size_t outsz, char *err, size_t errsz,
	     const char *const *argv)
{
	struct pollfd pfd[2];
	char *buf[2] = { out, err };
	size_t cap[2] = { outsz, errsz }, len[2] = { 0, 0 };
	long long end = now_ms() + 10000;
	int po[2], pe[2], status, open_fds = 2;
	pid_t pid;

	if (pipe2(po, O_CLOEXEC) < 0)
		return -1;
	if (pipe2(pe, O_CLOEXEC) < 0) {
		close(po[0]);
		close(po[1]);
		return -1;
	}
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		dup2(po[1], 1);
		dup2(pe[1], 2);
		tool_env(s, dom);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	pfd[0] = (struct pollfd){ .fd = po[0], .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = pe[0], .events = POLLIN };
	while (pid > 0 && open_fds && now_ms() < end) {
		if (poll(pfd, 2, 100) <= 0)
			continue;
		for (int i = 0; i < 2; i++) {
			char scratch[256];
			ssize_t n;

			if (pfd[i].fd < 0 || !pfd[i].revents)
				continue;
			if (len[i] + 1 < cap[i])
				n = read(pfd[i].fd, buf[i] + len[i], cap[i] - len[i] - 1);
			else
				n = read(pfd[i].fd, scratch, sizeof(scratch));
			if (n <= 0) {
				pfd[i].fd = -1;
				open_fds--;
			} else if (len[i] + 1 < cap[i]) {
				len[i] += (size_t)n;
			}
		}
	}
	close(po[0]);
	close(pe[0]);
	for (int i = 0; i < 2; i++)
		if (cap[i])
			buf[i][len[i]] = '\0';
	if (pid < 0)
		return -1;
	if (open_fds) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		return -1;
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

int read_line(int fd, char *buf, size_t len, int ms)
{
	long long end = now_ms() + ms;
	size_t n = 0;

	/* Byte by byte: what follows the line stays in the pipe for the next call. */
	while (n + 1 < len) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long long left = end - now_ms();

		if (left <= 0 || poll(&p, 1, (int)left) <= 0 || read(fd, buf + n, 1) != 1)
			return -1;
		if (buf[n] == '\n') {
			buf[n] = '\0';
			return (int)n;
		}
		n++;
	}
	return -1;
}

struct xs_handle *xs_open_dom(const struct srv *s, int dom)
{
	struct xs_handle *h;
	char path[256];

	/* libxenstore reads the variable in xs_open() only. */
	srv_path(s, dom, "socket", path, sizeof(path));
	setenv("XENSTORED_PATH", path, 1);
	h = xs_open(0);
	unsetenv("XENSTORED_PATH");
	return h;
}

int raw_connect(const struct srv *s, int dom)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	srv_path(s, dom, "socket", a.sun_path, sizeof(a.sun_path));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	return fd;
}

static int send_all(int fd, const void *p, size_t len)
{
	const char *c = p;

	while (len) {
		ssize_t n = send(fd, c, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		c += n;
		len -= (size_t)n;
	}
	return 0;
}

int raw_send(int fd, uint32_t type, uint32_t tx, uint32_t hdr_len, const void *p, uint32_t len)
{
	static uint32_t req_id = 100;
	struct xsd_sockmsg h = { .type = type, .req_id = ++req_id, .tx_id = tx, .len = hdr_len };
	int rc = send_all(fd, &h, sizeof(h));

	return rc < 0 || !len ? rc : send_all(fd, p, len);
}

static int recv_all(int fd, void *p, size_t len, long long end)
{
	char *c = p;

	while (len) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		long long left = end - now_ms();
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, (int)left) == 0)
			return -ETIMEDOUT;
		n = recv(fd, c, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -ECONNRESET;
		c += n;
		len -= (size_t)n;
	}
	return 0;
}

int raw_recv(int fd, struct xsd_sockmsg *h, char *buf, size_t cap, int ms)
{
	long long end = now_ms() + ms;
	int rc = recv_all(fd, h, sizeof(*h), end);

	if (rc < 0)
		return rc;
	if (h->len > XENSTORE_PAYLOAD_MAX || h->len >= cap)
		return -E2BIG;
	if ((rc = recv_all(fd, buf, h->len, end)) < 0)
		return rc;
	buf[h->len] = '\0';
	return (int)h->len;
}

int raw_call(int fd, uint32_t type, uint32_t tx, const void *p, uint32_t len,
	     struct xsd_sockmsg *h, char *buf, size_t cap)
{
	int rc = raw_send(fd, type, tx, len, p, len);

	while (rc >= 0) {
		rc = raw_recv(fd, h, buf, cap, 5000);
		if (rc >= 0 && h->type != XS_WATCH_EVENT)
			break;
	}
	return rc;
}
