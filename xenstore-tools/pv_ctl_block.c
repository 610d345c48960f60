/* SPDX-License-Identifier: MIT */
/*
 * pv_ctl_block.c - pvio-ctl block-attach, block-detach, block-list and block-stats.
 *
 * Messages follow xl: silence on success, one line "pvio-ctl: <command>: <reason>" on
 * failure.  Validation happens before anything is written, so a refused attach leaves
 * xenstore as it was; an attach whose backend never answers is rolled back.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pv_backd_ctl.h"
#include "pv_ctl_backd.h"
#include "pv_ctl_cmd.h"
#include "pv_ctl_dev.h"
#include "pv_ctl_disk.h"
#include "pv_ctl_vbd.h"
#include "pv_platform.h"

void pv_ctl_block_usage(FILE *f)
{
	fprintf(f,
		"  block-attach DOM DISKSPEC [--no-wait] [--backend-domid N] [--timeout S] [-v]\n"
		"                          attach a disk; DISKSPEC in xl's syntax, e.g.\n"
		"                          target=/path/disk.img,vdev=xvdb,access=rw,format=raw\n"
		"                          or /path/disk.img,raw,xvdb,rw, or target=null:[SECTORS]\n"
		"                          for pvio-backd's null driver; an image written by one\n"
		"                          guest is refused to any other (and twice to one) unless\n"
		"                          access=w! shares it on purpose; waits up to S (10) seconds\n"
		"                          for the backend unless --no-wait; -v prints the devid\n"
		"  block-detach DOM VDEV [--force] [--timeout S]\n"
		"                          ask the guest to let go and wait (S, 10 s) for the back\n"
		"                          end's Closed, then remove the device; a guest that still\n"
		"                          holds the disk: \"busy\", exit 1, nothing removed;\n"
		"                          --force removes it at once, under the guest's I/O\n"
		"  block-list DOM [--json] list the domain's virtual block devices; of a domain that\n"
		"                          is gone, the devices it left behind, marked as leftovers\n"
		"                          (remove each with block-detach DOM VDEV --force)\n"
		"  block-stats DOM VDEV [--json] [--ctl PATH]\n"
		"                          pvio-backd's counters for one device\n");
}

static const struct pv_ctl_cmd_def block_cmds[5]; /* below: the commands use it for their usage */

/*
 * What libxl checks before it writes anything: the target exists, is something a block
 * backend can serve, and can be written when the guest is to write it.
 */
static int check_target(const char *cmd, const struct pv_ctl_disk *d)
{
	struct stat st;

	if (stat(d->target, &st) < 0)
		return pv_ctl_fail(cmd, "target %s: %s", d->target, strerror(errno));
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return pv_ctl_fail(cmd, "target %s is not a regular file or a block device", d->target);
	if (access(d->target, R_OK) < 0)
		return pv_ctl_fail(cmd, "target %s is not readable: %s", d->target, strerror(errno));
	/*
	 * access() says yes to root for a file with no write bit at all; such a file is still
	 * meant to be read-only, so the mode bits count too.
	 */
	if (!d->readonly && (access(d->target, W_OK) < 0 || !(st.st_mode & 0222)))
		return pv_ctl_fail(cmd, "target %s is read-only: attach it with access=ro", d->target);
	return 0;
}

