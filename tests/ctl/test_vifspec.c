/* SPDX-License-Identifier: MIT */
/*
 * xl's vif specification (xl-network-configuration(5)) and libxlu's rate syntax,
 * table-driven: good specs and what they become, bad ones and xl's words for them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_tests.h"
#include "pv_ctl_vifspec.h"
#include "pv_test.h"

/* ---- rate ---------------------------------------------------------------------------- */

static const struct {
	const char *rate;
	int rc;
	uint64_t bytes;
	uint32_t usecs;
} rate_cases[] = {
	/* 10 Mbit/s = 1.25 MB/s; over the default 50 ms that is 62500 bytes */
	{ "10Mb/s", 0, 62500, 50000 },
	{ "1MB/s@20ms", 0, 20000, 20000 },
	{ "100MB/s", 0, 5000000, 50000 },
	{ "1GB/s@1s", 0, 1000000000, 1000000 },
	{ "1Gb/s@1", 0, 125000000, 1000000 },      /* a bare interval is seconds */
	{ "8Kb/s@100ms", 0, 100, 100000 },
	{ "1000B/s@500000us", 0, 500, 500000 },
	{ "1000B/s@500000u", 0, 500, 500000 },
	{ "1000B/s@500m", 0, 500, 500000 },
	{ "4294967295GB/s@1us", 0, 4294967295000ull, 1 },
	{ "160b/s@1s", 0, 20, 1000000 },
	{ "", -EINVAL, 0, 0 },
	{ "@20ms", -EINVAL, 0, 0 },
	{ "10", -EINVAL, 0, 0 },
	{ "10Mb", -EINVAL, 0, 0 },
	{ "10Mbit/s", -EINVAL, 0, 0 },
	{ "10mb/s", -EINVAL, 0, 0 },               /* libxlu: [GMK] only */
	{ "10Tb/s", -EINVAL, 0, 0 },
	{ "-10Mb/s", -EINVAL, 0, 0 },
	{ " 10Mb/s", -EINVAL, 0, 0 },
	{ "0Mb/s", -EINVAL, 0, 0 },
	{ "010Mb/s", -EINVAL, 0, 0 },              /* libxlu would read octal 8 */
	{ "10Mb/s ", -EINVAL, 0, 0 },
	{ "10Mb/s@", -EINVAL, 0, 0 },
	{ "10Mb/s@0ms", -EINVAL, 0, 0 },
	{ "10Mb/s@20ks", -EINVAL, 0, 0 },
	{ "10Mb/s@20ms@1s", -EINVAL, 0, 0 },
	{ "10Mb/s@20mss", -EINVAL, 0, 0 },
	{ "4294967296B/s", -EOVERFLOW, 0, 0 },
	{ "99999999999999999999B/s", -EOVERFLOW, 0, 0 },
	{ "1B/s@4295s", -EOVERFLOW, 0, 0 },        /* > 2^32 microseconds */
	{ "1B/s@4294967296us", -EOVERFLOW, 0, 0 },
	{ "4294967295GB/s@4294967295us", -EOVERFLOW, 0, 0 }, /* the product */
	{ "1B/s", -EINVAL, 0, 0 },                 /* 0 bytes per 50 ms: a dead vif */
};

static void test_rate_table(void)
{
	char err[200];
	size_t i;

	for (i = 0; i < sizeof(rate_cases) / sizeof(rate_cases[0]); i++) {
		uint64_t b = 7;
		uint32_t u = 7;
		int rc = pv_ctl_vif_parse_rate(rate_cases[i].rate, &b, &u, err, sizeof(err));
		int ok = rc == rate_cases[i].rc;

		if (ok && rc == 0)
			ok = b == rate_cases[i].bytes && u == rate_cases[i].usecs;
		if (ok && rc < 0)
			ok = err[0] && strlen(err) < sizeof(err) - 1 && !strchr(err, '\n');
		if (!ok)
			fprintf(stderr, "\n  rate '%s': rc %d bytes %llu usecs %u err '%s'\n",
				rate_cases[i].rate, rc, (unsigned long long)b, u, err);
		CU_ASSERT(ok);
	}
}

/* ---- MAC ----------------------------------------------------------------------------- */

