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
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pv_backd_ctl.h"
#include "pv_ctl_cmd.h"
#include "pv_ctl_disk.h"
#include "pv_ctl_vbd.h"
#include "pv_platform.h"

#define STATS_TIMEOUT_MS 5000

void pv_ctl_block_usage(FILE *f)
{
	fprintf(f,
		"  block-attach DOM DISKSPEC [--no-wait] [--backend-domid N] [--timeout S] [-v]\n"
		"                          attach a disk; DISKSPEC in xl's syntax, e.g.\n"
		"                          target=/path/disk.img,vdev=xvdb,access=rw,format=raw\n"
		"                          or /path/disk.img,raw,xvdb,rw; waits up to S (10) seconds\n"
		"                          for the backend unless --no-wait; -v prints the devid\n"
		"  block-detach DOM VDEV [--force] [--timeout S]\n"
		"                          close the backend, wait for Closed (not with --force),\n"
		"                          remove the device\n"
		"  block-list DOM [--json] list the domain's virtual block devices\n"
		"  block-stats DOM VDEV [--json] [--ctl PATH]\n"
		"                          pvio-backd's counters for one device\n");
}

static void cmd_usage(FILE *f, const char *cmd)
{
	fprintf(f, "usage: pvio-ctl [--platform SPEC] ");
	if (!strcmp(cmd, "block-attach"))
		fprintf(f, "block-attach DOM DISKSPEC [--no-wait] [--backend-domid N] "
			   "[--timeout SECONDS] [-v]\n");
	else if (!strcmp(cmd, "block-detach"))
		fprintf(f, "block-detach DOM VDEV [--force] [--timeout SECONDS]\n");
	else if (!strcmp(cmd, "block-list"))
		fprintf(f, "block-list DOM [--json]\n");
	else
		fprintf(f, "block-stats DOM VDEV [--json] [--ctl PATH]\n");
	fprintf(f, "see pvio-ctl --help and pvio-ctl(1)\n");
}

static int usage_error(const char *cmd, const char *fmt, const char *arg)
{
	fprintf(stderr, "pvio-ctl: %s: ", cmd);
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	cmd_usage(stderr, cmd);
	return PV_CTL_EXIT_USAGE;
}

int pv_ctl_fail(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "pvio-ctl: %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return PV_CTL_EXIT_FAIL;
}

int pv_ctl_parse_domid(const char *s, domid_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || s[0] == '+' || v >= 0x7FF0)
		return -EINVAL;
	*out = (domid_t)v;
	return 0;
}

/* Seconds, fractions allowed (tests use short waits), at most an hour. */
int pv_ctl_parse_timeout(const char *s, int *ms)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v > 0) || v > 3600)
		return -EINVAL;
	*ms = (int)(v * 1000 + 0.5);
	if (*ms == 0)
		*ms = 1;
	return 0;
}

int pv_ctl_open_platform(const char *cmd, const char *spec, struct pv_platform **p)
{
	const char *why = NULL;
	int rc = pv_platform_open(spec, p, &why);

	if (rc < 0)
		return pv_ctl_fail(cmd, "%s", why ? why : strerror(-rc));
	return 0;
}

/* Names a domain id's problem for pv_domain_info's result. */
int pv_ctl_check_domain(const char *cmd, struct pv_platform *p, domid_t d, const char *role)
{
	struct pv_dominfo info;
	int rc = pv_domain_info(p, d, &info);

	if (rc == -ESRCH)
		return pv_ctl_fail(cmd, "%sdomain %u does not exist", role, d);
	if (rc < 0)
		return pv_ctl_fail(cmd, "cannot query %sdomain %u: %s", role, d, strerror(-rc));
	if (info.dying)
		return pv_ctl_fail(cmd, "%sdomain %u is being destroyed", role, d);
	return 0;
}

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

