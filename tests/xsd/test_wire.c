/* SPDX-License-Identifier: MIT */
/* Hostile clients on the raw wire: malformed messages, slow readers, event floods. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static struct srv srv;
static int good = -1; /* a well-behaved dom0 client, checked after every case */

int xsd_wire_init(void)
{
	int rc = srv_start(&srv, NULL);

	if (rc == 0)
		good = raw_connect(&srv, 0);
	return rc || good < 0;
}

int xsd_wire_clean(void)
{
	if (good >= 0)
		close(good);
	good = -1;
	srv_cleanup(&srv);
	return 0;
}

static char rbuf[8192];
static struct xsd_sockmsg rh;

/* A request and its reply, into rh and rbuf. */
static int call(int fd, uint32_t type, uint32_t tx, const void *p, uint32_t len)
{
	return raw_call(fd, type, tx, p, len, &rh, rbuf, sizeof(rbuf));
}

/* The well-behaved client still gets right answers. */
static void check_good(const char *what)
{
	char req[128];
	int n = snprintf(req, sizeof(req), "/sanity%c%s", 0, what);

	if (call(good, XS_WRITE, 0, req, (uint32_t)n) != 3 ||
	    rh.type != XS_WRITE || strcmp(rbuf, "OK")) {
		CU_FAIL("good client: WRITE failed");
		fprintf(stderr, "  after case '%s'\n", what);
		return;
	}
	if (call(good, XS_READ, 0, "/sanity", 8) != (int)strlen(what) ||
	    rh.type != XS_READ || strcmp(rbuf, what)) {
		CU_FAIL("good client: READ back failed");
		fprintf(stderr, "  after case '%s'\n", what);
	}
}

struct bad_case {
	const char *name;
	int dom;
	uint32_t type, tx;
	const char *payload;  /* may hold NULs: len says how much */
	uint32_t len;
	int64_t hdr_len;      /* what the header claims, if not len (-1: len) */
	const char *expect;   /* error string, or NULL: the server closes the connection */
};

#define P(s) s, sizeof(s) - 1 /* payload literal and its length, NULs included */

