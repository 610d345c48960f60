/* SPDX-License-Identifier: MIT */
/*
 * pv_ctl_disk.c - xl's disk specification syntax and Xen's virtual-device numbers.
 * See pv_ctl_disk.h; the rules follow xl-disk-configuration(5) and vbd-interface.txt.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pv_ctl_disk.h"

/* ---- virtual-device numbers ------------------------------------------------------------ */

/*
 * Matches "<prefix><letters>[<partition>]" and decodes the letters in bijective base 26
 * (a = 0, z = 25, aa = 26), as libxl does.  Returns 1 on a match within the limits, 0 if not.
 */
static int vdev_letters(const char *s, const char *prefix, unsigned long max_disk,
			unsigned long max_part, unsigned long *disk, unsigned long *part)
{
	size_t pl = strlen(prefix);
	unsigned long d = 0, v;
	int letters = 0;
	char *end;

	if (strncmp(s, prefix, pl))
		return 0;
	for (s += pl; *s >= 'a' && *s <= 'z'; s++, letters++) {
		/* Bijective: "aa" (26) follows "z" (25), so each extra letter adds one. */
		d = letters ? (d + 1) * 26 + (unsigned long)(*s - 'a') : (unsigned long)(*s - 'a');
		if (d > max_disk)
			return 0;
	}
	if (!letters)
		return 0;
	*disk = d;
	if (!*s) {
		*part = 0;
		return 1;
	}
	/* Partition: decimal, no sign, no leading zero (so "xvda0" is not "xvda"). */
	if (*s < '1' || *s > '9')
		return 0;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > max_part)
		return 0;
	*part = v;
	return 1;
}

/* Decimal digits only, no leading zero unless the number is 0. */
static int plain_decimal(const char *s, const char **end, unsigned long max, unsigned long *v)
{
	unsigned long n = 0;
	const char *p = s;

	if (*p < '0' || *p > '9' || (p[0] == '0' && p[1] >= '0' && p[1] <= '9'))
		return 0;
	for (; *p >= '0' && *p <= '9'; p++) {
		n = n * 10 + (unsigned long)(*p - '0');
		if (n > max)
			return 0;
	}
	*v = n;
	*end = p;
	return 1;
}

static uint32_t xvd_number(unsigned long disk, unsigned long part)
{
	if (disk < 16 && part < 16)
		return (202u << 8) | (uint32_t)(disk << 4) | (uint32_t)part;
	return (1u << 28) | (uint32_t)(disk << 8) | (uint32_t)part;
}

int pv_ctl_vdev_to_devid(const char *vdev, uint32_t *devid)
{
	unsigned long disk, part, v;
	const char *p;
	char *end;

	if (!vdev || !*vdev || !devid)
		return -EINVAL;
	/* The extended format holds disks up to 2^20 - 1 and partitions up to 255. */
	if (vdev_letters(vdev, "xvd", (1ul << 20) - 1, 255, &disk, &part)) {
		*devid = xvd_number(disk, part);
		return 0;
	}
	if (vdev_letters(vdev, "sd", 15, 15, &disk, &part)) {
		*devid = (8u << 8) | (uint32_t)(disk << 4) | (uint32_t)part;
		return 0;
	}
	if (vdev_letters(vdev, "hd", 3, 63, &disk, &part)) {
		if (disk < 2)
			*devid = (3u << 8) | (uint32_t)(disk << 6) | (uint32_t)part;
		else
			*devid = (22u << 8) | (uint32_t)((disk - 2) << 6) | (uint32_t)part;
		return 0;
	}
	if (vdev[0] == 'd' && plain_decimal(vdev + 1, &p, (1ul << 20) - 1, &disk)) {
		part = 0;
		if (*p == 'p' && !plain_decimal(p + 1, &p, 255, &part))
			return -EINVAL;
		if (*p)
			return -EINVAL;
		*devid = xvd_number(disk, part);
		return 0;
	}
	/* A raw number, for guests that predate the scheme; values from 2 << 28 are reserved. */
	if (vdev[0] >= '0' && vdev[0] <= '9') {
		errno = 0;
		v = strtoul(vdev, &end, 0);
		if (errno || *end || v == 0 || v >= (2ul << 28))
			return -EINVAL;
		*devid = (uint32_t)v;
		return 0;
	}
	return -EINVAL;
}

