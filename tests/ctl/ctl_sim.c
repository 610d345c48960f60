/* SPDX-License-Identifier: MIT */
/*
 * pvio-ctl's block commands against a real pvio-simd.
 *
 * The suite starts $PVIO_BUILD/bin/pvio-simd in a fresh rundir, creates domains 1 and 2, and
 * runs $PVIO_BUILD/bin/pvio-ctl as the administrator would.  What pvio-ctl wrote is checked
 * through the platform API (as dom0 and as the guest) and with xenstore-ls -p.  A forked
 * child plays the backend where one is needed, writing states as pvio-backd would.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctl_tests.h"
#include "pv_platform.h"
#include "pv_simtest.h"
#include "sim/pv_sim.h"

static struct pv_simtest T;
static char img[600], roimg[600];

#define BE_XVDB "/local/domain/0/backend/vbd/1/51728"
#define FE_XVDB "/local/domain/1/device/vbd/51728"

static int open_dom(unsigned int domid, struct pv_platform **p)
{
	return pv_simtest_open(&T, domid, p);
}

static int make_file(const char *path, mode_t mode)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	if (ftruncate(fileno(f), 1 << 20) < 0) {
		fclose(f);
		return -1;
	}
	fclose(f);
	return chmod(path, mode);
}

int ctl_sim_init(void)
{
	if (pv_simtest_start(&T, "pvio-test-ctl", 2) < 0)
		return -1;
	snprintf(img, sizeof(img), "%s/disk.img", T.rundir);
	snprintf(roimg, sizeof(roimg), "%s/ro.img", T.rundir);
	if (make_file(img, 0644) < 0 || make_file(roimg, 0444) < 0)
		return -1;
	return 0;
}

/* 0 only if pvio-simd exited cleanly (under ASan: with no leak). */
int ctl_sim_clean(void)
{
	return pv_simtest_stop(&T);
}

