/* SPDX-License-Identifier: MIT */
/*
 * harness.h - what the xenstore daemon tests share: a server child process (pv_loop +
 * pv_xsd, one socket per domain under a temporary directory), a runner for Debian's
 * xenstore-utils, libxenstore handles per domain, and a raw wire client.
 */
#ifndef XSD_TEST_HARNESS_H
#define XSD_TEST_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <xenstore.h>
#include <xen/io/xs_wire.h>

#include "pv_test.h"
#include "pv_xsd.h"

/* A server child: domains 0, 1 and 2 listen at <dir>/dom<N>/socket, 1 and 2 introduced. */
struct srv {
	pid_t pid;
	char dir[32]; /* "/tmp/pvio-xsd-XXXXXX": short enough for sun_path */
};

int srv_start(struct srv *s, const struct pv_xsd_limits *lim);
/* SIGTERM, then the child's wait status (0: it freed everything and LSan was happy). */
int srv_stop(struct srv *s);
/* Kills the child if still running and removes the directory. */
void srv_cleanup(struct srv *s);
void srv_path(const struct srv *s, int dom, const char *leaf, char *buf, size_t len);

/* Runs a xenstore-utils tool as domain dom; argv[0] is the tool.  Returns its exit status
 * (-1: did not exit by itself within 10 s); out and err get its stdout and stderr. */
int run_tool(const struct srv *s, int dom, char *out, size_t outsz, char *err, size_t errsz,
	     const char *const *argv);

/* A background tool (xenstore-watch) with its stdout in *fd. */
pid_t spawn_tool(const struct srv *s, int dom, const char *const *argv, int *fd);
/* One line from fd (without the newline), waiting at most ms; returns its length or -1. */
int read_line(int fd, char *buf, size_t len, int ms);

struct xs_handle *xs_open_dom(const struct srv *s, int dom);

/* Raw wire client. */
int raw_connect(const struct srv *s, int dom);
/* Sends a header claiming hdr_len bytes, then len bytes of p.  Returns 0 or -errno. */
int raw_send(int fd, uint32_t type, uint32_t tx, uint32_t hdr_len, const void *p, uint32_t len);
/* Receives one message, waiting at most ms.  Returns payload length, -ECONNRESET on EOF or
 * reset, -ETIMEDOUT. */
int raw_recv(int fd, struct xsd_sockmsg *h, char *buf, size_t cap, int ms);
/* A request and its reply (watch events before it are skipped); as raw_recv. */
int raw_call(int fd, uint32_t type, uint32_t tx, const void *p, uint32_t len,
	     struct xsd_sockmsg *h, char *buf, size_t cap);

/* The suites, one per file. */
extern CU_TestInfo xsd_utils_tests[], xsd_libxs_tests[], xsd_wire_tests[], xsd_inproc_tests[];
int xsd_utils_init(void);
int xsd_utils_clean(void);
int xsd_libxs_init(void);
int xsd_libxs_clean(void);
int xsd_wire_init(void);
int xsd_wire_clean(void);

#endif
