/* SPDX-License-Identifier: MIT */
/*
 * blkfront_vdev.c - a disk's name as the administrator gives it (xvdb) to the device id
 * of device/vbd/<devid>.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "pv_blkfront.h"

/*
 * Xen's virtual-device number (docs/protocol.md): xvd<letters>[<partition>], or a plain
 * number.  Returns 0 and *devid, or -EINVAL.  (pvio-fuse's --vdev, the nbdkit plugin's
 * vdev=.)
 */
int pv_blkfront_parse_vdev(const char *s, unsigned int *devid)
{
	unsigned long d = 0, part = 0;
	const char *c;
	char *end;

	if (s[0] >= '0' && s[0] <= '9') {
		unsigned long v;

		errno = 0;
		v = strtoul(s, &end, 10);
		/* As xl: 0 and the reserved numbers from 2 << 28 on are no disk. */
		if (errno || *end || v == 0 || v >= (2ul << 28))
			return -EINVAL;
		*devid = (unsigned int)v;
		return 0;
	}
	if (strncmp(s, "xvd", 3) != 0 || !(s[3] >= 'a' && s[3] <= 'z'))
		return -EINVAL;
	for (c = s + 3; *c >= 'a' && *c <= 'z'; c++) {
		d = d * 26 + (unsigned long)(*c - 'a' + 1);
		if (d > 1u << 20)
			return -EINVAL;
	}
	d--; /* bijective base 26: a = 0, z = 25, aa = 26 */
	if (*c) {
		/* Digits only: strtoul alone would take "xvda 1" and "xvda+1". */
		if (*c < '0' || *c > '9')
			return -EINVAL;
		part = strtoul(c, &end, 10);
		if (*end || part > 255)
			return -EINVAL;
	}
	if (d < 16 && part < 16)
		*devid = (unsigned int)((202u << 8) | (d << 4) | part);
	else
		*devid = (unsigned int)((1u << 28) | (d << 8) | part);
	return 0;
}