/* ---- the disk specification ------------------------------------------------------------ */

enum { P_TARGET, P_FORMAT, P_VDEV, P_ACCESS, P_NPOS };

struct spec_state {
	struct pv_ctl_disk *d;
	char *err;
	size_t errlen;
	/* Values as given, until the checks at the end; given[] detects duplicates. */
	char pos[P_NPOS][PV_CTL_TARGET_MAX];
	int given[P_NPOS];
	char devtype[16], backendtype[16], backend[16];
	int given_devtype, given_backendtype, given_backend, given_discard, given_script;
};

static int fail(struct spec_state *s, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(struct spec_state *s, int rc, const char *fmt, ...)
{
	va_list ap;

	if (s->err && s->errlen) {
		va_start(ap, fmt);
		vsnprintf(s->err, s->errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

static int copy_value(struct spec_state *s, char *dst, size_t dstsz, const char *v, size_t n,
		      const char *what)
{
	if (n >= dstsz)
		return fail(s, -EINVAL, "%s is too long", what);
	memcpy(dst, v, n);
	dst[n] = '\0';
	return 0;
}

static const char *const pos_names[P_NPOS] = { "target", "format", "vdev", "access" };

static int set_pos(struct spec_state *s, int which, const char *v, size_t n)
{
	/* target= may follow an empty positional target (xl allows exactly that). */
	if (s->given[which] && !(which == P_TARGET && !s->pos[P_TARGET][0]))
		return fail(s, -EINVAL, "%s given twice", pos_names[which]);
	s->given[which] = 1;
	return copy_value(s, s->pos[which], sizeof(s->pos[which]), v, n, pos_names[which]);
}

static int is_format_word(const char *v, size_t n)
{
	static const char *const words[] = { "raw", "qcow", "qcow2", "vhd", "qed", "empty" };
	size_t i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strlen(words[i]) == n && !strncmp(v, words[i], n))
			return 1;
	return 0;
}

/* "xvdb", or the deprecated "xvdb:cdrom" / "hdc:disk". */
static int looks_like_vdev(const char *v, size_t n)
{
	char buf[PV_CTL_VDEV_MAX];
	const char *colon = memchr(v, ':', n);
	uint32_t devid;

	if (colon)
		n = (size_t)(colon - v);
	if (n == 0 || n >= sizeof(buf))
		return 0;
	memcpy(buf, v, n);
	buf[n] = '\0';
	return pv_ctl_vdev_to_devid(buf, &devid) == 0;
}

/*
 * Deprecated prefixes of a positional target (xl-disk-configuration(5)): format prefixes
 * set the format, script prefixes a script, the rest are stripped and ignored.
 */
static int strip_prefixes(struct spec_state *s, const char **v, size_t *n)
{
	static const char *const formats[] = { "raw", "qcow", "qcow2", "vhd", "qed" };
	static const char *const scripts[] = { "iscsi", "nbd", "enbd", "drbd" };
	static const char *const ignored[] = { "tapdisk", "tap2", "tap", "aio", "ioemu", "file",
					      "phy" };
	const char *colon;
	size_t len, i;
	int rc, hit;

	for (;;) {
		colon = memchr(*v, ':', *n);
		if (!colon)
			return 0;
		len = (size_t)(colon - *v);
		hit = 0;
		for (i = 0; !hit && i < sizeof(formats) / sizeof(formats[0]); i++)
			if (strlen(formats[i]) == len && !strncmp(*v, formats[i], len)) {
				rc = set_pos(s, P_FORMAT, *v, len);
				if (rc < 0)
					return rc;
				hit = 1;
			}
		for (i = 0; !hit && i < sizeof(scripts) / sizeof(scripts[0]); i++)
			if (strlen(scripts[i]) == len && !strncmp(*v, scripts[i], len)) {
				s->given_script = 1;
				hit = 1;
			}
		for (i = 0; !hit && i < sizeof(ignored) / sizeof(ignored[0]); i++)
			if (strlen(ignored[i]) == len && !strncmp(*v, ignored[i], len))
				hit = 1;
		if (!hit)
			return 0; /* a colon that belongs to the path */
		s->d->deprecated = 1;
		*n -= len + 1;
		*v = colon + 1;
	}
}

static int positional(struct spec_state *s, const char *v, size_t n)
{
	int which, rc;

	for (which = 0; which < P_NPOS && s->given[which]; which++)
		;
	if (which == P_NPOS)
		return fail(s, -EINVAL, "too many positional parameters ('%.*s')", (int)n, v);
	if (which == P_TARGET) {
		/* "raw:/path,xvdb,w": a format prefix fills the format slot. */
		rc = strip_prefixes(s, &v, &n);
		if (rc < 0)
			return rc;
	}
	if (which == P_FORMAT && n && !is_format_word(v, n) && looks_like_vdev(v, n)) {
		/* The deprecated "<target>,<vdev>,<access>": no format slot. */
		s->d->deprecated = 1;
		s->given[P_FORMAT] = 1;
		which = P_VDEV;
	}
	return set_pos(s, which, v, n);
}

static int keyword(struct spec_state *s, const char *k, size_t kn, const char *v, size_t vn)
{
#define KEY(name) (kn == sizeof(name) - 1 && !strncmp(k, name, kn))
	if (KEY("format"))
		return set_pos(s, P_FORMAT, v, vn);
	if (KEY("vdev"))
		return set_pos(s, P_VDEV, v, vn);
	if (KEY("access") || KEY("mode"))
		return set_pos(s, P_ACCESS, v, vn);
	if (KEY("devtype")) {
		if (s->given_devtype)
			return fail(s, -EINVAL, "devtype given twice");
		s->given_devtype = 1;
		return copy_value(s, s->devtype, sizeof(s->devtype), v, vn, "devtype");
	}
	if (KEY("backendtype")) {
		if (s->given_backendtype)
			return fail(s, -EINVAL, "backendtype given twice");
		s->given_backendtype = 1;
		return copy_value(s, s->backendtype, sizeof(s->backendtype), v, vn,
				  "backendtype");
	}
	if (KEY("backend")) {
		if (s->given_backend)
			return fail(s, -EINVAL, "backend given twice");
		s->given_backend = 1;
		return copy_value(s, s->backend, sizeof(s->backend), v, vn, "backend");
	}
	if (KEY("script")) {
		if (s->given_script)
			return fail(s, -EINVAL, "script given twice");
		s->given_script = 1;
		return 0;
	}
	if (KEY("colo-host") || KEY("colo-port") || KEY("colo-export") || KEY("active-disk") ||
	    KEY("hidden-disk"))
		return fail(s, -ENOTSUP, "COLO (%.*s=) is not supported", (int)kn, k);
#undef KEY
	return fail(s, -EINVAL, "unknown key '%.*s'", (int)kn, k);
}

static int flag(struct spec_state *s, const char *f, size_t n)
{
#define FLAG(name) (n == sizeof(name) - 1 && !strncmp(f, name, n))
	if (FLAG("cdrom")) {
		if (s->given_devtype)
			return fail(s, -EINVAL, "devtype given twice");
		s->given_devtype = 1;
		strcpy(s->devtype, "cdrom");
		return 1;
	}
	if (FLAG("discard") || FLAG("no-discard")) {
		if (s->given_discard)
			return fail(s, -EINVAL, "discard given twice");
		s->given_discard = 1;
		s->d->discard = FLAG("discard");
		return 1;
	}
	if (FLAG("direct-io-safe")) {
		/* libxl's backend node: pvio-backd (--cache auto) and qdisk then use O_DIRECT. */
		if (s->d->direct_io_safe)
			return fail(s, -EINVAL, "direct-io-safe given twice");
		s->d->direct_io_safe = 1;
		return 1;
	}
	if (FLAG("colo"))
		return fail(s, -ENOTSUP, "COLO (colo) is not supported");
#undef FLAG
	return 0;
}

/* Checks and applies defaults once every parameter is known. */
static int finish(struct spec_state *s)
{
	struct pv_ctl_disk *d = s->d;
	const char *v;
	char *end;
	unsigned long id;
	size_t n;

	v = s->pos[P_VDEV];
	if (!*v && strstr(s->pos[P_TARGET], "vdev="))
		/* target= takes the rest of the line, commas and all (xl-disk-configuration(5)) */
		return fail(s, -EINVAL, "vdev is missing: target= must come last, it takes the "
			    "rest of the spec (here it took '%s')", s->pos[P_TARGET]);
	if (!*v)
		return fail(s, -EINVAL, "vdev is missing");
	if (strlen(v) >= sizeof(d->vdev) || pv_ctl_vdev_to_devid(v, &d->devid) < 0)
		return fail(s, -EINVAL,
			    "bad vdev '%s' (expected xvd<letters>[<partition>], hd*, sd*, "
			    "d<disk>[p<part>] or a number)", v);
	strcpy(d->vdev, v);

	if (!s->devtype[0] || !strcmp(s->devtype, "disk"))
		d->cdrom = 0;
	else if (!strcmp(s->devtype, "cdrom"))
		d->cdrom = 1;
	else
		return fail(s, -EINVAL, "bad devtype '%s' (expected disk or cdrom)", s->devtype);

	v = s->pos[P_FORMAT];
	if (!*v || !strcmp(v, "raw"))
		strcpy(d->format, "raw");
	else if (is_format_word(v, strlen(v)))
		return fail(s, -ENOTSUP, "format %s is not supported: pvio-backd serves raw images only",
			    v);
	else
		return fail(s, -EINVAL, "unknown format '%s' (pvio serves raw)", v);

	v = s->pos[P_ACCESS];
	if (!*v)
		d->readonly = d->cdrom; /* xl: rw, except r for a cdrom */
	else if (!strcmp(v, "r") || !strcmp(v, "ro"))
		d->readonly = 1;
	else if (!strcmp(v, "w") || !strcmp(v, "rw"))
		d->readonly = 0;
	else if (!strcmp(v, "w!") || !strcmp(v, "rw!"))
		d->shared = 1; /* Xen's block script: "w!" skips the sharing check */
	else
		return fail(s, -EINVAL, "bad access '%s' (expected r, ro, rw, w, or w! to share "
			    "a writable image)", v);

	v = s->backendtype;
	if (!*v || !strcmp(v, "phy") || !strcmp(v, "pvio") || !strcmp(v, "qdisk"))
		strcpy(d->backendtype, *v ? v : "phy");
	else if (!strcmp(v, "tap") || !strcmp(v, "standalone"))
		return fail(s, -ENOTSUP, "backendtype %s is not supported (phy, pvio or qdisk)", v);
	else
		return fail(s, -EINVAL, "unknown backendtype '%s' (phy, pvio or qdisk)", v);

	d->backend_domid = -1;
	if (s->backend[0]) {
		errno = 0;
		id = strtoul(s->backend, &end, 10);
		if (errno || *end || !isdigit((unsigned char)s->backend[0]) || id >= 0x7FF0)
			return fail(s, -EINVAL,
				    "backend=%s: give the backend's domain id (pvio-ctl has no domain names)",
				    s->backend);
		d->backend_domid = (int)id;
	}
	d->has_script = s->given_script;

	v = s->pos[P_TARGET];
	if (!*v) {
		if (!d->cdrom)
			return fail(s, -EINVAL, "target is missing");
		d->target[0] = '\0'; /* an empty cdrom drive */
	} else if (!strncmp(v, "null:", 5)) {
		/*
		 * pvio-backd's null driver (pv_blkback_io.c): "null:" is 1 GiB, "null:<sectors>"
		 * that many 512-byte sectors.  Kept as it is, not a path under /dev.
		 */
		for (n = 5; v[n] >= '0' && v[n] <= '9' && n < 5 + 15; n++)
			;
		if (v[n] || (v[5] && (v[5] == '0' || strtoull(v + 5, NULL, 10) >= (1ull << 50))))
			return fail(s, -EINVAL,
				    "bad null target '%s' (expected null: or null:<sectors>, "
				    "sectors 1..2^50-1 with no leading zero)", v);
		strcpy(d->target, v); /* same size buffers */
		d->null_disk = 1;
	} else if (*v == '/' || d->has_script) {
		/* With a script the target is the script's argument, not a path. */
		strcpy(d->target, v); /* same size buffers */
	} else {
		/* xl: "/dev will be prepended if the path doesn't start with a '/'". */
		if (strlen(v) + 5 >= sizeof(d->target))
			return fail(s, -EINVAL, "target is too long");
		memcpy(d->target, "/dev/", 5);
		strcpy(d->target + 5, v); /* length checked above */
	}
	return 0;
}

/* Strips a deprecated ":cdrom" / ":disk" from the vdev (xend's "hdc:cdrom"). */
static int vdev_devtype_suffix(struct spec_state *s)
{
	char *colon = strchr(s->pos[P_VDEV], ':');

	if (!colon)
		return 0;
	if (strcmp(colon + 1, "cdrom") && strcmp(colon + 1, "disk"))
		return fail(s, -EINVAL, "bad vdev '%s'", s->pos[P_VDEV]);
	if (s->given_devtype && strcmp(s->devtype, colon + 1))
		return fail(s, -EINVAL, "devtype given twice");
	strcpy(s->devtype, colon + 1);
	s->given_devtype = 1;
	s->d->deprecated = 1;
	*colon = '\0';
	return 0;
}

int pv_ctl_disk_parse(const char *spec, struct pv_ctl_disk *d, char *err, size_t errlen)
{
	struct spec_state *s;
	const char *p, *tok, *eq;
	size_t n;
	int rc = 0, any = 0;

	if (err && errlen)
		err[0] = '\0';
	if (!spec || !d)
		return -EINVAL;
	/* Four 4 KiB slots: too big for a comfortable stack frame in a library. */
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	memset(d, 0, sizeof(*d));
	d->discard = 1;
	d->backend_domid = -1;
	s->d = d;
	s->err = err;
	s->errlen = errlen;

	for (p = spec; *p && rc >= 0;) {
		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		if (!*p)
			break;
		if (!strncmp(p, "target=", 7)) {
			/* Consumes the rest, commas and all: the only way to name such a path. */
			rc = set_pos(s, P_TARGET, p + 7, strlen(p + 7));
			any = 1;
			break;
		}
		tok = p;
		n = strcspn(p, ",");
		p += n;
		if (*p == ',')
			p++;
		while (n && (tok[n - 1] == ' ' || tok[n - 1] == '\t' || tok[n - 1] == '\n'))
			n--;
		any = 1;
		eq = memchr(tok, '=', n);
		if (eq) {
			if (eq == tok) {
				rc = fail(s, -EINVAL, "'%.*s': a key is missing before '='", (int)n, tok);
				break;
			}
			rc = keyword(s, tok, (size_t)(eq - tok), eq + 1, n - (size_t)(eq - tok) - 1);
			continue;
		}
		rc = flag(s, tok, n);
		if (rc != 0)
			continue;
		rc = positional(s, tok, n);
	}
	if (rc >= 0 && !any)
		rc = fail(s, -EINVAL, "empty disk specification");
	if (rc >= 0)
		rc = vdev_devtype_suffix(s);
	if (rc >= 0)
		rc = finish(s);
	free(s);
	return rc < 0 ? rc : 0;
}
