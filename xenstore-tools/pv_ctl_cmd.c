/* SPDX-License-Identifier: MIT */
/*
 * pv_ctl_cmd.c - the steps pvio-ctl's block and network commands share.  See pv_ctl_cmd.h.
 *
 * Messages follow xl: silence on success, one line "pvio-ctl: <command>: <reason>" on
 * failure.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pv_backd_ctl.h"
#include "pv_ctl_backd.h"
#include "pv_ctl_cmd.h"
#include "pv_ctl_dev.h"
#include "pv_platform.h"

#define STATS_TIMEOUT_MS 5000

/* ---- the command line ------------------------------------------------------------------ */

int pv_ctl_cmd_run(const struct pv_ctl_cmd_def *defs, const char *spec, const char *cmd,
		   int argc, char **argv, int verbose)
{
	for (; defs->name; defs++)
		if (!strcmp(cmd, defs->name))
			return defs->run(spec, argc, argv, verbose);
	return -1;
}

void pv_ctl_cmd_usage(FILE *f, const struct pv_ctl_cmd_def *defs, const char *cmd)
{
	fprintf(f, "usage: pvio-ctl [--platform SPEC] ");
	while (defs[1].name && strcmp(cmd, defs->name))
		defs++;
	fprintf(f, "%s\n", defs->synopsis);
	fprintf(f, "see pvio-ctl --help and pvio-ctl(1)\n");
}

int pv_ctl_usage_error(const struct pv_ctl_cmd_def *defs, const char *cmd, const char *fmt,
		       const char *arg)
{
	fprintf(stderr, "pvio-ctl: %s: ", cmd);
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	pv_ctl_cmd_usage(stderr, defs, cmd);
	return PV_CTL_EXIT_USAGE;
}

