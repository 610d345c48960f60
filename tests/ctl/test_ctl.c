/* SPDX-License-Identifier: MIT */
/*
 * pvio-ctl's pure parts, table-driven: xl's disk specification syntax
 * (xl-disk-configuration(5)) and Xen's virtual-device numbers (vbd-interface.txt).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include "ctl_tests.h"
#include "pv_ctl_backd.h"
#include "pv_ctl_disk.h"
#include "pv_test.h"

/* ---- vdev -> devid ------------------------------------------------------------------- */

static const struct {
	const char *vdev;
	int rc;
	uint32_t devid;
} vdev_cases[] = {
	/* xvd, the 202 << 8 format: disks and partitions up to 15 */
	{ "xvda", 0, 51712 },
	{ "xvdb", 0, 51728 },
	{ "xvda1", 0, 51713 },
	{ "xvda15", 0, 51727 },
	{ "xvdp", 0, 51952 },                        /* disk 15 */
	{ "xvdp15", 0, 51967 },
	/* the extended 1 << 28 format, disk 16 onwards or partition 16 onwards */
	{ "xvdq", 0, (1u << 28) | (16u << 8) },      /* 268439552 */
	{ "xvdz", 0, (1u << 28) | (25u << 8) },
	{ "xvdaa", 0, (1u << 28) | (26u << 8) },     /* bijective base 26: aa follows z */
	{ "xvdab", 0, (1u << 28) | (27u << 8) },
	{ "xvdba", 0, (1u << 28) | (52u << 8) },
	{ "xvda16", 0, (1u << 28) | 16 },
	{ "xvda255", 0, (1u << 28) | 255 },
	{ "xvdtq37", 0, (1u << 28) | (536u << 8) | 37 }, /* vbd-interface.txt's example */
	{ "d536p37", 0, (1u << 28) | (536u << 8) | 37 },
	{ "d0", 0, 51712 },
	{ "d0p0", 0, 51712 },
	{ "d1p2", 0, 51730 },
	/* hd: 3 << 8 for disks 0..1, 22 << 8 for 2..3, partitions up to 63 */
	{ "hda", 0, 768 },
	{ "hda1", 0, 769 },
	{ "hda63", 0, 831 },
	{ "hdb", 0, 832 },
	{ "hdc", 0, 5632 },
	{ "hdd2", 0, 5698 },
	/* sd: 8 << 8, disks and partitions up to 15 */
	{ "sda", 0, 2048 },
	{ "sdb", 0, 2064 },
	{ "sdb3", 0, 2067 },
	{ "sdp15", 0, 2303 },
	/* plain numbers, as libxl takes them */
	{ "51712", 0, 51712 },
	{ "0xca10", 0, 51728 },
	/* refused */
	{ "", -EINVAL, 0 },
	{ "xvd", -EINVAL, 0 },
	{ "xvdA", -EINVAL, 0 },
	{ "xvda0", -EINVAL, 0 },     /* no leading zero: not a second name for xvda */
	{ "xvda01", -EINVAL, 0 },
	{ "xvda256", -EINVAL, 0 },
	{ "xvda-1", -EINVAL, 0 },
	{ "xvda1x", -EINVAL, 0 },
	{ "vda", -EINVAL, 0 },
	{ "hde", -EINVAL, 0 },       /* IDE has four disks */
	{ "hda64", -EINVAL, 0 },
	{ "sdq", -EINVAL, 0 },
	{ "sda16", -EINVAL, 0 },
	{ "d", -EINVAL, 0 },
	{ "dp1", -EINVAL, 0 },
	{ "d01", -EINVAL, 0 },
	{ "d1p", -EINVAL, 0 },
	{ "d1p256", -EINVAL, 0 },
	{ "d1048576", -EINVAL, 0 },  /* 2^20 disks at most */
	{ "0", -EINVAL, 0 },
	{ "536870912", -EINVAL, 0 }, /* 2 << 28: reserved */
	{ "xvdzzzzzzz", -EINVAL, 0 },/* beyond 2^20 disks */
};

