/* SPDX-License-Identifier: MIT */
/*
 * libpvio-front's netfront against an in-test back end (fake_netback.c) that echoes every
 * frame: honest (frames of 60 B, 1500 B and 64 KiB GSO both ways, split channels,
 * multi-queue, no sg) and hostile (a table of broken responses and xenstore values).
 *
 * The suite starts a real pvio-simd and creates domain 1, the guest.  This process plays
 * the toolstack (dom0) and the guest (domain 1: netfront); a forked child plays the back
 * end (dom0).  What the back end received is recorded in memory shared with this process,
 * so the tx path is checked where the frame landed and the rx path where it came back.
 */
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pv_test.h"
#include "pv_simtest.h"
#include "pv_platform.h"
#include "pv_netfront.h"
#include "pv_netif.h"
#include "fake_netback.h"

#define FE_DOM 1u
#define DEVID  0u
#define MAC    "00:16:3e:12:34:56"

static struct pv_simtest T;
static uint64_t rng = 0x243F6A8885A308D3ull;

/* The toolstack's part (net contract): both directories, fresh, with their perms. */
static int attach(const char *mac)
{
	char be[200], fe[200], path[300];
	const struct pv_xs_perm be_perms[] = { { 0, PV_XS_PERM_NONE }, { FE_DOM, PV_XS_PERM_READ } };
	const struct pv_xs_perm fe_perms[] = { { FE_DOM, PV_XS_PERM_NONE }, { 0, PV_XS_PERM_READ } };
	int rc = 0;

	snprintf(be, sizeof(be), "/local/domain/0/backend/vif/%u/%u", FE_DOM, DEVID);
	snprintf(fe, sizeof(fe), "/local/domain/%u/device/vif/%u", FE_DOM, DEVID);
	pv_xs_rm(T.dom0, 0, be);
	pv_xs_rm(T.dom0, 0, fe);
	if (pv_xs_mkdir(T.dom0, 0, be) < 0 || pv_xs_mkdir(T.dom0, 0, fe) < 0 ||
	    pv_xs_set_perms(T.dom0, 0, be, be_perms, 2) < 0 || pv_xs_set_perms(T.dom0, 0, fe, fe_perms, 2) < 0)
		return -EIO;
#define W(dir, node, ...)							\
	do {									\
		snprintf(path, sizeof(path), "%s/%s", dir, node);		\
		if (rc == 0)							\
			rc = pv_xs_printf(T.dom0, 0, path, __VA_ARGS__);		\
	} while (0)
	W(be, "frontend", "%s", fe);
	W(be, "frontend-id", "%u", FE_DOM);
	W(be, "online", "1");
	W(be, "handle", "%u", DEVID);
	W(be, "mac", "%s", mac);
	W(be, "type", "vif");
	W(be, "state", "1");
	W(fe, "backend", "%s", be);
	W(fe, "backend-id", "0");
	W(fe, "handle", "%u", DEVID);
	W(fe, "mac", "%s", mac);
	W(fe, "state", "1");
#undef W
	return rc;
}

static int suite_init(void)
{
	return pv_simtest_start(&T, "pvio-test-netfront", FE_DOM) < 0 ? -1 : 0;
}

static int suite_clean(void)
{
	return pv_simtest_stop(&T);
}

/* ---- helpers ------------------------------------------------------------------------- */

static struct fnb_cfg base_cfg(void)
{
	return (struct fnb_cfg){ .devid = DEVID, .fe_domid = FE_DOM, .sg = 1, .gso4 = 1, .gso6 = 1,
				 .csum6 = 1, .split = 1, .rxcopy = 1, .max_queues = -1 };
}

static int start(struct fnb *f, const struct fnb_cfg *cfg, struct pv_platform **p, const char *mac)
{
	int rc = attach(mac ? mac : MAC);

	if (rc < 0)
		return rc;
	rc = fnb_start(f, T.rundir, cfg);
	if (rc < 0)
		return rc;
	return pv_simtest_open(&T, FE_DOM, p);
}

static void stop(struct fnb *f, struct pv_platform *p)
{
	if (p)
		pv_platform_close(p);
	CU_ASSERT_EQUAL(fnb_stop(f), 0); /* the fake did not crash either */
}

static uint8_t frame[FNB_MAX_FRAME];

