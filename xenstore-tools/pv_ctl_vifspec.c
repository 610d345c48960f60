/* SPDX-License-Identifier: MIT */
/*
 * pv_ctl_vifspec.c - xl's vif specification syntax.  See pv_ctl_vifspec.h; the keys and
 * their meaning follow xl-network-configuration(5), the rate syntax libxlu's vif parser.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "pv_ctl_vifspec.h"

/* Where libxl looks for a script named without a path (libxl__xen_script_dir_path()). */
#define XEN_SCRIPT_DIR "/etc/xen/scripts"

enum {
	SEEN_MAC = 1 << 0, SEEN_BRIDGE = 1 << 1, SEEN_IP = 1 << 2, SEEN_RATE = 1 << 3,
	SEEN_BACKEND = 1 << 4, SEEN_TYPE = 1 << 5, SEEN_SCRIPT = 1 << 6, SEEN_VIFNAME = 1 << 7,
	SEEN_MODEL = 1 << 8, SEEN_DEVID = 1 << 9, SEEN_ACCEL = 1 << 10,
};

void pv_ctl_vif_init(struct pv_ctl_vif *v)
{
	memset(v, 0, sizeof(*v));
	v->backend_domid = -1;
	v->devid = -1;
}

static void seterr(char *err, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!err || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

/*
 * A command-line value fit to quote in a one-line message: at most 40 characters (then
 * "..."), anything but printable ASCII shown as '?'.
 */
static const char *quote(const char *s, size_t n, char *buf, size_t len)
{
	size_t i, o = 0;

	for (i = 0; i < n && s[i] && o + 4 < len; i++) {
		if (o == 40) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		buf[o++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	}
	buf[o] = '\0';
	return buf;
}

/* ---- MAC ----------------------------------------------------------------------------- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The syntax alone: 0 and the bytes, or -EINVAL. */
static int mac_syntax(const char *s, uint8_t m[6])
{
	int i, h, l;

	for (i = 0; i < 6; i++) {
		h = hexval(*s);
		if (h < 0)
			return -EINVAL;
		s++;
		l = hexval(*s);
		if (l >= 0) {
			h = h * 16 + l;
			s++;
		}
		m[i] = (uint8_t)h;
		if (i < 5 && *s++ != ':')
			return -EINVAL;
	}
	return *s ? -EINVAL : 0;
}

int pv_ctl_mac_parse(const char *s, uint8_t mac[6])
{
	uint8_t m[6];

	if (!s || mac_syntax(s, m) < 0)
		return -EINVAL;
	/* Linux's netfront takes only what is_valid_ether_addr() takes. */
	if (m[0] & 1)
		return -EINVAL;
	if (!(m[0] | m[1] | m[2] | m[3] | m[4] | m[5]))
		return -EINVAL;
	memcpy(mac, m, 6);
	return 0;
}

void pv_ctl_mac_format(const uint8_t mac[6], char *buf, size_t len)
{
	snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
		 mac[4], mac[5]);
}

int pv_ctl_vif_finish(struct pv_ctl_vif *v)
{
	uint8_t r[3];
	ssize_t n;

	if (v->mac_given)
		return 0;
	do
		n = getrandom(r, sizeof(r), 0);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(r))
		return n < 0 ? -errno : -EIO;
	/* Xen's OUI, and the top bit of the fourth byte clear, as libxl's default. */
	v->mac[0] = 0x00;
	v->mac[1] = 0x16;
	v->mac[2] = 0x3e;
	v->mac[3] = r[0] & 0x7f;
	v->mac[4] = r[1];
	v->mac[5] = r[2];
	v->mac_given = 1;
	return 0;
}

/* ---- rate ---------------------------------------------------------------------------- */

/*
 * Decimal digits, no leading zero, value 1..UINT32_MAX (libxlu's bounds).  libxlu reads the
 * number with strtoull(..., 0), so "010" would be octal there: pvio refuses a leading zero
 * rather than guess which the administrator meant.  Returns the end, or NULL.
 */
static const char *rate_number(const char *s, uint64_t *v, int *overflow)
{
	uint64_t n = 0;

	*overflow = 0;
	if (*s < '1' || *s > '9')
		return NULL;
	for (; *s >= '0' && *s <= '9'; s++) {
		n = n * 10 + (uint64_t)(*s - '0');
		if (n > UINT32_MAX) {
			*overflow = 1;
			return NULL;
		}
	}
	*v = n;
	return s;
}