/* Runs a shell command; returns its exit status, stdout and stderr together in out. */
static int run(char *out, size_t outsz, const char *cmd)
{
	FILE *f;
	size_t n;
	int st;

	f = popen(cmd, "r");
	if (!f)
		return -1;
	n = fread(out, 1, outsz - 1, f);
	out[n] = '\0';
	st = pclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Runs pvio-ctl as dom0's toolstack with the arguments after printf formatting. */
static int vctl(char *out, size_t outsz, const char *fmt, va_list ap)
{
	char args[8192], cmd[9216];

	vsnprintf(args, sizeof(args), fmt, ap);
	snprintf(cmd, sizeof(cmd), "%s --platform sim:%s:0 %s 2>&1", pv_simtest_bin("pvio-ctl"),
		 T.rundir, args);
	return run(out, outsz, cmd);
}

static int ctl(char *out, size_t outsz, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int ctl(char *out, size_t outsz, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vctl(out, outsz, fmt, ap);
	va_end(ap);
	return rc;
}

static char *xs_get(struct pv_platform *p, const char *path)
{
	char *v = NULL;

	if (pv_xs_read(p, 0, path, &v, NULL) < 0)
		return NULL;
	return v;
}

/* 1 if the node exists (as dom0). */
static int xs_has(const char *path)
{
	char *v = xs_get(T.dom0, path);

	free(v);
	return v != NULL;
}

static int xs_is(const char *path, const char *want)
{
	char *v = xs_get(T.dom0, path);
	int ok = v && !strcmp(v, want);

	if (!ok)
		fprintf(stderr, "\n  %s = '%s', expected '%s'\n", path, v ? v : "(absent)", want);
	free(v);
	return ok;
}

/* Nothing of any vbd of domain 1 is left in xenstore. */
static int no_vbd_nodes(void)
{
	char **names = NULL;
	unsigned int n = 0;
	int rc;

	rc = pv_xs_directory(T.dom0, 0, "/local/domain/1/device/vbd", &names, &n);
	free(names);
	if (rc == 0 && n)
		return 0;
	rc = pv_xs_directory(T.dom0, 0, "/local/domain/0/backend/vbd/1", &names, &n);
	free(names);
	return !(rc == 0 && n);
}

/* The administrator gets exactly one line. */
static int one_line(const char *s)
{
	const char *nl = strchr(s, '\n');

	return nl && nl[1] == '\0';
}

/* ---- a fake backend -------------------------------------------------------------------- */

enum fake_mode { FAKE_OK, FAKE_ERROR };

/*
 * A child that plays pvio-backd for BE_XVDB: Initialising -> InitWait (or, FAKE_ERROR, an
 * `error` node and Closing), Closing -> Closed; exits 0 once the directory it served is
 * removed, 1 on its own time-out.
 */
/*
 * As pvio-backd does: the error node and Closing in one transaction, and only while the
 * directory exists.  Two plain writes race with pvio-ctl, which rolls back as soon as it
 * sees the error: the late state write would re-create the directory it removed.
 */
static void fake_fail(struct pv_platform *p)
{
	pv_xs_txn_t t;
	char *s = NULL;
	int rc;

	do {
		if (pv_xs_txn_start(p, &t) < 0)
			return;
		if (pv_xs_read(p, t, BE_XVDB "/state", &s, NULL) < 0) {
			pv_xs_txn_end(p, t, 1);
			return;
		}
		free(s);
		s = NULL;
		pv_xs_printf(p, t, BE_XVDB "/error", "cannot open %s: Permission denied", img);
		pv_xs_printf(p, t, BE_XVDB "/state", "5");
		rc = pv_xs_txn_end(p, t, 0);
	} while (rc == -EAGAIN);
}

static pid_t fake_backend(enum fake_mode mode)
{
	struct pv_platform *p;
	pid_t pid = fork();
	int seen = 0, i;
	char *s;

	if (pid != 0)
		return pid;
	if (open_dom(0, &p) < 0)
		_exit(2);
	for (i = 0; i < 3000; i++) {
		s = xs_get(p, BE_XVDB "/state");
		if (!s) {
			if (seen)
				_exit(0);
		} else {
			seen = 1;
			if (!strcmp(s, "1") && mode == FAKE_OK) {
				pv_xs_printf(p, 0, BE_XVDB "/state", "2");
			} else if (!strcmp(s, "1")) {
				fake_fail(p);
			} else if (!strcmp(s, "5") && mode == FAKE_OK) {
				pv_xs_printf(p, 0, BE_XVDB "/state", "6");
			}
			free(s);
		}
		usleep(5000);
	}
	_exit(1);
}

static int reap(pid_t pid)
{
	int st, i;

	for (i = 0; i < 1000; i++) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

/* ---- tests ----------------------------------------------------------------------------- */

/* Every line xenstore-ls -p prints for path's children ends with perms. */
static int perms_are(const char *path, const char *perms, int lines)
{
	char cmd[1024], out[8192], want[32], *line, *save = NULL;
	int n = 0, ok = 1;

	snprintf(cmd, sizeof(cmd), "env -u XENSTORED_PATH XENSTORED_RUNDIR=%s/dom0 xenstore-ls -p %s",
		 T.rundir, path);
	if (run(out, sizeof(out), cmd) != 0)
		return 0;
	snprintf(want, sizeof(want), "(%s)", perms);
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		n++;
		if (strlen(line) < strlen(want) || strcmp(line + strlen(line) - strlen(want), want)) {
			fprintf(stderr, "\n  %s: '%s' lacks %s\n", path, line, want);
			ok = 0;
		}
	}
	if (n != lines)
		fprintf(stderr, "\n  %s: %d nodes, expected %d\n", path, n, lines);
	return ok && n == lines;
}

static void test_attach_writes_protocol_nodes(void)
{
	static const char *const be_nodes[][2] = {
		{ "frontend", FE_XVDB }, { "frontend-id", "1" }, { "params", NULL },
		{ "type", "phy" }, { "mode", "w" }, { "device-type", "disk" }, { "online", "1" },
		{ "removable", "0" }, { "bootable", "1" }, { "dev", "xvdb" },
		{ "discard-enable", "1" }, { "state", "1" },
	};
	static const char *const fe_nodes[][2] = {
		{ "backend", BE_XVDB }, { "backend-id", "0" }, { "virtual-device", "51728" },
		{ "device-type", "disk" }, { "state", "1" },
	};
	struct pv_platform *guest, *other;
	char out[4096], path[256], *v;
	size_t i;

	CU_ASSERT_EQUAL(ctl(out, sizeof(out), "block-attach 1 %s,raw,xvdb,rw --no-wait", img), 0);
	CU_ASSERT_STRING_EQUAL(out, ""); /* silent on success, as xl */
	for (i = 0; i < sizeof(be_nodes) / sizeof(be_nodes[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", BE_XVDB, be_nodes[i][0]);
		CU_ASSERT(xs_is(path, be_nodes[i][1] ? be_nodes[i][1] : img));
	}
	for (i = 0; i < sizeof(fe_nodes) / sizeof(fe_nodes[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", FE_XVDB, fe_nodes[i][0]);
		CU_ASSERT(xs_is(path, fe_nodes[i][1]));
	}
	/* Exactly those nodes, with libxl's permissions, and nothing else. */
	CU_ASSERT(perms_are(BE_XVDB, "n0,r1", 12));
	CU_ASSERT(perms_are(FE_XVDB, "n1,r0", 5));

	/* The guest reads both directories, writes its own, and cannot touch the backend's. */
	CU_ASSERT_EQUAL_FATAL(open_dom(1, &guest), 0);
	v = xs_get(guest, FE_XVDB "/backend");
	CU_ASSERT(v && !strcmp(v, BE_XVDB));
	free(v);
	v = xs_get(guest, BE_XVDB "/params");
	CU_ASSERT(v && !strcmp(v, img));
	free(v);
	CU_ASSERT_EQUAL(pv_xs_printf(guest, 0, FE_XVDB "/state", "1"), 0);
	CU_ASSERT_EQUAL(pv_xs_printf(guest, 0, BE_XVDB "/params", "/etc/shadow"), -EACCES);
	CU_ASSERT_EQUAL(pv_xs_printf(guest, 0, BE_XVDB "/state", "4"), -EACCES);
	CU_ASSERT_EQUAL(pv_xs_rm(guest, 0, BE_XVDB), -EACCES);
	CU_ASSERT(xs_is(BE_XVDB "/params", img));
	pv_platform_close(guest);
	/* A third domain sees neither. */
	CU_ASSERT_EQUAL_FATAL(open_dom(2, &other), 0);
	CU_ASSERT_EQUAL(pv_xs_read(other, 0, BE_XVDB "/params", &v, NULL), -EACCES);
	CU_ASSERT_EQUAL(pv_xs_read(other, 0, FE_XVDB "/state", &v, NULL), -EACCES);
	pv_platform_close(other);

	/* The same vdev again, by name or by another spelling of it, is refused. */
	CU_ASSERT_EQUAL(ctl(out, sizeof(out), "block-attach 1 vdev=xvdb,target=%s --no-wait", img),
			1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "already in use"));
	CU_ASSERT_EQUAL(ctl(out, sizeof(out), "block-attach 1 %s,,d1,ro --no-wait", roimg), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "already in use"));
	CU_ASSERT(xs_is(BE_XVDB "/params", img));

	CU_ASSERT_EQUAL(ctl(out, sizeof(out), "block-detach 1 xvdb --force"), 0);
	CU_ASSERT(!xs_has(BE_XVDB) && !xs_has(FE_XVDB));
	CU_ASSERT(no_vbd_nodes());
	CU_ASSERT(!xs_has("/local/domain/0/backend/vbd/1")); /* no empty parent left behind */
}

static void test_attach_options(void)
{
	char out[4096];

	/* -v prints the devid; read-only, cdrom, no-discard and backendtype reach the nodes. */
	CU_ASSERT_EQUAL(ctl(out, sizeof(out), "-v block-attach 1 no-discard,backendtype=pvio,"
					     "vdev=xvdb,access=ro,devtype=cdrom,target=%s --no-wait",
			    roimg), 0);
	CU_ASSERT_STRING_EQUAL(out, "51728\n");
	CU_ASSERT(xs_is(BE_XVDB "/mode", "r"));
	CU_ASSERT(xs_is(BE_XVDB "/device-type", "cdrom"));
	CU_ASSERT(xs_is(FE_XVDB "/device-type", "cdrom"));
	CU_ASSERT(xs_is(BE_XVDB "/discard-enable", "0"));
	CU_ASSERT(xs_is(BE_XVDB "/type", "pvio"));
	CU_ASSERT(xs_is(BE_XVDB "/params", roimg));
	CU_ASSERT_EQUAL(ctl(out, sizeof(out), "block-detach 1 51728 --force"), 0);
	CU_ASSERT(no_vbd_nodes());

	/* direct-io-safe: libxl's backend node, "1" (absent otherwise: see the node count above). */
	CU_ASSERT_EQUAL(ctl(out, sizeof(out), "block-attach 1 %s,raw,xvdb,rw,direct-io-safe "
					     "--no-wait", img), 0);
	CU_ASSERT(xs_is(BE_XVDB "/direct-io-safe", "1"));
	CU_ASSERT_EQUAL(ctl(out, sizeof(out), "block-detach 1 51728 --force"), 0);
	CU_ASSERT(no_vbd_nodes());

	/* The deprecated form, with -v after the arguments; a script is accepted with a note. */
	CU_ASSERT_EQUAL(ctl(out, sizeof(out), "block-attach 1 file:%s,xvdc,w --no-wait -v", img), 0);
	CU_ASSERT_STRING_EQUAL(out, "51744\n");
	CU_ASSERT(xs_is("/local/domain/0/backend/vbd/1/51744/params", img));
	/* (read-only, of another image: img is xvdc's, written, and not to be shared) */
	CU_ASSERT_EQUAL(ctl(out, sizeof(out), "block-attach 1 script=foo,vdev=xvdd,access=ro,"
					     "target=%s --no-wait", roimg), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "note: script= is ignored"));
	/* A backend domain other than 0 gets the directory, and owns it. */
	CU_ASSERT_EQUAL(ctl(out, sizeof(out), "block-attach 1 %s,,xvde --no-wait --backend-domid 2",
			    img), 0);
	CU_ASSERT(xs_is("/local/domain/2/backend/vbd/1/51776/frontend-id", "1"));
	CU_ASSERT(xs_is("/local/domain/1/device/vbd/51776/backend-id", "2"));
	CU_ASSERT(perms_are("/local/domain/2/backend/vbd/1/51776", "n2,r1", 12));
	CU_ASSERT(perms_are("/local/domain/1/device/vbd/51776", "n1,r2", 5));
	CU_ASSERT_EQUAL(ctl(out, sizeof(out), "block-detach 1 xvdc --force"), 0);
	CU_ASSERT_EQUAL(ctl(out, sizeof(out), "block-detach 1 xvdd --force"), 0);
	CU_ASSERT_EQUAL(ctl(out, sizeof(out), "block-detach 1 xvde --force"), 0);
	CU_ASSERT(!xs_has("/local/domain/2/backend/vbd/1/51776"));
	CU_ASSERT(no_vbd_nodes());
}

static void test_attach_refused_writes_nothing(void)
{
	static const struct {
		const char *args; /* %s: the image */
		const char *msg;
	} cases[] = {
		{ "block-attach 9 %s,raw,xvdb,rw --no-wait", "domain 9 does not exist" },
		{ "block-attach 1 %s.missing,raw,xvdb,rw --no-wait", "No such file or directory" },
		{ "block-attach 1 %s,raw,xvdb,rw --no-wait --backend-domid 77",
		  "backend domain 77 does not exist" },
		{ "block-attach 1 %s,raw,xvdb0,rw --no-wait", "bad vdev 'xvdb0'" },
		{ "block-attach 1 %s,qcow2,xvdb,rw --no-wait", "format qcow2 is not supported" },
		{ "block-attach 1 %s,raw,xvdb,rwx --no-wait", "bad access" },
		{ "block-attach 1 backend=1,vdev=xvdb,target=%s --no-wait --backend-domid 2",
		  "disagree" },
	};
	char out[4096], args[1024];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(args, sizeof(args), cases[i].args, img);
		CU_ASSERT_EQUAL(ctl(out, sizeof(out), "%s", args), 1);
		if (!strstr(out, cases[i].msg))
			fprintf(stderr, "\n  '%s' said '%s'\n", args, out);
		CU_ASSERT_PTR_NOT_NULL(strstr(out, cases[i].msg));
		CU_ASSERT(one_line(out));
		CU_ASSERT(no_vbd_nodes());
	}
	/* A read-only file cannot be attached rw, even by root; ro is fine. */
	CU_ASSERT_EQUAL(ctl(out, sizeof(out), "block-attach 1 %s,raw,xvdb,rw --no-wait", roimg), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "is read-only"));
	CU_ASSERT(no_vbd_nodes());
	/* Neither a directory nor a character device. */
	CU_ASSERT_EQUAL(ctl(out, sizeof(out), "block-attach 1 %s,raw,xvdb,ro --no-wait", T.rundir), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "not a regular file or a block device"));
	CU_ASSERT_EQUAL(ctl(out, sizeof(out), "block-attach 1 /dev/null,raw,xvdb,ro --no-wait"), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "not a regular file or a block device"));
	CU_ASSERT(no_vbd_nodes());
	CU_ASSERT_EQUAL(ctl(out, sizeof(out), "block-attach 1 %s,raw,xvdb,ro --no-wait", roimg), 0);
	CU_ASSERT(xs_is(BE_XVDB "/mode", "r"));
	CU_ASSERT_EQUAL(ctl(out, sizeof(out), "block-detach 1 xvdb --force"), 0);
	CU_ASSERT(no_vbd_nodes());
}

