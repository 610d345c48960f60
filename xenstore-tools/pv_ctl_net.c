/* SPDX-License-Identifier: MIT */
/*
 * pv_ctl_net.c - pvio-ctl network-attach, network-detach, network-list and network-stats.
 *
 * As the block commands (pv_ctl_block.c): silence on success, one line
 * "pvio-ctl: <command>: <reason>" on failure, nothing written when the request is refused,
 * and an attach whose back end never answers rolled back.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "pv_backd_ctl.h"
#include "pv_ctl_backd.h"
#include "pv_ctl_cmd.h"
#include "pv_ctl_vif.h"
#include "pv_ctl_vifspec.h"
#include "pv_platform.h"

#define PROBE_TIMEOUT_MS 1000

/*
 * pvio-backd's vif requests on its control socket (netback's, documented with the vif
 * object's members in backend/pv_backd_ctl.h).  A daemon without netback answers
 * {"error":"unknown command"} to them, which is how pvio-ctl tells it apart.
 */
#define VIF_STATS_REQUEST "vif-stats" /* "vif-stats <frontend-domid> <devid>\n" */
#define VIF_LIST_REQUEST  "vif-list"  /* "vif-list\n" */

void pv_ctl_net_usage(FILE *f)
{
	fprintf(f,
		"  network-attach DOM [VIFSPEC...] [--no-wait] [--backend-domid N] [--timeout S] [-v]\n"
		"                          attach a vif; VIFSPEC in xl's syntax, e.g.\n"
		"                          mac=00:16:3e:01:02:03,bridge=br0,rate=10Mb/s@20ms;\n"
		"                          waits up to S (10) seconds for the back end; -v prints the devid\n"
		"  network-detach DOM DEVID|MAC [--force] [--timeout S]\n"
		"                          close the vif, wait for Closed (not with --force), remove it\n"
		"  network-list DOM... [--json]\n"
		"                          list the domains' vifs\n"
		"  network-stats DOM DEVID|MAC [--json] [--ctl PATH]\n"
		"                          pvio-backd's counters for one vif\n");
}

static const struct pv_ctl_cmd_def net_cmds[5]; /* below: the commands use it for their usage */

/*
 * Why a back end did not answer, in the administrator's terms: is there a pvio-backd at
 * all, and does it serve vifs?  Only meaningful when the back end is this domain.
 */
static void probe_backd(const char *spec, char *buf, size_t len)
{
	char sock[512], *reply = NULL, err[128];
	int rc;

	if (pv_ctl_backd_socket(spec, sock, sizeof(sock)) < 0) {
		snprintf(buf, len, "is pvio-backd running, with netback?");
		return;
	}
	rc = pv_ctl_backd_query(sock, VIF_LIST_REQUEST "\n", PROBE_TIMEOUT_MS, &reply);
	if (pv_ctl_backd_absent(rc))
		snprintf(buf, len, "pvio-backd is not running (no control socket at %s)", sock);
	else if (rc < 0)
		snprintf(buf, len, "pvio-backd's control socket %s: %s", sock, strerror(-rc));
	else if (pv_ctl_backd_error(reply, err, sizeof(err)))
		snprintf(buf, len, "the pvio-backd at %s does not serve vifs (%s)", sock, err);
	else
		snprintf(buf, len, "pvio-backd serves vifs but did not take this one up");
	free(reply);
}

struct hint_ctx {
	const char *spec;
	struct pv_platform *p;
	domid_t be;
};

/* Why the back end did not answer: asked of pvio-backd when it is ours, else only guessed. */
static void attach_hint(void *arg, char *buf, size_t len)
{
	const struct hint_ctx *h = arg;

	if (h->be == pv_platform_domid(h->p))
		probe_backd(h->spec, buf, len);
	else
		snprintf(buf, len, "is a netback running in domain %u?", h->be);
}

