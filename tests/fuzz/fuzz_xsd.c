/* SPDX-License-Identifier: MIT */
/*
 * fuzz_xsd.c - libFuzzer target for pvio-simd's xenstored: one connection's whole input.
 *
 * A guest (or a buggy dom0 tool) can send any byte stream on its xenstore socket.  Each
 * run starts a fresh daemon in this process (pv_xsd_new, as tests/xsd/test_inproc.c does),
 * connects over a real unix socket (abstract name, nothing on disk), writes the input as the
 * client would, drains the replies, then closes and frees everything, so that LeakSanitizer
 * sees any memory the daemon keeps for a connection, watch or transaction.
 *
 * Input: byte 0 picks the set-up, the rest is the stream.
 *   bits 0-1  who connects: 0/3 dom0 (privileged), 1 dom5 (introduced), 2 dom7 (never
 *             introduced)
 *   bit 2     a dom0 observer connection watches "/" and both special nodes first, so that
 *             every change the client makes also queues events to another connection
 *   bit 3     tiny quotas (nodes, watches, transactions, payload, path), to reach the
 *             quota paths with short inputs
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <xen/io/xs_wire.h>

#include "fuzz.h"
#include "pv_loop.h"
#include "pv_xsd.h"

#define MAX_PASSES 20000 /* of the loop, per input: a hang, not slowness, gets past this */

static void stop_tick(struct pv_loop *loop, void *opaque)
{
	(void)opaque;
	pv_loop_stop(loop);
}

/* One pass of the daemon's loop without waiting. */
static void pass(struct pv_loop *loop)
{
	FUZZ_CHECK(pv_loop_run(loop, 0, stop_tick, NULL) == 0);
}

/* Reads and drops whatever the daemon sent; returns bytes read, -1 once it closed. */
static long drain(int fd)
{
	char buf[16384];
	long total = 0;

	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n > 0) {
			total += n;
			continue;
		}
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			return total ? total : -1;
		return total;
	}
}

static int listen_as(struct pv_xsd *x, domid_t domid, struct sockaddr_un *a)
{
	static unsigned int serial;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	FUZZ_CHECK(fd >= 0);
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	/* Abstract: no file to clean up, unique per process and listener. */
	snprintf(a->sun_path + 1, sizeof(a->sun_path) - 1, "pvio-fuzz-xsd-%d-%u", getpid(),
		 serial++);
	FUZZ_CHECK(bind(fd, (struct sockaddr *)a, sizeof(*a)) == 0 && listen(fd, 4) == 0);
	FUZZ_CHECK(pv_xsd_listen(x, fd, domid) == 0);
	return 0;
}

static int connect_to(struct pv_loop *loop, const struct sockaddr_un *a)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	FUZZ_CHECK(fd >= 0 && connect(fd, (const struct sockaddr *)a, sizeof(*a)) == 0);
	pass(loop); /* accept */
	return fd;
}

static void send_msg(int fd, uint32_t type, const char *body, uint32_t len)
{
	struct xsd_sockmsg h = { .type = type, .len = len };

	FUZZ_CHECK(send(fd, &h, sizeof(h), MSG_NOSIGNAL) == (ssize_t)sizeof(h));
	FUZZ_CHECK(send(fd, body, len, MSG_NOSIGNAL) == (ssize_t)len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pv_xsd_limits tiny = { .max_nodes = 12, .max_watches = 2, .max_transactions = 2,
				      .max_payload = 64, .max_path = 48 };
	struct sockaddr_un a0, au;
	struct pv_xsd_stats st;
	struct pv_loop *loop;
	struct pv_xsd *x;
	int fd, obs = -1;
	size_t off = 1;
	unsigned int idle = 0;
	uint8_t mode;
	domid_t dom;

	if (size < 1 || size > 65536)
		return 0;
	mode = data[0];
	dom = (mode & 3) == 1 ? 5 : (mode & 3) == 2 ? 7 : 0;

	FUZZ_CHECK((loop = pv_loop_new()) != NULL);
	FUZZ_CHECK((x = pv_xsd_new(loop, (mode & 8) ? &tiny : NULL)) != NULL);
	FUZZ_CHECK(pv_xsd_domain_introduce(x, 5) == 0);
	listen_as(x, 0, &a0);
	au = a0;
	if (dom)
		listen_as(x, dom, &au);

	if (mode & 4) {
		obs = connect_to(loop, &a0);
		send_msg(obs, XS_WATCH, "/\0o", 4);
		send_msg(obs, XS_WATCH, "@introduceDomain\0i", 19);
		send_msg(obs, XS_WATCH, "@releaseDomain\0r", 17);
		pass(loop);
		drain(obs);
	}
	fd = connect_to(loop, &au);

	/* Feed the stream as fast as the daemon takes it; stop once nothing moves. */
	for (int i = 0; i < MAX_PASSES && idle < 3; i++) {
		long got = 0;
		ssize_t n = 0;

		if (off < size) {
			n = send(fd, data + off, size - off, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n > 0)
				off += (size_t)n;
			else if (errno != EAGAIN && errno != EINTR)
				off = size; /* the daemon closed on us */
		}
		pass(loop);
		got = drain(fd);
		if (obs >= 0)
			drain(obs);
		idle = (n > 0 || got > 0) ? 0 : idle + 1;
	}
	FUZZ_CHECK(idle >= 3); /* else the daemon kept talking for MAX_PASSES passes */

	pv_xsd_get_stats(x, &st);
	FUZZ_CHECK(st.errors <= st.messages);
	FUZZ_CHECK(st.connections <= 2);

	/* The client goes away, the daemon notices, then the whole daemon goes. */
	close(fd);
	pass(loop);
	pv_xsd_get_stats(x, &st);
	FUZZ_CHECK(st.connections <= (obs >= 0 ? 1u : 0u));
	pv_xsd_domain_release(x, 5); /* -ENOENT if a dom0 client released it already */
	pv_xsd_free(x);
	pv_loop_free(loop);
	if (obs >= 0)
		close(obs);
	return 0;
}
