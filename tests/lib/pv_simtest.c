/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pv_simtest.h"
#include "sim/pv_sim.h"

const char *pv_simtest_bin(const char *name)
{
	static char buf[4][512];
	static unsigned int k;
	const char *b = getenv("PVIO_BUILD");

	k = (k + 1) % 4;
	snprintf(buf[k], sizeof(buf[k]), "%s/bin/%s", b ? b : "build", name);
	return buf[k];
}

int pv_simtest_wait_path(const char *path, int ms)
{
	for (; ms > 0; ms -= 10) {
		if (access(path, F_OK) == 0)
			return 0;
		usleep(10000);
	}
	return -ETIMEDOUT;
}

int pv_simtest_sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	if (st != 0)
		fprintf(stderr, "failed (%d): %s\n", st, cmd);
	return st == -1 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

uint64_t pv_simtest_rand(uint64_t *s, uint64_t bound)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return bound ? *s % bound : 0;
}

int pv_simtest_open(const struct pv_simtest *t, unsigned int domid, struct pv_platform **p)
{
	char spec[128];
	const char *why = NULL;

	snprintf(spec, sizeof(spec), "sim:%s:%u", t->rundir, domid);
	return pv_platform_open(spec, p, &why);
}

int pv_simtest_start(struct pv_simtest *t, const char *prefix, unsigned int ndoms)
{
	char sock[128];
	const char *why = NULL;
	char spec[160];
	unsigned int i;
	domid_t id;
	int rc = 0;

	memset(t, 0, sizeof(*t));
	t->simd = -1;
	snprintf(t->rundir, sizeof(t->rundir), "/tmp/%s-XXXXXX", prefix);
	if (!mkdtemp(t->rundir))
		return -1;
	t->simd = fork();
	if (t->simd == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM); /* a crashed test leaves no daemon behind */
		execl(pv_simtest_bin("pvio-simd"), "pvio-simd", "--rundir", t->rundir, "--foreground",
		      (char *)NULL);
		_exit(127);
	}
	snprintf(sock, sizeof(sock), "%s/dom0/hypercall", t->rundir);
	if (t->simd < 0) {
		rc = -errno;
		why = "cannot fork";
		goto fail;
	}
	if ((rc = pv_simtest_wait_path(sock, 5000)) < 0) {
		why = "no hypercall socket";
		goto fail;
	}
	snprintf(spec, sizeof(spec), "sim:%s:0", t->rundir);
	if ((rc = pv_platform_open(spec, &t->dom0, &why)) < 0) {
		if (!why)
			why = "cannot open domain 0";
		goto fail;
	}
	for (i = 1; i <= ndoms; i++) {
		if ((rc = pv_sim_domain_create(t->dom0, i, &id)) < 0 || id != i) {
			why = "cannot create a domain";
			goto fail;
		}
	}
	return 0;
fail:
	/* Said once here, so that a suite that cannot start shows why. */
	fprintf(stderr, "pv_simtest_start %s: %s: %s\n", t->rundir, why, strerror(rc < 0 ? -rc : EINVAL));
	pv_simtest_stop(t);
	return -1;
}

int pv_simtest_stop(struct pv_simtest *t)
{
	char cmd[128];
	int st = 0, rc = 0;

	if (t->dom0)
		pv_platform_close(t->dom0);
	t->dom0 = NULL;
	if (t->simd > 0) {
		kill(t->simd, SIGTERM);
		waitpid(t->simd, &st, 0);
		rc = WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
	}
	t->simd = -1;
	if (t->rundir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", t->rundir);
		if (system(cmd) != 0)
			rc = -1;
		t->rundir[0] = '\0';
	}
	return rc;
}

pid_t pv_simtest_backd_start(const struct pv_simtest *t, const char *const *extra)
{
	char sock[600];
	pid_t pid;

	snprintf(sock, sizeof(sock), "%s/pvio-backd.sock", t->rundir);
	unlink(sock);
	pid = fork();
	if (pid == 0) {
		char spec[600];
		/* PVIO_TEST_BACKD_LOG=info|debug shows the daemon's view when a test fails. */
		const char *level = getenv("PVIO_TEST_BACKD_LOG") ? getenv("PVIO_TEST_BACKD_LOG") : "warn";
		const char *argv[16] = { "pvio-backd", "--platform", spec, "--foreground",
					 "--log-level", level };
		unsigned int a = 6;

		while (extra && *extra && a < 15)
			argv[a++] = *extra++;
		snprintf(spec, sizeof(spec), "sim:%s:0", t->rundir);
		execv(pv_simtest_bin("pvio-backd"), (char *const *)argv);
		_exit(127);
	}
	if (pid > 0 && pv_simtest_wait_path(sock, 5000) == 0)
		return pid;
	fprintf(stderr, "pvio-backd (pid %d) made no %s\n", (int)pid, sock);
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	return -1;
}

int pv_simtest_disk_guest(struct pv_simtest *t, const char *prefix, unsigned int mb,
			  pid_t *backd)
{
	*backd = -1;
	if (pv_simtest_start(t, prefix, 1) < 0)
		return -1;
	if (pv_simtest_sh("truncate -s %uM %s/disk.img", mb, t->rundir) != 0)
		return -1;
	if ((*backd = pv_simtest_backd_start(t, NULL)) < 0)
		return -1;
	return pv_simtest_sh("%s --platform sim:%s:0 block-attach 1 "
			     "format=raw,vdev=xvdb,access=rw,target=%s/disk.img >&2",
			     pv_simtest_bin("pvio-ctl"), t->rundir, t->rundir) == 0 ? 0 : -1;
}

int pv_simtest_backd_stop(pid_t *backd)
{
	int st = 0;

	if (*backd <= 0)
		return 0;
	kill(*backd, SIGTERM);
	waitpid(*backd, &st, 0);
	*backd = -1;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	fprintf(stderr, "pvio-backd exit status %#x\n", st);
	return -1;
}

int pv_simtest_peak_inflight(const char *log, int st, const char *tag)
{
	char buf[4096] = "";
	const char *at;
	unsigned int peak;
	ssize_t n;
	int fd;

	fd = open(log, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	at = strstr(buf, "most in flight ");
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || !at ||
	    sscanf(at, "most in flight %u", &peak) != 1) {
		fprintf(stderr, "exit status %d, log: %s\n", st, buf);
		return -1;
	}
	if ((at = strstr(buf, tag)))
		printf("\n    %s", at);
	return (int)peak;
}