static int cmd_attach(const char *spec, int argc, char **argv, int verbose)
{
	const char *cmd = "network-attach";
	struct pv_platform *p = NULL;
	struct pv_ctl_args a;
	struct pv_ctl_vif v;
	struct hint_ctx h;
	char err[256];
	int i, rc, ret = PV_CTL_EXIT_FAIL;
	uint32_t devid;
	domid_t fe, be;

	rc = pv_ctl_parse_args(net_cmds, cmd, PV_CTL_OPTS_ATTACH, argc, argv, verbose, 0,
			       "expected DOM", &a, &fe);
	if (rc >= 0)
		return rc;

	/* xl: one KEY=VALUE per argument; each may also hold a comma-separated list. */
	pv_ctl_vif_init(&v);
	for (i = optind + 1; i < argc; i++) {
		rc = pv_ctl_vif_parse(argv[i], &v, err, sizeof(err));
		if (rc < 0)
			return pv_ctl_fail(cmd, "%s", err[0] ? err : strerror(-rc));
	}
	if (pv_ctl_pick_backend(cmd, v.backend_domid, a.be_opt, &be))
		return PV_CTL_EXIT_FAIL;
	rc = pv_ctl_vif_finish(&v);
	if (rc < 0)
		return pv_ctl_fail(cmd, "cannot make a MAC address: %s", strerror(-rc));
	if (v.script[0])
		fprintf(stderr, "pvio-ctl: %s: note: script=%s is written but not run: pvio-backd "
				"sets the vif up itself\n", cmd, v.script);
	if (v.has_model)
		fprintf(stderr, "pvio-ctl: %s: note: model= is ignored: it names an emulated NIC, "
				"and a vif is paravirtual\n", cmd);
	if (v.has_accel)
		fprintf(stderr, "pvio-ctl: %s: note: the accel parameter for vifs is not supported; "
				"ignored\n", cmd);

	if (pv_ctl_open_platform(cmd, spec, &p))
		return PV_CTL_EXIT_FAIL;
	if (pv_ctl_check_domains(cmd, p, fe, be))
		goto out;

	rc = pv_ctl_vif_write(p, fe, be, &v, &devid);
	if (rc == -EEXIST) {
		pv_ctl_fail(cmd, "devid %ld is already in use on domain %u", v.devid, fe);
		goto out;
	}
	if (rc == -ENOSPC) {
		pv_ctl_fail(cmd, "domain %u has no free vif devid", fe);
		goto out;
	}
	if (rc < 0) {
		pv_ctl_fail(cmd, "cannot write the vif's xenstore nodes: %s", strerror(-rc));
		goto out;
	}
	/* InitWait is enough: a guest's netfront may come much later (or never). */
	h = (struct hint_ctx){ spec, p, be };
	if (!a.nowait &&
	    pv_ctl_attach_wait(cmd, p, "vif", fe, be, devid, a.timeout_ms, attach_hint, &h))
		goto out;
	if (a.verbose)
		printf("%u\n", devid);
	ret = PV_CTL_EXIT_OK;
out:
	pv_platform_close(p);
	return ret;
}

/*
 * DEVID or MAC, as xl network-detach takes them (a ':' means a MAC).  Returns 0 with
 * *devid and *be (-1: only a frontend directory), or prints why and returns EXIT_FAIL.
 */