static void test_mac(void)
{
	static const char *const good[][2] = {
		{ "00:16:3e:12:34:56", "00:16:3e:12:34:56" },
		{ "00:16:3E:AB:cd:Ef", "00:16:3e:ab:cd:ef" },
		{ "0:16:3e:1:2:3", "00:16:3e:01:02:03" },
		{ "02:00:00:00:00:01", "02:00:00:00:00:01" }, /* locally administered is fine */
		{ "fe:ff:ff:ff:ff:ff", "fe:ff:ff:ff:ff:ff" },
	};
	static const char *const bad[] = {
		"", "00:16:3e:12:34", "00:16:3e:12:34:56:78", "00:16:3e:12:34:5g",
		"00-16-3e-12-34-56", "001:16:3e:12:34:56", "00:16:3e:12:34:56 ", " 00:16:3e:12:34:56",
		"00::3e:12:34:56", "01:00:5e:00:00:01", /* multicast */
		"ff:ff:ff:ff:ff:ff", /* broadcast */ "00:00:00:00:00:00", "00:16:3e:12:34:",
		"+0:16:3e:12:34:56", "0x0:16:3e:12:34:56",
	};
	uint8_t m[6];
	char buf[18];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		CU_ASSERT_EQUAL(pv_ctl_mac_parse(good[i][0], m), 0);
		pv_ctl_mac_format(m, buf, sizeof(buf));
		CU_ASSERT_STRING_EQUAL(buf, good[i][1]);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = pv_ctl_mac_parse(bad[i], m);

		if (rc != -EINVAL)
			fprintf(stderr, "\n  mac '%s' accepted\n", bad[i]);
		CU_ASSERT_EQUAL(rc, -EINVAL);
	}
	CU_ASSERT_EQUAL(pv_ctl_mac_parse(NULL, m), -EINVAL);
}

/* The default MAC: Xen's OUI, unicast, the fourth byte's top bit clear (libxl), random. */
static void test_default_mac(void)
{
	struct pv_ctl_vif v;
	uint8_t first[6];
	int i, differs = 0;

	pv_ctl_vif_init(&v);
	CU_ASSERT_EQUAL_FATAL(pv_ctl_vif_finish(&v), 0);
	memcpy(first, v.mac, 6);
	for (i = 0; i < 16; i++) {
		pv_ctl_vif_init(&v);
		CU_ASSERT_EQUAL(pv_ctl_vif_finish(&v), 0);
		CU_ASSERT(v.mac_given);
		CU_ASSERT(v.mac[0] == 0x00 && v.mac[1] == 0x16 && v.mac[2] == 0x3e);
		CU_ASSERT_EQUAL(v.mac[3] & 0x80, 0);
		differs |= memcmp(first, v.mac, 6) != 0;
	}
	/* 17 draws of 23 random bits all equal: about 2^-368. */
	CU_ASSERT(differs);
	/* A given MAC is kept. */
	pv_ctl_vif_init(&v);
	CU_ASSERT_EQUAL(pv_ctl_vif_parse("mac=00:16:3e:00:00:01", &v, NULL, 0), 0);
	CU_ASSERT_EQUAL(pv_ctl_vif_finish(&v), 0);
	CU_ASSERT_EQUAL(v.mac[5], 1);
}

/* ---- whole specs --------------------------------------------------------------------- */

struct vif_case {
	const char *spec;
	int rc;
	const char *mac;        /* expected on success; NULL: not given */
	const char *bridge, *ip, *vifname, *script;
	uint64_t rate_bytes;
	uint32_t rate_usecs;
	int backend;
	long devid;
	const char *err;        /* substring of the message on failure */
};

#define OK(spec, mac, br, ip, vn, scr, rb, ru, be, dv) \
	{ spec, 0, mac, br, ip, vn, scr, rb, ru, be, dv, NULL }
#define BAD(spec, rc, err) { spec, rc, NULL, "", "", "", "", 0, 0, -1, -1, err }