int pv_ctl_vif_parse_rate(const char *s, uint64_t *bytes, uint32_t *usecs, char *err,
			  size_t errlen)
{
	uint64_t bps, iv = PV_CTL_VIF_RATE_USECS_DEFAULT, per;
	const char *p, *at;
	char q[64];
	int ovf;

	at = strchr(s, '@');
	if (s[0] == '\0' || at == s) {
		seterr(err, errlen, "no rate specified in `%s'", quote(s, strlen(s), q, sizeof(q)));
		return -EINVAL;
	}
	/* <n>[GMK](B|b)/s */
	p = rate_number(s, &bps, &ovf);
	if (!p) {
		seterr(err, errlen, "%s in `%s'", ovf ? "rate overflow" : "invalid rate",
		       quote(s, strlen(s), q, sizeof(q)));
		return ovf ? -EOVERFLOW : -EINVAL;
	}
	if (*p == 'G')
		bps *= 1000ull * 1000 * 1000;
	else if (*p == 'M')
		bps *= 1000ull * 1000;
	else if (*p == 'K')
		bps *= 1000ull;
	if (*p == 'G' || *p == 'M' || *p == 'K')
		p++;
	if ((*p != 'B' && *p != 'b') || p[1] != '/' || p[2] != 's' || (p[3] && p[3] != '@')) {
		seterr(err, errlen, "invalid rate in `%s'", quote(s, strlen(s), q, sizeof(q)));
		return -EINVAL;
	}
	if (*p == 'b')
		bps /= 8;
	p += 3;
	if (*p == '@') {
		/* <n>[m|u][s]: a bare number or "s" is seconds, "m" milli, "u" micro. */
		const char *e = rate_number(p + 1, &iv, &ovf);
		uint64_t mult = 1000000;

		if (e && (*e == 'm' || *e == 'u')) {
			mult = *e == 'm' ? 1000 : 1;
			e++;
		}
		if (e && *e == 's')
			e++;
		if (!e || *e) {
			seterr(err, errlen, "%s in `%s'",
			       ovf ? "replenishment interval overflow" : "invalid replenishment interval",
			       quote(p + 1, strlen(p + 1), q, sizeof(q)));
			return ovf ? -EOVERFLOW : -EINVAL;
		}
		iv *= mult;
		if (iv > UINT32_MAX) {
			seterr(err, errlen, "replenishment interval overflow in `%s'",
			       quote(p + 1, strlen(p + 1), q, sizeof(q)));
			return -EOVERFLOW;
		}
	}
	/* bps < 2^32 * 10^9 < 2^62 and iv < 2^32: the product can still overflow 64 bits. */
	if (bps > UINT64_MAX / iv) {
		seterr(err, errlen, "rate overflow in `%s'", quote(s, strlen(s), q, sizeof(q)));
		return -EOVERFLOW;
	}
	per = bps * iv / 1000000;
	/*
	 * libxl writes "0,<usecs>" for a rate below one byte per interval, and netback then
	 * never sends a packet: refuse it instead of attaching a dead vif.
	 */
	if (per == 0) {
		seterr(err, errlen, "rate too low in `%s': less than one byte per interval",
		       quote(s, strlen(s), q, sizeof(q)));
		return -EINVAL;
	}
	*bytes = per;
	*usecs = (uint32_t)iv;
	return 0;
}

/* ---- the other values ---------------------------------------------------------------- */

/*
 * An interface name: Linux's dev_valid_name() (1-15 bytes, not "." or "..") and, stricter,
 * letters, digits, '_', '-' and '.' only: Xen's vif scripts hand the name to a shell, and
 * pvio's netback to ip(8) and its logs.
 */
static int valid_ifname(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n >= PV_CTL_IFNAME_MAX || !strcmp(s, ".") || !strcmp(s, ".."))
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.'))
			return 0;
	}
	return 1;
}

/* Space-separated IPv4 or IPv6 addresses, each with an optional /prefix. */
static int valid_ips(const char *s)
{
	char word[INET6_ADDRSTRLEN + 8], *slash;
	unsigned char addr[16];
	size_t n;
	int af, any = 0;

	for (;;) {
		while (*s == ' ')
			s++;
		if (!*s)
			return any;
		n = strcspn(s, " ");
		if (n >= sizeof(word))
			return 0;
		memcpy(word, s, n);
		word[n] = '\0';
		s += n;
		slash = strchr(word, '/');
		if (slash)
			*slash++ = '\0';
		af = strchr(word, ':') ? AF_INET6 : AF_INET;
		if (inet_pton(af, word, addr) != 1)
			return 0;
		if (slash) {
			char *end;
			unsigned long len;

			if (*slash < '0' || *slash > '9')
				return 0;
			len = strtoul(slash, &end, 10);
			if (*end || len > (af == AF_INET6 ? 128u : 32u) || end - slash > 3)
				return 0;
		}
		any = 1;
	}
}