/* An Ethernet/IPv4/TCP frame of len bytes (>= 54) with a random payload. */
static void make_frame(size_t len)
{
	size_t i, ip = len - 14;

	for (i = 0; i < len; i++)
		frame[i] = (uint8_t)pv_simtest_rand(&rng, 256);
	memcpy(frame, "\x00\x16\x3e\x00\x00\x01\x00\x16\x3e\x12\x34\x56\x08\x00", 14);
	frame[14] = 0x45;
	frame[15] = 0;
	frame[16] = (uint8_t)(ip >> 8);
	frame[17] = (uint8_t)ip;
	frame[23] = 6; /* TCP */
	frame[14 + 20 + 12] = 5 << 4; /* data offset: 20 bytes */
}

struct cap {
	size_t want_len;
	int matched, frames;
	struct pv_netfront_meta m;
};

static void rx_cb(void *opaque, const struct iovec *iov, int iovcnt, const struct pv_netfront_meta *m)
{
	struct cap *c = opaque;
	size_t off = 0;
	int i, same = 1;

	c->frames++;
	for (i = 0; i < iovcnt; i++) {
		if (off + iov[i].iov_len > sizeof(frame) || memcmp(frame + off, iov[i].iov_base, iov[i].iov_len))
			same = 0;
		off += iov[i].iov_len;
	}
	if (same && off == c->want_len) {
		c->matched = 1;
		c->m = *m;
	}
}

/* Polls until the current frame came back (1), the device failed (<0) or ms passed (0). */
static int wait_echo(struct pv_netfront *nf, struct cap *c, int ms)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!c->matched) {
		int rc = pv_netfront_poll(nf, 100, rx_cb, c);
		long el;

		if (rc < 0)
			return rc;
		clock_gettime(CLOCK_MONOTONIC, &t);
		el = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
		if (el > ms)
			return 0;
	}
	return 1;
}

/* Sends a frame of len bytes (GSO with mss when gso) and checks it at the back end and back. */
static int xfer(struct pv_netfront *nf, struct fnb *f, size_t len, uint8_t gso, uint16_t queue)
{
	struct pv_netfront_meta m = { .queue = queue };
	struct iovec iov[3];
	struct cap c = { .want_len = len };
	uint64_t before = f->seen->frames;
	int rc, tries;

	make_frame(len);
	if (gso) {
		m.gso_type = gso;
		m.gso_size = 1448;
		m.flags = PV_NETFRONT_CSUM_PARTIAL;
	}
	/* three pieces, so the copy crosses iov and page boundaries at odd places */
	iov[0] = (struct iovec){ frame, 7 };
	iov[1] = (struct iovec){ frame + 7, len / 2 - 7 };
	iov[2] = (struct iovec){ frame + len / 2, len - len / 2 };
	for (tries = 0; (rc = pv_netfront_send(nf, iov, 3, &m)) == -EAGAIN && tries < 100; tries++)
		pv_netfront_poll(nf, 50, rx_cb, &c);
	if (rc < 0)
		return rc;
	rc = pv_netfront_kick(nf);
	if (rc < 0)
		return rc;
	rc = wait_echo(nf, &c, 5000);
	if (rc <= 0)
		return rc < 0 ? rc : -ETIMEDOUT;
	if (f->seen->frames != before + 1 || f->seen->last_len != len || memcmp(f->seen->last, frame, len))
		return -EILSEQ;
	if (gso && (f->seen->last_gso_type != gso || f->seen->last_gso_size != 1448 ||
		    !(f->seen->last_flags & NETTXF_csum_blank) || c.m.gso_type != gso ||
		    c.m.gso_size != 1448 || !(c.m.flags & PV_NETFRONT_CSUM_PARTIAL)))
		return -EBADMSG;
	if (!gso && (f->seen->last_gso_type || c.m.gso_type))
		return -EBADMSG;
	if (c.m.queue != queue % 2 && c.m.queue != 0)
		return -EXDEV;
	return 0;
}

/* ---- honest back end ----------------------------------------------------------------- */