static const struct bad_case cases[] = {
	{ "len > 4096 in the header", 0, XS_READ, 0, P("/x\0"), 4097, NULL },
	{ "len 4 GiB", 0, XS_WRITE, 0, P("/x\0y"), 0xFFFFFFFFll, NULL },
	{ "unknown type 9999", 0, 9999, 0, P("/x\0"), -1, "EINVAL" },
	{ "XS_INVALID", 0, XS_INVALID, 0, P("/x\0"), -1, "EINVAL" },
	{ "type 20 (the removed XS_RESTRICT)", 0, 20, 0, P("1\0"), -1, "EINVAL" },
	{ "XS_WATCH_EVENT as a request", 0, XS_WATCH_EVENT, 0, P("/x\0t\0"), -1, "EINVAL" },
	{ "XS_ERROR as a request", 0, XS_ERROR, 0, P("EINVAL\0"), -1, "EINVAL" },
	{ "READ with an empty payload", 0, XS_READ, 0, P(""), -1, "EINVAL" },
	{ "READ of a path without NUL", 0, XS_READ, 0, P("/local"), -1, "EINVAL" },
	{ "READ with two strings", 0, XS_READ, 0, P("/local\0/tool\0"), -1, "EINVAL" },
	{ "READ of an empty path", 0, XS_READ, 0, P("\0"), -1, "EINVAL" },
	{ "READ of a path with a blank", 0, XS_READ, 0, P("/a b\0"), -1, "EINVAL" },
	{ "READ of a path with '*'", 0, XS_READ, 0, P("/a*\0"), -1, "EINVAL" },
	{ "READ of a path with a high byte", 0, XS_READ, 0, P("/a\xff\0"), -1, "EINVAL" },
	{ "READ of a path with '//'", 0, XS_READ, 0, P("/local//domain\0"), -1, "EINVAL" },
	{ "READ of a path with a trailing '/'", 0, XS_READ, 0, P("/local/\0"), -1, "EINVAL" },
	{ "READ of a special path", 0, XS_READ, 0, P("@introduceDomain\0"), -1, "EINVAL" },
	{ "READ of a path too long", 0, XS_READ, 0, NULL, 3100, -1, "EINVAL" },
	{ "WRITE with no NUL separator", 0, XS_WRITE, 0, P("/x"), -1, "EINVAL" },
	{ "WRITE with an empty payload", 0, XS_WRITE, 0, P(""), -1, "EINVAL" },
	{ "WRITE to a special path", 0, XS_WRITE, 0, P("@releaseDomain\0x"), -1, "EINVAL" },
	{ "MKDIR without NUL", 0, XS_MKDIR, 0, P("/m"), -1, "EINVAL" },
	{ "RM of the root", 0, XS_RM, 0, P("/\0"), -1, "EINVAL" },
	{ "DIRECTORY with no payload", 0, XS_DIRECTORY, 0, P(""), -1, "EINVAL" },
	{ "WATCH without a token", 0, XS_WATCH, 0, P("/x\0"), -1, "EINVAL" },
	{ "WATCH without NULs", 0, XS_WATCH, 0, P("/x"), -1, "EINVAL" },
	{ "WATCH of a bad path", 0, XS_WATCH, 0, P("/x/\0tok\0"), -1, "EINVAL" },
	{ "UNWATCH of no such watch", 0, XS_UNWATCH, 0, P("/x\0nope\0"), -1, "ENOENT" },
	{ "TRANSACTION_END with unknown tx_id",
	  0, XS_TRANSACTION_END, 4242, P("T\0"), -1, "ENOENT" },
	{ "TRANSACTION_END with tx_id 0", 0, XS_TRANSACTION_END, 0, P("T\0"), -1, "ENOENT" },
	{ "TRANSACTION_START inside one", 0, XS_TRANSACTION_START, 77, P("\0"), -1, "EINVAL" },
	{ "READ with unknown tx_id", 0, XS_READ, 99, P("/local\0"), -1, "ENOENT" },
	{ "WRITE with unknown tx_id", 0, XS_WRITE, 5, P("/x\0y"), -1, "ENOENT" },
	{ "SET_PERMS without perms", 0, XS_SET_PERMS, 0, P("/tool\0"), -1, "EINVAL" },
	{ "SET_PERMS with letter x", 0, XS_SET_PERMS, 0, P("/tool\0x0\0"), -1, "EINVAL" },
	{ "SET_PERMS with no domid", 0, XS_SET_PERMS, 0, P("/tool\0r\0"), -1, "EINVAL" },
	{ "SET_PERMS with domid 65536", 0, XS_SET_PERMS, 0, P("/tool\0r65536\0"), -1, "EINVAL" },
	{ "SET_PERMS with domid -1", 0, XS_SET_PERMS, 0, P("/tool\0r-1\0"), -1, "EINVAL" },
	{ "SET_PERMS with trailing junk", 0, XS_SET_PERMS, 0, P("/tool\0r1x\0"), -1, "EINVAL" },
	{ "SET_PERMS without final NUL", 0, XS_SET_PERMS, 0, P("/tool\0n0"), -1, "EINVAL" },
	{ "SET_PERMS of a missing node", 0, XS_SET_PERMS, 0, P("/nope\0n0\0"), -1, "ENOENT" },
	{ "DIRECTORY_PART with offset abc",
	  0, XS_DIRECTORY_PART, 0, P("/local\0abc\0"), -1, "EINVAL" },
	{ "DIRECTORY_PART with offset -1",
	  0, XS_DIRECTORY_PART, 0, P("/local\0-1\0"), -1, "EINVAL" },
	{ "DIRECTORY_PART inside a name",
	  0, XS_DIRECTORY_PART, 0, P("/local\0" "2\0"), -1, "EINVAL" },
	{ "DIRECTORY_PART without offset", 0, XS_DIRECTORY_PART, 0, P("/local\0"), -1, "EINVAL" },
	{ "GET_DOMAIN_PATH of abc", 0, XS_GET_DOMAIN_PATH, 0, P("abc\0"), -1, "EINVAL" },
	{ "GET_DOMAIN_PATH of 70000", 0, XS_GET_DOMAIN_PATH, 0, P("70000\0"), -1, "EINVAL" },
	{ "INTRODUCE from a domU", 1, XS_INTRODUCE, 0, P("5\0" "1\0" "1\0"), -1, "EACCES" },
	{ "INTRODUCE with 2 arguments", 0, XS_INTRODUCE, 0, P("5\0" "1\0"), -1, "EINVAL" },
	{ "INTRODUCE of domain 0", 0, XS_INTRODUCE, 0, P("0\0" "1\0" "1\0"), -1, "EINVAL" },
	{ "INTRODUCE of DOMID_SELF", 0, XS_INTRODUCE, 0, P("32752\0" "1\0" "1\0"), -1, "EINVAL" },
	{ "RELEASE from a domU", 2, XS_RELEASE, 0, P("1\0"), -1, "EACCES" },
	{ "RELEASE of an unknown domain", 0, XS_RELEASE, 0, P("99\0"), -1, "ENOENT" },
	{ "RESUME from a domU", 1, XS_RESUME, 0, P("1\0"), -1, "EACCES" },
	{ "SET_TARGET from a domU", 1, XS_SET_TARGET, 0, P("1\0" "2\0"), -1, "EACCES" },
	{ "CONTROL from a domU", 1, XS_CONTROL, 0, P("check\0"), -1, "EACCES" },
	{ "domU READ of dom0's node", 1, XS_READ, 0, P("/tool\0"), -1, "EACCES" },
	{ "domU READ under an unreadable node", 1, XS_READ, 0, P("/tool/none\0"), -1, "EACCES" },
	{ "domU WRITE to another domain",
	  1, XS_WRITE, 0, P("/local/domain/2/data/x\0v"), -1, "EACCES" },
	{ "domU SET_PERMS giving a node away", 1, XS_SET_PERMS, 0, P("data\0n2\0"), -1, "EPERM" },
	{ "domU SET_PERMS of @releaseDomain",
	  1, XS_SET_PERMS, 0, P("@releaseDomain\0n1\0"), -1, "EACCES" },
	{ "GET_PERMS of an unknown special", 0, XS_GET_PERMS, 0, P("@nothing\0"), -1, "ENOENT" },
	{ "header only, then close", 0, XS_WRITE, 0, P(""), 100, "" },
	{ "len larger than sent, then close", 0, XS_WRITE, 0, P("/half\0"), 64, "" },
};