static void test_vdev_table(void)
{
	size_t i;

	for (i = 0; i < sizeof(vdev_cases) / sizeof(vdev_cases[0]); i++) {
		uint32_t devid = 0xDEADBEEF;
		int rc = pv_ctl_vdev_to_devid(vdev_cases[i].vdev, &devid);

		if (rc != vdev_cases[i].rc || (rc == 0 && devid != vdev_cases[i].devid))
			fprintf(stderr, "\n  vdev '%s': rc %d devid %u, expected rc %d devid %u\n",
				vdev_cases[i].vdev, rc, devid, vdev_cases[i].rc, vdev_cases[i].devid);
		CU_ASSERT_EQUAL(rc, vdev_cases[i].rc);
		if (rc == 0)
			CU_ASSERT_EQUAL(devid, vdev_cases[i].devid);
	}
}

/* ---- disk specifications --------------------------------------------------------------- */

struct spec_case {
	const char *spec;
	int rc;
	const char *target;   /* expected on success */
	const char *vdev;
	uint32_t devid;
	int readonly, cdrom, discard;
	const char *backendtype;
	int backend_domid, has_script, deprecated;
	const char *err;      /* substring of the message on failure */
};

#define OK(spec, target, vdev, devid, ro, cd, disc, bt, bd, scr, dep) \
	{ spec, 0, target, vdev, devid, ro, cd, disc, bt, bd, scr, dep, NULL }
#define BAD(spec, rc, err) { spec, rc, NULL, NULL, 0, 0, 0, 0, NULL, 0, 0, 0, err }

