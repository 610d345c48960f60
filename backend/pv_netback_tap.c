/* SPDX-License-Identifier: MIT */
/*
 * pv_netback_tap.c - the host end of a vif: a TAP device vif<domid>.<devid>.
 *
 * IFF_TAP | IFF_NO_PI | IFF_VNET_HDR: every frame carries a virtio_net_hdr, which is
 * how GSO and checksum offload cross between the guest's netif extra info and the host
 * stack.  One fd per queue (IFF_MULTI_QUEUE when more than one), non-blocking; the
 * device lives as long as its fds (not persistent), so a disconnect removes it, as
 * Linux's vif goes with its backend.  Configured with ioctls, as Xen's vif-bridge script
 * does with ip and brctl: MTU 1500, host MAC fe:ff:ff:ff:ff:ff, up, enslaved to bridge=.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pv_netback.h"

#define COMP "tap"

static int tap_one(struct pv_netback_vif *vif, int multi)
{
	struct ifreq ifr;
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", vif->ifname);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | (multi ? IFF_MULTI_QUEUE : 0);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

static int if_config(struct pv_netback_vif *vif)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc = 0;

	if (s < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", vif->ifname);
	ifr.ifr_mtu = 1500;
	if (ioctl(s, SIOCSIFMTU, &ifr) < 0)
		rc = -errno;
	/* The host side's address, as Linux netback gives its vif: never a guest's. */
	ifr.ifr_hwaddr.sa_family = 1; /* ARPHRD_ETHER */
	memset(ifr.ifr_hwaddr.sa_data, 0xff, 6);
	ifr.ifr_hwaddr.sa_data[0] = (char)0xfe;
	if (rc == 0 && ioctl(s, SIOCSIFHWADDR, &ifr) < 0)
		rc = -errno;
	if (rc == 0 && vif->bridge[0]) {
		struct ifreq br;

		memset(&br, 0, sizeof(br));
		snprintf(br.ifr_name, sizeof(br.ifr_name), "%s", vif->bridge);
		br.ifr_ifindex = (int)if_nametoindex(vif->ifname);
		if (!br.ifr_ifindex || ioctl(s, SIOCBRADDIF, &br) < 0)
			rc = -errno;
	}
	if (rc == 0 && ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		rc = -errno;
	ifr.ifr_flags |= IFF_UP;
	if (rc == 0 && ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		rc = -errno;
	close(s);
	return rc;
}

int pv_netback_tap_open(struct pv_netback_vif *vif)
{
	unsigned int i;
	int rc = 0;

	for (i = 0; i < vif->nqueues; i++) {
		rc = tap_one(vif, vif->nqueues > 1);
		if (rc < 0)
			break;
		vif->qs[i].tap_fd = rc;
		rc = 0;
	}
	if (rc == 0)
		rc = pv_netback_tap_offload(vif);
	if (rc == 0)
		rc = if_config(vif);
	if (rc < 0) {
		pv_backd_log(PV_LOG_WARN, COMP, "vif %u/%u: %s: %s", vif->domid, vif->devid,
			     vif->ifname, strerror(-rc));
		pv_netback_tap_close(vif);
	}
	return rc;
}

void pv_netback_tap_close(struct pv_netback_vif *vif)
{
	unsigned int i;

	for (i = 0; vif->qs && i < vif->nqueues; i++) {
		struct pv_netback_queue *q = &vif->qs[i];

		if (q->tap_fd < 0)
			continue;
		if (q->tap_polled)
			pv_loop_del(vif->d->loop, q->tap_fd);
		q->tap_polled = 0;
		close(q->tap_fd);
		q->tap_fd = -1;
	}
}

int pv_netback_tap_offload(struct pv_netback_vif *vif)
{
	unsigned int off = 0, i;

	/*
	 * What the kernel may hand us is what the guest can take: partial checksums if it
	 * did not refuse them, TSO only with scatter-gather (a GSO packet spans slots).
	 */
	if (vif->csum) {
		off |= TUN_F_CSUM;
		if (vif->sg && vif->gso4)
			off |= TUN_F_TSO4;
		if (vif->sg && vif->gso6)
			off |= TUN_F_TSO6;
	}
	for (i = 0; i < vif->nqueues; i++)
		if (vif->qs[i].tap_fd >= 0 && ioctl(vif->qs[i].tap_fd, TUNSETOFFLOAD, off) < 0)
			return -errno;
	return 0;
}
