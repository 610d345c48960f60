/* SPDX-License-Identifier: MIT */
/*
 * fuzz_simhv.c - libFuzzer target for pvio-simd's hypercall socket (sim/sim_hv.c).
 *
 * Each run starts the simulated hypervisor in this process (with its xenstored, as
 * pvio-simd.c does) in a scratch rundir, with domains 0, 1 and 2, and connects to their
 * hypercall sockets.  The input is a sequence of packets and of writes into the grant
 * table domain 1 shares with the daemon, which a hostile granter can scribble on at any
 * time.  The grant table a peer gets from GET_PEER must not be writable (pins live in the
 * daemon only: there is nothing else shared to scribble on).  At the end everything is
 * freed, and the process must hold exactly the file descriptors it held before (no fd
 * leaked by the daemon) and no memory (LeakSanitizer).
 *
 * Input: commands (the first byte's low 3 bits):
 *   0 MSG    conn, fds, cut, 44-byte header, data length, data: one packet.  conn: 0 dom0,
 *            1 dom1, 2 dom2, 3 dom1's second connection.  fds selects descriptors sent
 *            along (dom1's sealed memory and grant table, an unsealed memfd, an eventfd).
 *            cut != 0 sends only cut bytes.
 *   1 GNT    entry, 8 bytes: dom1's grant table entry (flags, domid, frame)
 *   2, 3     (no longer used: the daemon shares no maptrack or pin table any more)
 *   4 CLOSE  conn: the process behind it dies (a new connection replaces it)
 *   5 PASS   one more pass of the daemon's loop
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fuzz.h"
#include "pv_loop.h"
#include "pv_xsd.h"
#include "sim_hv.h"
#include "sim_unix.h"

#define NCONN     4
#define MEM_PAGES 16
#define GNT_ENTS  64

static char rundir[64];
static struct pv_loop *loop;

static struct {
	int fd[NCONN];
	int memfd, gntfd, loosefd, evfd;
	struct grant_entry_v1 *gnt;
} st;

static void stop_tick(struct pv_loop *l, void *opaque)
{
	(void)opaque;
	pv_loop_stop(l);
}

static void pass(void)
{
	FUZZ_CHECK(pv_loop_run(loop, 0, stop_tick, NULL) == 0);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	FUZZ_CHECK(d != NULL);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static int conn_open(unsigned int i)
{
	static const unsigned int dom[NCONN] = { 0, 1, 2, 1 };
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	FUZZ_CHECK(fd >= 0);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s/dom%u/hypercall", rundir, dom[i]);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd); /* the domain is gone (destroyed by a dom0 packet) */
		return -1;
	}
	return fd;
}

static void conn_close(unsigned int i)
{
	if (st.fd[i] >= 0)
		close(st.fd[i]);
	st.fd[i] = -1;
}

static int sealed_memfd(size_t bytes, int seal)
{
	int fd = memfd_create("fuzz-simhv", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	FUZZ_CHECK(fd >= 0 && ftruncate(fd, (off_t)bytes) == 0);
	if (seal)
		FUZZ_CHECK(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) == 0);
	return fd;
}

static size_t take(const uint8_t **p, const uint8_t *end, void *out, size_t n)
{
	size_t k = (size_t)(end - *p) < n ? (size_t)(end - *p) : n;

	memset(out, 0, n);
	memcpy(out, *p, k);
	*p += k;
	return k;
}

/*
 * Checks that what a reply hands out is no more writable than it should be (the epochs,
 * a granter's table), and closes it.
 */
static void check_reply(uint32_t op, const struct pv_sim_msg *r, int *fds, unsigned int nfds)
{
	if (r->ret == 0 && op == PV_SIM_OP_HELLO && nfds == 1)
		FUZZ_CHECK(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fds[0], 0) ==
			   MAP_FAILED);
	if (r->ret == 0 && op == PV_SIM_OP_GET_PEER && nfds == 2)
		FUZZ_CHECK(mmap(NULL, 8, PROT_READ | PROT_WRITE, MAP_SHARED, fds[1], 0) ==
			   MAP_FAILED);
	for (unsigned int i = 0; i < nfds; i++)
		close(fds[i]);
}