static void test_malformed(void)
{
	char *long_path = malloc(4000);

	CU_ASSERT_FATAL(long_path != NULL);
	long_path[0] = '/';
	memset(long_path + 1, 'a', 3098);
	long_path[3099] = '\0';
	check_good("start");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct bad_case *c = &cases[i];
		const char *p = c->payload ? c->payload : long_path;
		int fd = raw_connect(&srv, c->dom), rc;

		CU_ASSERT_FATAL(fd >= 0);
		rc = raw_send(fd, c->type, c->tx, c->hdr_len < 0 ? c->len : (uint32_t)c->hdr_len, p,
			      c->len);
		/* The server may hang up on a bad header before the rest is sent. */
		CU_ASSERT_TRUE(rc == 0 || (!c->expect && (rc == -EPIPE || rc == -ECONNRESET)));
		if (c->expect && !c->expect[0]) {
			/* The client gives up half way: nothing to answer, nothing must break. */
		} else if (c->expect) {
			rc = raw_recv(fd, &rh, rbuf, sizeof(rbuf), 5000);
			if (rc < 0 || rh.type != XS_ERROR || strcmp(rbuf, c->expect) ||
			    rh.len != strlen(c->expect) + 1) {
				CU_FAIL("wrong answer to a malformed message");
				fprintf(stderr, "  case '%s': rc %d type %u '%s', want %s\n",
					c->name, rc, rh.type, rc >= 0 ? rbuf : "", c->expect);
			}
			/* The connection still works after an error reply. */
			rc = call(fd, XS_READ, 0, "/local\0", 7);
			if (c->dom == 0 && (rc != 0 || rh.type != XS_READ)) {
				CU_FAIL("connection unusable after an error reply");
				fprintf(stderr, "  case '%s'\n", c->name);
			}
		} else {
			rc = raw_recv(fd, &rh, rbuf, sizeof(rbuf), 5000);
			if (rc != -ECONNRESET) {
				CU_FAIL("connection not closed");
				fprintf(stderr, "  case '%s': rc %d\n", c->name, rc);
			}
		}
		close(fd);
		check_good(c->name);
	}
	free(long_path);
}