static int find_vif(const char *cmd, struct pv_platform *p, domid_t fe, const char *arg,
		    uint32_t *devid, int *be)
{
	struct pv_ctl_vif_info *v;
	unsigned int n, i;
	uint8_t mac[6];
	int rc;

	if (!strchr(arg, ':')) {
		char *end;
		unsigned long id;

		if (arg[0] < '0' || arg[0] > '9')
			return pv_ctl_fail(cmd, "bad device '%s' (a devid or a MAC address)", arg);
		errno = 0;
		id = strtoul(arg, &end, 10);
		if (errno || *end || id > PV_CTL_VIF_DEVID_MAX)
			return pv_ctl_fail(cmd, "bad device '%s' (a devid or a MAC address)", arg);
		rc = pv_ctl_dev_find(p, "vif", fe, (uint32_t)id, be);
		if (rc == -ENOENT)
			return pv_ctl_fail(cmd, "unknown device %s: domain %u has no such vif", arg, fe);
		if (rc < 0)
			return pv_ctl_fail(cmd, "cannot read xenstore: %s", strerror(-rc));
		*devid = (uint32_t)id;
		return 0;
	}
	if (pv_ctl_mac_parse(arg, mac) < 0)
		return pv_ctl_fail(cmd, "bad device '%s' (a devid or a MAC address)", arg);
	rc = pv_ctl_vif_list(p, fe, &v, &n);
	if (rc < 0)
		return pv_ctl_fail(cmd, "cannot read xenstore: %s", strerror(-rc));
	/* Only the backend's mac counts: the guest can write any mac into its own directory. */
	for (i = 0; i < n; i++) {
		if (v[i].backend_id >= 0 && v[i].has_mac && !memcmp(v[i].mac, mac, 6)) {
			*devid = v[i].devid;
			*be = v[i].backend_id;
			free(v);
			return 0;
		}
	}
	free(v);
	return pv_ctl_fail(cmd, "unknown device %s: domain %u has no vif with that MAC", arg, fe);
}

/* The guest's state node of the vif, strictly parsed: 0..8, or -1. */
static long frontend_state(struct pv_platform *p, domid_t fe, uint32_t devid)
{
	char path[PV_CTL_PATH_MAX + 8], *v, *end;
	long s = -1;

	pv_ctl_dev_fe_path(path, sizeof(path), "vif", fe, devid);
	strcat(path, "/state");
	if (pv_xs_read(p, 0, path, &v, NULL) < 0)
		return -1;
	if (v[0] >= '0' && v[0] <= '8' && !v[1])
		s = strtol(v, &end, 10);
	free(v);
	return s;
}

/*
 * pvio-ctl leaves a forced removal to the administrator, as block-detach does, so that a
 * guest slow to let go is not pulled from under its netfront without being asked.  Which
 * end held the close up is told by the guest's state.
 */
static void detach_timed_out(const char *cmd, struct pv_platform *p, domid_t fe, uint32_t devid,
			     int timeout_ms, const char *why)
{
	long fs = frontend_state(p, fe, devid);

	if (fs >= 2 && fs <= 5)
		pv_ctl_fail(cmd, "the vif did not close within %g s (%s): the guest's netfront "
			    "(state %ld) has not let go; it is left in place: retry, or use --force",
			    timeout_ms / 1000.0, why, fs);
	else
		pv_ctl_fail(cmd, "the vif did not close within %g s (%s): the back end did not "
			    "finish closing (is its netback running?); it is left in place: retry, "
			    "or use --force", timeout_ms / 1000.0, why);
}

static const struct pv_ctl_detach_words vif_words = {
	"vif", "the vif", "vif", detach_timed_out,
};

static int cmd_detach(const char *spec, int argc, char **argv, int verbose)
{
	const char *cmd = "network-detach";
	struct pv_platform *p = NULL;
	struct pv_ctl_args a;
	int be = -1, rc;
	uint32_t devid;
	domid_t fe;

	rc = pv_ctl_parse_args(net_cmds, cmd, PV_CTL_OPTS_DETACH, argc, argv, verbose, 2,
			       "expected DOM and DEVID or MAC", &a, &fe);
	if (rc >= 0)
		return rc;
	if (pv_ctl_open_platform(cmd, spec, &p))
		return PV_CTL_EXIT_FAIL;
	/* No domain check: a destroyed domain's vifs must still be removable. */
	rc = find_vif(cmd, p, fe, argv[optind + 1], &devid, &be);
	if (rc == 0)
		rc = pv_ctl_detach(cmd, p, &vif_words, fe, be, devid, a.force, a.timeout_ms);
	pv_platform_close(p);
	return rc;
}

/* ---- network-list -------------------------------------------------------------------- */

/* A number for a column: the value, "-" when absent, "?" when the guest wrote garbage. */
static const char *col(char *buf, size_t len, long v)
{
	if (v == PV_CTL_ABSENT)
		return "-";
	if (v == PV_CTL_INVALID)
		return "?";
	snprintf(buf, len, "%ld", v);
	return buf;
}