static void test_bad_arguments_are_usage(void)
{
	static const char *const cases[] = {
		"block-attach", "block-attach 1", "block-attach x /a,,xvdb", "block-attach -1 /a,,xvdb",
		"block-attach 1 /a,,xvdb extra", "block-attach 1 /a,,xvdb --timeout 0",
		"block-attach 1 /a,,xvdb --timeout abc", "block-attach 1 /a,,xvdb --bogus",
		"block-attach 1 /a,,xvdb --backend-domid x", "block-detach 1",
		"block-detach 1 xvdb --timeout -2", "block-detach 1 xvdb --bogus", "block-list",
		"block-list 1 2", "block-list abc", "block-stats 1", "block-stats x xvdb",
		"block-stats 1 xvdb --ctl",
	};
	char out[4096];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = ctl(out, sizeof(out), "%s", cases[i]);

		if (rc != 2 || !strstr(out, "usage: pvio-ctl"))
			fprintf(stderr, "\n  '%s': %d '%s'\n", cases[i], rc, out);
		CU_ASSERT_EQUAL(rc, 2);
		CU_ASSERT_PTR_NOT_NULL(strstr(out, "usage: pvio-ctl"));
	}
	CU_ASSERT(no_vbd_nodes());
	/* --help for each command, and the global one naming every command. */
	CU_ASSERT_EQUAL(ctl(out, sizeof(out), "block-attach --help"), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "block-attach DOM DISKSPEC"));
	CU_ASSERT_EQUAL(ctl(out, sizeof(out), "--help"), 0);
	CU_ASSERT(strstr(out, "block-attach") && strstr(out, "block-detach") &&
		  strstr(out, "block-list") && strstr(out, "block-stats") &&
		  strstr(out, "domain-create"));
	CU_ASSERT_EQUAL(ctl(out, sizeof(out), "block-frobnicate 1"), 2);
}