/* Requests carry req_id and tx_id back; replies come in order. */
static void test_ids_echoed(void)
{
	struct xsd_sockmsg h = { .type = XS_TRANSACTION_START, .req_id = 0xabcdef01, .len = 1 };
	char msg[64];
	uint32_t tx;
	int fd = raw_connect(&srv, 1);

	CU_ASSERT_FATAL(fd >= 0);
	memcpy(msg, &h, sizeof(h));
	msg[sizeof(h)] = '\0';
	CU_ASSERT_EQUAL(send(fd, msg, sizeof(h) + 1, 0), (ssize_t)sizeof(h) + 1);
	CU_ASSERT_EQUAL(raw_recv(fd, &rh, rbuf, sizeof(rbuf), 5000), (int)strlen(rbuf) + 1);
	CU_ASSERT_EQUAL(rh.type, XS_TRANSACTION_START);
	CU_ASSERT_EQUAL(rh.req_id, 0xabcdef01);
	tx = (uint32_t)strtoul(rbuf, NULL, 10);
	CU_ASSERT_NOT_EQUAL(tx, 0);
	/* Two requests in one send, the first failing: answers in order, ids echoed. */
	h = (struct xsd_sockmsg){ .type = XS_READ, .req_id = 7, .tx_id = tx, .len = 3 };
	memcpy(msg, &h, sizeof(h));
	memcpy(msg + sizeof(h), "/a\0", 3);
	h = (struct xsd_sockmsg){ .type = XS_WRITE, .req_id = 8, .tx_id = tx, .len = 8 };
	memcpy(msg + sizeof(h) + 3, &h, sizeof(h));
	memcpy(msg + 2 * sizeof(h) + 3, "data/a\0v", 8);
	CU_ASSERT_EQUAL(send(fd, msg, 2 * sizeof(h) + 11, 0), (ssize_t)(2 * sizeof(h) + 11));
	CU_ASSERT_EQUAL(raw_recv(fd, &rh, rbuf, sizeof(rbuf), 5000), 7);
	CU_ASSERT_TRUE(rh.type == XS_ERROR && rh.req_id == 7 && rh.tx_id == tx);
	CU_ASSERT_STRING_EQUAL(rbuf, "EACCES");
	CU_ASSERT_EQUAL(raw_recv(fd, &rh, rbuf, sizeof(rbuf), 5000), 3);
	CU_ASSERT_TRUE(rh.type == XS_WRITE && rh.req_id == 8 && rh.tx_id == tx);
	/* TRANSACTION_END with a bad argument keeps the transaction. */
	CU_ASSERT_EQUAL(call(fd, XS_TRANSACTION_END, tx, "X\0", 2), 7);
	CU_ASSERT_STRING_EQUAL(rbuf, "EINVAL");
	CU_ASSERT_EQUAL(call(fd, XS_TRANSACTION_END, tx, "F\0", 2), 3);
	CU_ASSERT_EQUAL(call(fd, XS_TRANSACTION_END, tx, "F\0", 2), 7);
	CU_ASSERT_STRING_EQUAL(rbuf, "ENOENT");
	close(fd);
}