static void test_sizes(void)
{
	struct fnb f;
	struct pv_platform *p = NULL;
	struct pv_netfront *nf = NULL;
	struct pv_netfront_info in;
	struct pv_netfront_stats st;
	struct fnb_cfg cfg = base_cfg();
	int rc;

	CU_ASSERT_EQUAL_FATAL(start(&f, &cfg, &p, NULL), 0);
	rc = pv_netfront_open(p, DEVID, NULL, &nf);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	pv_netfront_info(nf, &in);
	CU_ASSERT(memcmp(in.mac, "\x00\x16\x3e\x12\x34\x56", 6) == 0);
	CU_ASSERT(in.sg && in.gso_tcpv4 && in.gso_tcpv6 && in.split_evtchn);
	CU_ASSERT_EQUAL(in.max_tx_slots, XEN_NETIF_NR_SLOTS_MIN);
	/* what Linux's netback insists on */
	CU_ASSERT(f.seen->rx_notify && f.seen->rx_copy && f.seen->fe_sg && f.seen->split);
	CU_ASSERT_EQUAL(xfer(nf, &f, 60, 0, 0), 0);
	CU_ASSERT_EQUAL(xfer(nf, &f, 1500, 0, 0), 0);
	CU_ASSERT_EQUAL(f.seen->last_slots, 1);
	CU_ASSERT_EQUAL(xfer(nf, &f, 65535, PV_NETFRONT_GSO_TCPV4, 0), 0);
	CU_ASSERT_EQUAL(f.seen->last_slots, 16);
	CU_ASSERT_EQUAL(xfer(nf, &f, 60000, PV_NETFRONT_GSO_TCPV6, 0), 0);
	CU_ASSERT_EQUAL(pv_netfront_disconnect(nf), 0);
	pv_netfront_get_stats(nf, &st);
	CU_ASSERT_EQUAL(st.rx_dropped + st.bad_tx_rsp + st.overflow + st.tx_errors, 0);
	CU_ASSERT_EQUAL(st.tx_packets, 4);
	CU_ASSERT_EQUAL(st.rx_packets, 4);
	CU_ASSERT_EQUAL(st.tx_gso, 2);
	CU_ASSERT_EQUAL(st.rx_gso, 2);
	pv_netfront_close(nf);
	CU_ASSERT_EQUAL(f.seen->bad, 0);
	stop(&f, p);
}