static int cmd_attach(const char *spec, int argc, char **argv, int verbose)
{
	static const struct option opts[] = {
		{ "no-wait", no_argument, NULL, 'n' },
		{ "backend-domid", required_argument, NULL, 'b' },
		{ "timeout", required_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd = "block-attach";
	struct pv_ctl_disk *d = NULL;
	struct pv_platform *p = NULL;
	char err[256], why[300], be_path[PV_CTL_PATH_MAX];
	int opt, nowait = 0, timeout_ms = (int)(PV_CTL_DEFAULT_TIMEOUT * 1000), be_opt = -1;
	int rc, ret = PV_CTL_EXIT_FAIL;
	domid_t fe, be;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (opt) {
		case 'n': nowait = 1; break;
		case 'v': verbose = 1; break;
		case 'b':
			if (pv_ctl_parse_domid(optarg, &be) < 0)
				return usage_error(cmd, "bad backend domain id '%s'", optarg);
			be_opt = be;
			break;
		case 't':
			if (pv_ctl_parse_timeout(optarg, &timeout_ms) < 0)
				return usage_error(cmd, "bad timeout '%s' (seconds, > 0)", optarg);
			break;
		case 'h': cmd_usage(stdout, cmd); return PV_CTL_EXIT_OK;
		default: cmd_usage(stderr, cmd); return PV_CTL_EXIT_USAGE;
		}
	}
	if (argc - optind != 2)
		return usage_error(cmd, "%s", "expected DOM and DISKSPEC");
	if (pv_ctl_parse_domid(argv[optind], &fe) < 0)
		return usage_error(cmd, "bad domain id '%s'", argv[optind]);

	d = malloc(sizeof(*d));
	if (!d)
		return pv_ctl_fail(cmd, "%s", strerror(ENOMEM));
	rc = pv_ctl_disk_parse(argv[optind + 1], d, err, sizeof(err));
	if (rc < 0) {
		pv_ctl_fail(cmd, "%s", err[0] ? err : strerror(-rc));
		goto out;
	}
	if (d->backend_domid >= 0 && be_opt >= 0 && d->backend_domid != be_opt) {
		pv_ctl_fail(cmd, "backend=%d and --backend-domid %d disagree", d->backend_domid, be_opt);
		goto out;
	}
	/* libxl's default backend is the toolstack's own domain, 0. */
	be = (domid_t)(be_opt >= 0 ? be_opt : d->backend_domid >= 0 ? d->backend_domid : 0);
	if (d->has_script)
		fprintf(stderr, "pvio-ctl: %s: note: script= is ignored: pvio-backd opens the "
				"target itself\n", cmd);

	if (pv_ctl_open_platform(cmd, spec, &p))
		goto out;
	if (pv_ctl_check_domain(cmd, p, fe, "") ||
	    (be != fe && pv_ctl_check_domain(cmd, p, be, "backend ")))
		goto out;
	/* As libxl: the path is only meaningful in the backend's domain; check it when that is ours. */
	if (d->target[0] && be == pv_platform_domid(p) && check_target(cmd, d))
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
	if (!nowait) {
		pv_ctl_vbd_be_path(be_path, sizeof(be_path), be, fe, d->devid);
		rc = pv_ctl_vbd_wait(p, be_path, PV_CTL_WAIT_ATTACHED, timeout_ms, why, sizeof(why));
		if (rc < 0) {
			if (rc == -ETIMEDOUT)
				pv_ctl_fail(cmd, "backend did not answer within %g s: is pvio-backd running? (%s)",
				     timeout_ms / 1000.0, why);
			else if (rc == -EIO)
				pv_ctl_fail(cmd, "%s", why);
			else
				pv_ctl_fail(cmd, "waiting for the backend: %s", strerror(-rc));
			/* Leave nothing behind that a later attach of this vdev would trip over. */
			rc = pv_ctl_vbd_remove(p, fe, be, d->devid);
			if (rc < 0)
				pv_ctl_fail(cmd, "rolling back %s: %s", be_path, strerror(-rc));
			goto out;
		}
	}
	if (verbose)
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

static int cmd_detach(const char *spec, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd = "block-detach";
	struct pv_platform *p = NULL;
	char why[300], be_path[PV_CTL_PATH_MAX];
	int opt, force = 0, timeout_ms = (int)(PV_CTL_DEFAULT_TIMEOUT * 1000), be, rc;
	int ret = PV_CTL_EXIT_FAIL;
	uint32_t devid;
	domid_t fe;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "fh", opts, NULL)) != -1) {
		switch (opt) {
		case 'f': force = 1; break;
		case 't':
			if (pv_ctl_parse_timeout(optarg, &timeout_ms) < 0)
				return usage_error(cmd, "bad timeout '%s' (seconds, > 0)", optarg);
			break;
		case 'h': cmd_usage(stdout, cmd); return PV_CTL_EXIT_OK;
		default: cmd_usage(stderr, cmd); return PV_CTL_EXIT_USAGE;
		}
	}
	if (argc - optind != 2)
		return usage_error(cmd, "%s", "expected DOM and VDEV");
	if (pv_ctl_parse_domid(argv[optind], &fe) < 0)
		return usage_error(cmd, "bad domain id '%s'", argv[optind]);
	if (vdev_arg(cmd, argv[optind + 1], &devid))
		return PV_CTL_EXIT_FAIL;
	if (pv_ctl_open_platform(cmd, spec, &p))
		return PV_CTL_EXIT_FAIL;

	/* No domain check: the nodes of a domain that is already gone must still be removable. */
	rc = pv_ctl_vbd_find(p, fe, devid, &be);
	if (rc == -ENOENT) {
		pv_ctl_fail(cmd, "domain %u has no vbd %s", fe, argv[optind + 1]);
		goto out;
	}
	if (rc < 0) {
		pv_ctl_fail(cmd, "cannot read xenstore: %s", strerror(-rc));
		goto out;
	}
	if (be >= 0) {
		rc = pv_ctl_vbd_close(p, fe, (domid_t)be, devid);
		if (rc < 0 && rc != -ENOENT) {
			pv_ctl_fail(cmd, "cannot ask the backend to close: %s", strerror(-rc));
			goto out;
		}
		if (!force && rc == 0) {
			pv_ctl_vbd_be_path(be_path, sizeof(be_path), (domid_t)be, fe, devid);
			rc = pv_ctl_vbd_wait(p, be_path, PV_CTL_WAIT_CLOSED, timeout_ms, why,
					     sizeof(why));
			if (rc == -ETIMEDOUT) {
				/* The guest may still have I/O in flight: removing now could lose it. */
				pv_ctl_fail(cmd, "backend did not close within %g s (%s); the device is left in "
					  "place: retry, or use --force", timeout_ms / 1000.0, why);
				goto out;
			}
			if (rc < 0) {
				pv_ctl_fail(cmd, "waiting for the backend: %s", strerror(-rc));
				goto out;
			}
		}
	}
	rc = pv_ctl_vbd_remove(p, fe, be, devid);
	if (rc < 0) {
		pv_ctl_fail(cmd, "cannot remove the device's nodes: %s", strerror(-rc));
		goto out;
	}
	ret = PV_CTL_EXIT_OK;