static int printable(const char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s >= 0x7f)
			return 0;
	return 1;
}

/* Decimal, no sign, no leading zero, at most max. */
static int parse_dec(const char *s, unsigned long max, unsigned long *v)
{
	unsigned long n = 0;

	if (*s < '0' || *s > '9' || (s[0] == '0' && s[1]))
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		n = n * 10 + (unsigned long)(*s - '0');
		if (n > max)
			return -EINVAL;
	}
	*v = n;
	return 0;
}

/* Keys xl knows that pvio does not do; refused with -ENOTSUP rather than ignored. */
static const char *const unsupported[] = {
	"gatewaydev", "netdev", "mtu", "vlan", "forwarddev", "trusted", "untrusted",
};

static const struct {
	const char *name;
	unsigned int bit;
} keys[] = {
	{ "mac", SEEN_MAC }, { "bridge", SEEN_BRIDGE }, { "ip", SEEN_IP }, { "rate", SEEN_RATE },
	{ "backend", SEEN_BACKEND }, { "type", SEEN_TYPE }, { "script", SEEN_SCRIPT },
	{ "vifname", SEEN_VIFNAME }, { "model", SEEN_MODEL }, { "devid", SEEN_DEVID },
	{ "accel", SEEN_ACCEL },
};

/* Copies val into a fixed field; 0, or -EINVAL when it does not fit. */
static int copy_val(char *dst, size_t len, const char *val)
{
	size_t n = strlen(val);

	if (n >= len)
		return -EINVAL;
	memcpy(dst, val, n + 1);
	return 0;
}

