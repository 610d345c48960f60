/* SPDX-License-Identifier: MIT */
/*
 * pv_ctl_vifspec.h - xl's vif specification syntax (xl-network-configuration(5)).
 *
 *   mac=00:16:3e:01:02:03,bridge=xenbr0,ip=192.0.2.7,rate=10Mb/s@20ms,backend=0,type=vif
 *
 * Keys are separated by commas, a leading space before a key is skipped and empty items
 * are ignored, as xl's config parser does.  `xl network-attach DOM KEY=VAL KEY=VAL` gives
 * each key as its own argument: calling pv_ctl_vif_parse once per argument does the same.
 * Pure functions (no I/O except the random bytes of a default MAC), so they table-test.
 */
#ifndef PV_CTL_VIFSPEC_H
#define PV_CTL_VIFSPEC_H

#include <stddef.h>
#include <stdint.h>

#define PV_CTL_IFNAME_MAX 16     /* Linux's IFNAMSIZ, with the NUL */
#define PV_CTL_VIF_IP_MAX 256
#define PV_CTL_VIF_SCRIPT_MAX 256
#define PV_CTL_VIF_SPEC_MAX 4096 /* one argument; xenstore's payload limit anyway */
#define PV_CTL_VIF_DEVID_MAX 0x7FFFFFFF /* libxl_devid is an int */
#define PV_CTL_VIF_RATE_USECS_DEFAULT 50000 /* libxl's replenishment interval, 50 ms */

struct pv_ctl_vif {
	uint8_t mac[6];
	int mac_given;                       /* 0: pv_ctl_vif_finish picks 00:16:3e:xx:xx:xx */
	char bridge[PV_CTL_IFNAME_MAX];      /* "" when not given: no bridge (issue 10) */
	char ip[PV_CTL_VIF_IP_MAX];          /* "" or space-separated addresses */
	char vifname[PV_CTL_IFNAME_MAX];     /* "" or the back end's interface name */
	char script[PV_CTL_VIF_SCRIPT_MAX];  /* "" or an absolute path (not run on sim) */
	uint64_t rate_bytes;                 /* bytes per interval; rate_usecs 0: no limit */
	uint32_t rate_usecs;                 /* replenishment interval */
	int backend_domid;                   /* backend=<domid>, or -1 */
	long devid;                          /* devid=<n>, or -1: the next free one */
	int has_model, has_accel;            /* accepted for xl's sake; no effect on a PV vif */
	unsigned int seen;                   /* keys given so far (twice is an error) */
};

/* Clears *v to "nothing given yet". */
void pv_ctl_vif_init(struct pv_ctl_vif *v);

/*
 * Parses one spec string (one or more comma-separated KEY=VALUE items) into *v.  Returns 0,
 * -EINVAL with a one-line reason in err in xl's words ("unrecognized argument `foo=1'",
 * "invalid parameter `mac': ..."), or -ENOTSUP for what xl knows but pvio does not do
 * (type=ioemu, mtu=, gatewaydev=, colo_*).  Values in err are cut short and have control
 * characters replaced, since they come from the command line.
 */
int pv_ctl_vif_parse(const char *spec, struct pv_ctl_vif *v, char *err, size_t errlen);

/* Picks the default MAC when none was given (Xen's OUI, as libxl).  Returns 0 or -errno. */
int pv_ctl_vif_finish(struct pv_ctl_vif *v);

/*
 * libxlu's rate syntax: <n>[G|M|K](B|b)/s[@<n>[m|u][s]]; b means bits.  The interval
 * defaults to 50 ms; a bare number of it is seconds.  Returns 0 with bytes per interval and
 * the interval in microseconds, or -EINVAL / -EOVERFLOW with a reason in err.
 */
int pv_ctl_vif_parse_rate(const char *s, uint64_t *bytes, uint32_t *usecs, char *err,
			  size_t errlen);

/*
 * A MAC address: six groups of one or two hex digits separated by ':'.  Returns 0, or
 * -EINVAL for anything else, the multicast bit set, or all zeros (not a unicast address
 * a netfront would take).
 */
int pv_ctl_mac_parse(const char *s, uint8_t mac[6]);

/* "xx:xx:xx:xx:xx:xx" into buf (at least 18 bytes). */
void pv_ctl_mac_format(const uint8_t mac[6], char *buf, size_t len);

#endif
