/* SPDX-License-Identifier: MIT */
/*
 * pv_ctl_vbd.h - the toolstack's side of a vbd in xenstore (docs/protocol.md, "Block device"),
 * and the client of pvio-backd's control socket.
 *
 * Paths: backend  /local/domain/<be>/backend/vbd/<fe>/<devid>
 *        frontend /local/domain/<fe>/device/vbd/<devid>
 * Every function returns 0 (or a count) or -errno and prints nothing; the command layer
 * (pv_ctl_cmd.h) turns results into messages.
 */
#ifndef PV_CTL_VBD_H
#define PV_CTL_VBD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pv_platform.h"
#include "pv_ctl_disk.h"

#define PV_CTL_PATH_MAX 128 /* the longest vbd path is ~60 characters */

/*
 * The same for any device kind ("vbd", "vif"): the paths, and the remove, close and find
 * below, which pv_ctl_vbd_* call with "vbd" and pv_ctl_vif.c with "vif".
 */
void pv_ctl_dev_fe_path(char *buf, size_t len, const char *kind, domid_t fe, uint32_t devid);
void pv_ctl_dev_be_path(char *buf, size_t len, const char *kind, domid_t be, domid_t fe,
			uint32_t devid);
int pv_ctl_dev_remove(struct pv_platform *p, const char *kind, domid_t fe, int be,
		      uint32_t devid);
int pv_ctl_dev_close(struct pv_platform *p, const char *kind, domid_t fe, domid_t be,
		     uint32_t devid);
int pv_ctl_dev_find(struct pv_platform *p, const char *kind, domid_t fe, uint32_t devid,
		    int *be);

/* 1 if path exists, 0 if not, -errno. */
int pv_ctl_xs_exists(struct pv_platform *p, pv_xs_txn_t t, const char *path);
/* Removes path's parent (e.g. backend/vif/<fe>) when it has no children left. */
int pv_ctl_xs_rm_if_empty(struct pv_platform *p, pv_xs_txn_t t, const char *path);
/* A directory entry that names a domain (decimal, below 0x7FF0) or a devid (decimal, u32). */
int pv_ctl_parse_domid_name(const char *s, domid_t *out);
int pv_ctl_parse_devid_name(const char *s, uint32_t *out);

void pv_ctl_vbd_fe_path(char *buf, size_t len, domid_t fe, uint32_t devid);
void pv_ctl_vbd_be_path(char *buf, size_t len, domid_t be, domid_t fe, uint32_t devid);

/*
 * Writes the backend and frontend directories of disk d for frontend fe, backend be, in one
 * transaction (retried on conflict), with libxl's permissions: the backend directory owned by
 * be and readable by fe, the frontend directory owned by fe and readable by be.
 * Returns 0, -EEXIST when either directory already exists (the vdev is in use), or -errno.
 */
int pv_ctl_vbd_write(struct pv_platform *p, domid_t fe, domid_t be, const struct pv_ctl_disk *d);

/* Removes both directories in one transaction; a missing one is not an error. */
int pv_ctl_vbd_remove(struct pv_platform *p, domid_t fe, int be, uint32_t devid);

/* Asks the backend to close for good: online=0 and state=5 (Closing), one transaction. */
int pv_ctl_vbd_close(struct pv_platform *p, domid_t fe, domid_t be, uint32_t devid);

/*
 * Finds the backend domain of vbd devid of fe by looking for its backend directory under
 * every domain (the frontend's own "backend-id" is written by the guest and so not trusted).
 * Returns 0 and *be (-1 when only the frontend directory exists), or -ENOENT.
 */
int pv_ctl_vbd_find(struct pv_platform *p, domid_t fe, uint32_t devid, int *be);

enum pv_ctl_wait {
	PV_CTL_WAIT_ATTACHED, /* hotplug-status=connected, or state 2 (InitWait) or 4 */
	PV_CTL_WAIT_CLOSED,   /* state 6 (Closed), or the directory gone */
};

/*
 * Watches the backend directory be_path until the condition holds (0), the backend fails
 * (-EIO: state Closing/Closed while attaching, an `error` node, hotplug-status=error, or
 * the directory removed; why gets a one-line reason) or timeout_ms passes (-ETIMEDOUT;
 * why gets the last state seen).
 */
int pv_ctl_vbd_wait(struct pv_platform *p, const char *be_path, enum pv_ctl_wait what,
		    int timeout_ms, char *why, size_t whylen);

/* One vbd as block-list shows it. */
struct pv_ctl_vbd_info {
	uint32_t devid;
	int backend_id;          /* -1: no backend directory found */
	int fe_state, be_state;  /* -1: absent */
	char dev[PV_CTL_VDEV_MAX];
	char mode[4];
	char type[16];
	char be_path[PV_CTL_PATH_MAX];
	char *params;            /* malloc'd, "" when absent */
};

/*
 * Lists the vbds of domain fe, sorted by devid: *out is a malloc'd array of *n entries;
 * release it with pv_ctl_vbd_list_free().
 */
int pv_ctl_vbd_list(struct pv_platform *p, domid_t fe, struct pv_ctl_vbd_info **out,
		    unsigned int *n);
void pv_ctl_vbd_list_free(struct pv_ctl_vbd_info *v, unsigned int n);

/* ---- pvio-backd's control socket (backend/pv_backd_ctl.h) ------------------------------- */

/*
 * The socket path for a platform spec: "sim:<rundir>:N" -> <rundir>/pvio-backd.sock,
 * "xen" -> PV_BACKD_CTL_XEN_PATH.  spec NULL means $PVIO_PLATFORM, else "xen".
 * Returns 0, -EINVAL for a spec it cannot read, -ENAMETOOLONG.
 */
int pv_ctl_backd_socket(const char *spec, char *buf, size_t len);

/*
 * Sends request (one line, with its '\n') and reads one line back into *reply (malloc'd,
 * without the '\n').  Returns 0, -ENOENT / -ECONNREFUSED when no daemon listens, -ETIMEDOUT
 * after timeout_ms, or -errno.
 */
int pv_ctl_backd_query(const char *sock_path, const char *request, int timeout_ms, char **reply);

/* Prints s to f as a JSON string: quoted, with '"', '\\' and control characters escaped. */
void pv_ctl_json_puts(FILE *f, const char *s);

#endif
