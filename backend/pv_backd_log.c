/* SPDX-License-Identifier: MIT */
/*
 * pv_backd_log.c - pvio-backd's logging: stderr, syslog or a file; a level, a component
 * prefix, and a token bucket for whatever a guest can provoke (a guest must not be able to
 * fill dom0's logs by sending bad requests).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "pv_backd.h"

enum pv_backd_level pv_backd_log_level = PV_LOG_INFO;

static const char *const names[] = { "error", "warn", "info", "debug" };

int pv_backd_log_parse(const char *s, enum pv_backd_level *out)
{
	unsigned int i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (enum pv_backd_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

uint64_t pv_backd_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

size_t pv_backd_str_clean(char *dst, size_t len, const char *src, size_t max)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, i;

	if (!len)
		return 0;
	for (i = 0; src[i] && i < max; i++) {
		unsigned char c = (unsigned char)src[i];
		size_t need = c >= 0x20 && c < 0x7f && c != '\\' ? 1 : 4;

		if (o + need + 4 > len) { /* keep room for "..." and the NUL */
			if (o + 4 <= len) {
				memcpy(dst + o, "...", 3);
				o += 3;
			}
			break;
		}
		if (need == 1) {
			dst[o++] = (char)c;
			continue;
		}
		dst[o++] = '\\';
		dst[o++] = 'x';
		dst[o++] = hex[c >> 4];
		dst[o++] = hex[c & 15];
	}
	if (src[i] && i == max && o + 4 <= len) {
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o] = 0;
	return o;
}

void pv_backd_str_printable(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			*s = '?';
}

static enum pv_backd_sink sink = PV_LOG_TO_STDERR;
static int copy_to_stderr;
static FILE *log_file;

static const int priorities[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };

/* journald sets JOURNAL_STREAM to our stderr's device:inode when it reads it. */
static int stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	return js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 && fstat(2, &st) == 0 &&
	       (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

int pv_backd_log_open(enum pv_backd_sink to, const char *path, int also_stderr)
{
	FILE *f = NULL;

	if (to == PV_LOG_TO_FILE) {
		f = fopen(path, "ae"); /* O_APPEND: lines of a restarted daemon follow on */
		if (!f)
			return -errno;
		setvbuf(f, NULL, _IOLBF, 0);
	}
	pv_backd_log_close();
	if (to == PV_LOG_TO_SYSLOG)
		openlog("pvio-backd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	log_file = f;
	sink = to;
	copy_to_stderr = also_stderr;
	return 0;
}

void pv_backd_log_stderr_off(void)
{
	copy_to_stderr = 0;
}

void pv_backd_log_close(void)
{
	if (sink == PV_LOG_TO_SYSLOG)
		closelog();
	if (log_file)
		fclose(log_file);
	log_file = NULL;
	sink = PV_LOG_TO_STDERR;
	copy_to_stderr = 0;
}

static void vlog(enum pv_backd_level lvl, const char *component, const char *fmt, va_list ap)
{
	char msg[512], stamp[32];
	struct timespec ts;
	struct tm tm;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* Whatever reached the message (a guest's string by mistake): one line, no escapes. */
	pv_backd_str_printable(msg);
	if (sink == PV_LOG_TO_SYSLOG) {
		syslog(priorities[lvl], "%s: %s: %s", component, names[lvl], msg);
	} else if (sink == PV_LOG_TO_FILE) {
		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
		fprintf(log_file, "%s.%03ld pvio-backd[%d]: %s: %s: %s\n", stamp,
			ts.tv_nsec / 1000000, (int)getpid(), component, names[lvl], msg);
	}
	if (sink != PV_LOG_TO_STDERR && !copy_to_stderr)
		return;
	/* One fprintf per line, so lines of concurrent writers to the same stderr do not mix. */
	if (sink == PV_LOG_TO_STDERR && stderr_is_journal())
		fprintf(stderr, "<%d>pvio-backd: %s: %s: %s\n", priorities[lvl], component,
			names[lvl], msg);
	else
		fprintf(stderr, "pvio-backd: %s: %s: %s\n", component, names[lvl], msg);
}

void pv_backd_log(enum pv_backd_level lvl, const char *component, const char *fmt, ...)
{
	va_list ap;

	if (lvl > pv_backd_log_level)
		return;
	va_start(ap, fmt);
	vlog(lvl, component, fmt, ap);
	va_end(ap);
}

#define RL_BURST       10
#define RL_INTERVAL_NS 1000000000ull /* one more message a second after the burst */

void pv_backd_log_rl(struct pv_backd_ratelimit *rl, enum pv_backd_level lvl,
		     const char *component, const char *fmt, ...)
{
	uint64_t now;
	va_list ap;

	if (lvl > pv_backd_log_level)
		return;
	now = pv_backd_now_ns();
	if (rl->last_ns == 0) {
		rl->tokens = RL_BURST;
		rl->last_ns = now;
	} else if (now - rl->last_ns >= RL_INTERVAL_NS) {
		uint64_t add = (now - rl->last_ns) / RL_INTERVAL_NS;

		rl->tokens = add >= RL_BURST || rl->tokens + add >= RL_BURST ?
			     RL_BURST : rl->tokens + (unsigned int)add;
		rl->last_ns = now;
	}
	if (rl->tokens == 0) {
		rl->suppressed++;
		return;
	}
	rl->tokens--;
	if (rl->suppressed) {
		pv_backd_log(lvl, component, "%u similar messages suppressed", rl->suppressed);
		rl->suppressed = 0;
	}
	va_start(ap, fmt);
	vlog(lvl, component, fmt, ap);
	va_end(ap);
}