/* The same image for the sharing check: the device for a block device, else the inode. */
static int same_image(const struct stat *a, const struct stat *b)
{
	if (S_ISBLK(a->st_mode) || S_ISBLK(b->st_mode))
		return S_ISBLK(a->st_mode) && S_ISBLK(b->st_mode) && a->st_rdev == b->st_rdev;
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/*
 * Xen's block script (check_sharing): an image written by one guest is attached nowhere
 * else, not even twice to the same guest, and an image read by some is written by none;
 * read-only sharing is fine.  access=w! skips the check (the administrator shares it on
 * purpose, e.g. for a cluster file system); an image attached w! admits readers too.
 * Images are compared by device and inode, so another path to the same file (a link, a
 * bind mount, /dev/mapper vs /dev/dm-N) is the same image.  Only the backend domain's
 * devices are looked at: its paths mean nothing elsewhere.
 */
static int check_sharing(const char *cmd, struct pv_platform *p, domid_t fe, domid_t be,
			 const struct pv_ctl_disk *d)
{
	char dir[PV_CTL_PATH_MAX], path[PV_CTL_PATH_MAX * 2 + 16], mode[8];
	char **fes = NULL, **devs = NULL, *params = NULL;
	unsigned int nfe = 0, ndev = 0, i, j;
	struct stat mine, st;
	int rc = 0;

	if (d->shared || stat(d->target, &mine) < 0)
		return 0;
	snprintf(dir, sizeof(dir), "/local/domain/%u/backend/vbd", be);
	if (pv_xs_directory(p, 0, dir, &fes, &nfe) < 0)
		return 0; /* no vbd at all */
	for (i = 0; i < nfe && !rc; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, fes[i]);
		free(devs);
		devs = NULL;
		if (pv_xs_directory(p, 0, path, &devs, &ndev) < 0)
			continue;
		for (j = 0; j < ndev && !rc; j++) {
			char dev[PV_CTL_PATH_MAX + 64];
			uint32_t devid;
			domid_t other;

			/* The same vdev again is "already in use", said by the write. */
			if (pv_ctl_dev_parse_domid_name(fes[i], &other) == 0 && other == fe &&
			    pv_ctl_dev_parse_devid_name(devs[j], &devid) == 0 && devid == d->devid)
				continue;

			snprintf(dev, sizeof(dev), "%s/%s/%s", dir, fes[i], devs[j]);
			if (pv_ctl_dev_read_line(p, dev, "mode", mode, sizeof(mode)) <= 0)
				continue;
			snprintf(path, sizeof(path), "%s/params", dev);
			free(params);
			params = NULL;
			if (pv_xs_read(p, 0, path, &params, NULL) < 0 || stat(params, &st) < 0 ||
			    !same_image(&mine, &st))
				continue;
			if (d->readonly && (mode[0] == 'r' || !strcmp(mode, "w!")))
				continue;
			rc = pv_ctl_fail(cmd, "%s is already attached %s to domain %s as vbd %s "
					 "(%s): refusing to %s (access=w! shares it on purpose)",
					 d->target, mode[0] == 'r' ? "read-only" : "read-write",
					 fes[i], devs[j], params,
					 d->readonly ? "share it for reading while it is written" :
					 "attach it writable twice");
		}
	}
	free(params);
	free(devs);
	free(fes);
	return rc;
}

/* Why a backend did not answer an attach: the block backend is pvio-backd's, in any domain. */
static void backd_hint(void *arg, char *buf, size_t len)
{
	const struct pv_ctl_disk *d = arg;

	if (!strcmp(d->backendtype, "qdisk"))
		snprintf(buf, len, "backendtype=qdisk is served by QEMU, not pvio-backd: does the "
			 "domain have a device model? pvio-backd serves backendtype=phy or pvio");
	else
		snprintf(buf, len, "is pvio-backd running?");
}

