/* SPDX-License-Identifier: MIT */
/* The daemon in this process: its counters and the domain calls of pv_xsd.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness.h"

struct rig {
	char dir[64];
	struct pv_loop *loop;
	struct pv_xsd *x;
	int nsock;
};

static void stop_tick(struct pv_loop *loop, void *opaque)
{
	(void)opaque;
	pv_loop_stop(loop);
}

/* A few passes of the loop: enough for a request, its reply and a close. */
static void pump(struct rig *r)
{
	for (int i = 0; i < 5; i++)
		pv_loop_run(r->loop, 10, stop_tick, NULL);
}

static struct sockaddr_un addr(struct rig *r, int n)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };

	snprintf(a.sun_path, sizeof(a.sun_path), "%s/s%d", r->dir, n);
	return a;
}

static int rig_listen(struct rig *r, domid_t domid)
{
	struct sockaddr_un a = addr(r, r->nsock++);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(fd, 8) == 0);
	CU_ASSERT_EQUAL(pv_xsd_listen(r->x, fd, domid), 0);
	return r->nsock - 1;
}

static int rig_connect(struct rig *r, int n)
{
	struct sockaddr_un a = addr(r, n);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	CU_ASSERT_FATAL(fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	pump(r);
	return fd;
}

static void rig_init(struct rig *r, const struct pv_xsd_limits *lim)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->dir, sizeof(r->dir), "/tmp/pvio-xsdi-XXXXXX");
	CU_ASSERT_FATAL(mkdtemp(r->dir) != NULL);
	r->loop = pv_loop_new();
	CU_ASSERT_FATAL(r->loop != NULL);
	r->x = pv_xsd_new(r->loop, lim);
	CU_ASSERT_FATAL(r->x != NULL);
}

static void rig_free(struct rig *r)
{
	pv_xsd_free(r->x);
	pv_loop_free(r->loop);
	for (int i = 0; i < r->nsock; i++) {
		struct sockaddr_un a = addr(r, i);

		unlink(a.sun_path);
	}
	rmdir(r->dir);
}

/* Sends one request and pumps the loop; returns the reply's length (or -errno). */
static int ask(struct rig *r, int fd, uint32_t type, const void *p, uint32_t len,
	       struct xsd_sockmsg *h, char *buf, size_t cap)
{
	int rc = raw_send(fd, type, 0, len, p, len);

	pump(r);
	return rc < 0 ? rc : raw_recv(fd, h, buf, cap, 1000);
}