static const char *state_col(char *buf, size_t len, long v)
{
	if (v < 0)
		return col(buf, len, v);
	snprintf(buf, len, "%ld:%s", v, pv_ctl_state_name(v));
	return buf;
}

static void print_text_header(void)
{
	/* xl network-list's columns; the state also named. */
	printf("%-3s %-2s %-17s %-6s %-14s %-6s %5s/%-11s %s\n", "Idx", "BE", "Mac Addr.",
	       "handle", "state", "evt-ch", "tx-", "rx-ring-ref", "BE-path");
}

static void print_text(const struct pv_ctl_vif_info *v, unsigned int n, int gone)
{
	char mac[18], a[16], b[24], c[24], d[24], e[24];
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (v[i].has_mac)
			pv_ctl_mac_format(v[i].mac, mac, sizeof(mac));
		else
			snprintf(mac, sizeof(mac), "-");
		printf("%-3u %-2s %-17s %6u %-14s %6s %5s/%-11s %s%s\n", v[i].devid,
		       col(a, sizeof(a), v[i].backend_id >= 0 ? v[i].backend_id : PV_CTL_ABSENT),
		       mac, v[i].devid, state_col(b, sizeof(b), v[i].fe_state),
		       col(c, sizeof(c), v[i].evtch), col(d, sizeof(d), v[i].tx_ref),
		       col(e, sizeof(e), v[i].rx_ref), v[i].backend_id >= 0 ? v[i].be_path : "-",
		       gone ? "  [leftover: domain gone]" : "");
	}
}

static void json_num(const char *name, long v)
{
	if (v < 0)
		printf(",\"%s\":null", name);
	else
		printf(",\"%s\":%ld", name, v);
}

static void json_str(const char *name, const char *s)
{
	printf(",\"%s\":", name);
	if (s && s[0])
		pv_ctl_json_puts(stdout, s);
	else
		printf("null");
}

static void print_json(const struct pv_ctl_vif_info *v, unsigned int n, domid_t fe, int *first,
		       int gone)
{
	char mac[18];
	unsigned int i;

	for (i = 0; i < n; i++) {
		printf("%s{\"domid\":%u,\"devid\":%u", *first ? "" : ",", fe, v[i].devid);
		*first = 0;
		json_num("backend_id", v[i].backend_id);
		if (v[i].has_mac)
			pv_ctl_mac_format(v[i].mac, mac, sizeof(mac));
		json_str("mac", v[i].has_mac ? mac : NULL);
		json_num("frontend_state", v[i].fe_state);
		json_str("frontend_state_name", pv_ctl_state_name(v[i].fe_state));
		json_num("backend_state", v[i].be_state);
		json_str("backend_state_name", pv_ctl_state_name(v[i].be_state));
		json_num("event_channel", v[i].evtch);
		json_num("tx_ring_ref", v[i].tx_ref);
		json_num("rx_ring_ref", v[i].rx_ref);
		json_num("queues", v[i].queues);
		json_str("bridge", v[i].bridge);
		json_str("vifname", v[i].vifname);
		json_str("ip", v[i].ip);
		json_str("rate", v[i].rate);
		json_str("script", v[i].script);
		json_str("backend", v[i].backend_id >= 0 ? v[i].be_path : NULL);
		if (gone)
			printf(",\"domain_gone\":true"); /* a leftover: network-detach --force */
		putchar('}');
	}
}