static void test_attach_timeout_rolls_back(void)
{
	char out[4096];
	struct timespec a, b;
	double secs;

	clock_gettime(CLOCK_MONOTONIC, &a);
	CU_ASSERT_EQUAL(ctl(out, sizeof(out), "block-attach 1 %s,raw,xvdb,rw --timeout 0.4", img), 1);
	clock_gettime(CLOCK_MONOTONIC, &b);
	secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	CU_ASSERT(secs >= 0.4 && secs < 5);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "backend did not answer within 0.4 s: is pvio-backd "
					   "running?"));
	CU_ASSERT(no_vbd_nodes());
	CU_ASSERT(!xs_has("/local/domain/0/backend/vbd/1"));
}

static void test_fake_backend_attach_list_detach(void)
{
	char out[4096];
	pid_t be = fake_backend(FAKE_OK);

	CU_ASSERT_EQUAL(ctl(out, sizeof(out), "block-attach 1 %s,raw,xvdb,rw --timeout 5", img), 0);
	CU_ASSERT_STRING_EQUAL(out, "");
	CU_ASSERT(xs_is(BE_XVDB "/state", "2"));

	/* A second device, with no backend answering, to see two rows. */
	CU_ASSERT_EQUAL(ctl(out, sizeof(out), "block-attach 1 %s,,hda,ro --no-wait", roimg), 0);
	CU_ASSERT_EQUAL(ctl(out, sizeof(out), "block-list 1"), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "Vdev"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\n768 "));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\n51728 "));
	CU_ASSERT(strstr(out, "\n768 ") < strstr(out, "\n51728 ")); /* sorted by devid */
	CU_ASSERT_PTR_NOT_NULL(strstr(out, img));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, " xvdb "));
	CU_ASSERT_EQUAL(ctl(out, sizeof(out), "block-list 1 --json"), 0);
	CU_ASSERT_EQUAL(out[0], '[');
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "{\"domid\":1,\"vdev\":\"hda\",\"devid\":768,"
					   "\"backend_id\":0,\"frontend_state\":1,"
					   "\"backend_state\":1,\"mode\":\"r\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"vdev\":\"xvdb\",\"devid\":51728,\"backend_id\":0,"
					   "\"frontend_state\":1,\"backend_state\":2,\"mode\":\"w\","
					   "\"type\":\"phy\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"backend\":\"" BE_XVDB "\"}]\n"));

	/* Detach waits for Closed, then removes both directories. */
	CU_ASSERT_EQUAL(ctl(out, sizeof(out), "block-detach 1 xvdb --timeout 5"), 0);
	CU_ASSERT_STRING_EQUAL(out, "");
	CU_ASSERT(!xs_has(BE_XVDB) && !xs_has(FE_XVDB));
	CU_ASSERT_EQUAL(reap(be), 0);
	CU_ASSERT_EQUAL(ctl(out, sizeof(out), "block-detach 1 hda --force"), 0);
	CU_ASSERT(no_vbd_nodes());
	CU_ASSERT_EQUAL(ctl(out, sizeof(out), "block-list 1 --json"), 0);
	CU_ASSERT_STRING_EQUAL(out, "[]\n");
	CU_ASSERT_EQUAL(ctl(out, sizeof(out), "block-list 9"), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "domain 9 does not exist"));
}