static const struct vif_case vif_cases[] = {
	OK("mac=00:16:3e:01:02:03", "00:16:3e:01:02:03", "", "", "", "", 0, 0, -1, -1),
	OK("mac=00:16:3e:01:02:03,bridge=xenbr0,ip=192.0.2.7,rate=10Mb/s@20ms,backend=0,type=vif",
	   "00:16:3e:01:02:03", "xenbr0", "192.0.2.7", "", "", 25000, 20000, 0, -1),
	OK("bridge=br-lan_1.10", NULL, "br-lan_1.10", "", "", "", 0, 0, -1, -1),
	OK("ip=192.0.2.7 2001:db8::7 198.51.100.0/24", NULL, "", "192.0.2.7 2001:db8::7 198.51.100.0/24",
	   "", "", 0, 0, -1, -1),
	OK("script=vif-bridge", NULL, "", "", "", "/etc/xen/scripts/vif-bridge", 0, 0, -1, -1),
	OK("script=/usr/local/lib/my-vif", NULL, "", "", "", "/usr/local/lib/my-vif", 0, 0, -1, -1),
	OK("vifname=vif-guest1", NULL, "", "", "vif-guest1", "", 0, 0, -1, -1),
	OK("devid=3,backend=2", NULL, "", "", "", "", 0, 0, 2, 3),
	OK("devid=0", NULL, "", "", "", "", 0, 0, -1, 0),
	OK("devid=2147483647", NULL, "", "", "", "", 0, 0, -1, 2147483647),
	OK("model=e1000", NULL, "", "", "", "", 0, 0, -1, -1),      /* ignored for a PV vif */
	OK("accel=foo", NULL, "", "", "", "", 0, 0, -1, -1),        /* xl: not supported, goes on */
	OK("type=vif", NULL, "", "", "", "", 0, 0, -1, -1),
	/* xl's tokenizer: empty items vanish, spaces before a key are skipped */
	OK(",, mac=00:16:3e:01:02:03,  bridge=br0,", "00:16:3e:01:02:03", "br0", "", "", "", 0, 0,
	   -1, -1),
	OK("rate=1MB/s", NULL, "", "", "", "", 50000, 50000, -1, -1),
	/* refused */
	BAD("", -EINVAL, "empty"),
	BAD(",,,", -EINVAL, "empty"),
	BAD("foo=bar", -EINVAL, "unrecognized argument `foo=bar'"),
	BAD("mac", -EINVAL, "unrecognized argument `mac'"),
	BAD("=00:16:3e:01:02:03", -EINVAL, "unrecognized argument `=00:16:3e:01:02:03'"),
	BAD("MAC=00:16:3e:01:02:03", -EINVAL, "unrecognized argument"),
	BAD("mac =00:16:3e:01:02:03", -EINVAL, "unrecognized argument"),
	BAD("mac=01:16:3e:01:02:03", -EINVAL, "multicast"),
	BAD("mac=ff:ff:ff:ff:ff:ff", -EINVAL, "multicast"),
	BAD("mac=00:00:00:00:00:00", -EINVAL, "all zeros"),
	BAD("mac=00:16:3e:01:02", -EINVAL, "invalid parameter `mac'"),
	BAD("mac=", -EINVAL, "invalid parameter `mac'"),
	BAD("mac=00:16:3e:01:02:03,mac=00:16:3e:01:02:04", -EINVAL, "`mac' given twice"),
	BAD("bridge=", -EINVAL, "invalid parameter `bridge'"),
	BAD("bridge=0123456789abcdef", -EINVAL, "invalid parameter `bridge'"), /* 16: too long */
	BAD("bridge=br/0", -EINVAL, "invalid parameter `bridge'"),
	BAD("bridge=br 0", -EINVAL, "invalid parameter `bridge'"),
	BAD("bridge=br:0", -EINVAL, "invalid parameter `bridge'"),
	BAD("bridge=..", -EINVAL, "invalid parameter `bridge'"),
	BAD("bridge=br\x1b[31m", -EINVAL, "invalid parameter `bridge': `br?[31m'"),
	BAD("bridge=br\xc3\xa9", -EINVAL, "invalid parameter `bridge'"),
	BAD("vifname=$(reboot)", -EINVAL, "invalid parameter `vifname'"),
	BAD("vifname=a/b", -EINVAL, "invalid parameter `vifname'"),
	BAD("ip=", -EINVAL, "invalid parameter `ip'"),
	BAD("ip=192.0.2", -EINVAL, "invalid parameter `ip'"),
	BAD("ip=192.0.2.7/33", -EINVAL, "invalid parameter `ip'"),
	BAD("ip=2001:db8::7/129", -EINVAL, "invalid parameter `ip'"),
	BAD("ip=192.0.2.7/", -EINVAL, "invalid parameter `ip'"),
	BAD("ip=192.0.2.7;reboot", -EINVAL, "invalid parameter `ip'"),
	BAD("ip=host.example", -EINVAL, "invalid parameter `ip'"),
	BAD("rate=10Mbit/s", -EINVAL, "invalid parameter `rate': invalid rate in `10Mbit/s'"),
	BAD("rate=", -EINVAL, "no rate specified"),
	BAD("rate=10Mb/s@20xs", -EINVAL, "invalid replenishment interval in `20xs'"),
	BAD("rate=4294967296B/s", -EINVAL, "rate overflow"),
	BAD("backend=dom0", -EINVAL, "invalid parameter `backend': `dom0' is not a domain id"),
	BAD("backend=-1", -EINVAL, "not a domain id"),
	BAD("backend=32752", -EINVAL, "not a domain id"),  /* DOMID_FIRST_RESERVED */
	BAD("backend=", -EINVAL, "not a domain id"),
	BAD("type=ioemu", -ENOTSUP, "type=ioemu is an emulated NIC"),
	BAD("type=vif_ioemu", -EINVAL, "invalid parameter `type'"),
	BAD("type=", -EINVAL, "invalid parameter `type'"),
	BAD("devid=-1", -EINVAL, "invalid parameter `devid'"),
	BAD("devid=2147483648", -EINVAL, "invalid parameter `devid'"),
	BAD("devid=0x10", -EINVAL, "invalid parameter `devid'"),
	BAD("devid=01", -EINVAL, "invalid parameter `devid'"),
	BAD("devid=", -EINVAL, "invalid parameter `devid'"),
	BAD("script=", -EINVAL, "invalid parameter `script'"),
	BAD("script=vif\tbridge", -EINVAL, "invalid parameter `script'"),
	BAD("mtu=9000", -ENOTSUP, "`mtu' is not supported"),
	BAD("gatewaydev=eth0", -ENOTSUP, "`gatewaydev' is not supported"),
	BAD("colo_compare_out=x", -ENOTSUP, "COLO"),
	BAD("type=vif,type=vif", -EINVAL, "`type' given twice"),
	/* a bad item after good ones still fails the whole spec */
	BAD("mac=00:16:3e:01:02:03,bridge=br0,bogus=1", -EINVAL, "unrecognized argument `bogus=1'"),
};

