/* SPDX-License-Identifier: MIT */
/*
 * fuzz_disk.c - libFuzzer target for pvio-ctl's xl disk-spec parser and vdev numbering.
 *
 * The spec comes from an administrator's command line, so it is not hostile in the strict
 * sense, but the parser copies pieces into fixed-size fields and strcpy()s a devtype: a
 * missed bound there is a stack or heap overflow in a root tool.  Besides memory safety
 * the target checks the parser's own promises: a parse that succeeds gives NUL-terminated
 * fields, format "raw", and a devid that pv_ctl_vdev_to_devid() gives for vdev too.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pv_ctl_disk.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pv_ctl_disk d; /* 4 KiB target: not on the fuzzer's stack */
	char err[128];
	char *spec;
	uint32_t devid;
	int rc;

	if (size > 16384)
		return 0;
	spec = malloc(size + 1);
	if (!spec)
		return 0;
	memcpy(spec, data, size);
	spec[size] = '\0';

	rc = pv_ctl_disk_parse(spec, &d, err, sizeof(err));
	FUZZ_CHECK(rc == 0 || rc == -EINVAL || rc == -ENOTSUP);
	FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
	if (rc == 0) {
		FUZZ_CHECK(memchr(d.target, '\0', sizeof(d.target)) != NULL);
		FUZZ_CHECK(memchr(d.vdev, '\0', sizeof(d.vdev)) != NULL);
		FUZZ_CHECK(memchr(d.format, '\0', sizeof(d.format)) != NULL);
		FUZZ_CHECK(memchr(d.backendtype, '\0', sizeof(d.backendtype)) != NULL);
		FUZZ_CHECK(!strcmp(d.format, "raw"));
		FUZZ_CHECK(pv_ctl_vdev_to_devid(d.vdev, &devid) == 0 && devid == d.devid);
	}
	/* The whole input as a vdev name on its own. */
	rc = pv_ctl_vdev_to_devid(spec, &devid);
	FUZZ_CHECK(rc == 0 || rc == -EINVAL);
	free(spec);
	return 0;
}
