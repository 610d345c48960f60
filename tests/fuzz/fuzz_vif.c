/* SPDX-License-Identifier: MIT */
/*
 * fuzz_vif.c - libFuzzer target for pvio-ctl's xl vif-spec parser and libxlu's rate syntax.
 *
 * Like the disk spec it comes from a root administrator's command line, and like it the
 * parser copies values into fixed fields and quotes them into messages.  Besides memory
 * safety the target checks the parser's promises: fields NUL-terminated, an accepted MAC
 * unicast and not zero, interface names within IFNAMSIZ and of the allowed characters,
 * a script absolute, a rate either absent or nonzero per interval, the message one
 * printable line.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pv_ctl_vifspec.h"
#include "fuzz.h"

static int printable_line(const char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s >= 0x7f)
			return 0;
	return 1;
}

static int ifname_ok(const char *s)
{
	size_t n = strlen(s);

	if (n >= PV_CTL_IFNAME_MAX)
		return 0;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") == n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pv_ctl_vif v;
	char err[160], *spec;
	uint64_t bytes;
	uint32_t usecs;
	int rc;

	if (size > 16384)
		return 0;
	spec = malloc(size + 1);
	if (!spec)
		return 0;
	memcpy(spec, data, size);
	spec[size] = '\0';

	pv_ctl_vif_init(&v);
	rc = pv_ctl_vif_parse(spec, &v, err, sizeof(err));
	FUZZ_CHECK(rc == 0 || rc == -EINVAL || rc == -ENOTSUP || rc == -ENOMEM);
	if (rc < 0)
		FUZZ_CHECK(err[0] && printable_line(err));
	if (rc == 0) {
		FUZZ_CHECK(ifname_ok(v.bridge) && ifname_ok(v.vifname));
		FUZZ_CHECK(memchr(v.ip, '\0', sizeof(v.ip)) && printable_line(v.ip));
		FUZZ_CHECK(memchr(v.script, '\0', sizeof(v.script)) && printable_line(v.script));
		FUZZ_CHECK(!v.script[0] || v.script[0] == '/');
		FUZZ_CHECK(!v.mac_given || (!(v.mac[0] & 1) && (v.mac[0] | v.mac[1] | v.mac[2] |
								v.mac[3] | v.mac[4] | v.mac[5])));
		FUZZ_CHECK((v.rate_usecs == 0) == (v.rate_bytes == 0));
		FUZZ_CHECK(v.devid >= -1 && v.devid <= PV_CTL_VIF_DEVID_MAX);
		FUZZ_CHECK(v.backend_domid >= -1 && v.backend_domid < 0x7FF0);
		FUZZ_CHECK(pv_ctl_vif_finish(&v) == 0 && v.mac_given && !(v.mac[0] & 1));
	}
	/* The whole input as a rate on its own. */
	rc = pv_ctl_vif_parse_rate(spec, &bytes, &usecs, err, sizeof(err));
	FUZZ_CHECK(rc == 0 || rc == -EINVAL || rc == -EOVERFLOW);
	FUZZ_CHECK(rc < 0 || (bytes > 0 && usecs > 0));
	free(spec);
	return 0;
}