static int cmd_list(const char *spec, int argc, char **argv, int verbose)
{
	const char *cmd = "network-list";
	struct pv_platform *p;
	struct pv_ctl_vif_info *v;
	struct pv_ctl_args a;
	unsigned int n;
	int rc, i, first = 1, ret = PV_CTL_EXIT_OK, gone;
	domid_t fe;

	rc = pv_ctl_parse_args(net_cmds, cmd, PV_CTL_OPTS_LIST, argc, argv, verbose, 0,
			       "expected DOM", &a, &fe);
	if (rc >= 0)
		return rc;
	for (i = optind + 1; i < argc; i++)
		if (pv_ctl_parse_domid(argv[i], &fe) < 0)
			return pv_ctl_usage_error(net_cmds, cmd, "bad domain id '%s'", argv[i]);
	if (pv_ctl_open_platform(cmd, spec, &p))
		return PV_CTL_EXIT_FAIL;
	if (a.json)
		putchar('[');
	else
		print_text_header();
	for (i = optind; i < argc; i++) {
		pv_ctl_parse_domid(argv[i], &fe);
		/* A domain that is gone: the vifs it left behind, marked (as block-list). */
		gone = pv_ctl_domain_gone(cmd, p, fe);
		if (gone < 0) {
			ret = PV_CTL_EXIT_FAIL; /* as xl: the other domains are still listed */
			continue;
		}
		rc = pv_ctl_vif_list(p, fe, &v, &n);
		if (rc < 0) {
			ret = pv_ctl_fail(cmd, "domain %u: cannot read xenstore: %s", fe,
					  strerror(-rc));
			continue;
		}
		if (gone) {
			pv_ctl_leftover_note(cmd, fe, n, "network-detach DOM DEVID --force");
			if (!n)
				ret = PV_CTL_EXIT_FAIL;
		}
		if (a.json)
			print_json(v, n, fe, &first, gone);
		else
			print_text(v, n, gone);
		free(v);
	}
	if (a.json)
		printf("]\n");
	pv_platform_close(p);
	return ret;
}

/* ---- network-stats ------------------------------------------------------------------- */

static int cmd_stats(const char *spec, int argc, char **argv, int verbose)
{
	const char *cmd = "network-stats";
	char req[PV_BACKD_CTL_MAX_LINE];
	struct pv_ctl_args a;
	int rc, be;
	uint32_t devid;
	domid_t fe;

	rc = pv_ctl_parse_args(net_cmds, cmd, PV_CTL_OPTS_STATS, argc, argv, verbose, 2,
			       "expected DOM and DEVID or MAC", &a, &fe);
	if (rc >= 0)
		return rc;
	if (strchr(argv[optind + 1], ':')) {
		struct pv_platform *p;

		/* A MAC is looked up in xenstore; a devid goes to the daemon as it is. */
		if (pv_ctl_open_platform(cmd, spec, &p))
			return PV_CTL_EXIT_FAIL;
		rc = find_vif(cmd, p, fe, argv[optind + 1], &devid, &be);
		pv_platform_close(p);
		if (rc)
			return PV_CTL_EXIT_FAIL;
	} else {
		char *end;
		unsigned long id;

		errno = 0;
		id = strtoul(argv[optind + 1], &end, 10);
		if (argv[optind + 1][0] < '0' || argv[optind + 1][0] > '9' || errno || *end ||
		    id > PV_CTL_VIF_DEVID_MAX)
			return pv_ctl_fail(cmd, "bad device '%s' (a devid or a MAC address)",
					   argv[optind + 1]);
		devid = (uint32_t)id;
	}
	snprintf(req, sizeof(req), VIF_STATS_REQUEST " %u %u\n", fe, devid);
	return pv_ctl_stats(cmd, spec, a.ctl, a.json, req, "vifs", VIF_STATS_REQUEST);
}

static const struct pv_ctl_cmd_def net_cmds[5] = {
	{ "network-attach", "network-attach DOM [VIFSPEC...] [--no-wait] [--backend-domid N] "
			    "[--timeout SECONDS] [-v]", cmd_attach },
	{ "network-detach", "network-detach DOM DEVID|MAC [--force] [--timeout SECONDS]",
	  cmd_detach },
	{ "network-list", "network-list DOM... [--json]", cmd_list },
	{ "network-stats", "network-stats DOM DEVID|MAC [--json] [--ctl PATH]", cmd_stats },
	{ NULL, NULL, NULL },
};

int pv_ctl_net_cmd(const char *spec, const char *cmd, int argc, char **argv, int verbose)
{
	return pv_ctl_cmd_run(net_cmds, spec, cmd, argc, argv, verbose);
}