static void test_vif_table(void)
{
	struct pv_ctl_vif v;
	char err[256], mac[18];
	size_t i;

	for (i = 0; i < sizeof(vif_cases) / sizeof(vif_cases[0]); i++) {
		const struct vif_case *c = &vif_cases[i];
		int rc, ok;

		pv_ctl_vif_init(&v);
		memset(err, 'x', sizeof(err));
		rc = pv_ctl_vif_parse(c->spec, &v, err, sizeof(err));
		ok = rc == c->rc;
		pv_ctl_mac_format(v.mac, mac, sizeof(mac));
		if (ok && rc == 0)
			ok = (c->mac ? v.mac_given && !strcmp(mac, c->mac) : !v.mac_given) &&
			     !strcmp(v.bridge, c->bridge) && !strcmp(v.ip, c->ip) &&
			     !strcmp(v.vifname, c->vifname) && !strcmp(v.script, c->script) &&
			     v.rate_bytes == c->rate_bytes && v.rate_usecs == c->rate_usecs &&
			     v.backend_domid == c->backend && v.devid == c->devid;
		/* One line, printable, naming the problem. */
		if (ok && rc < 0) {
			const char *s;

			ok = strstr(err, c->err) != NULL;
			for (s = err; ok && *s; s++)
				ok = *s >= 0x20 && *s < 0x7f;
		}
		if (!ok)
			fprintf(stderr, "\n  vif '%s': rc %d (want %d) err '%s' mac %s given %d br '%s' "
					"ip '%s' vifname '%s' script '%s' rate %llu/%u be %d devid %ld\n",
				c->spec, rc, c->rc, rc < 0 ? err : "", mac, v.mac_given, v.bridge, v.ip,
				v.vifname, v.script, (unsigned long long)v.rate_bytes, v.rate_usecs,
				v.backend_domid, v.devid);
		CU_ASSERT(ok);
	}
}