out:
	pv_platform_close(p);
	return ret;
}

static void json_int_or_null(const char *name, int v)
{
	if (v < 0)
		printf("\"%s\":null", name);
	else
		printf("\"%s\":%d", name, v);
}

static void print_list_json(const struct pv_ctl_vbd_info *v, unsigned int n, domid_t fe)
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
		printf(",\"backend\":");
		if (v[i].backend_id >= 0)
			pv_ctl_json_puts(stdout, v[i].be_path);
		else
			printf("null");
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

static void print_list_text(const struct pv_ctl_vbd_info *v, unsigned int n)
{
	char a[16], b[16], c[16];
	unsigned int i;

	/* xl block-list's first columns (Vdev is the devid there too), then what pvio adds. */
	printf("%-10s %-6s %-4s %-8s %-8s %-4s %-5s %s\n", "Vdev", "Name", "BE", "FE-state",
	       "BE-state", "Mode", "Type", "Params");
	for (i = 0; i < n; i++)
		printf("%-10u %-6s %-4s %-8s %-8s %-4s %-5s %s\n", v[i].devid,
		       v[i].dev[0] ? v[i].dev : "-", num_or_dash(a, sizeof(a), v[i].backend_id),
		       num_or_dash(b, sizeof(b), v[i].fe_state),
		       num_or_dash(c, sizeof(c), v[i].be_state), v[i].mode[0] ? v[i].mode : "-",
		       v[i].type[0] ? v[i].type : "-", v[i].params);
}

static int cmd_list(const char *spec, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd = "block-list";
	struct pv_platform *p;
	struct pv_ctl_vbd_info *v;
	unsigned int n;
	int opt, json = 0, rc;
	domid_t fe;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'j': json = 1; break;
		case 'h': cmd_usage(stdout, cmd); return PV_CTL_EXIT_OK;
		default: cmd_usage(stderr, cmd); return PV_CTL_EXIT_USAGE;
		}
	}
	if (argc - optind != 1)
		return usage_error(cmd, "%s", "expected DOM");
	if (pv_ctl_parse_domid(argv[optind], &fe) < 0)
		return usage_error(cmd, "bad domain id '%s'", argv[optind]);
	if (pv_ctl_open_platform(cmd, spec, &p))
		return PV_CTL_EXIT_FAIL;
	if (pv_ctl_check_domain(cmd, p, fe, "")) {
		pv_platform_close(p);
		return PV_CTL_EXIT_FAIL;
	}
	rc = pv_ctl_vbd_list(p, fe, &v, &n);
	pv_platform_close(p);
	if (rc < 0)
		return pv_ctl_fail(cmd, "cannot read xenstore: %s", strerror(-rc));
	if (json)
		print_list_json(v, n, fe);
	else
		print_list_text(v, n);
	pv_ctl_vbd_list_free(v, n);
	return PV_CTL_EXIT_OK;
}

/* ---- block-stats ----------------------------------------------------------------------- */

