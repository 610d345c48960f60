/* SPDX-License-Identifier: MIT */
/*
 * pv_xen_types.h - the few scalar types and enums of Xen's public ABI that the ring
 * protocols and the XenBus handshake use, with Xen's own names and values.
 *
 * The typedefs are identical to Xen's, which C11 allows to be repeated, so this header
 * coexists with xen/grant_table.h and xen/xen.h (and so with xengnttab.h and xenctrl.h).
 * The enum does not: include it or Xen's io/xenbus.h, not both.
 */
#ifndef PV_XEN_TYPES_H
#define PV_XEN_TYPES_H

#include <stdint.h>

typedef uint32_t grant_ref_t;
typedef uint16_t domid_t;
typedef uint32_t evtchn_port_t;

/* Domain ids from DOMID_SELF up are reserved (xen.h); guarded so either header may come first. */
#define PV_DOMID_FIRST_RESERVED 0x7FF0U
#ifndef DOMID_SELF
#define DOMID_SELF    0x7FF0U
#endif
#ifndef DOMID_INVALID
#define DOMID_INVALID 0x7FF4U
#endif

/* XenBus device states (io/xenbus.h); both ends publish theirs in a "state" node. */
enum xenbus_state {
	XenbusStateUnknown       = 0,
	XenbusStateInitialising  = 1,
	XenbusStateInitWait      = 2, /* backend: early params written, waiting for front */
	XenbusStateInitialised   = 3, /* frontend: ring published, waiting for backend */
	XenbusStateConnected     = 4,
	XenbusStateClosing       = 5,
	XenbusStateClosed        = 6,
	XenbusStateReconfiguring = 7,
	XenbusStateReconfigured  = 8,
};

#endif /* PV_XEN_TYPES_H */
