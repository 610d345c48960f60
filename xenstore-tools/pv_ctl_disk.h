/* SPDX-License-Identifier: MIT */
/*
 * pv_ctl_disk.h - xl's disk specification syntax and Xen's virtual-device numbers.
 *
 * The parser accepts what xl-disk-configuration(5) documents, so an administrator's disk
 * lines work unchanged:
 *
 *   target=/path/disk.img,vdev=xvdb,access=rw,format=raw,backendtype=phy
 *   /path/disk.img,raw,xvdb,rw            positional: target, format, vdev, access
 *   file:/path/disk.img,xvdb,w            deprecated: [<prefix>:]<target>,<vdev>[:<devtype>],<access>
 *   target=null:,vdev=xvdb                pvio's own: pvio-backd's null driver (1 GiB; or
 *                                         null:<sectors>), reads zeros, drops writes
 *
 * Both are pure functions (no I/O) so that they can be table-tested.
 */
#ifndef PV_CTL_DISK_H
#define PV_CTL_DISK_H

#include <stddef.h>
#include <stdint.h>

#define PV_CTL_TARGET_MAX 4096 /* xenstore's payload limit bounds params anyway */
#define PV_CTL_VDEV_MAX   32

struct pv_ctl_disk {
	char target[PV_CTL_TARGET_MAX]; /* "" only for an empty cdrom */
	char vdev[PV_CTL_VDEV_MAX];     /* as given: "xvdb", "hda1", "d3p2", "51728" */
	uint32_t devid;                 /* Xen's virtual-device number of vdev */
	char format[8];                 /* always "raw" after a successful parse */
	char backendtype[8];            /* "phy" (default), "pvio" or "qdisk": the type node */
	int readonly;                   /* access r/ro (default for a cdrom) */
	int shared;                     /* access w!: writable and shared on purpose */
	int cdrom;                      /* devtype=cdrom */
	int discard;                    /* discard-enable: 1 unless no-discard */
	int direct_io_safe;             /* direct-io-safe: the backend may use O_DIRECT */
	int backend_domid;              /* backend=<domid>, or -1 when not given */
	int has_script;                 /* script= (or a script prefix) was given: ignored */
	int deprecated;                 /* the old syntax or a deprecated prefix was used */
	int null_disk;                  /* target is "null:[<sectors>]": no file behind it */
};

/*
 * Parses spec into *d.  Returns 0, or -EINVAL with a one-line reason in err (e.g. "unknown
 * key 'foo'"), or -ENOTSUP for a well-formed but unsupported request (format qcow2,
 * backendtype tap, colo).  Does not look at the file system: the caller checks the target.
 */
int pv_ctl_disk_parse(const char *spec, struct pv_ctl_disk *d, char *err, size_t errlen);

/*
 * Xen's virtual-device number of a vdev name (docs/misc/vbd-interface.txt):
 *   xvd<letters>[<part>]  (202 << 8) | (disk << 4) | part     disk < 16 and part < 16
 *                         (1 << 28) | (disk << 8) | part      disk < 2^20, part < 256
 *   d<disk>[p<part>]      the same, for xvd
 *   sd<letter>[<part>]    (8 << 8) | (disk << 4) | part       disk < 16, part < 16
 *   hd<letter>[<part>]    (3 << 8) | (disk << 6) | part       disk 0..1, part < 64
 *                         (22 << 8) | ((disk - 2) << 6) | part   disk 2..3
 *   <number>              the number itself (decimal, 0x hex or 0 octal), as libxl allows
 * Letters count as in spreadsheets: a = 0, z = 25, aa = 26.  Partition numbers have no
 * leading zero ("xvda0" is refused, as libxl refuses it).  Returns 0 or -EINVAL.
 */
int pv_ctl_vdev_to_devid(const char *vdev, uint32_t *devid);

#endif
