/* SPDX-License-Identifier: MIT */
/*
 * pv_xs_fmt.c - the xenstore helpers of pv_platform.h that need nothing but pv_xs_read()
 * and pv_xs_write(): number parsing, printf-style writes, reads of a number.  Kept apart
 * from pv_xs.c (libxenstore) so that any implementation of pv_platform.h, the fuzzers'
 * in-process fake included, links these very functions instead of a copy.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "pv_platform.h"
#include "pv_platform_priv.h"

int pv_xs_parse_u64(const char *s, size_t len, uint64_t *v)
{
	uint64_t r = 0;
	size_t i;

	if (!s || !v || !len)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		unsigned int d = (unsigned char)s[i] - '0';

		if (d > 9)
			return -EINVAL;
		if (r > (UINT64_MAX - d) / 10)
			return -EINVAL;
		r = r * 10 + d;
	}
	*v = r;
	return 0;
}

int pv_xs_printf(struct pv_platform *p, pv_xs_txn_t t, const char *path, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n, rc;

	if (!p || !path || !fmt)
		return -EINVAL;
	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	rc = pv_xs_write(p, t, path, s, (size_t)n);
	free(s);
	return rc;
}

int pv_xs_read_u64(struct pv_platform *p, pv_xs_txn_t t, const char *path, uint64_t *v)
{
	size_t len;
	char *s;
	int rc;

	if (!v)
		return -EINVAL;
	rc = pv_xs_read(p, t, path, &s, &len);
	if (rc < 0)
		return rc;
	rc = pv_xs_parse_u64(s, len, v);
	free(s);
	return rc;
}
