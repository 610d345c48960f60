/*
 * xen_headers.h - Xen's public ring headers as Debian's libxen-dev ships them.  Only the
 * Xen-side test files include this; they never see pvio's headers.
 */
#ifndef PV_TEST_XEN_HEADERS_H
#define PV_TEST_XEN_HEADERS_H

#include <stdint.h>
#include <string.h>

/* The current interface: older ones map xen_mb() to an undefined mb(). */
#define __XEN_INTERFACE_VERSION__ __XEN_LATEST_INTERFACE_VERSION__

/* io/ring.h leaves the barriers to its includer: the same fences as pv_ring.h. */
#define xen_mb()  __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define xen_rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define xen_wmb() __atomic_thread_fence(__ATOMIC_RELEASE)

#include <xen/xen.h>
#include <xen/grant_table.h>
#include <xen/io/xenbus.h>
#include <xen/io/blkif.h>
#include <xen/io/netif.h>

#endif