static int cmd_attach(const char *spec, int argc, char **argv, int verbose)
{
	const char *cmd = "block-attach";
	struct pv_ctl_disk *d = NULL;
	struct pv_platform *p = NULL;
	struct pv_ctl_args a;
	char err[256];
	int rc, ret = PV_CTL_EXIT_FAIL;
	domid_t fe, be;

	rc = pv_ctl_parse_args(block_cmds, cmd, PV_CTL_OPTS_ATTACH, argc, argv, verbose, 2,
			       "expected DOM and DISKSPEC", &a, &fe);
	if (rc >= 0)
		return rc;

	d = malloc(sizeof(*d));
	if (!d)
		return pv_ctl_fail(cmd, "%s", strerror(ENOMEM));
	rc = pv_ctl_disk_parse(argv[optind + 1], d, err, sizeof(err));
	if (rc < 0) {
		pv_ctl_fail(cmd, "%s", err[0] ? err : strerror(-rc));
		goto out;
	}
	if (pv_ctl_pick_backend(cmd, d->backend_domid, a.be_opt, &be))
		goto out;
	if (d->has_script)
		fprintf(stderr, "pvio-ctl: %s: note: script= is ignored: pvio-backd opens the "
				"target itself\n", cmd);

	if (pv_ctl_open_platform(cmd, spec, &p))
		goto out;
	if (pv_ctl_check_domains(cmd, p, fe, be))
		goto out;
	/* Nothing serves qdisk on the sim (no QEMU); waiting for it would blame pvio-backd. */
	if (!strcmp(d->backendtype, "qdisk") && !strcmp(pv_platform_name(p), "sim")) {
		pv_ctl_fail(cmd, "backendtype=qdisk is QEMU's back end, which the sim platform "
			    "does not have: pvio-backd serves backendtype=phy (the default) or pvio");
		goto out;
	}
	/* As libxl: the path is only meaningful in the backend's domain; check it when that is ours. */
	if (d->target[0] && !d->null_disk && be == pv_platform_domid(p) &&
	    (check_target(cmd, d) || check_sharing(cmd, p, fe, be, d)))
		goto out;

	rc = pv_ctl_vbd_write(p, fe, be, d);
	if (rc == -EEXIST) {
		pv_ctl_fail(cmd, "vdev %s (%u) is already in use on domain %u", d->vdev, d->devid, fe);
		goto out;
	}
	if (rc < 0) {
		pv_ctl_fail(cmd, "cannot write the device's xenstore nodes: %s", strerror(-rc));
		goto out;
	}
	if (!a.nowait &&
	    pv_ctl_attach_wait(cmd, p, "vbd", fe, be, d->devid, a.timeout_ms, backd_hint, d))
		goto out;
	if (a.verbose)
		printf("%u\n", d->devid);
	ret = PV_CTL_EXIT_OK;
out:
	if (p)
		pv_platform_close(p);
	free(d);
	return ret;
}

/* A vdev name or a devid, as the user typed it for detach and stats. */
static int vdev_arg(const char *cmd, const char *s, uint32_t *devid)
{
	if (pv_ctl_vdev_to_devid(s, devid) < 0)
		return pv_ctl_fail(cmd, "bad vdev '%s' (expected e.g. xvdb, hda, d1p2 or a devid)", s);
	return 0;
}

/*
 * pvio-backd serves on until the guest's front end lets go, as Linux's blkback does: a
 * front end still Initialised or Connected means the guest holds the disk (a mounted file
 * system, an open pvio-fuse), which is xl's "busy".  Anything else means the back end did
 * not finish closing.
 */
static void detach_timed_out(const char *cmd, struct pv_platform *p, domid_t fe, uint32_t devid,
			     int timeout_ms, const char *why)
{
	char dir[PV_CTL_PATH_MAX], st[8];
	long fs = -1;

	pv_ctl_dev_fe_path(dir, sizeof(dir), "vbd", fe, devid);
	if (pv_ctl_dev_read_line(p, dir, "state", st, sizeof(st)) == 1 && st[0] >= '0' &&
	    st[0] <= '8' && !st[1])
		fs = st[0] - '0';
	if (fs == 3 || fs == 4)
		pv_ctl_fail(cmd, "busy: domain %u still uses vbd %u (its front end is %s and did "
			    "not let go within %g s); the device is left in place: release the disk "
			    "in the guest and retry, or use --force to remove it under the guest's "
			    "I/O", fe, devid, pv_backd_state_name((int)fs), timeout_ms / 1000.0);
	else
		pv_ctl_fail(cmd, "backend did not close within %g s (%s); the device is left in "
			    "place: retry, or use --force", timeout_ms / 1000.0, why);
}

static const struct pv_ctl_detach_words vbd_words = {
	"vbd", "the backend", "device", detach_timed_out,
};

static int cmd_detach(const char *spec, int argc, char **argv, int verbose)
{
	const char *cmd = "block-detach";
	struct pv_platform *p = NULL;
	struct pv_ctl_args a;
	int be, rc;
	uint32_t devid;
	domid_t fe;

	rc = pv_ctl_parse_args(block_cmds, cmd, PV_CTL_OPTS_DETACH, argc, argv, verbose, 2,
			       "expected DOM and VDEV", &a, &fe);
	if (rc >= 0)
		return rc;
	if (vdev_arg(cmd, argv[optind + 1], &devid))
		return PV_CTL_EXIT_FAIL;
	if (pv_ctl_open_platform(cmd, spec, &p))
		return PV_CTL_EXIT_FAIL;

	/* No domain check: the nodes of a domain that is already gone must still be removable. */
	rc = pv_ctl_dev_find(p, "vbd", fe, devid, &be);
	if (rc == -ENOENT)
		rc = pv_ctl_fail(cmd, "domain %u has no vbd %s", fe, argv[optind + 1]);
	else if (rc < 0)
		rc = pv_ctl_fail(cmd, "cannot read xenstore: %s", strerror(-rc));
	else
		rc = pv_ctl_detach(cmd, p, &vbd_words, fe, be, devid, a.force, a.timeout_ms);
	pv_platform_close(p);
	return rc;
}