static void test_backend_error_rolls_back(void)
{
	char out[4096];
	pid_t be = fake_backend(FAKE_ERROR);

	CU_ASSERT_EQUAL(ctl(out, sizeof(out), "block-attach 1 %s,raw,xvdb,rw --timeout 5", img), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "backend error: cannot open"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "Permission denied"));
	CU_ASSERT(no_vbd_nodes());
	CU_ASSERT_EQUAL(reap(be), 0);
}

static void test_detach_errors(void)
{
	char out[4096];

	CU_ASSERT_EQUAL(ctl(out, sizeof(out), "block-detach 1 xvdz"), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "domain 1 has no vbd xvdz"));
	CU_ASSERT_EQUAL(ctl(out, sizeof(out), "block-detach 1 xvdz0"), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "bad vdev"));

	/* No backend to close it: detach times out and leaves the device (no data lost). */
	CU_ASSERT_EQUAL(ctl(out, sizeof(out), "block-attach 1 %s,raw,xvdb,rw --no-wait", img), 0);
	CU_ASSERT_EQUAL(ctl(out, sizeof(out), "block-detach 1 xvdb --timeout 0.3"), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "did not close within 0.3 s"));
	CU_ASSERT(xs_is(BE_XVDB "/online", "0"));
	CU_ASSERT(xs_is(BE_XVDB "/state", "5"));
	CU_ASSERT(xs_is(FE_XVDB "/state", "1"));
	/* --force removes it without waiting. */
	CU_ASSERT_EQUAL(ctl(out, sizeof(out), "block-detach 1 xvdb --force"), 0);
	CU_ASSERT(no_vbd_nodes());

	/* A frontend directory whose backend is gone is still removable. */
	CU_ASSERT_EQUAL(ctl(out, sizeof(out), "block-attach 1 %s,raw,xvdb,rw --no-wait", img), 0);
	CU_ASSERT_EQUAL(pv_xs_rm(T.dom0, 0, BE_XVDB), 0);
	CU_ASSERT_EQUAL(ctl(out, sizeof(out), "block-list 1"), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\n51728 "));
	CU_ASSERT_EQUAL(ctl(out, sizeof(out), "block-detach 1 xvdb"), 0);
	CU_ASSERT(no_vbd_nodes());
}