/* Wire details libxenstore hides: error strings for quotas, DIRECTORY_PART, RESET_WATCHES. */
static void test_wire_details(void)
{
	int fd = raw_connect(&srv, 2), rc;
	char req[64];

	CU_ASSERT_FATAL(fd >= 0);
	/* DIRECTORY_PART: "<gen>\0" then names, an empty name at the end of the list. */
	rc = call(good, XS_DIRECTORY_PART, 0, "/local/domain/2\0" "0\0", 18);
	CU_ASSERT_TRUE(rc > 0 && rh.type == XS_DIRECTORY_PART);
	if (rc > 0) {
		size_t g = strlen(rbuf) + 1;
		static const char kids[] = "device\0data\0control\0drivers\0feature\0attr\0error\0"
					   "name\0domid\0";

		CU_ASSERT_TRUE(g > 1 && strspn(rbuf, "0123456789") == g - 1);
		CU_ASSERT_EQUAL((size_t)rc, g + sizeof(kids));
		CU_ASSERT_TRUE(!memcmp(rbuf + g, kids, sizeof(kids)));
	}
	rc = call(good, XS_DIRECTORY_PART, 0, "/local/domain/2\0" "12\0", 19);
	CU_ASSERT_TRUE(rc > 0 && !memcmp(rbuf + strlen(rbuf) + 1, "control\0", 8));
	rc = call(good, XS_DIRECTORY_PART, 0, "/local/domain/2\0" "999\0", 20);
	CU_ASSERT_EQUAL(rc, (int)strlen(rbuf) + 2);

	/* Quota errors are C xenstored's: ENOSPC, E2BIG for watches; dom2 may have 10
	 * transactions and 128 watches. */
	for (int i = 0; i < 10; i++)
		CU_ASSERT_TRUE(call(fd, XS_TRANSACTION_START, 0, "", 1) > 0 &&
			       rh.type == XS_TRANSACTION_START);
	CU_ASSERT_EQUAL(call(fd, XS_TRANSACTION_START, 0, "", 1), 7);
	CU_ASSERT_STRING_EQUAL(rbuf, "ENOSPC");
	for (int i = 0; i < 128; i++) {
		int n = snprintf(req, sizeof(req), "data%ct%d", 0, i) + 1;

		CU_ASSERT_EQUAL(call(fd, XS_WATCH, 0, req, (uint32_t)n), 3);
	}
	CU_ASSERT_EQUAL(call(fd, XS_WATCH, 0, "data\0t-last\0", 12), 6);
	CU_ASSERT_STRING_EQUAL(rbuf, "E2BIG");
	/* RESET_WATCHES ends the watches and the transactions. */
	CU_ASSERT_EQUAL(call(fd, XS_RESET_WATCHES, 0, "", 1), 3);
	CU_ASSERT_EQUAL(call(fd, XS_WATCH, 0, "data\0t-last\0", 12), 3);
	CU_ASSERT_EQUAL(call(fd, XS_TRANSACTION_START, 0, "", 1),
			(int)strlen(rbuf) + 1);
	/* The initial event of a relative watch is relative; the reply comes before it. */
	CU_ASSERT_EQUAL(raw_send(fd, XS_WATCH, 0, 9, "device\0w\0", 9), 0);
	CU_ASSERT_EQUAL(raw_recv(fd, &rh, rbuf, sizeof(rbuf), 5000), 3);
	CU_ASSERT_EQUAL(rh.type, XS_WATCH);
	CU_ASSERT_EQUAL(raw_recv(fd, &rh, rbuf, sizeof(rbuf), 5000), 9);
	CU_ASSERT_TRUE(rh.type == XS_WATCH_EVENT && rh.req_id == 0);
	CU_ASSERT_TRUE(!memcmp(rbuf, "device\0w\0", 9));
	CU_ASSERT_EQUAL(call(fd, XS_IS_DOMAIN_INTRODUCED, 0, "2\0", 2), 2);
	CU_ASSERT_STRING_EQUAL(rbuf, "T");
	CU_ASSERT_EQUAL(call(good, XS_SET_TARGET, 0, "1\0" "2\0", 4), 7);
	CU_ASSERT_STRING_EQUAL(rbuf, "ENOSYS");
	close(fd);
	check_good("details");
}

