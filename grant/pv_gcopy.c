/* SPDX-License-Identifier: MIT */
/*
 * pv_gcopy.c - flushing a grant-copy batch (see pv_gcopy.h).
 */
#include <errno.h>

#include "pv_gcopy.h"

int pv_gcopy_flush(struct pv_gcopy_batch *b)
{
	unsigned int i, failed = 0;
	int rc;

	if (!b->n)
		return 0;
	for (i = 0; i < b->n; i++)
		b->segs[i].status = 0;
	rc = pv_gnt_copy(b->p, b->segs, b->n);
	if (rc == 0)
		return 0;
	if (rc == -ENOTSUP)
		return rc;
	for (i = 0; i < b->n; i++)
		failed += b->segs[i].status < 0;
	if (rc == -EIO && failed)
		return (int)failed;
	/* Failed as a whole (or said -EIO and marked nothing): every segment failed. */
	for (i = 0; i < b->n; i++)
		if (b->segs[i].status >= 0)
			b->segs[i].status = (int16_t)(rc == -EIO ? -EIO : rc);
	return (int)b->n;
}