static const char *skip_ws(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* Scans a JSON string starting at its '"'; returns the character after it, NULL if bad. */
static const char *scan_string(const char *s, char *out, size_t len)
{
	size_t o = 0;

	if (*s++ != '"')
		return NULL;
	for (; *s && *s != '"'; s++) {
		char c = *s;

		if (c == '\\') {
			s++;
			if (!*s)
				return NULL;
			c = *s == 'n' ? ' ' : *s == 't' ? ' ' : *s == 'u' ? '?' : *s;
			if (*s == 'u') {
				if (strlen(s) < 5)
					return NULL;
				s += 4;
			}
		}
		if (o + 1 < len)
			out[o++] = c;
	}
	if (*s != '"')
		return NULL;
	out[o] = '\0';
	return s + 1;
}

/*
 * Prints a flat JSON object (pvio-backd's stats: numbers and strings) as "name  value"
 * lines.  Returns 0, or -EINVAL for anything else (the caller then prints it raw).
 */
int pv_ctl_print_flat_object(const char *s)
{
	char key[64], val[512];
	size_t n;

	s = skip_ws(s);
	if (*s++ != '{')
		return -EINVAL;
	s = skip_ws(s);
	if (*s == '}')
		return 0;
	for (;;) {
		s = scan_string(skip_ws(s), key, sizeof(key));
		if (!s)
			return -EINVAL;
		s = skip_ws(s);
		if (*s++ != ':')
			return -EINVAL;
		s = skip_ws(s);
		if (*s == '"') {
			s = scan_string(s, val, sizeof(val));
			if (!s)
				return -EINVAL;
		} else {
			n = strcspn(s, ",} \t");
			if (n == 0 || n >= sizeof(val) || *s == '{' || *s == '[')
				return -EINVAL;
			memcpy(val, s, n);
			val[n] = '\0';
			s += n;
		}
		printf("%-20s %s\n", key, val);
		s = skip_ws(s);
		if (*s == '}')
			return 0;
		if (*s++ != ',')
			return -EINVAL;
	}
}

int pv_ctl_backd_error(const char *reply, char *err, size_t len)
{
	const char *e;

	if (strncmp(skip_ws(reply), "{\"error\"", 8))
		return 0;
	e = strchr(reply, ':');
	if (!e || !scan_string(skip_ws(e + 1), err, len))
		snprintf(err, len, "%s", reply);
	return 1;
}

static int cmd_stats(const char *spec, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "ctl", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd = "block-stats", *ctl = NULL;
	char sock[512], req[PV_BACKD_CTL_MAX_LINE], *reply, err[256];
	int opt, json = 0, rc;
	uint32_t devid;
	domid_t fe;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'j': json = 1; break;
		case 'c': ctl = optarg; break;
		case 'h': cmd_usage(stdout, cmd); return PV_CTL_EXIT_OK;
		default: cmd_usage(stderr, cmd); return PV_CTL_EXIT_USAGE;
		}
	}
	if (argc - optind != 2)
		return usage_error(cmd, "%s", "expected DOM and VDEV");
	if (pv_ctl_parse_domid(argv[optind], &fe) < 0)
		return usage_error(cmd, "bad domain id '%s'", argv[optind]);
	if (vdev_arg(cmd, argv[optind + 1], &devid))
		return PV_CTL_EXIT_FAIL;
	if (ctl) {
		if (strlen(ctl) >= sizeof(sock))
			return pv_ctl_fail(cmd, "--ctl path is too long");
		strcpy(sock, ctl);
	} else {
		rc = pv_ctl_backd_socket(spec, sock, sizeof(sock));
		if (rc < 0)
			return pv_ctl_fail(cmd, "cannot tell where pvio-backd's control socket is for "
				    "platform '%s': use --ctl PATH", spec ? spec : "$PVIO_PLATFORM");
	}
	/* The daemon needs no xenstore for this: no platform is opened. */
	snprintf(req, sizeof(req), "stats %u %u\n", fe, devid);
	rc = pv_ctl_backd_query(sock, req, STATS_TIMEOUT_MS, &reply);
	if (rc == -ENOENT || rc == -ECONNREFUSED || rc == -ENOTDIR)
		return pv_ctl_fail(cmd, "pvio-backd is not running (no control socket at %s)", sock);
	if (rc < 0)
		return pv_ctl_fail(cmd, "pvio-backd's control socket %s: %s", sock, strerror(-rc));
	if (pv_ctl_backd_error(reply, err, sizeof(err))) {
		free(reply);
		return pv_ctl_fail(cmd, "pvio-backd: %s", err);
	}
	if (json || pv_ctl_print_flat_object(reply) < 0)
		printf("%s\n", reply);
	free(reply);
	return PV_CTL_EXIT_OK;
}

int pv_ctl_block_cmd(const char *spec, const char *cmd, int argc, char **argv, int verbose)
{
	if (!strcmp(cmd, "block-attach"))
		return cmd_attach(spec, argc, argv, verbose);
	if (!strcmp(cmd, "block-detach"))
		return cmd_detach(spec, argc, argv);
	if (!strcmp(cmd, "block-list"))
		return cmd_list(spec, argc, argv);
	if (!strcmp(cmd, "block-stats"))
		return cmd_stats(spec, argc, argv);
	return -1;
}
