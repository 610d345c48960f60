/* SPDX-License-Identifier: MIT */
/*
 * xen_report.h - the "PVIO-XEN <kind> <scenario> ..." lines of the tests/xen check programs,
 * which tests/xen/run.py reads from the serial console.  One line per call, flushed at once
 * (the console may be all that is left of a domU that dies next).
 */
#ifndef XEN_REPORT_H
#define XEN_REPORT_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* kind: ok, fail, info; who: the scenario, and whatever the program puts after it */
static inline void xr_vline(const char *kind, const char *who, const char *fmt, va_list ap)
{
	printf("PVIO-XEN %s %s ", kind, who);
	vprintf(fmt, ap);
	printf("\n");
	fflush(stdout);
}

static inline void xr_line(const char *kind, const char *who, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static inline void xr_line(const char *kind, const char *who, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	xr_vline(kind, who, fmt, ap);
	va_end(ap);
}

#endif /* XEN_REPORT_H */