static void json_int_or_null(const char *name, int v)
{
	if (v < 0)
		printf("\"%s\":null", name);
	else
		printf("\"%s\":%d", name, v);
}

static void print_list_json(const struct pv_ctl_vbd_info *v, unsigned int n, domid_t fe,
			    int gone)
{
	unsigned int i;

	putchar('[');
	for (i = 0; i < n; i++) {
		printf("%s{\"domid\":%u,\"vdev\":", i ? "," : "", fe);
		pv_ctl_json_puts(stdout, v[i].dev);
		printf(",\"devid\":%u,", v[i].devid);
		json_int_or_null("backend_id", v[i].backend_id);
		putchar(',');
		json_int_or_null("frontend_state", v[i].fe_state);
		putchar(',');
		json_int_or_null("backend_state", v[i].be_state);
		printf(",\"mode\":");
		pv_ctl_json_puts(stdout, v[i].mode);
		printf(",\"type\":");
		pv_ctl_json_puts(stdout, v[i].type);
		printf(",\"params\":");
		pv_ctl_json_puts(stdout, v[i].params);
		printf(",\"direct_io_safe\":%s,", v[i].direct_io_safe ? "true" : "false");
		json_int_or_null("direct", v[i].direct);
		printf(",\"backend\":");
		if (v[i].backend_id >= 0)
			pv_ctl_json_puts(stdout, v[i].be_path);
		else
			printf("null");
		if (gone)
			printf(",\"domain_gone\":true"); /* a leftover: block-detach --force */
		putchar('}');
	}
	printf("]\n");
}

static const char *num_or_dash(char *buf, size_t len, int v)
{
	if (v < 0)
		return "-";
	snprintf(buf, len, "%d", v);
	return buf;
}

static void print_list_text(const struct pv_ctl_vbd_info *v, unsigned int n, int gone)
{
	char a[16], b[16], c[16];
	unsigned int i;

	/* xl block-list's first columns (Vdev is the devid there too), then what pvio adds. */
	printf("%-10s %-6s %-4s %-8s %-8s %-4s %-5s %s\n", "Vdev", "Name", "BE", "FE-state",
	       "BE-state", "Mode", "Type", "Params");
	for (i = 0; i < n; i++)
		printf("%-10u %-6s %-4s %-8s %-8s %-4s %-5s %s%s\n", v[i].devid,
		       v[i].dev[0] ? v[i].dev : "-", num_or_dash(a, sizeof(a), v[i].backend_id),
		       num_or_dash(b, sizeof(b), v[i].fe_state),
		       num_or_dash(c, sizeof(c), v[i].be_state), v[i].mode[0] ? v[i].mode : "-",
		       v[i].type[0] ? v[i].type : "-", v[i].params,
		       gone ? "  [leftover: domain gone]" : "");
}

/*
 * Whether pvio-backd serves each vbd with O_DIRECT: only the daemon knows (it may have
 * fallen back to the page cache), so ask it, when it runs in this domain.  A daemon that
 * does not answer leaves "direct" null: block-list itself never depends on it.
 */