/* A client that sends and never reads is no longer read once its replies pile up. */
static void test_slow_reader(void)
{
	char *val = malloc(3000), req[16 + 6];
	int fd = raw_connect(&srv, 0), sent = 0, got = 0, rc = 0;
	size_t bytes = 0;

	CU_ASSERT_FATAL(fd >= 0 && val);
	memcpy(val, "/slow", 6);
	memset(val + 6, 'v', 2994);
	CU_ASSERT_EQUAL(call(good, XS_WRITE, 0, val, 3000), 3);
	memcpy(req, &(struct xsd_sockmsg){ .type = XS_READ, .len = 6 }, 16);
	memcpy(req + 16, "/slow", 6);
	/* Each 22-byte request asks for ~3 KiB: the server must stop reading, not buffer. */
	while (bytes < (64u << 20)) {
		ssize_t n = send(fd, req, sizeof(req), MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0)
			break;
		CU_ASSERT_EQUAL_FATAL(n, 22);
		sent++;
		bytes += 3016;
	}
	CU_ASSERT_TRUE(errno == EAGAIN || errno == EWOULDBLOCK);
	CU_ASSERT_TRUE(bytes < (64u << 20));
	check_good("slow reader blocked");
	/* Once it reads, every answer comes, complete and in order. */
	while (got < sent && (rc = raw_recv(fd, &rh, rbuf, sizeof(rbuf), 5000)) >= 0) {
		if (rc != 2994 || rh.type != XS_READ)
			break;
		got++;
	}
	if (got != sent)
		fprintf(stderr, "slow reader: sent %d got %d rc %d type %u\n", sent, got, rc,
			rh.type);
	CU_ASSERT_EQUAL(got, sent);
	close(fd);
	free(val);
	check_good("slow reader done");
}


/*
 * Outstanding requests count per domain (Xen's quota 20): while dom1 leaves replies
 * unread on one connection, its other connections are not served either; dom0 is.  Once
 * it reads, everything is answered.
 */
static void test_outstanding_per_domain(void)
{
	char val[1500], req[16 + 64];
	int a = raw_connect(&srv, 1), b = raw_connect(&srv, 1), sent = 0, got = 0, rc = 0;
	bool full = false;
	struct pollfd pfd;
	size_t plen;

	CU_ASSERT_FATAL(a >= 0 && b >= 0);
	plen = (size_t)snprintf(req + 16, sizeof(req) - 16, "/local/domain/1/data/out") + 1;
	memcpy(val, req + 16, plen);
	memset(val + plen, 'o', sizeof(val) - plen);
	CU_ASSERT_EQUAL(call(good, XS_WRITE, 0, val, sizeof(val)), 3);
	memcpy(req, &(struct xsd_sockmsg){ .type = XS_READ, .len = (uint32_t)plen }, 16);
	/*
	 * Fill a's socket both ways with requests whose replies a does not read, until the
	 * daemon reports dom1 at its outstanding quota (xenstore-control quota 1).
	 */
	for (int tries = 0; tries < 500; tries++) {
		while (sent < 100000) {
			ssize_t n = send(a, req, 16 + plen, MSG_DONTWAIT | MSG_NOSIGNAL);

			if (n < 0)
				break;
			CU_ASSERT_EQUAL_FATAL((size_t)n, 16 + plen);
			sent++;
		}
		CU_ASSERT_TRUE_FATAL(call(good, XS_CONTROL, 0, "quota\0" "1", 8) > 0);
		if ((full = strstr(rbuf, "outstanding     :       20\n") != NULL))
			break;
		usleep(10000);
	}
	CU_ASSERT_TRUE_FATAL(full);
	/* b's request is not read while dom1 has 20 replies outstanding. */
	CU_ASSERT_EQUAL(raw_send(b, XS_READ, 0, (uint32_t)plen, req + 16, (uint32_t)plen), 0);
	check_good("dom1 still blocked");
	pfd = (struct pollfd){ .fd = b, .events = POLLIN };
	CU_ASSERT_EQUAL(poll(&pfd, 1, 200), 0);
	/* a reads: all of a's replies come, and then b's. */
	while (got < sent && (rc = raw_recv(a, &rh, rbuf, sizeof(rbuf), 5000)) >= 0 &&
	       rh.type == XS_READ)
		got++;
	CU_ASSERT_EQUAL(got, sent);
	CU_ASSERT_EQUAL(raw_recv(b, &rh, rbuf, sizeof(rbuf), 5000), (int)(sizeof(val) - plen));
	close(a);
	close(b);
	CU_ASSERT_EQUAL(call(good, XS_RM, 0, "/local/domain/1/data/out", 25), 3);
}

