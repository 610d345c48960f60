/* SPDX-License-Identifier: MIT */
/*
 * xenplat_check - pvio's xen platform (libpvio-platform.a) against the real hypervisor.
 *
 *   xenplat_check domu        in the domU: shares a page with dom0 (pv_gnt_share), allocates
 *                             an unbound port for dom0, publishes ref/port under its own
 *                             data/pvio-check/, waits for dom0's event and checks the page.
 *   xenplat_check dom0 DOMID  in dom0: reads ref/port from the domU's xenstore home, maps the
 *                             page (pv_gnt_map), checks the domU's pattern and writes its own,
 *                             binds the port (pv_evtchn_bind_interdomain) and notifies.
 *
 * Prints "PVIO-XEN ok pvio-platform <side>" on success, "PVIO-XEN fail pvio-platform ..." with
 * the failing call and its errno otherwise (tests/xen/run.py looks for these).
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pv_platform.h"
#include "xen_report.h"

#define PAGE 4096
#define DOMU_PATTERN 0x5a
#define DOM0_PATTERN 0xa5
#define DOMU_TAG "pvio-check: written by the domU"
#define DOM0_TAG "pvio-check: written by dom0"

static const char *side = "?";
static char who[64] = "pvio-platform ?:";  /* "pvio-platform <side>:" once the side is known */

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	xr_vline("fail", who, fmt, ap);
	va_end(ap);
	exit(1);
}

static void info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	xr_vline("info", who, fmt, ap);
	va_end(ap);
}

static struct pv_platform *open_xen(void)
{
	struct pv_platform *p;
	const char *why = "";
	int rc = pv_platform_open("xen", &p, &why);

	if (rc < 0)
		fail("pv_platform_open(\"xen\") = %d (%s): %s", rc, strerror(-rc), why ? why : "");
	if (strcmp(pv_platform_name(p), "xen"))
		fail("pv_platform_name = %s", pv_platform_name(p));
	return p;
}

/* Checks that the page holds tag, then bytes equal to fill up to the end. */
static int page_is(const unsigned char *pg, const char *tag, unsigned char fill)
{
	size_t n = strlen(tag) + 1;

	if (memcmp(pg, tag, n))
		return 0;
	for (size_t i = n; i < PAGE; i++)
		if (pg[i] != fill)
			return 0;
	return 1;
}

static void fill_page(unsigned char *pg, const char *tag, unsigned char fill)
{
	size_t n = strlen(tag) + 1;

	memset(pg + n, fill, PAGE - n);
	memcpy(pg, tag, n);
}

static int domu(void)
{
	struct pv_platform *p = open_xen();
	domid_t me = pv_platform_domid(p);
	grant_ref_t ref;
	void *addr;
	evtchn_port_t port;
	int rc;

	info("domid %u", me);
	if (me == 0)
		fail("pv_platform_domid = 0 in a domU");
	rc = pv_gnt_share(p, 0, 1, 1, &ref, &addr);
	if (rc < 0)
		fail("pv_gnt_share(dom0) = %d (%s)", rc, strerror(-rc));
	fill_page(addr, DOMU_TAG, DOMU_PATTERN);
	rc = pv_evtchn_alloc_unbound(p, 0, &port);
	if (rc < 0)
		fail("pv_evtchn_alloc_unbound(dom0) = %d (%s)", rc, strerror(-rc));
	/* relative paths: our home /local/domain/<id>; "ready" last, dom0 waits for it */
	if ((rc = pv_xs_printf(p, 0, "data/pvio-check/ref", "%u", ref)) < 0 ||
	    (rc = pv_xs_printf(p, 0, "data/pvio-check/port", "%u", port)) < 0 ||
	    (rc = pv_xs_printf(p, 0, "data/pvio-check/ready", "1")) < 0)
		fail("pv_xs_printf(data/pvio-check/...) = %d (%s)", rc, strerror(-rc));
	info("shared ref %u, unbound port %u; waiting for dom0's event", ref, port);

	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd pfd = { .fd = pv_evtchn_fd(p), .events = POLLIN };
		clock_gettime(CLOCK_MONOTONIC, &t);
		int left = 90000 - (int)((t.tv_sec - t0.tv_sec) * 1000 +
					 (t.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0)
			fail("no event from dom0 on port %u within 90 s", port);
		if (pfd.fd < 0)
			fail("pv_evtchn_fd = %d", pfd.fd);
		rc = poll(&pfd, 1, left);
		if (rc < 0 && errno != EINTR)
			fail("poll(pv_evtchn_fd) failed: %s", strerror(errno));
		if (rc <= 0)
			continue;
		int got = pv_evtchn_pending(p);
		if (got == -EAGAIN)
			continue;
		if (got < 0)
			fail("pv_evtchn_pending = %d (%s)", got, strerror(-got));
		rc = pv_evtchn_unmask(p, (evtchn_port_t)got);
		if (rc < 0)
			fail("pv_evtchn_unmask(%d) = %d (%s)", got, rc, strerror(-rc));
		if ((evtchn_port_t)got != port)
			fail("event on port %d, expected %u", got, port);
		break;
	}
	if (!page_is(addr, DOM0_TAG, DOM0_PATTERN))
		fail("event arrived but the shared page does not hold dom0's pattern (starts \"%.40s\")",
		     (char *)addr);
	info("event on port %u, dom0's pattern in the shared page", port);
	rc = pv_gnt_unshare(p, addr, 1);
	if (rc < 0)
		info("pv_gnt_unshare = %d (%s) (not fatal)", rc, strerror(-rc));
	pv_platform_close(p);
	xr_line("ok", "pvio-platform", "domu");
	fflush(stdout);
	return 0;
}