/* The options of a command of shape which into a; -1 to go on, or the exit status. */
static int parse_opts(const struct pv_ctl_cmd_def *defs, const char *cmd, enum pv_ctl_opts which,
		      int argc, char **argv, int verbose, struct pv_ctl_args *a)
{
	static const struct option attach_opts[] = {
		{ "no-wait", no_argument, NULL, 'n' },
		{ "backend-domid", required_argument, NULL, 'b' },
		{ "timeout", required_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const struct option detach_opts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const struct option list_opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const struct option stats_opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "ctl", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const struct {
		const char *shortopts;
		const struct option *longopts;
	} shapes[] = {
		[PV_CTL_OPTS_ATTACH] = { "vh", attach_opts },
		[PV_CTL_OPTS_DETACH] = { "fh", detach_opts },
		[PV_CTL_OPTS_LIST] = { "h", list_opts },
		[PV_CTL_OPTS_STATS] = { "h", stats_opts },
	};
	domid_t be;
	int opt;

	*a = (struct pv_ctl_args){ .verbose = verbose, .be_opt = -1,
				   .timeout_ms = (int)(PV_CTL_DEFAULT_TIMEOUT * 1000) };
	optind = 0;
	while ((opt = getopt_long(argc, argv, shapes[which].shortopts, shapes[which].longopts,
				  NULL)) != -1) {
		switch (opt) {
		case 'n': a->nowait = 1; break;
		case 'v': a->verbose = 1; break;
		case 'f': a->force = 1; break;
		case 'j': a->json = 1; break;
		case 'c': a->ctl = optarg; break;
		case 'b':
			if (pv_ctl_parse_domid(optarg, &be) < 0)
				return pv_ctl_usage_error(defs, cmd, "bad backend domain id '%s'", optarg);
			a->be_opt = be;
			break;
		case 't':
			if (pv_ctl_parse_timeout(optarg, &a->timeout_ms) < 0)
				return pv_ctl_usage_error(defs, cmd, "bad timeout '%s' (seconds, > 0)",
							  optarg);
			break;
		case 'h': pv_ctl_cmd_usage(stdout, defs, cmd); return PV_CTL_EXIT_OK;
		default: pv_ctl_cmd_usage(stderr, defs, cmd); return PV_CTL_EXIT_USAGE;
		}
	}
	return -1;
}

int pv_ctl_parse_args(const struct pv_ctl_cmd_def *defs, const char *cmd, enum pv_ctl_opts which,
		      int argc, char **argv, int verbose, int nargs, const char *expected,
		      struct pv_ctl_args *a, domid_t *fe)
{
	int rc = parse_opts(defs, cmd, which, argc, argv, verbose, a);

	if (rc >= 0)
		return rc;
	if (nargs > 0 ? argc - optind != nargs : argc - optind < 1)
		return pv_ctl_usage_error(defs, cmd, "%s", expected);
	if (pv_ctl_parse_domid(argv[optind], fe) < 0)
		return pv_ctl_usage_error(defs, cmd, "bad domain id '%s'", argv[optind]);
	return -1;
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

/* ---- checks before anything is written --------------------------------------------------- */

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

int pv_ctl_domain_gone(const char *cmd, struct pv_platform *p, domid_t d)
{
	struct pv_dominfo info;
	int rc = pv_domain_info(p, d, &info);

	if (rc == -ESRCH)
		return 1;
	if (rc < 0) {
		pv_ctl_fail(cmd, "cannot query domain %u: %s", d, strerror(-rc));
		return -1;
	}
	return 0;
}

void pv_ctl_leftover_note(const char *cmd, domid_t d, unsigned int n, const char *remove)
{
	if (n)
		fprintf(stderr, "pvio-ctl: %s: domain %u does not exist: %u leftover device%s "
			"(its back end may still hold it); remove with: pvio-ctl %s\n", cmd, d, n,
			n == 1 ? "" : "s", remove);
	else
		fprintf(stderr, "pvio-ctl: %s: domain %u does not exist\n", cmd, d);
}

int pv_ctl_check_domains(const char *cmd, struct pv_platform *p, domid_t fe, domid_t be)
{
	if (pv_ctl_check_domain(cmd, p, fe, "") ||
	    (be != fe && pv_ctl_check_domain(cmd, p, be, "backend ")))
		return PV_CTL_EXIT_FAIL;
	return 0;
}

int pv_ctl_pick_backend(const char *cmd, int spec_be, int be_opt, domid_t *be)
{
	if (spec_be >= 0 && be_opt >= 0 && spec_be != be_opt)
		return pv_ctl_fail(cmd, "backend=%d and --backend-domid %d disagree", spec_be,
				   be_opt);
	/* libxl's default backend is the toolstack's own domain, 0. */
	*be = (domid_t)(be_opt >= 0 ? be_opt : spec_be >= 0 ? spec_be : 0);
	return 0;
}

/* ---- waiting for the backend ------------------------------------------------------------- */

int pv_ctl_attach_wait(const char *cmd, struct pv_platform *p, const char *kind, domid_t fe,
		       domid_t be, uint32_t devid, int timeout_ms,
		       void (*hint)(void *arg, char *buf, size_t len), void *arg)
{
	char why[300], guess[700], be_path[PV_CTL_PATH_MAX];
	int rc;

	pv_ctl_dev_be_path(be_path, sizeof(be_path), kind, be, fe, devid);
	rc = pv_ctl_dev_wait(p, be_path, PV_CTL_WAIT_ATTACHED, timeout_ms, why, sizeof(why));
	if (rc == 0)
		return 0;
	if (rc == -ETIMEDOUT) {
		hint(arg, guess, sizeof(guess));
		pv_ctl_fail(cmd, "backend did not answer within %g s: %s (%s)", timeout_ms / 1000.0,
			    guess, why);
	} else if (rc == -EIO) {
		pv_ctl_fail(cmd, "%s", why);
	} else {
		pv_ctl_fail(cmd, "waiting for the backend: %s", strerror(-rc));
	}
	/* Leave nothing behind that a later attach of this device would trip over. */
	rc = pv_ctl_dev_remove(p, kind, fe, be, devid);
	if (rc < 0)
		pv_ctl_fail(cmd, "rolling back %s: %s", be_path, strerror(-rc));
	return PV_CTL_EXIT_FAIL;
}

int pv_ctl_detach(const char *cmd, struct pv_platform *p, const struct pv_ctl_detach_words *w,
		  domid_t fe, int be, uint32_t devid, int force, int timeout_ms)
{
	char why[300], be_path[PV_CTL_PATH_MAX];
	int rc;

	if (be >= 0) {
		/*
		 * As libxl: online=0 and state Closing on the backend.  The frontend sees
		 * Closing and closes; the backend follows it to Closed.
		 */
		rc = pv_ctl_dev_close(p, w->kind, fe, (domid_t)be, devid);
		if (rc < 0 && rc != -ENOENT)
			return pv_ctl_fail(cmd, "cannot ask %s to close: %s", w->closer,
					   strerror(-rc));
		if (!force && rc == 0) {
			/* Someone at a terminal sees why nothing happens for a while. */
			if (isatty(2))
				fprintf(stderr, "pvio-ctl: %s: asked domain %u to release %s %u; "
					"waiting up to %g s...\n", cmd, fe, w->kind, devid,
					timeout_ms / 1000.0);
			pv_ctl_dev_be_path(be_path, sizeof(be_path), w->kind, (domid_t)be, fe, devid);
			rc = pv_ctl_dev_wait(p, be_path, PV_CTL_WAIT_CLOSED, timeout_ms, why,
					     sizeof(why));
			if (rc == -ETIMEDOUT) {
				/*
				 * The guest may still have I/O in flight: removing now could lose
				 * it.  libxl goes on to a forced removal here; pvio-ctl leaves that
				 * to the administrator.
				 */
				w->timed_out(cmd, p, fe, devid, timeout_ms, why);
				return PV_CTL_EXIT_FAIL;
			}
			if (rc < 0)
				return pv_ctl_fail(cmd, "waiting for the backend: %s", strerror(-rc));
		}
	}
	rc = pv_ctl_dev_remove(p, w->kind, fe, be, devid);
	if (rc < 0)
		return pv_ctl_fail(cmd, "cannot remove the %s's nodes: %s", w->thing, strerror(-rc));
	return 0;
}

/* ---- pvio-backd's counters --------------------------------------------------------------- */

int pv_ctl_stats(const char *cmd, const char *spec, const char *ctl, int json,
		 const char *request, const char *serves, const char *name)
{
	char sock[512], *reply, err[256];
	int rc;

	if (ctl) {
		if (strlen(ctl) >= sizeof(sock))
			return pv_ctl_fail(cmd, "--ctl path is too long");
		strcpy(sock, ctl);
	} else if (pv_ctl_backd_socket(spec, sock, sizeof(sock)) < 0) {
		return pv_ctl_fail(cmd, "cannot tell where pvio-backd's control socket is for "
				   "platform '%s': use --ctl PATH", spec ? spec : "$PVIO_PLATFORM");
	}
	rc = pv_ctl_backd_query(sock, request, STATS_TIMEOUT_MS, &reply);
	if (pv_ctl_backd_absent(rc))
		return pv_ctl_fail(cmd, "pvio-backd is not running (no control socket at %s)", sock);
	if (rc < 0)
		return pv_ctl_fail(cmd, "pvio-backd's control socket %s: %s", sock, strerror(-rc));
	if (pv_ctl_backd_error(reply, err, sizeof(err))) {
		free(reply);
		if (serves && !strcmp(err, "unknown command"))
			return pv_ctl_fail(cmd, "the pvio-backd at %s does not serve %s (it answers "
					   "'unknown command' to %s)", sock, serves, name);
		return pv_ctl_fail(cmd, "pvio-backd: %s", err);
	}
	if (json || pv_ctl_backd_print_flat(reply) < 0)
		printf("%s\n", reply);
	free(reply);
	return PV_CTL_EXIT_OK;
}

void pv_ctl_json_puts(FILE *f, const char *s)
{
	unsigned char c;

	fputc('"', f);
	for (; (c = (unsigned char)*s); s++) {
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}