static const struct spec_case spec_cases[] = {
	/* every key, named */
	OK("vdev=xvdb,access=rw,format=raw,backendtype=phy,target=/tmp/d.img", "/tmp/d.img",
	   "xvdb", 51728, 0, 0, 1, "phy", -1, 0, 0),
	OK("format=raw, vdev=hda, access=rw, target=/dev/vg/guest-volume", "/dev/vg/guest-volume",
	   "hda", 768, 0, 0, 1, "phy", -1, 0, 0),
	OK("vdev=xvdc,mode=ro,target=/img", "/img", "xvdc", 51744, 1, 0, 1, "phy", -1, 0, 0),
	OK("vdev=xvdc,access=r,target=/img", "/img", "xvdc", 51744, 1, 0, 1, "phy", -1, 0, 0),
	OK("vdev=xvdc,access=w,target=/img", "/img", "xvdc", 51744, 0, 0, 1, "phy", -1, 0, 0),
	OK("vdev=xvdc,access=w!,target=/img", "/img", "xvdc", 51744, 0, 0, 1, "phy", -1, 0, 0),
	OK("/img,raw,xvdc,rw!", "/img", "xvdc", 51744, 0, 0, 1, "phy", -1, 0, 0),
	OK("vdev=xvdb,devtype=disk,target=/img", "/img", "xvdb", 51728, 0, 0, 1, "phy", -1, 0, 0),
	OK("vdev=xvdb,devtype=cdrom,target=/iso", "/iso", "xvdb", 51728, 1, 1, 1, "phy", -1, 0, 0),
	OK("vdev=xvdb,backendtype=pvio,target=/img", "/img", "xvdb", 51728, 0, 0, 1, "pvio", -1, 0,
	   0),
	OK("vdev=xvdb,backendtype=qdisk,target=/img", "/img", "xvdb", 51728, 0, 0, 1, "qdisk", -1,
	   0, 0),
	OK("vdev=xvdb,backend=3,target=/img", "/img", "xvdb", 51728, 0, 0, 1, "phy", 3, 0, 0),
	OK("vdev=xvdb,no-discard,target=/img", "/img", "xvdb", 51728, 0, 0, 0, "phy", -1, 0, 0),
	OK("discard,vdev=xvdb,target=/img", "/img", "xvdb", 51728, 0, 0, 1, "phy", -1, 0, 0),
	OK("direct-io-safe,vdev=xvdb,target=/img", "/img", "xvdb", 51728, 0, 0, 1, "phy", -1, 0, 0),
	OK("script=block-iscsi,vdev=xvdb,target=iqn.2001-04.com.example:disk",
	   "iqn.2001-04.com.example:disk", "xvdb", 51728, 0, 0, 1, "phy", -1, 1, 0),
	/* target= consumes the rest, commas and trailing spaces included */
	OK("vdev=xvdb,target=/tmp/a,b=c, d ", "/tmp/a,b=c, d ", "xvdb", 51728, 0, 0, 1, "phy", -1,
	   0, 0),
	OK(",,xvdb,target=/y", "/y", "xvdb", 51728, 0, 0, 1, "phy", -1, 0, 0),
	/* positional */
	OK("/tmp/d.img,raw,xvdb,rw", "/tmp/d.img", "xvdb", 51728, 0, 0, 1, "phy", -1, 0, 0),
	OK("/tmp/d.img,,xvdb", "/tmp/d.img", "xvdb", 51728, 0, 0, 1, "phy", -1, 0, 0),
	OK("/tmp/d.img,raw,xvda1,ro", "/tmp/d.img", "xvda1", 51713, 1, 0, 1, "phy", -1, 0, 0),
	OK("/root/image.iso,,hdc,cdrom", "/root/image.iso", "hdc", 5632, 1, 1, 1, "phy", -1, 0, 0),
	OK("/root/image.iso,,hdc,,cdrom", "/root/image.iso", "hdc", 5632, 1, 1, 1, "phy", -1, 0, 0),
	OK("/root/image.iso,raw,hdc,devtype=cdrom", "/root/image.iso", "hdc", 5632, 1, 1, 1, "phy",
	   -1, 0, 0),
	OK("vdev=xvdb,/tmp/d.img,raw", "/tmp/d.img", "xvdb", 51728, 0, 0, 1, "phy", -1, 0, 0),
	OK("vg/guest,,xvdb", "/dev/vg/guest", "xvdb", 51728, 0, 0, 1, "phy", -1, 0, 0),
	OK("/tmp/d.img,raw,d1p2,rw", "/tmp/d.img", "d1p2", 51730, 0, 0, 1, "phy", -1, 0, 0),
	OK("/tmp/d.img,raw,51712,rw", "/tmp/d.img", "51712", 51712, 0, 0, 1, "phy", -1, 0, 0),
	/* the deprecated syntax and prefixes */
	OK("file:/tmp/d.img,xvdb,w", "/tmp/d.img", "xvdb", 51728, 0, 0, 1, "phy", -1, 0, 1),
	OK("phy:/dev/loop0,xvdb,w", "/dev/loop0", "xvdb", 51728, 0, 0, 1, "phy", -1, 0, 1),
	OK("raw:/dev/vg/guest-volume,hda,w", "/dev/vg/guest-volume", "hda", 768, 0, 0, 1, "phy",
	   -1, 0, 1),
	OK("tap:aio:/tmp/d.img,xvdb,r", "/tmp/d.img", "xvdb", 51728, 1, 0, 1, "phy", -1, 0, 1),
	OK("raw:/root/image.iso,hdc:cdrom,ro", "/root/image.iso", "hdc", 5632, 1, 1, 1, "phy", -1,
	   0, 1),
	OK(",hdc:cdrom,r", "", "hdc", 5632, 1, 1, 1, "phy", -1, 0, 1),
	OK("/tmp/d.img,xvdb,r", "/tmp/d.img", "xvdb", 51728, 1, 0, 1, "phy", -1, 0, 1),
	OK("/tmp/a:b,,xvdb", "/tmp/a:b", "xvdb", 51728, 0, 0, 1, "phy", -1, 0, 0),
	/* pvio-backd's null driver: kept as written, not a path under /dev */
	OK("vdev=xvdb,target=null:", "null:", "xvdb", 51728, 0, 0, 1, "phy", -1, 0, 0),
	OK("vdev=xvdb,target=null:2048", "null:2048", "xvdb", 51728, 0, 0, 1, "phy", -1, 0, 0),
	OK("null:,,xvdb,ro", "null:", "xvdb", 51728, 1, 0, 1, "phy", -1, 0, 0),
	/* refused */
	BAD("vdev=xvdb,target=null:0", -EINVAL, "bad null target"),
	BAD("vdev=xvdb,target=null:012", -EINVAL, "bad null target"),
	BAD("vdev=xvdb,target=null:12x", -EINVAL, "bad null target"),
	BAD("vdev=xvdb,target=null:1125899906842624", -EINVAL, "bad null target"),
	BAD("", -EINVAL, "empty"),
	BAD("   ", -EINVAL, "empty"),
	BAD("vdev=xvdb", -EINVAL, "target is missing"),
	BAD("/tmp/d.img,raw,,rw", -EINVAL, "vdev is missing"),
	BAD("target=/tmp/d.img,vdev=xvdb", -EINVAL, "vdev is missing"), /* target= eats vdev= */
	BAD("target=/tmp/d.img,vdev=xvdb", -EINVAL, "target= must come last, it takes the rest"),
	BAD("/x,raw,xvdb,w!x", -EINVAL, "or w! to share"),
	BAD("foo=bar,vdev=xvdb,target=/x", -EINVAL, "unknown key 'foo'"),
	BAD("=bar,vdev=xvdb,target=/x", -EINVAL, "key is missing"),
	BAD("vdev=xvdb,vdev=xvdc,target=/x", -EINVAL, "vdev given twice"),
	BAD("/x,raw,xvdb,rw,access=ro", -EINVAL, "access given twice"),
	BAD("/x,,xvdb,target=/y", -EINVAL, "target given twice"),
	BAD("/x,raw,xvdb,ro,mode=r", -EINVAL, "access given twice"),
	BAD("cdrom,/x,,xvdb,devtype=cdrom", -EINVAL, "devtype given twice"),
	BAD("discard,no-discard,/x,,xvdb", -EINVAL, "discard given twice"),
	BAD("direct-io-safe,/x,,xvdb,direct-io-safe", -EINVAL, "direct-io-safe given twice"),
	BAD("/x,raw,xvdb,rw,extra", -EINVAL, "too many positional"),
	BAD("/x,raw,xvdb,rx", -EINVAL, "bad access 'rx'"),
	BAD("/x,raw,xvda0,rw", -EINVAL, "bad vdev 'xvda0'"),
	BAD("/x,raw,vda,rw", -EINVAL, "bad vdev 'vda'"),
	BAD("/x,raw,xvdb:floppy,rw", -EINVAL, "bad vdev"),
	BAD("/x,qcow2,xvdb,rw", -ENOTSUP, "format qcow2 is not supported"),
	BAD("format=vhd,vdev=xvdb,target=/x", -ENOTSUP, "format vhd"),
	BAD("qcow2:/x,xvdb,w", -ENOTSUP, "format qcow2"),
	BAD("/x,foo,xvdb,rw", -EINVAL, "unknown format 'foo'"),
	BAD("/x,,xvdb,devtype=floppy", -EINVAL, "bad devtype 'floppy'"),
	BAD("backendtype=tap,vdev=xvdb,target=/x", -ENOTSUP, "backendtype tap"),
	BAD("backendtype=foo,vdev=xvdb,target=/x", -EINVAL, "unknown backendtype 'foo'"),
	BAD("backend=dom0,vdev=xvdb,target=/x", -EINVAL, "domain id"),
	BAD("colo,/x,,xvdb", -ENOTSUP, "COLO"),
	BAD("colo-host=h,/x,,xvdb", -ENOTSUP, "COLO"),
};