/* A client whose watch events pile up past the cap is dropped. */
static void test_event_flood(void)
{
	char *w = malloc(3200), req[16];
	int fd = raw_connect(&srv, 0), rc, n;
	size_t total = 0;

	CU_ASSERT_FATAL(fd >= 0 && w);
	/* Long tokens make each event ~3 KiB. */
	memcpy(w, "/flood\0", 7);
	memset(w + 7, 't', 3000);
	w[3007] = '\0';
	CU_ASSERT_EQUAL(call(fd, XS_WATCH, 0, w, 3008), 3);
	n = snprintf(req, sizeof(req), "/flood/x%c1", 0);
	for (int i = 0; i < 3000; i++) {
		rc = call(good, XS_WRITE, 0, req, (uint32_t)n + 1);
		if (rc != 3) {
			CU_FAIL("writer disturbed by the flood");
			break;
		}
	}
	/* What was in the socket buffers, then the end: the queue was dropped with it. */
	while ((rc = raw_recv(fd, &rh, rbuf, sizeof(rbuf), 5000)) >= 0)
		total += 16 + (size_t)rc;
	CU_ASSERT_EQUAL(rc, -ECONNRESET);
	CU_ASSERT_TRUE(total > 0 && total < 3000 * 3026);
	close(fd);
	free(w);
	check_good("event flood");
}

static void test_exit(void)
{
	int status;

	close(good);
	good = -1;
	status = srv_stop(&srv);
	CU_ASSERT_TRUE(WIFEXITED(status));
	CU_ASSERT_EQUAL(WEXITSTATUS(status), 0);
}


/*
 * XS_CONTROL as Xen 4.17's C xenstored answers it: dom0 only; "help", "quota" (the
 * settings, one domain's use, set), "quota-soft"; texts with their NUL.
 */
