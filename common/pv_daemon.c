/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "pv_daemon.h"

int pv_daemon_detach(int *ready)
{
	int p[2];
	pid_t pid;
	char c;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -errno;
	}
	if (pid > 0) {
		close(p[1]);
		_exit(read(p[0], &c, 1) == 1 ? 0 : 1);
	}
	close(p[0]);
	setsid();
	*ready = p[1];
	return 0;
}

void pv_daemon_ready(int *ready)
{
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);

	/*
	 * stderr too: a detached daemon that kept the terminal's (or a pipe's) stderr would
	 * write into whatever runs there later, and `pvio-simd ... 2>&1 | head` would never see
	 * end of file.  Daemons that log say where before this (syslog, a file).
	 */
	if (devnull >= 0) {
		dup2(devnull, 0);
		dup2(devnull, 1);
		dup2(devnull, 2);
		close(devnull);
	}
	if (*ready >= 0) {
		if (write(*ready, "r", 1) != 1) {
			/* The parent is gone: nobody is waiting, nothing to do. */
		}
		close(*ready);
		*ready = -1;
	}
}

int pv_daemon_signalfd(void)
{
	sigset_t mask;
	int fd;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	return fd < 0 ? -errno : fd;
}

int pv_listen_unix(const char *path, int type, mode_t mode)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX }, tmp = { .sun_family = AF_UNIX };
	int fd, rc;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A live daemon answers on it: refuse.  A stale socket file is ours to replace. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		close(fd);
		return -EADDRINUSE;
	}
	close(fd);
	unlink(path);
	/*
	 * Clients wait for the path to appear, then connect: bound but not yet listening, the
	 * socket would refuse them (ECONNREFUSED).  So it listens under a private name first
	 * and takes the public one with rename(), which is atomic.  A path too long for the
	 * private name keeps the old order.
	 */
	if ((size_t)snprintf(tmp.sun_path, sizeof(tmp.sun_path), "%s.%d", path, (int)getpid()) >=
	    sizeof(tmp.sun_path))
		tmp = sa;
	unlink(tmp.sun_path);
	fd = socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&tmp, sizeof(tmp)) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	if ((mode && chmod(tmp.sun_path, mode) < 0) || listen(fd, 64) < 0 ||
	    (strcmp(tmp.sun_path, path) != 0 && rename(tmp.sun_path, path) < 0)) {
		rc = -errno;
		unlink(tmp.sun_path);
		close(fd);
		return rc;
	}
	return fd;
}