static void test_spec_table(void)
{
	struct pv_ctl_disk *d = malloc(sizeof(*d));
	char err[256];
	size_t i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	for (i = 0; i < sizeof(spec_cases) / sizeof(spec_cases[0]); i++) {
		const struct spec_case *c = &spec_cases[i];
		int rc = pv_ctl_disk_parse(c->spec, d, err, sizeof(err));
		int ok = rc == c->rc;

		if (ok && rc == 0)
			ok = !strcmp(d->target, c->target) && !strcmp(d->vdev, c->vdev) &&
			     d->devid == c->devid && d->readonly == c->readonly &&
			     d->cdrom == c->cdrom && d->discard == c->discard &&
			     !strcmp(d->backendtype, c->backendtype) &&
			     d->backend_domid == c->backend_domid &&
			     d->has_script == c->has_script && d->deprecated == c->deprecated &&
			     !strcmp(d->format, "raw") &&
			     d->null_disk == !strncmp(c->target, "null:", 5);
		if (ok && rc < 0)
			ok = strstr(err, c->err) != NULL && !strchr(err, '\n');
		if (!ok)
			fprintf(stderr, "\n  spec '%s': rc %d err '%s' target '%s' vdev '%s' devid %u "
					"ro %d cdrom %d discard %d bt '%s' be %d script %d depr %d\n",
				c->spec, rc, err, d->target, d->vdev, d->devid, d->readonly, d->cdrom,
				d->discard, d->backendtype, d->backend_domid, d->has_script,
				d->deprecated);
		CU_ASSERT(ok);
	}
	free(d);
}

