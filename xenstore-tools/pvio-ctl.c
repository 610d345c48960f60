/* SPDX-License-Identifier: MIT */
/*
 * pvio-ctl - the toolstack role for pvio.
 *
 *   pvio-ctl [--platform SPEC] domain-create [DOMID]
 *   pvio-ctl [--platform SPEC] domain-destroy DOMID
 *   pvio-ctl [--platform SPEC] domain-list
 *   pvio-ctl [--platform SPEC] domain-stats
 *   pvio-ctl [--platform SPEC] block-attach|block-detach|block-list|block-stats ...
 *   pvio-ctl [--platform SPEC] network-attach|network-detach|network-list|network-stats ...
 *
 * SPEC is a platform spec (pv_platform.h): "sim:<rundir>:0" for pvio-simd, or taken from
 * $PVIO_PLATFORM.  The domain commands exist on the sim only; on Xen, xl owns domains.
 * The block commands live in pv_ctl_block.c, the network commands in pv_ctl_net.c, the
 * steps they share in pv_ctl_cmd.c (all linked into the unit tests); only main() and the
 * small domain commands are here.
 * See docs/man/pvio-ctl.1.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pv_ctl_cmd.h"
#include "pv_ctl_dev.h"
#include "pv_platform.h"
#include "sim/pv_sim.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: pvio-ctl [--platform SPEC] [-v] COMMAND [ARGS]\n"
		"  domain-create [DOMID]   create a simulated domain (sim only); prints its id\n"
		"  domain-destroy DOMID    destroy it: its disks and vifs are removed first (their\n"
		"                          back ends let go of them), then its grants, ports and\n"
		"                          xenstore nodes are released\n"
		"  domain-list             list the domains\n"
		"  domain-stats            pvio-simd's counters of refused and hostile input\n");
	pv_ctl_block_usage(f);
	pv_ctl_net_usage(f);
	fprintf(f,
		"SPEC: sim:<rundir>:0 or xen (default: $PVIO_PLATFORM, else xen)\n"
		"Exit status: 0 done, 1 failed, 2 bad arguments.  See pvio-ctl(1).\n");
}

/* A domain id from the command line: decimal, below DOMID_FIRST_RESERVED. */
static int parse_domid(const char *s, domid_t *out)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -EINVAL; /* strtoul would take " 7", "+7" and "-0" */
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v >= PV_DOMID_FIRST_RESERVED)
		return -EINVAL;
	*out = (domid_t)v;
	return 0;
}

/* -EINVAL: bad arguments; -ENOTSUP: not a platform with simulated domains. */
static int cmd_domain(struct pv_platform *p, const char *cmd, int argc, char **argv)
{
	domid_t id, ids[1024];
	int rc, i;

	if (strcmp(cmd, "domain-create") && strcmp(cmd, "domain-destroy") &&
	    strcmp(cmd, "domain-list") && strcmp(cmd, "domain-stats"))
		return -ENOSYS;
	if (strcmp(pv_platform_name(p), "sim"))
		return -ENOTSUP; /* on Xen, xl creates and destroys domains */

	if (!strcmp(cmd, "domain-create")) {
		unsigned int want = PV_SIM_ANY_DOMID;

		if (argc > 1)
			return -EINVAL;
		if (argc == 1) {
			if (parse_domid(argv[0], &id) < 0 || id == 0)
				return -EINVAL;
			want = id;
		}
		rc = pv_sim_domain_create(p, want, &id);
		if (rc == 0)
			printf("%u\n", id);
		return rc;
	}
	if (!strcmp(cmd, "domain-destroy")) {
		static const char *const kinds[] = { "vbd", "vif" };

		if (argc != 1 || parse_domid(argv[0], &id) < 0)
			return -EINVAL;
		/*
		 * As libxl (libxl__devices_destroy): the domain's devices go first, forcibly (a
		 * dying guest answers nobody), so that each back end lets go of its disk or TAP
		 * and the id can be reused with the same vdev.
		 */
		for (i = 0; i < 2; i++) {
			rc = pv_ctl_dev_remove_all(p, kinds[i], id);
			if (rc < 0)
				fprintf(stderr, "pvio-ctl: domain-destroy: cannot remove domain %u's "
					"%s devices: %s (see block-list / network-list %u)\n", id,
					kinds[i], strerror(-rc), id);
		}
		return pv_sim_domain_destroy(p, id);
	}
	if (!strcmp(cmd, "domain-list")) {
		if (argc != 0)
			return -EINVAL;
		rc = pv_sim_domain_list(p, ids, sizeof(ids) / sizeof(ids[0]));
		if (rc < 0)
			return rc;
		printf("%-6s %s\n", "ID", "STATE");
		for (i = 0; i < rc && i < (int)(sizeof(ids) / sizeof(ids[0])); i++)
			printf("%-6u %s\n", ids[i], "running");
		return 0;
	}
	if (!strcmp(cmd, "domain-stats")) {
		const char *names[32];
		uint64_t v[32];

		if (argc != 0)
			return -EINVAL;
		rc = pv_sim_stats(p, names, v, 32);
		if (rc < 0)
			return rc;
		for (i = 0; i < rc && i < 32; i++)
			printf("%s %llu\n", names[i], (unsigned long long)v[i]);
		return 0;
	}
	return -ENOSYS;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "platform", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	const char *spec = NULL, *why = NULL, *cmd;
	struct pv_platform *p;
	int opt, rc, verbose = 0;

	while ((opt = getopt_long(argc, argv, "+p:hv", opts, NULL)) != -1) {
		switch (opt) {
		case 'p': spec = optarg; break;
		case 'v': verbose = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	cmd = argv[optind];
	rc = pv_ctl_block_cmd(spec, cmd, argc - optind, argv + optind, verbose);
	if (rc < 0)
		rc = pv_ctl_net_cmd(spec, cmd, argc - optind, argv + optind, verbose);
	if (rc >= 0)
		return rc;
	if (strncmp(cmd, "domain-", 7)) {
		fprintf(stderr, "pvio-ctl: unknown command '%s'\n", cmd);
		usage(stderr);
		return 2;
	}
	rc = pv_platform_open(spec, &p, &why);
	if (rc < 0) {
		fprintf(stderr, "pvio-ctl: %s\n", why ? why : strerror(-rc));
		return 1;
	}
	rc = cmd_domain(p, cmd, argc - optind - 1, argv + optind + 1);
	pv_platform_close(p);
	if (rc == -ENOSYS) {
		fprintf(stderr, "pvio-ctl: unknown command '%s'\n", cmd);
		return 2;
	}
	if (rc == -EINVAL) {
		fprintf(stderr, "pvio-ctl: %s: bad arguments (see pvio-ctl --help)\n", cmd);
		return 2;
	}
	if (rc < 0) {
		fprintf(stderr, "pvio-ctl: %s: %s\n", cmd,
			rc == -ENOTSUP ? "this platform has no simulated domains (use xl)" :
			strerror(-rc));
		return 1;
	}
	return 0;
}