static void test_stats(void)
{
	struct pv_xsd_stats st;
	struct xsd_sockmsg h;
	struct rig r;
	char buf[4200];
	int fd, fd2;

	rig_init(&r, NULL);
	pv_xsd_get_stats(r.x, &st);
	CU_ASSERT_EQUAL(st.nodes, 4); /* /, /local, /local/domain, /tool */
	CU_ASSERT_EQUAL(st.connections, 0);
	rig_listen(&r, 0);
	fd = rig_connect(&r, 0);
	fd2 = rig_connect(&r, 0);
	pv_xsd_get_stats(r.x, &st);
	CU_ASSERT_EQUAL(st.connections, 2);

	CU_ASSERT_EQUAL(ask(&r, fd, XS_WRITE, "/a\0v", 4, &h, buf, sizeof(buf)), 3);
	CU_ASSERT_EQUAL(ask(&r, fd, XS_WATCH, "/a\0t\0", 5, &h, buf, sizeof(buf)), 3);
	CU_ASSERT_EQUAL(raw_recv(fd, &h, buf, sizeof(buf), 1000), 5); /* initial event */
	CU_ASSERT_EQUAL(ask(&r, fd, 9999, "", 0, &h, buf, sizeof(buf)), 7);
	CU_ASSERT_EQUAL(ask(&r, fd, XS_READ, "/a b\0", 5, &h, buf, sizeof(buf)), 7);
	CU_ASSERT_EQUAL(ask(&r, fd, XS_READ, "/nope\0", 6, &h, buf, sizeof(buf)), 7);
	CU_ASSERT_EQUAL(ask(&r, fd, XS_TRANSACTION_END, "T\0", 2, &h, buf, sizeof(buf)), 7);
	pv_xsd_get_stats(r.x, &st);
	CU_ASSERT_EQUAL(st.messages, 6);
	CU_ASSERT_EQUAL(st.errors, 4);
	CU_ASSERT_EQUAL(st.bad_messages, 3); /* ENOENT for a missing node is not malformed */
	CU_ASSERT_EQUAL(st.watch_events, 1);
	CU_ASSERT_EQUAL(st.nodes, 5);

	/* An oversized header closes that connection alone. */
	CU_ASSERT_EQUAL(raw_send(fd2, XS_READ, 0, 5000, "", 0), 0);
	pump(&r);
	CU_ASSERT_EQUAL(raw_recv(fd2, &h, buf, sizeof(buf), 1000), -ECONNRESET);
	pv_xsd_get_stats(r.x, &st);
	CU_ASSERT_EQUAL(st.connections, 1);
	CU_ASSERT_EQUAL(st.bad_messages, 4);
	/* The event is queued before the reply, as Xen's xenstored does. */
	CU_ASSERT_EQUAL(ask(&r, fd, XS_WRITE, "/a\0w", 4, &h, buf, sizeof(buf)), 5);
	CU_ASSERT_EQUAL(h.type, XS_WATCH_EVENT);
	CU_ASSERT_EQUAL(raw_recv(fd, &h, buf, sizeof(buf), 1000), 3);
	pv_xsd_get_stats(r.x, &st);
	CU_ASSERT_EQUAL(st.watch_events, 2);

	/* A transaction that loses the race counts as a conflict. */
	{
		char id[16];
		uint32_t tx;

		CU_ASSERT_TRUE(ask(&r, fd, XS_TRANSACTION_START, "", 1, &h, id, sizeof(id)) > 1);
		tx = (uint32_t)strtoul(id, NULL, 10);
		CU_ASSERT_EQUAL(raw_send(fd, XS_READ, tx, 3, "/a\0", 3), 0);
		pump(&r);
		CU_ASSERT_EQUAL(raw_recv(fd, &h, buf, sizeof(buf), 1000), 1);
		CU_ASSERT_EQUAL(ask(&r, fd, XS_WRITE, "/a\0x", 4, &h, buf, sizeof(buf)), 5);
		CU_ASSERT_EQUAL(raw_recv(fd, &h, buf, sizeof(buf), 1000), 3);
		CU_ASSERT_EQUAL(raw_send(fd, XS_TRANSACTION_END, tx, 2, "T\0", 2), 0);
		pump(&r);
		CU_ASSERT_EQUAL(raw_recv(fd, &h, buf, sizeof(buf), 1000), 7);
		CU_ASSERT_STRING_EQUAL(buf, "EAGAIN");
		pv_xsd_get_stats(r.x, &st);
		CU_ASSERT_EQUAL(st.conflicts, 1);
	}
	/* Freed with a live connection holding a watch and a transaction. */
	CU_ASSERT_TRUE(ask(&r, fd, XS_TRANSACTION_START, "", 1, &h, buf, sizeof(buf)) > 1);
	rig_free(&r);
	CU_ASSERT_EQUAL(raw_recv(fd, &h, buf, sizeof(buf), 1000), -ECONNRESET);
	close(fd);
	close(fd2);
}

