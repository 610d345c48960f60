/* SPDX-License-Identifier: MIT */
/*
 * pv_ctl_backd.c - the client of pvio-backd's control socket.  See pv_ctl_backd.h.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "pv_backd_ctl.h"
#include "pv_ctl_backd.h"

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int pv_ctl_backd_socket(const char *spec, char *buf, size_t len)
{
	const char *rundir, *colon;
	size_t n;

	if (!spec)
		spec = getenv("PVIO_PLATFORM");
	if (!spec || !strcmp(spec, "xen")) {
		n = (size_t)snprintf(buf, len, "%s", PV_BACKD_CTL_XEN_PATH);
		return n < len ? 0 : -ENAMETOOLONG;
	}
	if (strncmp(spec, "sim:", 4))
		return -EINVAL;
	/* sim:<rundir>:<domid>; the rundir may itself contain colons, the domid not. */
	rundir = spec + 4;
	colon = strrchr(rundir, ':');
	if (!colon || colon == rundir)
		return -EINVAL;
	n = (size_t)snprintf(buf, len, "%.*s/%s", (int)(colon - rundir), rundir,
			     PV_BACKD_CTL_SIM_NAME);
	return n < len ? 0 : -ENAMETOOLONG;
}

int pv_ctl_backd_query(const char *sock_path, const char *request, int timeout_ms, char **reply)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	long long deadline = now_ms() + timeout_ms;
	size_t used = 0, cap = 256, reqlen = strlen(request), off = 0;
	struct pollfd pfd;
	char *buf, *nl;
	ssize_t r;
	int fd, rc;

	*reply = NULL;
	if (strlen(sock_path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, sock_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	while (off < reqlen) {
		r = send(fd, request + off, reqlen - off, MSG_NOSIGNAL);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			close(fd);
			return rc;
		}
		off += (size_t)r;
	}
	buf = malloc(cap);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		long long left = deadline - now_ms();

		if (left <= 0) {
			rc = -ETIMEDOUT;
			goto out;
		}
		pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
		rc = poll(&pfd, 1, (int)left);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0) {
			rc = -errno;
			goto out;
		}
		if (rc == 0)
			continue;
		if (used + 1 == cap) {
			/* The daemon's "list" can be long, but not unbounded. */
			char *nb = cap >= (1u << 24) ? NULL : realloc(buf, cap * 2);

			if (!nb) {
				rc = -E2BIG;
				goto out;
			}
			buf = nb;
			cap *= 2;
		}
		r = recv(fd, buf + used, cap - used - 1, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			goto out;
		}
		used += (size_t)r;
		buf[used] = '\0';
		nl = memchr(buf, '\n', used);
		if (nl || r == 0) {
			if (nl)
				*nl = '\0';
			if (!nl && used == 0) {
				rc = -ECONNRESET; /* closed without an answer */
				goto out;
			}
			*reply = buf;
			close(fd);
			return 0;
		}
	}
out:
	free(buf);
	close(fd);
	return rc;
}

int pv_ctl_backd_absent(int rc)
{
	return rc == -ENOENT || rc == -ECONNREFUSED || rc == -ENOTDIR;
}

/* ---- replies --------------------------------------------------------------------------- */

static const char *skip_ws(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* Scans a JSON string starting at its '"'; returns the character after it, NULL if bad. */
static const char *scan_string(const char *s, char *out, size_t len)
{
	size_t o = 0;

	if (*s++ != '"')
		return NULL;
	for (; *s && *s != '"'; s++) {
		char c = *s;

		if (c == '\\') {
			s++;
			if (!*s)
				return NULL;
			c = *s == 'n' ? ' ' : *s == 't' ? ' ' : *s == 'u' ? '?' : *s;
			if (*s == 'u') {
				if (strlen(s) < 5)
					return NULL;
				s += 4;
			}
		}
		if (o + 1 < len)
			out[o++] = c;
	}
	if (*s != '"')
		return NULL;
	out[o] = '\0';
	return s + 1;
}

/*
 * One "name  value" line.  A XenBus state is shown by its name, the number after it; the
 * daemon's own "state_name" would only repeat it (it is there for --json readers).
 */
static void print_member(const char *key, const char *val)
{
	char *end;
	long st;

	if (!strcmp(key, "state_name"))
		return;
	if (!strcmp(key, "state")) {
		st = strtol(val, &end, 10);
		if (end != val && !*end) {
			printf("%-20s %s (%ld)\n", key, pv_backd_state_name((int)st), st);
			return;
		}
	}
	printf("%-20s %s\n", key, val);
}

int pv_ctl_backd_print_flat(const char *s)
{
	char key[64], val[512];
	size_t n;

	s = skip_ws(s);
	if (*s++ != '{')
		return -EINVAL;
	s = skip_ws(s);
	if (*s == '}')
		return 0;
	for (;;) {
		s = scan_string(skip_ws(s), key, sizeof(key));
		if (!s)
			return -EINVAL;
		s = skip_ws(s);
		if (*s++ != ':')
			return -EINVAL;
		s = skip_ws(s);
		if (*s == '"') {
			s = scan_string(s, val, sizeof(val));
			if (!s)
				return -EINVAL;
		} else if (*s == '[') {
			/* A flat list of numbers (a queue's each): shown as "1,2". */
			n = strcspn(++s, "]");
			if (n >= sizeof(val) || s[n] != ']' || memchr(s, '"', n) ||
			    memchr(s, '[', n) || memchr(s, '{', n))
				return -EINVAL;
			memcpy(val, s, n);
			val[n] = '\0';
			s += n + 1;
		} else {
			n = strcspn(s, ",} \t");
			if (n == 0 || n >= sizeof(val) || *s == '{')
				return -EINVAL;
			memcpy(val, s, n);
			val[n] = '\0';
			s += n;
		}
		print_member(key, val);
		s = skip_ws(s);
		if (*s == '}')
			return 0;
		if (*s++ != ',')
			return -EINVAL;
	}
}

int pv_ctl_backd_error(const char *reply, char *err, size_t len)
{
	const char *e;

	if (strncmp(skip_ws(reply), "{\"error\"", 8))
		return 0;
	e = strchr(reply, ':');
	if (!e || !scan_string(skip_ws(e + 1), err, len))
		snprintf(err, len, "%s", reply);
	return 1;
}