static int parse_item(char *item, struct pv_ctl_vif *v, char *err, size_t errlen)
{
	char *val = strchr(item, '='), q[64];
	const char *key = item;
	unsigned int bit = 0;
	unsigned long n;
	size_t i;
	int rc;

	if (!val) {
		seterr(err, errlen, "unrecognized argument `%s'", quote(item, strlen(item), q, sizeof(q)));
		return -EINVAL;
	}
	*val++ = '\0';

	for (i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++) {
		if (!strcmp(key, unsupported[i])) {
			seterr(err, errlen, "`%s' is not supported by pvio's netback", key);
			return -ENOTSUP;
		}
	}
	if (!strncmp(key, "colo_", 5)) {
		seterr(err, errlen, "COLO (`%s') is not supported by pvio's netback",
		       quote(key, strlen(key), q, sizeof(q)));
		return -ENOTSUP;
	}

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strcmp(key, keys[i].name))
			bit = keys[i].bit;
	/* Checked first: a second value must not overwrite the first on its way to the error. */
	if (v->seen & bit) {
		seterr(err, errlen, "`%s' given twice", key);
		return -EINVAL;
	}
	if (!strcmp(key, "mac")) {
		rc = pv_ctl_mac_parse(val, v->mac);
		if (rc < 0) {
			const char *why = "not a MAC address (e.g. 00:16:3e:12:34:56)";
			uint8_t m[6];

			/* Say which rule failed when the syntax itself was fine. */
			if (mac_syntax(val, m) == 0)
				why = (m[0] & 1) ? "a multicast address (the low bit of the first byte "
						   "is set)" : "all zeros";
			seterr(err, errlen, "invalid parameter `mac': `%s' is %s",
			       quote(val, strlen(val), q, sizeof(q)), why);
			return -EINVAL;
		}
		v->mac_given = 1;
	} else if (!strcmp(key, "bridge")) {
		if (!valid_ifname(val) || copy_val(v->bridge, sizeof(v->bridge), val)) {
			seterr(err, errlen, "invalid parameter `bridge': `%s' is not an interface name "
			       "(1-15 letters, digits, '_', '-', '.')",
			       quote(val, strlen(val), q, sizeof(q)));
			return -EINVAL;
		}
	} else if (!strcmp(key, "vifname")) {
		if (!valid_ifname(val) || copy_val(v->vifname, sizeof(v->vifname), val)) {
			seterr(err, errlen, "invalid parameter `vifname': `%s' is not an interface name "
			       "(1-15 letters, digits, '_', '-', '.')",
			       quote(val, strlen(val), q, sizeof(q)));
			return -EINVAL;
		}
	} else if (!strcmp(key, "ip")) {
		if (!valid_ips(val) || copy_val(v->ip, sizeof(v->ip), val)) {
			seterr(err, errlen, "invalid parameter `ip': `%s' is not a list of IP addresses",
			       quote(val, strlen(val), q, sizeof(q)));
			return -EINVAL;
		}
	} else if (!strcmp(key, "rate")) {
		char why[160];

		rc = pv_ctl_vif_parse_rate(val, &v->rate_bytes, &v->rate_usecs, why, sizeof(why));
		if (rc < 0) {
			seterr(err, errlen, "invalid parameter `rate': %s", why);
			return -EINVAL;
		}
	} else if (!strcmp(key, "backend")) {
		if (parse_dec(val, 0x7FEF, &n) < 0) {
			seterr(err, errlen, "invalid parameter `backend': `%s' is not a domain id "
			       "(pvio names domains by number)", quote(val, strlen(val), q, sizeof(q)));
			return -EINVAL;
		}
		v->backend_domid = (int)n;
	} else if (!strcmp(key, "type")) {
		if (!strcmp(val, "ioemu")) {
			seterr(err, errlen, "type=ioemu is an emulated NIC (qemu, HVM): pvio serves "
			       "PV vifs only, use type=vif");
			return -ENOTSUP;
		}
		if (strcmp(val, "vif")) {
			seterr(err, errlen, "invalid parameter `type': `%s' (expected vif)",
			       quote(val, strlen(val), q, sizeof(q)));
			return -EINVAL;
		}
	} else if (!strcmp(key, "script")) {
		int w;

		if (!val[0] || !printable(val))
			w = -1;
		else if (val[0] == '/')
			w = snprintf(v->script, sizeof(v->script), "%s", val);
		else /* as libxl__abs_path() */
			w = snprintf(v->script, sizeof(v->script), "%s/%s", XEN_SCRIPT_DIR, val);
		if (w < 0 || (size_t)w >= sizeof(v->script)) {
			v->script[0] = '\0';
			seterr(err, errlen, "invalid parameter `script': `%s' (a path of printable "
			       "characters, shorter than %d)", quote(val, strlen(val), q, sizeof(q)),
			       PV_CTL_VIF_SCRIPT_MAX - (int)sizeof(XEN_SCRIPT_DIR));
			return -EINVAL;
		}
	} else if (!strcmp(key, "model")) {
		/* An emulated NIC's model: libxl ignores it for a PV vif, and so does pvio. */
		v->has_model = 1;
	} else if (!strcmp(key, "accel")) {
		v->has_accel = 1; /* xl: "not supported", and carries on */
	} else if (!strcmp(key, "devid")) {
		if (parse_dec(val, PV_CTL_VIF_DEVID_MAX, &n) < 0) {
			seterr(err, errlen, "invalid parameter `devid': `%s' (0 to %d)",
			       quote(val, strlen(val), q, sizeof(q)), PV_CTL_VIF_DEVID_MAX);
			return -EINVAL;
		}
		v->devid = (long)n;
	} else {
		val[-1] = '=';
		seterr(err, errlen, "unrecognized argument `%s'", quote(item, strlen(item), q, sizeof(q)));
		return -EINVAL;
	}
	v->seen |= bit;
	return 0;
}

int pv_ctl_vif_parse(const char *spec, struct pv_ctl_vif *v, char *err, size_t errlen)
{
	char *copy, *item, *save = NULL;
	size_t n;
	int rc = 0, any = 0;

	if (err && errlen)
		err[0] = '\0';
	if (!spec || !v) {
		seterr(err, errlen, "no vif specification");
		return -EINVAL;
	}
	n = strnlen(spec, PV_CTL_VIF_SPEC_MAX + 1);
	if (n > PV_CTL_VIF_SPEC_MAX) {
		seterr(err, errlen, "vif specification too long (more than %d characters)",
		       PV_CTL_VIF_SPEC_MAX);
		return -EINVAL;
	}
	copy = malloc(n + 1);
	if (!copy) {
		seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	memcpy(copy, spec, n + 1);
	/* xl: strtok on ',' (so empty items vanish), leading spaces skipped. */
	for (item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		while (*item == ' ')
			item++;
		if (!*item)
			continue;
		rc = parse_item(item, v, err, errlen);
		if (rc < 0)
			break;
		any = 1;
	}
	free(copy);
	if (rc == 0 && !any && !v->seen) {
		/* An empty argument is a slip, not a request for every default. */
		seterr(err, errlen, "empty vif specification");
		rc = -EINVAL;
	}
	return rc;
}
