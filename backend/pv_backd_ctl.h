/* SPDX-License-Identifier: MIT */
/*
 * pv_backd_ctl.h - pvio-backd's control socket, which `pvio-ctl block-stats` reads.
 *
 * A SOCK_STREAM unix socket.  The client sends one line and reads one line back, then the
 * daemon closes the connection:
 *
 *   "stats <frontend-domid> <devid>\n"  ->  one JSON object, "\n"
 *   "list\n"                            ->  one JSON array of such objects, "\n"
 *   anything else                       ->  {"error":"<reason>"}\n
 *
 * Object members (counters are cumulative since the device was first seen):
 *   "domid", "devid", "state" (XenBus state number), "params", "mode" ("r"|"w"),
 *   "type", "sectors", "sector_size", "queues", "ring_pages", "persistent" (0|1),
 *   "indirect_segments", "grant_mode" ("map"|"copy"),
 *   "requests", "reads", "writes", "flushes", "barriers", "discards", "indirect",
 *   "bytes_read", "bytes_written", "errors" (I/O errors answered), "bad_requests"
 *   (malformed requests answered with BLKIF_RSP_ERROR), "persistent_hits",
 *   "grant_maps", "grant_unmaps", "grant_copies", "notifications_in",
 *   "notifications_out", "inflight", "budget_yields" (turns cut short by the request
 *   budget), "spurious_notifications" (notifications that brought no request),
 *   "storm_masks" (times the port was left masked for an event storm),
 *   "persistent_evictions" (persistent pages unmapped to make room, least recently used),
 *   "bounce_waits" (copy mode: a request left on the ring until bounce pages were free),
 *   "bounce_peak" (copy mode: most bounce pages in use at once), "bounce_releases"
 *   (copy mode: the idle device's bounce pages given back to the kernel),
 *   "submit_retries" (io_uring_submit refused: retried), "cq_overflows" (times the
 *   io_uring completion queue was seen overflowed; sized so that it never is),
 *   "fe_watch_events" (watch events on the front end's state node)
 *
 * Vifs (netback; `pvio-ctl network-stats`).  Separate requests, so that a daemon without
 * netback answers {"error":"unknown command"} and pvio-ctl can say so:
 *
 *   "vif-stats <frontend-domid> <devid>\n"  ->  one JSON object, "\n"
 *   "vif-list\n"                            ->  one JSON array of such objects, "\n"
 *   an unknown vif                          ->  {"error":"no such device"}\n
 *
 * Object members: "domid", "devid", "state" (XenBus state number), "mac", "bridge" (""
 * when none), "ifname" (the TAP device, e.g. "vif1.0"), "queues", "split_event_channels"
 * (0|1), "rate_bytes" and "rate_usecs" (0 and 0: no limit), then every counter of
 * PV_BACKD_VIF_COUNTERS below under its own name, as a number; more members may follow.
 * pvio-ctl prints whatever members come, in their order, so adding one needs no change there.
 */
#ifndef PV_BACKD_CTL_H
#define PV_BACKD_CTL_H

/*
 * The vif counters, cumulative since the vif was first seen.  "tx" is the guest's transmit
 * ring (guest to world), "rx" its receive ring (world to guest), as in io/netif.h.
 * X(name, what) for each, so that netback's struct and its JSON writer come from one list.
 */
#define PV_BACKD_VIF_COUNTERS(X)                                                           \
	X(tx_packets, "packets taken from the tx ring and delivered")                      \
	X(tx_bytes, "their bytes")                                                          \
	X(tx_gso, "of them, GSO packets (an XEN_NETIF_EXTRA_TYPE_GSO slot)")                \
	X(tx_csum_blank, "of them, with NETTXF_csum_blank (checksum left to the host)")    \
	X(tx_dropped, "bad packets dropped (slot count, size, offset, grant, extra info)")  \
	X(tx_fatal, "protocol errors that disconnected the guest (e.g. producer overflow)") \
	X(tx_rate_waits, "times tx stopped until the rate= credit was replenished")         \
	X(rx_packets, "packets copied into the guest's rx buffers")                        \
	X(rx_bytes, "their bytes")                                                          \
	X(rx_gso, "of them, with a GSO extra-info slot")                                    \
	X(rx_dropped, "packets for the guest dropped (no rx buffers, too many slots)")     \
	X(rx_bad_requests, "rx requests refused (bad grant, bad id)")                       \
	X(grant_copies, "grant copy operations")                                            \
	X(grant_maps, "grant map operations")                                               \
	X(notifications_in, "event channel notifications from the guest")                  \
	X(notifications_out, "event channel notifications to the guest")

#define PV_BACKD_CTL_VIF_STATS "vif-stats" /* "vif-stats <domid> <devid>\n" */
#define PV_BACKD_CTL_VIF_LIST  "vif-list"

/* Where the socket lives: beside pvio-simd's sockets on the sim, in /run on Xen. */
#define PV_BACKD_CTL_SIM_NAME   "pvio-backd.sock"   /* <rundir>/pvio-backd.sock */
#define PV_BACKD_CTL_XEN_PATH   "/run/pvio/pvio-backd.sock"
#define PV_BACKD_CTL_MAX_LINE   128

#endif