static void fill_direct(const char *spec, domid_t self, struct pv_ctl_vbd_info *v,
			unsigned int n, domid_t fe)
{
	char sock[PV_CTL_PATH_MAX], *reply = NULL;
	const char *p;
	unsigned int i;

	if (pv_ctl_backd_socket(spec, sock, sizeof(sock)) < 0 ||
	    pv_ctl_backd_query(sock, "list\n", 2000, &reply) < 0)
		return;
	/* Quotes inside the daemon's strings are escaped (\"), so neither {"domid": nor
	 * ,"direct": can occur inside a value: each marks an object or its field. */
	for (p = reply; (p = strstr(p, "{\"domid\":")) != NULL; p++) {
		const char *next = strstr(p + 1, "{\"domid\":"), *q = strstr(p, ",\"direct\":");
		unsigned int domid, devid, direct;

		if (sscanf(p, "{\"domid\":%u,\"devid\":%u", &domid, &devid) != 2 || domid != fe ||
		    !q || (next && q > next) || sscanf(q, ",\"direct\":%u", &direct) != 1)
			continue;
		for (i = 0; i < n; i++)
			if (v[i].devid == devid && v[i].backend_id == (int)self)
				v[i].direct = direct != 0;
	}
	free(reply);
}

static int cmd_list(const char *spec, int argc, char **argv, int verbose)
{
	const char *cmd = "block-list";
	struct pv_platform *p;
	struct pv_ctl_vbd_info *v;
	struct pv_ctl_args a;
	unsigned int n;
	int rc, gone;
	domid_t self;
	domid_t fe;

	rc = pv_ctl_parse_args(block_cmds, cmd, PV_CTL_OPTS_LIST, argc, argv, verbose, 1,
			       "expected DOM", &a, &fe);
	if (rc >= 0)
		return rc;
	if (pv_ctl_open_platform(cmd, spec, &p))
		return PV_CTL_EXIT_FAIL;
	/*
	 * A domain that is gone may have left devices behind (destroyed by a toolstack that did
	 * not remove them): list those, marked, so that they can be found and removed.
	 */
	gone = pv_ctl_domain_gone(cmd, p, fe);
	if (gone < 0) {
		pv_platform_close(p);
		return PV_CTL_EXIT_FAIL;
	}
	rc = pv_ctl_vbd_list(p, fe, &v, &n);
	self = pv_platform_domid(p);
	pv_platform_close(p);
	if (rc < 0)
		return pv_ctl_fail(cmd, "cannot read xenstore: %s", strerror(-rc));
	if (gone)
		pv_ctl_leftover_note(cmd, fe, n, "block-detach DOM VDEV --force");
	if (gone && !n)
		return PV_CTL_EXIT_FAIL;
	if (a.json) {
		fill_direct(spec, self, v, n, fe);
		print_list_json(v, n, fe, gone);
	}
	else
		print_list_text(v, n, gone);
	pv_ctl_vbd_list_free(v, n);
	return PV_CTL_EXIT_OK;
}

/* ---- block-stats ----------------------------------------------------------------------- */

static int cmd_stats(const char *spec, int argc, char **argv, int verbose)
{
	const char *cmd = "block-stats";
	char req[PV_BACKD_CTL_MAX_LINE];
	struct pv_ctl_args a;
	uint32_t devid;
	domid_t fe;
	int rc;

	rc = pv_ctl_parse_args(block_cmds, cmd, PV_CTL_OPTS_STATS, argc, argv, verbose, 2,
			       "expected DOM and VDEV", &a, &fe);
	if (rc >= 0)
		return rc;
	if (vdev_arg(cmd, argv[optind + 1], &devid))
		return PV_CTL_EXIT_FAIL;
	snprintf(req, sizeof(req), "stats %u %u\n", fe, devid);
	return pv_ctl_stats(cmd, spec, a.ctl, a.json, req, NULL, NULL);
}

static const struct pv_ctl_cmd_def block_cmds[5] = {
	{ "block-attach", "block-attach DOM DISKSPEC [--no-wait] [--backend-domid N] "
			  "[--timeout SECONDS] [-v]", cmd_attach },
	{ "block-detach", "block-detach DOM VDEV [--force] [--timeout SECONDS]", cmd_detach },
	{ "block-list", "block-list DOM [--json]", cmd_list },
	{ "block-stats", "block-stats DOM VDEV [--json] [--ctl PATH]", cmd_stats },
	{ NULL, NULL, NULL },
};

int pv_ctl_block_cmd(const char *spec, const char *cmd, int argc, char **argv, int verbose)
{
	return pv_ctl_cmd_run(block_cmds, spec, cmd, argc, argv, verbose);
}