static int dom0(domid_t peer)
{
	struct pv_platform *p = open_xen();
	char path[128];
	uint64_t ref = 0, rport = 0, ready = 0;
	void *addr;
	evtchn_port_t local;
	int rc = -ENOENT;

	if (pv_platform_domid(p) != 0)
		fail("pv_platform_domid = %u in dom0", pv_platform_domid(p));
	snprintf(path, sizeof path, "/local/domain/%u/data/pvio-check/ready", peer);
	for (int i = 0; i < 900 && ready != 1; i++) { /* 90 s */
		rc = pv_xs_read_u64(p, 0, path, &ready);
		if (ready != 1)
			usleep(100000);
	}
	if (ready != 1)
		fail("%s did not appear within 90 s (last rc %d)", path, rc);
	snprintf(path, sizeof path, "/local/domain/%u/data/pvio-check/ref", peer);
	if ((rc = pv_xs_read_u64(p, 0, path, &ref)) < 0)
		fail("pv_xs_read_u64(%s) = %d (%s)", path, rc, strerror(-rc));
	snprintf(path, sizeof path, "/local/domain/%u/data/pvio-check/port", peer);
	if ((rc = pv_xs_read_u64(p, 0, path, &rport)) < 0)
		fail("pv_xs_read_u64(%s) = %d (%s)", path, rc, strerror(-rc));
	info("domain %u published ref %llu port %llu", peer, (unsigned long long)ref,
	     (unsigned long long)rport);

	grant_ref_t r = (grant_ref_t)ref;
	rc = pv_gnt_map(p, peer, 1, &r, 1, &addr);
	if (rc < 0)
		fail("pv_gnt_map(dom%u, ref %u) = %d (%s)", peer, r, rc, strerror(-rc));
	if (!page_is(addr, DOMU_TAG, DOMU_PATTERN))
		fail("mapped page does not hold the domU's pattern (starts \"%.40s\")", (char *)addr);
	fill_page(addr, DOM0_TAG, DOM0_PATTERN);
	info("mapped ref %u, domU pattern ok, wrote dom0 pattern", r);

	rc = pv_evtchn_bind_interdomain(p, peer, (evtchn_port_t)rport, &local);
	if (rc < 0)
		fail("pv_evtchn_bind_interdomain(dom%u, port %llu) = %d (%s)", peer,
		     (unsigned long long)rport, rc, strerror(-rc));
	__sync_synchronize();
	rc = pv_evtchn_notify(p, local);
	if (rc < 0)
		fail("pv_evtchn_notify(%u) = %d (%s)", local, rc, strerror(-rc));
	info("bound remote port %llu as local %u, notified", (unsigned long long)rport, local);

	struct pv_dominfo di;
	rc = pv_domain_info(p, peer, &di);
	if (rc < 0)
		fail("pv_domain_info(%u) = %d (%s)", peer, rc, strerror(-rc));
	/* keep the mapping and port until the domU has seen the event (it exits, then powers off) */
	sleep(2);
	if ((rc = pv_gnt_unmap(p, addr, 1)) < 0)
		fail("pv_gnt_unmap = %d (%s)", rc, strerror(-rc));
	pv_platform_close(p);
	xr_line("ok", "pvio-platform", "dom0");
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 2 && !strcmp(argv[1], "domu")) {
		side = "domu";
		snprintf(who, sizeof(who), "pvio-platform %s:", side);
		return domu();
	}
	if (argc == 3 && !strcmp(argv[1], "dom0")) {
		side = "dom0";
		snprintf(who, sizeof(who), "pvio-platform %s:", side);
		return dom0((domid_t)strtoul(argv[2], NULL, 10));
	}
	fprintf(stderr, "usage: xenplat_check domu | dom0 DOMID\n");
	return 2;
}