/* A stand-in for pvio-backd's control socket: answers one request with reply. */
static pid_t fake_ctl(const char *path, const char *expect, const char *reply)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char buf[256];
	ssize_t n;
	pid_t pid;
	int ls, c;

	unlink(path);
	strcpy(sa.sun_path, path);
	ls = socket(AF_UNIX, SOCK_STREAM, 0);
	if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(ls, 1) < 0)
		return -1;
	pid = fork();
	if (pid != 0) {
		close(ls);
		return pid;
	}
	alarm(10);
	c = accept(ls, NULL, NULL);
	if (c < 0)
		_exit(2);
	n = read(c, buf, sizeof(buf) - 1);
	if (n <= 0)
		_exit(3);
	buf[n] = '\0';
	if (write(c, reply, strlen(reply)) < 0)
		_exit(4);
	close(c);
	_exit(strcmp(buf, expect) ? 5 : 0);
}

static void test_block_stats(void)
{
	static const char stats[] = "{\"domid\":1,\"devid\":51728,\"state\":4,\"params\":\"/x\","
				    "\"mode\":\"w\",\"requests\":42,\"bytes_read\":4096}\n";
	char out[4096], sock[700], want[800];
	pid_t pid;

	/* No daemon: the clear message, at the path the platform spec implies. */
	CU_ASSERT_EQUAL(ctl(out, sizeof(out), "block-stats 1 xvdb"), 1);
	snprintf(want, sizeof(want), "pvio-backd is not running (no control socket at "
				     "%s/pvio-backd.sock)", T.rundir);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, want));
	CU_ASSERT_EQUAL(ctl(out, sizeof(out), "block-stats 1 xvdb --ctl /nonexistent/x.sock"), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "pvio-backd is not running (no control socket at "
					   "/nonexistent/x.sock)"));

	/* The default path, the request line, and --json printing the reply as it came. */
	snprintf(sock, sizeof(sock), "%s/pvio-backd.sock", T.rundir);
	pid = fake_ctl(sock, "stats 1 51728\n", stats);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL(ctl(out, sizeof(out), "block-stats 1 xvdb --json"), 0);
	CU_ASSERT_STRING_EQUAL(out, stats);
	CU_ASSERT_EQUAL(reap(pid), 0);
	/* The readable table. */
	pid = fake_ctl(sock, "stats 1 768\n", stats);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL(ctl(out, sizeof(out), "block-stats 1 hda"), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "requests             42\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "params               /x\n"));
	CU_ASSERT_EQUAL(reap(pid), 0);
	/* The daemon's error object becomes a one-line error. */
	pid = fake_ctl(sock, "stats 1 51728\n", "{\"error\":\"no such device\"}\n");
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL(ctl(out, sizeof(out), "block-stats 1 xvdb"), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "pvio-backd: no such device"));
	CU_ASSERT_EQUAL(reap(pid), 0);
	unlink(sock);
}