static void test_domain_calls(void)
{
	struct pv_xsd_stats st;
	struct xsd_sockmsg h;
	struct rig r;
	char buf[256];
	int n, fd, fd0;

	rig_init(&r, NULL);
	rig_listen(&r, 0);
	fd0 = rig_connect(&r, 0);
	CU_ASSERT_EQUAL(ask(&r, fd0, XS_WATCH, "@releaseDomain\0r\0", 17, &h, buf, sizeof(buf)), 3);
	CU_ASSERT_EQUAL(raw_recv(fd0, &h, buf, sizeof(buf), 1000), 17);
	CU_ASSERT_EQUAL(ask(&r, fd0, XS_WATCH, "@introduceDomain\0i\0", 19, &h, buf, sizeof(buf)),
			3);
	CU_ASSERT_EQUAL(raw_recv(fd0, &h, buf, sizeof(buf), 1000), 19);

	n = rig_listen(&r, 5);
	fd = rig_connect(&r, n);
	CU_ASSERT_EQUAL(pv_xsd_domain_introduce(r.x, 5), 0);
	pump(&r);
	CU_ASSERT_EQUAL(raw_recv(fd0, &h, buf, sizeof(buf), 1000), 19);
	CU_ASSERT_TRUE(h.type == XS_WATCH_EVENT && !strcmp(buf, "@introduceDomain"));
	CU_ASSERT_EQUAL(pv_xsd_domain_introduce(r.x, 5), -EEXIST);
	CU_ASSERT_EQUAL(pv_xsd_domain_introduce(r.x, 0x7FF0) /* DOMID_FIRST_RESERVED */, -EINVAL);
	pv_xsd_get_stats(r.x, &st);
	CU_ASSERT_EQUAL(st.nodes, 4 + 10); /* home, 7 children, name, domid */
	/* The domain writes through its own socket, relative to its home. */
	CU_ASSERT_EQUAL(ask(&r, fd, XS_WRITE, "data/x\0" "1", 8, &h, buf, sizeof(buf)), 3);
	CU_ASSERT_EQUAL(ask(&r, fd, XS_READ, "/local/domain/5/data/x\0", 23, &h, buf, sizeof(buf)),
			1);
	CU_ASSERT_EQUAL(ask(&r, fd, XS_GET_PERMS, "/local/domain/5\0", 16, &h, buf, sizeof(buf)),
			6);
	CU_ASSERT_TRUE(!memcmp(buf, "n0\0r5\0", 6));

	/* Release: connection closed, home gone, @releaseDomain fired. */
	CU_ASSERT_EQUAL(pv_xsd_domain_release(r.x, 5), 0);
	pump(&r);
	CU_ASSERT_EQUAL(raw_recv(fd, &h, buf, sizeof(buf), 1000), -ECONNRESET);
	CU_ASSERT_EQUAL(raw_recv(fd0, &h, buf, sizeof(buf), 1000), 17);
	CU_ASSERT_STRING_EQUAL(buf, "@releaseDomain");
	pv_xsd_get_stats(r.x, &st);
	CU_ASSERT_EQUAL(st.nodes, 4);
	CU_ASSERT_EQUAL(st.connections, 1);
	CU_ASSERT_EQUAL(pv_xsd_domain_release(r.x, 5), -ENOENT);
	close(fd);
	/* Its listening socket is closed too. */
	{
		struct sockaddr_un a = addr(&r, n);

		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		CU_ASSERT_NOT_EQUAL(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
		close(fd);
	}
	/* pv_xsd_listen owns the fd even when it fails. */
	CU_ASSERT_EQUAL(pv_xsd_listen(r.x, -1, 3), -EBADF);
	rig_free(&r);
	close(fd0);
}

/*
 * accept() out of fds pauses every listener, and one added during the pause (a domain
 * created meanwhile) sleeps with them rather than spin on a connection it cannot take.
 * The pause is a minute long here, so that nothing in this test races its end.
 */
static void test_listener_added_while_paused(void)
{
	struct pv_xsd_limits lim = { .accept_pause_ms = 60000 };
	struct pv_xsd_stats st;
	struct sockaddr_un a0, a1;
	struct rlimit old, low;
	int hog[64], nhog = 0, c0, c1, l1, lowest;
	struct rig r;

	rig_init(&r, &lim);
	a0 = addr(&r, rig_listen(&r, 0));
	a1 = addr(&r, r.nsock++);
	l1 = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	c0 = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	c1 = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CU_ASSERT_FATAL(l1 >= 0 && c0 >= 0 && c1 >= 0);
	CU_ASSERT_FATAL(bind(l1, (struct sockaddr *)&a1, sizeof(a1)) == 0 && listen(l1, 8) == 0);

	/* Every fd number below the limit in use: the daemon's accept() gets EMFILE. */
	CU_ASSERT_FATAL(getrlimit(RLIMIT_NOFILE, &old) == 0);
	lowest = dup(0);
	CU_ASSERT_FATAL(lowest >= 0);
	close(lowest);
	low = old;
	low.rlim_cur = (rlim_t)lowest + 32;
	CU_ASSERT_FATAL(setrlimit(RLIMIT_NOFILE, &low) == 0);
	while (nhog < 64 && (hog[nhog] = dup(0)) >= 0)
		nhog++;
	CU_ASSERT(nhog < 64);
	CU_ASSERT_FATAL(connect(c0, (struct sockaddr *)&a0, sizeof(a0)) == 0);
	pump(&r);
	pv_xsd_get_stats(r.x, &st);
	CU_ASSERT_EQUAL(st.accept_paused, 1);
	CU_ASSERT_EQUAL(st.connections, 0);

	CU_ASSERT_EQUAL(pv_xsd_listen(r.x, l1, 0), 0);
	while (nhog > 0)
		close(hog[--nhog]);
	CU_ASSERT_FATAL(setrlimit(RLIMIT_NOFILE, &old) == 0);
	CU_ASSERT_FATAL(connect(c1, (struct sockaddr *)&a1, sizeof(a1)) == 0);
	pump(&r);
	pv_xsd_get_stats(r.x, &st);
	CU_ASSERT_EQUAL(st.connections, 0); /* both listeners asleep until the pause ends */
	CU_ASSERT_EQUAL(st.accept_paused, 1);
	close(c0);
	close(c1);
	rig_free(&r);
}

CU_TestInfo xsd_inproc_tests[] = {
	{ "counters: messages, errors, bad messages, events, conflicts", test_stats },
	{ "pv_xsd_domain_introduce/release: home, events, sockets", test_domain_calls },
	{ "a listener added while accept() is paused stays paused", test_listener_added_while_paused },
	CU_TEST_INFO_NULL,
};