/* Many frames of random sizes: both rings wrap many times and every slot is reused. */
static void test_many(void)
{
	struct fnb f;
	struct pv_platform *p = NULL;
	struct pv_netfront *nf = NULL;
	struct fnb_cfg cfg = base_cfg();
	unsigned int i;
	int rc = 0;

	cfg.rx_chunk = 1000; /* multi-slot rx chains for anything over 1000 bytes */
	CU_ASSERT_EQUAL_FATAL(start(&f, &cfg, &p, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(pv_netfront_open(p, DEVID, NULL, &nf), 0);
	for (i = 0; i < 600 && rc == 0; i++)
		rc = xfer(nf, &f, 54 + (size_t)pv_simtest_rand(&rng, 9000), 0, 0);
	CU_ASSERT_EQUAL(rc, 0);
	pv_netfront_close(nf);
	CU_ASSERT_EQUAL(f.seen->bad, 0);
	stop(&f, p);
}

static void test_multiqueue(void)
{
	struct fnb f;
	struct pv_platform *p = NULL;
	struct pv_netfront *nf = NULL;
	struct pv_netfront_info in;
	struct fnb_cfg cfg = base_cfg();

	cfg.max_queues = 8;
	CU_ASSERT_EQUAL_FATAL(start(&f, &cfg, &p, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(pv_netfront_open(p, DEVID, NULL, &nf), 0);
	pv_netfront_info(nf, &in);
	CU_ASSERT_EQUAL(in.queues, 2); /* clamped to ours */
	CU_ASSERT_EQUAL(f.seen->queues, 2);
	CU_ASSERT_EQUAL(xfer(nf, &f, 1500, 0, 0), 0);
	CU_ASSERT_EQUAL(xfer(nf, &f, 1500, 0, 1), 0);
	CU_ASSERT_EQUAL(xfer(nf, &f, 65535, PV_NETFRONT_GSO_TCPV4, 1), 0);
	pv_netfront_close(nf);
	stop(&f, p);
}

/* A back end with no sg, no GSO and one event channel: what is refused, what works. */
static void test_minimal(void)
{
	struct fnb f;
	struct pv_platform *p = NULL;
	struct pv_netfront *nf = NULL;
	struct pv_netfront_info in;
	struct fnb_cfg cfg = base_cfg();
	struct pv_netfront_meta m = { .gso_type = PV_NETFRONT_GSO_TCPV4, .gso_size = 1448,
				      .flags = PV_NETFRONT_CSUM_PARTIAL };
	struct iovec iov;

	cfg.sg = cfg.gso4 = cfg.gso6 = cfg.split = 0;
	CU_ASSERT_EQUAL_FATAL(start(&f, &cfg, &p, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(pv_netfront_open(p, DEVID, NULL, &nf), 0);
	pv_netfront_info(nf, &in);
	CU_ASSERT(!in.sg && !in.gso_tcpv4 && !in.split_evtchn);
	CU_ASSERT_EQUAL(f.seen->split, 0);
	CU_ASSERT_EQUAL(xfer(nf, &f, 1514, 0, 0), 0);
	make_frame(6000);
	iov = (struct iovec){ frame, 6000 };
	CU_ASSERT_EQUAL(pv_netfront_send(nf, &iov, 1, NULL), -EMSGSIZE);
	iov.iov_len = 1500;
	CU_ASSERT_EQUAL(pv_netfront_send(nf, &iov, 1, &m), -EOPNOTSUPP);
	iov.iov_len = 10;
	CU_ASSERT_EQUAL(pv_netfront_send(nf, &iov, 1, NULL), -EINVAL);
	pv_netfront_close(nf);
	stop(&f, p);
}

/* ---- hostile back end ---------------------------------------------------------------- */

struct hcase {
	const char *name;
	enum fnb_hostile h;
	size_t len;
	uint8_t gso;
	int fatal;             /* 0: dropped and counted, then works; else poll's error */
	size_t counter;        /* offsetof(struct pv_netfront_stats, ...) */
};

#define C(x) offsetof(struct pv_netfront_stats, x)
static const struct hcase hcases[] = {
	{ "rx id not the posted one", FNB_RX_BAD_ID, 1500, 0, 0, C(bad_rx_id) },
	{ "rx offset+size past the page", FNB_RX_OFFSET, 1500, 0, 0, C(bad_rx_size) },
	{ "rx status error", FNB_RX_STATUS_ERR, 1500, 0, 0, C(rx_errors) },
	{ "rx chain that never ends", FNB_RX_CUT_CHAIN, 6000, 0, 0, C(bad_rx_chain) },
	{ "rx chain of 24 slots", FNB_RX_LONG_CHAIN, 1500, 0, 0, C(bad_rx_chain) },
	{ "rx extra of unknown type", FNB_RX_BAD_EXTRA, 1500, 0, 0, C(bad_rx_extra) },
	{ "rx extra cut off", FNB_RX_EXTRA_CUT, 1500, 0, 0, C(bad_rx_extra) },
	{ "rx extra chain too long", FNB_RX_EXTRA_LOOP, 1500, 0, 0, C(bad_rx_extra) },
	{ "rx GSO size 0", FNB_RX_GSO_ZERO, 20000, PV_NETFRONT_GSO_TCPV4, 0, C(bad_rx_gso) },
	{ "rx GSO type 7", FNB_RX_GSO_TYPE, 20000, PV_NETFRONT_GSO_TCPV4, 0, C(bad_rx_gso) },
	{ "rx gso_prefix never asked for", FNB_RX_PREFIX, 1500, 0, 0, C(bad_rx_gso) },
	{ "rx frame of 6 bytes", FNB_RX_SHORT, 1500, 0, 0, C(bad_rx_size) },
	{ "rx rsp_prod overflow", FNB_RX_PROD_OVERFLOW, 1500, 0, -EPROTO, C(overflow) },
	{ "tx id of another generation", FNB_TX_BAD_ID, 1500, 0, -EPROTO, C(bad_tx_rsp) },
	{ "tx duplicate responses", FNB_TX_DUP, 6000, 0, -EPROTO, C(bad_tx_rsp) },
	{ "tx status 5", FNB_TX_BAD_STATUS, 1500, 0, 0, C(bad_tx_rsp) },
	{ "tx status error", FNB_TX_ERROR, 1500, 0, 0, C(tx_errors) },
	{ "tx NULL in place of an answer", FNB_TX_STRAY_NULL, 1500, 0, 0, C(bad_tx_rsp) },
	{ "tx rsp_prod overflow", FNB_TX_PROD_OVERFLOW, 1500, 0, -EPROTO, C(overflow) },
	{ "back end goes Closing", FNB_CLOSE_AFTER, 1500, 0, -ENOTCONN, C(tx_packets) },
};
#undef C

static uint64_t counter(const struct pv_netfront_stats *st, size_t off)
{
	uint64_t v;

	memcpy(&v, (const uint8_t *)st + off, sizeof(v));
	return v;
}

static void run_hostile(const struct hcase *hc)
{
	struct fnb f;
	struct pv_platform *p = NULL;
	struct pv_netfront *nf = NULL;
	struct pv_netfront_stats st;
	struct fnb_cfg cfg = base_cfg();
	struct pv_netfront_meta m = { 0 };
	struct cap c = { .want_len = hc->len };
	struct iovec iov;
	int rc = 0, i;

	cfg.hostile = hc->h;
	if (start(&f, &cfg, &p, NULL) < 0 || pv_netfront_open(p, DEVID, NULL, &nf) < 0) {
		fprintf(stderr, "hostile case '%s': could not connect\n", hc->name);
		CU_FAIL("connect");
		stop(&f, p);
		return;
	}
	make_frame(hc->len);
	if (hc->gso) {
		m.gso_type = hc->gso;
		m.gso_size = 1448;
		m.flags = PV_NETFRONT_CSUM_PARTIAL;
	}
	iov = (struct iovec){ frame, hc->len };
	CU_ASSERT_EQUAL(pv_netfront_send(nf, &iov, 1, &m), 0);
	pv_netfront_kick(nf);
	/* until the misbehaviour is counted (and, when fatal, the device said so) */
	for (i = 0; i < 50; i++) {
		rc = pv_netfront_poll(nf, 100, rx_cb, &c);
		pv_netfront_get_stats(nf, &st);
		if (rc < 0 || (!hc->fatal && counter(&st, hc->counter) && f.seen->echoed))
			break;
	}
	pv_netfront_get_stats(nf, &st);
	if (counter(&st, hc->counter) == 0 || (hc->fatal && rc != hc->fatal) || (!hc->fatal && rc < 0))
		fprintf(stderr, "hostile case '%s': rc %d, counter %llu\n", hc->name, rc,
			(unsigned long long)counter(&st, hc->counter));
	CU_ASSERT(counter(&st, hc->counter) >= 1);
	if (hc->fatal) {
		CU_ASSERT_EQUAL(rc, hc->fatal);
		CU_ASSERT_EQUAL(pv_netfront_send(nf, &iov, 1, NULL), hc->fatal);
	} else {
		/* the device survived: the next frame goes and comes back intact */
		CU_ASSERT(rc >= 0);
		rc = xfer(nf, &f, 1500, 0, 0);
		if (rc)
			fprintf(stderr, "hostile case '%s': next frame %d\n", hc->name, rc);
		CU_ASSERT_EQUAL(rc, 0);
	}
	/* either way it disconnects cleanly: Closing -> Closed, every grant ended */
	rc = pv_netfront_disconnect(nf);
	if (rc)
		fprintf(stderr, "hostile case '%s': disconnect %d\n", hc->name, rc);
	CU_ASSERT(rc == 0);
	pv_netfront_close(nf);
	stop(&f, p);
}

static void test_hostile_table(void)
{
	unsigned int i;

	for (i = 0; i < sizeof(hcases) / sizeof(hcases[0]); i++)
		run_hostile(&hcases[i]);
}

/* Values in xenstore a front end must refuse to connect with. */
static void test_hostile_nodes(void)
{
	static const struct {
		const char *name, *node, *value, *mac;
		enum fnb_hostile h;
		int rxcopy;
	} cases[] = {
		{ "no feature-rx-copy", NULL, NULL, NULL, FNB_HONEST, 0 },
		{ "multi-queue-max-queues garbage", "multi-queue-max-queues", "4x", NULL, FNB_HONEST, 1 },
		{ "feature-sg garbage", "feature-sg", "-1", NULL, FNB_HONEST, 1 },
		{ "mac garbage", NULL, NULL, "00:16:3e:zz:34:56", FNB_HONEST, 1 },
		{ "mac too short", NULL, NULL, "00:16:3e:12:34", FNB_HONEST, 1 },
		{ "back end refuses", NULL, NULL, NULL, FNB_REFUSE, 1 },
	};
	struct pv_netfront_opts o = { .timeout_ms = 3000 };
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fnb f;
		struct pv_platform *p = NULL;
		struct pv_netfront *nf = NULL;
		struct fnb_cfg cfg = base_cfg();
		int rc;

		cfg.rxcopy = cases[i].rxcopy;
		cfg.hostile = cases[i].h;
		if (cases[i].node) {
			snprintf(cfg.init_nodes[0].name, sizeof(cfg.init_nodes[0].name), "%s", cases[i].node);
			snprintf(cfg.init_nodes[0].value, sizeof(cfg.init_nodes[0].value), "%s", cases[i].value);
		}
		CU_ASSERT_EQUAL_FATAL(start(&f, &cfg, &p, cases[i].mac), 0);
		rc = pv_netfront_open(p, DEVID, &o, &nf);
		if (rc != -EPROTO)
			fprintf(stderr, "hostile node case '%s': %d\n", cases[i].name, rc);
		CU_ASSERT_EQUAL(rc, -EPROTO);
		CU_ASSERT_PTR_NULL(nf);
		CU_ASSERT_EQUAL(f.seen->connects, 0);
		stop(&f, p);
	}
}

/* The same device connects again after a close (and the back end sees a fresh front end). */
static void test_reconnect(void)
{
	struct fnb f;
	struct pv_platform *p = NULL;
	struct pv_netfront *nf = NULL;
	struct fnb_cfg cfg = base_cfg();
	unsigned int i;

	CU_ASSERT_EQUAL_FATAL(start(&f, &cfg, &p, NULL), 0);
	for (i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL_FATAL(pv_netfront_open(p, DEVID, NULL, &nf), 0);
		CU_ASSERT_EQUAL(xfer(nf, &f, 1500, 0, 0), 0);
		pv_netfront_close(nf);
	}
	CU_ASSERT_EQUAL(f.seen->connects, 3);
	stop(&f, p);
}

/*
 * After a poll that returned having taken a frame, the next response must wake the fds:
 * an event loop sleeps on them, not in pv_netfront_poll().
 */
static void test_wakeup(void)
{
	struct fnb f;
	struct pv_platform *p = NULL;
	struct pv_netfront *nf = NULL;
	struct fnb_cfg cfg = base_cfg();
	struct cap c = { .want_len = 1500 };
	struct iovec iov;
	int fds[2], n, i, rc;

	cfg.split = 0;
	CU_ASSERT_EQUAL_FATAL(start(&f, &cfg, &p, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(pv_netfront_open(p, DEVID, NULL, &nf), 0);
	n = pv_netfront_fds(nf, fds);
	CU_ASSERT(n >= 1);
	for (i = 0; i < 5; i++) {
		struct pollfd pfd = { .fd = fds[0], .events = POLLIN };

		CU_ASSERT_EQUAL(xfer(nf, &f, 1500, 0, 0), 0);
		CU_ASSERT_EQUAL(pv_netfront_more(nf), 0);
		make_frame(1500);
		iov = (struct iovec){ frame, 1500 };
		c.matched = 0;
		CU_ASSERT_EQUAL(pv_netfront_send(nf, &iov, 1, NULL), 0);
		pv_netfront_kick(nf);
		rc = poll(&pfd, 1, 3000);
		CU_ASSERT_EQUAL(rc, 1);
		CU_ASSERT_EQUAL(wait_echo(nf, &c, 3000), 1);
	}
	pv_netfront_close(nf);
	stop(&f, p);
}

static CU_TestInfo tests[] = {
	{ "the fds wake for the next frame after a poll", test_wakeup },
	{ "60 B, 1500 B, 64 KiB GSO (v4, v6) both ways", test_sizes },
	{ "600 frames of random sizes, multi-slot rx", test_many },
	{ "multi-queue: 2 queues", test_multiqueue },
	{ "no sg, no GSO, one event channel", test_minimal },
	{ "hostile back end: 20 broken responses", test_hostile_table },
	{ "hostile xenstore values: refused", test_hostile_nodes },
	{ "reconnect", test_reconnect },
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{ "netfront", suite_init, suite_clean, NULL, NULL, tests },
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return pv_test_main(suites);
}