/* xl network-attach gives one key per argument: successive calls add up, twice is refused. */
static void test_vif_several_arguments(void)
{
	struct pv_ctl_vif v;
	char err[256];

	pv_ctl_vif_init(&v);
	CU_ASSERT_EQUAL(pv_ctl_vif_parse("mac=00:16:3e:0a:0b:0c", &v, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(pv_ctl_vif_parse("bridge=br0", &v, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(pv_ctl_vif_parse("rate=1MB/s@20ms,devid=4", &v, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(v.bridge, "br0");
	CU_ASSERT_EQUAL(v.rate_bytes, 20000);
	CU_ASSERT_EQUAL(v.devid, 4);
	CU_ASSERT_EQUAL(pv_ctl_vif_parse("bridge=br1", &v, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "`bridge' given twice"));
	CU_ASSERT_STRING_EQUAL(v.bridge, "br0"); /* the first value stands */
}

/* Hostile lengths: refused cleanly, messages bounded, nothing overruns. */
static void test_vif_hostile_lengths(void)
{
	static const char *const keys[] = { "mac=", "bridge=", "ip=", "rate=", "script=", "vifname=",
					    "devid=", "backend=", "type=", "model=", "zz=" };
	size_t n = PV_CTL_VIF_SPEC_MAX + 10, i;
	char *spec = malloc(n + 16), err[128];
	struct pv_ctl_vif v;

	CU_ASSERT_PTR_NOT_NULL_FATAL(spec);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		size_t k = strlen(keys[i]);
		int rc;

		/* just under the spec limit: each value is refused on its own terms (model takes any) */
		memcpy(spec, keys[i], k);
		memset(spec + k, '1', PV_CTL_VIF_SPEC_MAX - k);
		spec[PV_CTL_VIF_SPEC_MAX] = '\0';
		pv_ctl_vif_init(&v);
		rc = pv_ctl_vif_parse(spec, &v, err, sizeof(err));
		if (strcmp(keys[i], "model="))
			CU_ASSERT(rc < 0);
		CU_ASSERT(strlen(err) < sizeof(err));
		CU_ASSERT_PTR_NULL(strchr(err, '\n'));
		/* over the limit */
		memset(spec + k, '1', n - k);
		spec[n] = '\0';
		rc = pv_ctl_vif_parse(spec, &v, err, sizeof(err));
		CU_ASSERT_EQUAL(rc, -EINVAL);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "too long"));
	}
	/* the longest names that fit, and one more */
	pv_ctl_vif_init(&v);
	CU_ASSERT_EQUAL(pv_ctl_vif_parse("bridge=123456789012345", &v, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(pv_ctl_vif_parse("vifname=1234567890123456", &v, err, sizeof(err)), -EINVAL);
	/* a message quoting a long value is cut short */
	pv_ctl_vif_init(&v);
	memcpy(spec, "bridge=", 7);
	memset(spec + 7, 'b', 3000);
	spec[3007] = '\0';
	CU_ASSERT_EQUAL(pv_ctl_vif_parse(spec, &v, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "bbb...'"));
	/* NULLs */
	CU_ASSERT_EQUAL(pv_ctl_vif_parse(NULL, &v, err, sizeof(err)), -EINVAL);
	free(spec);
}

CU_TestInfo ctl_vif_parse_tests[] = {
	{ "vif rate: libxlu's syntax, bytes per interval, overflow", test_rate_table },
	{ "vif mac: syntax, multicast and zero refused, formatting", test_mac },
	{ "vif mac default: 00:16:3e + 23 random bits, as libxl", test_default_mac },
	{ "vif specs: every key, xl's tokenizer, every refusal and its message", test_vif_table },
	{ "vif specs: one key per argument, as xl network-attach", test_vif_several_arguments },
	{ "vif specs: hostile lengths and characters", test_vif_hostile_lengths },
	CU_TEST_INFO_NULL,
};
