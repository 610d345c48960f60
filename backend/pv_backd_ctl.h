/* SPDX-License-Identifier: MIT */
/*
 * pv_backd_ctl.h - pvio-backd's control socket, which `pvio-ctl block-stats` reads.
 *
 * A SOCK_STREAM unix socket.  The client sends one line and reads one line back, then the
 * daemon closes the connection:
 *
 *   "stats <frontend-domid> <devid>\n"  ->  one JSON object, "\n"
 *   "list\n"                            ->  one JSON array of such objects, "\n"
 *   "vif-stats <frontend-domid> <devid>\n" -> one vif's JSON object (below), "\n"
 *   "vif-list\n"                        ->  one JSON array of vif objects, "\n"
 *   anything else                       ->  {"error":"<reason>"}\n
 *
 * Object members (counters are cumulative since the device was first seen):
 *   "domid", "devid", "state" (XenBus state number), "state_name" (its name, e.g.
 *   "Connected"), "params", "mode" ("r"|"w"),
 *   "type", "sectors", "sector_size", "queues", "ring_pages", "persistent" (0|1),
 *   "indirect_segments", "grant_mode" ("map"|"copy"),
 *   "requests", "reads", "writes", "flushes", "barriers", "discards", "indirect",
 *   "bytes_read", "bytes_written", "errors" (I/O errors answered), "bad_requests"
 *   (malformed requests answered with BLKIF_RSP_ERROR), "persistent_hits",
 *   "grant_maps", "grant_unmaps", "grant_copies", "notifications_in",
 *   "notifications_out", "inflight", "budget_yields" (turns cut short by the request
 *   budget), "time_yields" (turns cut short by the time budget), "completion_yields"
 *   (completion batches cut short by the time budget, the rest left for the next pass),
 *   "spurious_notifications" (notifications that brought no request),
 *   "storm_masks" (times the port was left masked for an event storm),
 *   "persistent_evictions" (persistent pages unmapped to make room, least recently used),
 *   "bounce_waits" (copy mode: a request left on the ring until bounce pages were free),
 *   "bounce_peak" (copy mode: most pages one queue's pool had in use at once),
 *   "bounce_releases" (copy mode: an idle queue's bounce pages given back to the kernel),
 *   "submit_retries" (io_uring_submit refused: retried), "cq_overflows" (times the
 *   io_uring completion queue was seen overflowed; sized so that it never is),
 *   "fe_watch_events" (watch events on the front end's state node), "poll_hits"
 *   (--poll-us: looks at a polled ring that found requests), "poll_expired" (polls that
 *   ran out of time: req_event re-armed, back to notifications), "thread" (queue 0's data
 *   thread, 0: the main thread or not connected), "queue_threads" (each queue's, an
 *   array), "loop_wakeups" (sleeps of those threads' loops woken by an event, each thread
 *   once), "queue_thread_wakeups" (each queue's thread's, an array in queue order)
 *
 * vif objects (netback, pv_netback.h): "domid", "devid", "state", "state_name", "ifname", "bridge",
 *   "queues", "split_event_channels", "sg", "gso_tcpv4", "gso_tcpv6", "csum",
 *   "ipv6_csum", "rx_notify" (what the front end negotiated), "rate_bytes", "rate_usec",
 *   "tx_packets", "tx_bytes", "tx_gso", "tx_csum_blank", "tx_dropped" (packets answered
 *   XEN_NETIF_RSP_ERROR or not delivered), "tx_bad_size", "tx_too_many_slots",
 *   "tx_bad_grant", "tx_bad_csum", "tx_tap_errors", "tx_mcast", "tx_credit_waits"
 *   (rate limit), "tx_coalesced" (TCP segments written to the TAP inside another's GSO
 *   frame), "rx_packets", "rx_bytes", "rx_gso", "rx_dropped", "rx_bad_grant",
 *   "rx_stalls" (TAP left unread for want of guest buffers), "protocol_errors" (the
 *   guest was disconnected), "grant_copies", "grant_copy_batches", "notifications_in",
 *   "notifications_out", "budget_yields", "spurious_notifications", "storm_masks",
 *   "fe_watch_events"
 */
#ifndef PV_BACKD_CTL_H
#define PV_BACKD_CTL_H

/* Where the socket lives: beside pvio-simd's sockets on the sim, in /run on Xen. */
#define PV_BACKD_CTL_SIM_NAME   "pvio-backd.sock"   /* <rundir>/pvio-backd.sock */
#define PV_BACKD_CTL_XEN_PATH   "/run/pvio/pvio-backd.sock"
#define PV_BACKD_CTL_MAX_LINE   128

/*
 * The name of XenBus state st (xen/include/public/io/xenbus.h), as administrators read it;
 * "Unknown" for 0 and anything out of range.  Shared by pvio-backd's replies and pvio-ctl's
 * text output, so the two never disagree.
 */
static inline const char *pv_backd_state_name(int st)
{
	static const char *const names[] = { "Unknown", "Initialising", "InitWait", "Initialised",
					     "Connected", "Closing", "Closed", "Reconfiguring",
					     "Reconfigured" };

	return st >= 0 && st < (int)(sizeof(names) / sizeof(names[0])) ? names[st] : "Unknown";
}

#endif