static void msg(const uint8_t **p, const uint8_t *end)
{
	uint8_t b[3], dlen;
	struct pv_sim_msg m, r;
	int fds[PV_SIM_MAX_FDS], rfds[PV_SIM_MAX_FDS];
	unsigned int ci, nfds = 0, nr = 0;
	size_t len;
	ssize_t n;

	take(p, end, b, 3);
	memset(&m, 0, sizeof(m));
	take(p, end, &m, offsetof(struct pv_sim_msg, data));
	take(p, end, &dlen, 1);
	take(p, end, m.data, dlen);
	ci = b[0] % NCONN;
	switch (b[1] % 7) {
	case 1: fds[0] = st.memfd; fds[1] = st.gntfd; nfds = 2; break;
	case 2: fds[0] = st.loosefd; fds[1] = st.gntfd; nfds = 2; break;
	case 3: fds[0] = st.gntfd; fds[1] = st.memfd; nfds = 2; break;
	case 4: fds[0] = st.evfd; nfds = 1; break;
	case 5: fds[0] = st.memfd; nfds = 1; break;
	case 6:
		fds[0] = st.memfd; fds[1] = st.gntfd; fds[2] = st.evfd; fds[3] = st.loosefd;
		nfds = 4;
		break;
	default: break;
	}
	len = b[2] ? b[2] : offsetof(struct pv_sim_msg, data) + dlen;
	if (st.fd[ci] < 0)
		return;
	if (pv_sim_send(st.fd[ci], &m, len, fds, nfds) < 0)
		return;
	pass();
	/* A reply, or nothing (the connection died, or its domain was destroyed). */
	n = pv_sim_recv(st.fd[ci], &r, rfds, &nr);
	if (getenv("PVIO_FUZZ_DEBUG"))
		fprintf(stderr, "conn %u op %u: %zd bytes, ret %d, a0 %llu, %u fds\n", ci, m.op, n,
			n > 0 ? r.ret : 0, n > 0 ? (unsigned long long)r.a[0] : 0ull, nr);
	if (n > 0)
		check_reply(m.op, &r, rfds, nr);
	else if (n == 0 || (n < 0 && n != -EAGAIN)) {
		conn_close(ci);
		st.fd[ci] = conn_open(ci);
		pass();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size;
	struct pv_xsd *xsd;
	struct sim_hv *hv;
	int fds_before;

	if (size > 16384)
		return 0;
	if (!loop) {
		snprintf(rundir, sizeof(rundir), "/tmp/pvio-fuzz-simhv-XXXXXX");
		FUZZ_CHECK(mkdtemp(rundir) != NULL);
		FUZZ_CHECK((loop = pv_loop_new()) != NULL);
	}
	fds_before = count_fds();
	memset(&st, 0, sizeof(st));
	FUZZ_CHECK((xsd = pv_xsd_new(loop, NULL)) != NULL);
	FUZZ_CHECK((hv = sim_hv_new(loop, xsd, rundir)) != NULL);
	FUZZ_CHECK(sim_hv_domain_create(hv, 1) == 1 && sim_hv_domain_create(hv, 2) == 2);
	st.memfd = sealed_memfd((size_t)MEM_PAGES * 4096, 1);
	st.gntfd = sealed_memfd(GNT_ENTS * sizeof(struct grant_entry_v1), 1);
	st.loosefd = sealed_memfd((size_t)MEM_PAGES * 4096, 0);
	st.evfd = eventfd(0, EFD_CLOEXEC);
	FUZZ_CHECK(st.evfd >= 0);
	st.gnt = mmap(NULL, GNT_ENTS * sizeof(*st.gnt), PROT_READ | PROT_WRITE, MAP_SHARED,
		      st.gntfd, 0);
	FUZZ_CHECK(st.gnt != MAP_FAILED);
	for (unsigned int i = 0; i < NCONN; i++)
		st.fd[i] = conn_open(i);
	pass();

	while (p < end) {
		uint8_t cmd = *p++, b[4];

		switch (cmd & 7) {
		case 0:
			msg(&p, end);
			break;
		case 1:
			take(&p, end, b, 1);
			take(&p, end, &st.gnt[b[0] % GNT_ENTS], sizeof(*st.gnt));
			break;
		case 4:
			take(&p, end, b, 1);
			conn_close(b[0] % NCONN);
			pass();
			st.fd[b[0] % NCONN] = conn_open(b[0] % NCONN);
			pass();
			break;
		case 5:
			pass();
			break;
		default:
			break;
		}
	}

	for (unsigned int i = 0; i < NCONN; i++)
		conn_close(i);
	pass();
	sim_hv_free(hv);
	pv_xsd_free(xsd);
	munmap(st.gnt, GNT_ENTS * sizeof(*st.gnt));
	close(st.memfd);
	close(st.gntfd);
	close(st.loosefd);
	close(st.evfd);
	/* Every descriptor the daemon took or made (memfds, eventfds, sockets) is closed. */
	FUZZ_CHECK(count_fds() == fds_before);
	return 0;
}