/* A target as long as xenstore allows is refused cleanly, not truncated. */
static void test_spec_long_target(void)
{
	struct pv_ctl_disk *d = malloc(sizeof(*d));
	size_t n = PV_CTL_TARGET_MAX + 100;
	char *spec = malloc(n + 32), err[128];

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_PTR_NOT_NULL_FATAL(spec);
	strcpy(spec, "vdev=xvdb,target=/");
	memset(spec + strlen(spec), 'a', n);
	spec[18 + n] = '\0';
	CU_ASSERT_EQUAL(pv_ctl_disk_parse(spec, d, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "too long"));
	CU_ASSERT_EQUAL(pv_ctl_disk_parse(NULL, d, err, sizeof(err)), -EINVAL);
	free(spec);
	free(d);
}

/* direct-io-safe reaches the disk (and pvio-backd through its node); absent, it is off. */
static void test_spec_direct_io_safe(void)
{
	static const struct { const char *spec; int want; } cases[] = {
		{ "direct-io-safe,vdev=xvdb,target=/img", 1 },
		{ "/img,raw,xvdb,rw,direct-io-safe", 1 },
		{ "vdev=xvdb,target=/img", 0 },
		{ "/img,raw,xvdb,rw", 0 },
	};
	struct pv_ctl_disk *d = malloc(sizeof(*d));
	char err[256];

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(d, 0xA5, sizeof(*d)); /* a parse must set it, not inherit it */
		CU_ASSERT_EQUAL(pv_ctl_disk_parse(cases[i].spec, d, err, sizeof(err)), 0);
		CU_ASSERT_EQUAL(d->direct_io_safe, cases[i].want);
	}
	free(d);
}

/* pv_ctl_backd_print_flat(s) with stdout caught in out; its return value. */
static int print_flat(const char *s, char *out, size_t len)
{
	FILE *tmp = tmpfile();
	int saved, rc;
	size_t n = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(tmp);
	fflush(stdout);
	saved = dup(1);
	dup2(fileno(tmp), 1);
	rc = pv_ctl_backd_print_flat(s);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	rewind(tmp);
	n = fread(out, 1, len - 1, tmp);
	out[n] = 0;
	fclose(tmp);
	return rc;
}

/* block-stats' human form: a queue's list as "1,2", an empty one empty; nesting refused. */
static void test_print_flat(void)
{
	char out[1024];

	CU_ASSERT_EQUAL(print_flat("{\"queues\":2,\"queue_threads\":[1,2],\"x\":[],"
				   "\"state\":4}", out, sizeof(out)), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "queues               2\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "queue_threads        1,2\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "x                    \n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "state                Connected (4)\n"));
	CU_ASSERT_EQUAL(print_flat("{\"a\":[1,[2]]}", out, sizeof(out)), -EINVAL);
	CU_ASSERT_EQUAL(print_flat("{\"a\":[\"s\"]}", out, sizeof(out)), -EINVAL);
	CU_ASSERT_EQUAL(print_flat("{\"a\":[1,2}", out, sizeof(out)), -EINVAL);
	CU_ASSERT_EQUAL(print_flat("{\"a\":{\"b\":1}}", out, sizeof(out)), -EINVAL);
}

CU_TestInfo ctl_parse_tests[] = {
	{ "block-stats' flat printer: numbers, strings, lists of numbers; nesting refused",
	  test_print_flat },
	{ "vdev names -> Xen virtual-device numbers (vbd-interface.txt)", test_vdev_table },
	{ "disk specs: keys, positional, deprecated forms, errors", test_spec_table },
	{ "disk specs: an over-long target is refused", test_spec_long_target },
	{ "disk specs: direct-io-safe", test_spec_direct_io_safe },
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{ "ctl-parse", NULL, NULL, NULL, NULL, ctl_parse_tests },
	{ "ctl-vif-parse", NULL, NULL, NULL, NULL, ctl_vif_parse_tests },
	{ "ctl-sim", ctl_sim_init, ctl_sim_clean, NULL, NULL, ctl_sim_tests },
	{ "ctl-net-sim", ctl_sim_init, ctl_sim_clean, NULL, NULL, ctl_net_tests },
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return pv_test_main(suites);
}
