/* SPDX-License-Identifier: MIT */
/*
 * pv_listen_unix: a client that sees the socket's path can connect.  Test programs and
 * scripts wait for a daemon's socket file to appear, then connect; a path that appears
 * at bind(), before listen(), refuses them (ECONNREFUSED) in between.  This program's own
 * listen() looks at the path from a client's side just before the real listen().
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "pv_test.h"
#include "pv_daemon.h"
#include "listen.h"

static const char *probe_path;
static int probe_errno = -1;

static int try_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), rc;

	if (fd < 0)
		return errno;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 ? 0 : errno;
	close(fd);
	return rc;
}

/* Overrides libc's for this program: every caller, pv_listen_unix included, comes here. */
int listen(int fd, int backlog)
{
	if (probe_path)
		probe_errno = try_connect(probe_path); /* a client that saw the path, now */
	return (int)syscall(SYS_listen, fd, backlog);
}

static unsigned int dir_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	unsigned int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void test_listen_path_ready(void)
{
	char dir[] = "/tmp/pvio-test-listen-XXXXXX", path[64];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat stb;
	int fd, stale;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/sock", dir);

	/* A stale socket file, as a killed daemon leaves it: replaced. */
	stale = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	CU_ASSERT_EQUAL(bind(stale, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(stale);

	probe_path = path;
	fd = pv_listen_unix(path, SOCK_STREAM, 0600);
	probe_path = NULL;
	CU_ASSERT_FATAL(fd >= 0);
	/* Before listen(), a client must not reach a socket that would refuse it. */
	CU_ASSERT_EQUAL(probe_errno, ENOENT); /* the probe ran, and found no path yet */
	CU_ASSERT_EQUAL(try_connect(path), 0);
	CU_ASSERT_EQUAL(stat(path, &stb), 0);
	CU_ASSERT(S_ISSOCK(stb.st_mode));
	CU_ASSERT_EQUAL(stb.st_mode & 0777, 0600);
	CU_ASSERT_EQUAL(dir_entries(dir), 1); /* no private name left behind */
	/* A live one is not taken over. */
	CU_ASSERT_EQUAL(pv_listen_unix(path, SOCK_STREAM, 0), -EADDRINUSE);
	CU_ASSERT_EQUAL(try_connect(path), 0);
	close(fd);
	unlink(path);
	rmdir(dir);
}

CU_TestInfo listen_tests[] = {
	{ "pv_listen_unix: the path appears only once the socket listens", test_listen_path_ready },
	CU_TEST_INFO_NULL,
};