static void test_control(void)
{
	int fd = raw_connect(&srv, 2);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(call(fd, XS_CONTROL, 0, "help", 5), 7);
	CU_ASSERT_STRING_EQUAL(rbuf, "EACCES");
	close(fd);
	CU_ASSERT_TRUE(call(good, XS_CONTROL, 0, "help", 5) > 0 && rh.type == XS_CONTROL);
	CU_ASSERT_STRING_EQUAL(rbuf, "check\t\nprint\t<string>\nquota\t[set <name> <val>|<domid>]\n"
				     "quota-soft\t[set <name> <val>]\nhelp\t\n");
	CU_ASSERT_EQUAL((size_t)rh.len, strlen(rbuf) + 1);
	CU_ASSERT_TRUE(call(good, XS_CONTROL, 0, "quota", 6) > 0 && rh.type == XS_CONTROL);
	CU_ASSERT_STRING_EQUAL(rbuf,
			       "Quota settings:\n"
			       "nodes            :     1000 Nodes per domain\n"
			       "watches          :      128 Watches per domain\n"
			       "transactions     :       10 Transactions per domain\n"
			       "outstanding      :       20 Outstanding requests per domain\n"
			       "transaction-nodes:     1024 Max. number of accessed nodes per transaction\n"
			       "memory           :  2621440 Total Xenstore memory per domain (error level)\n"
			       "node-size        :     2048 Max. size of a node\n"
			       "path-max         :     2048 Max. length of a node path\n"
			       "permissions      :        5 Max. number of permissions per node\n");
	CU_ASSERT_TRUE(call(good, XS_CONTROL, 0, "quota-soft", 11) > 0);
	CU_ASSERT_STRING_EQUAL(rbuf, "Quota settings:\n"
				     "memory           :  2097152 Total Xenstore memory per domain (warning level)\n");
	/* One domain's use: dom2 has the 7 home nodes libxl gives it, and one watch here. */
	fd = raw_connect(&srv, 2);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(call(fd, XS_WATCH, 0, "data\0qw\0", 8), 3);
	CU_ASSERT_TRUE(call(good, XS_CONTROL, 0, "quota\0" "2", 8) > 0 && rh.type == XS_CONTROL);
	CU_ASSERT_PTR_NOT_NULL(strstr(rbuf, "Domain 2:\nnodes           :        "));
	CU_ASSERT_PTR_NOT_NULL(strstr(rbuf, "\nwatches         :        1\n"
					    "transactions    :        0\n"));
	close(fd);
	CU_ASSERT_EQUAL(call(good, XS_CONTROL, 0, "quota\0" "99", 9), 7);
	CU_ASSERT_STRING_EQUAL(rbuf, "ENOENT");
	/* Setting one, and the errors. */
	CU_ASSERT_TRUE(call(good, XS_CONTROL, 0, "quota\0set\0permissions\0" "7", 24) > 0);
	CU_ASSERT_STRING_EQUAL(rbuf, "OK");
	CU_ASSERT_TRUE(call(good, XS_CONTROL, 0, "quota", 6) > 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(rbuf, "permissions      :        7 "));
	CU_ASSERT_TRUE(call(good, XS_CONTROL, 0, "quota\0set\0permissions\0" "5", 24) > 0);
	CU_ASSERT_EQUAL(call(good, XS_CONTROL, 0, "quota\0set\0permissions\0" "0", 24), 7);
	CU_ASSERT_STRING_EQUAL(rbuf, "EINVAL");
	CU_ASSERT_EQUAL(call(good, XS_CONTROL, 0, "quota\0set\0bogus\0" "5", 18), 7);
	/* Per-domain counters are 16 bits: a limit they could wrap under is refused. */
	CU_ASSERT_EQUAL(call(good, XS_CONTROL, 0, "quota\0set\0watches\0" "65536", 24), 7);
	CU_ASSERT_EQUAL(call(good, XS_CONTROL, 0, "quota\0set\0transactions\0" "65536", 29), 7);
	CU_ASSERT_EQUAL(call(good, XS_CONTROL, 0, "live-update\0-a", 15), 7);
	CU_ASSERT_STRING_EQUAL(rbuf, "EINVAL");
	CU_ASSERT_EQUAL(call(good, XS_CONTROL, 0, "check", 6), 3);
	check_good("control");
}

CU_TestInfo xsd_wire_tests[] = {
	{ "malformed messages: error reply or disconnect, others unaffected", test_malformed },
	{ "req_id and tx_id echoed, pipelined requests answered in order", test_ids_echoed },
	{ "DIRECTORY_PART, quota errors, RESET_WATCHES, relative initial event", test_wire_details },
	{ "a client not reading its replies is throttled, then served", test_slow_reader },
	{ "XS_CONTROL: help, quota, quota-soft as C xenstored; dom0 only", test_control },
	{ "a domain with 20 unread replies is not read from on any connection", test_outstanding_per_domain },
	{ "a client drowning in watch events is disconnected", test_event_flood },
	{ "server frees everything and exits 0 (LeakSanitizer)", test_exit },
	CU_TEST_INFO_NULL,
};