/* ---- for the other suites on this sim (ctl_tests.h) ------------------------------------ */

int ctl_cmd(char *out, size_t outsz, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vctl(out, outsz, fmt, ap);
	va_end(ap);
	return rc;
}

const char *ctl_rundir(void) { return T.rundir; }
struct pv_platform *ctl_dom0(void) { return T.dom0; }
int ctl_open_dom(unsigned int domid, struct pv_platform **p) { return open_dom(domid, p); }
int ctl_xs_is(const char *path, const char *want) { return xs_is(path, want); }
int ctl_xs_has(const char *path) { return xs_has(path); }
int ctl_perms_are(const char *path, const char *perms, int lines)
{
	return perms_are(path, perms, lines);
}
int ctl_reap(pid_t pid) { return reap(pid); }
int ctl_one_line(const char *s) { return one_line(s); }
pid_t ctl_fake_ctl(const char *path, const char *expect, const char *reply)
{
	return fake_ctl(path, expect, reply);
}

CU_TestInfo ctl_sim_tests[] = {
	{ "block-attach writes protocol.md's nodes with libxl's permissions", test_attach_writes_protocol_nodes },
	{ "block-attach options: -v, ro, cdrom, no-discard, backendtype, backend domain",
	  test_attach_options },
	{ "refused attaches (domain, file, ro file, vdev, format) write nothing", test_attach_refused_writes_nothing },
	{ "bad arguments exit 2 with usage; --help", test_bad_arguments_are_usage },
	{ "attach with no backend times out and rolls back", test_attach_timeout_rolls_back },
	{ "a fake backend: attach waits for InitWait, list, detach waits for Closed",
	  test_fake_backend_attach_list_detach },
	{ "a backend error node fails the attach and rolls back", test_backend_error_rolls_back },
	{ "detach: unknown vdev, time-out keeps the device, --force, orphan frontend", test_detach_errors },
	{ "block-stats: no daemon, --json, table, daemon error", test_block_stats },
	CU_TEST_INFO_NULL,
};
