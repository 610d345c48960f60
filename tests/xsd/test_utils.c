/* SPDX-License-Identifier: MIT */
/* Debian's xenstore-utils, unchanged, against the daemon. */
#include <glob.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static struct srv srv;
static char out[16384], err[4096];

#define TOOL(dom, ...) run_tool(&srv, (dom), out, sizeof(out), err, sizeof(err), \
				(const char *const[]){ __VA_ARGS__, NULL })

int xsd_utils_init(void)
{
	return srv_start(&srv, NULL);
}

int xsd_utils_clean(void)
{
	srv_cleanup(&srv);
	return 0;
}

static void test_write_read(void)
{
	CU_ASSERT_EQUAL(TOOL(0, "xenstore-write", "/t/a", "hello", "/t/b", "world"), 0);
	CU_ASSERT_STRING_EQUAL(out, "");
	CU_ASSERT_EQUAL(TOOL(0, "xenstore-read", "/t/a"), 0);
	CU_ASSERT_STRING_EQUAL(out, "hello\n");
	CU_ASSERT_EQUAL(TOOL(0, "xenstore-read", "/t/a", "/t/b"), 0);
	CU_ASSERT_STRING_EQUAL(out, "hello\nworld\n");
	CU_ASSERT_EQUAL(TOOL(0, "xenstore-read", "-p", "/t/b"), 0);
	CU_ASSERT_STRING_EQUAL(out, "/t/b: world\n");
	CU_ASSERT_NOT_EQUAL(TOOL(0, "xenstore-read", "/t/nope"), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "/t/nope"));
	/* Overwrite, and an empty value. */
	CU_ASSERT_EQUAL(TOOL(0, "xenstore-write", "/t/b", "again", "/t/e", ""), 0);
	CU_ASSERT_EQUAL(TOOL(0, "xenstore-read", "/t/b", "/t/e"), 0);
	CU_ASSERT_STRING_EQUAL(out, "again\n\n");
}

static void test_ls(void)
{
	CU_ASSERT_EQUAL(TOOL(0, "xenstore-write", "/t/d/e/f", "x y"), 0);
	CU_ASSERT_EQUAL(TOOL(0, "xenstore-ls", "/t"), 0);
	CU_ASSERT_STRING_EQUAL(out, "a = \"hello\"\n"
				    "b = \"again\"\n"
				    "e = \"\"\n"
				    "d = \"\"\n"
				    " e = \"\"\n"
				    "  f = \"x y\"\n");
	CU_ASSERT_EQUAL(TOOL(0, "xenstore-ls", "-f", "/t/d"), 0);
	CU_ASSERT_STRING_EQUAL(out, "/t/d/e = \"\"\n/t/d/e/f = \"x y\"\n");
	/* A domain's home as pv_xsd_domain_introduce makes it, seen from the domain. */
	CU_ASSERT_EQUAL(TOOL(1, "xenstore-ls", "/local/domain/1"), 0);
	CU_ASSERT_STRING_EQUAL(out, "device = \"\"\ndata = \"\"\ncontrol = \"\"\ndrivers = \"\"\n"
				    "feature = \"\"\nattr = \"\"\nerror = \"\"\nname = \"dom1\"\n"
				    "domid = \"1\"\n");
	/* What a guest reads to learn its own id. */
	CU_ASSERT_EQUAL(TOOL(1, "xenstore-read", "domid"), 0);
	CU_ASSERT_STRING_EQUAL(out, "1\n");
}

static void test_list_exists_rm(void)
{
	CU_ASSERT_EQUAL(TOOL(0, "xenstore-list", "/t"), 0);
	CU_ASSERT_STRING_EQUAL(out, "a\nb\ne\nd\n");
	CU_ASSERT_EQUAL(TOOL(0, "xenstore-list", "-p", "/t/d"), 0);
	CU_ASSERT_STRING_EQUAL(out, "/t/d/e\n");
	CU_ASSERT_EQUAL(TOOL(0, "xenstore-exists", "/t/d/e/f"), 0);
	CU_ASSERT_NOT_EQUAL(TOOL(0, "xenstore-exists", "/t/zz"), 0);
	CU_ASSERT_EQUAL(TOOL(0, "xenstore-rm", "/t/d"), 0);
	CU_ASSERT_NOT_EQUAL(TOOL(0, "xenstore-exists", "/t/d/e/f"), 0);
	CU_ASSERT_NOT_EQUAL(TOOL(0, "xenstore-exists", "/t/d"), 0);
	CU_ASSERT_EQUAL(TOOL(0, "xenstore-list", "/t"), 0);
	CU_ASSERT_STRING_EQUAL(out, "a\nb\ne\n");
	/* Removing what is not there is fine if the parent is, as in Xen. */
	CU_ASSERT_EQUAL(TOOL(0, "xenstore-rm", "/t/zz"), 0);
	CU_ASSERT_NOT_EQUAL(TOOL(0, "xenstore-rm", "/nothere/zz"), 0);
	CU_ASSERT_NOT_EQUAL(TOOL(0, "xenstore-list", "/nothere"), 0);
}

/* The line of xenstore-ls -p for name: "a = \"hello\"  . . .  (n0,r1)". */
static const char *ls_line(const char *name)
{
	static char line[256];
	const char *p = out;

	while (p && *p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p), nlen = strlen(name);

		if (!strncmp(p, name, nlen) && p[nlen] == ' ' && len < sizeof(line)) {
			memcpy(line, p, len);
			line[len] = '\0';
			return line;
		}
		p = nl ? nl + 1 : NULL;
	}
	return "";
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcmp(s + a - b, suffix);
}

static void test_chmod(void)
{
	CU_ASSERT_EQUAL(TOOL(0, "xenstore-ls", "-p", "/t"), 0);
	CU_ASSERT_TRUE(ends_with(ls_line("a"), "(n0)"));
	CU_ASSERT_EQUAL(TOOL(0, "xenstore-chmod", "/t/a", "n0", "r1", "b2"), 0);
	CU_ASSERT_EQUAL(TOOL(0, "xenstore-ls", "-p", "/t"), 0);
	CU_ASSERT_TRUE(!strncmp(ls_line("a"), "a = \"hello\" ", 12));
	CU_ASSERT_TRUE(ends_with(ls_line("a"), "(n0,r1,b2)"));
	CU_ASSERT_TRUE(ends_with(ls_line("b"), "(n0)"));
	/* -r: the whole subtree. */
	CU_ASSERT_EQUAL(TOOL(0, "xenstore-write", "/t/r/s", "1"), 0);
	CU_ASSERT_EQUAL(TOOL(0, "xenstore-chmod", "-r", "/t/r", "w0", "r2"), 0);
	CU_ASSERT_EQUAL(TOOL(0, "xenstore-ls", "-p", "/t/r"), 0);
	CU_ASSERT_TRUE(ends_with(ls_line("s"), "(w0,r2)"));
	CU_ASSERT_NOT_EQUAL(TOOL(0, "xenstore-chmod", "/t/a", "x0"), 0);
}

static void test_domu_permissions(void)
{
	CU_ASSERT_EQUAL(TOOL(0, "xenstore-write", "/secret", "s3cret"), 0);
	CU_ASSERT_NOT_EQUAL(TOOL(1, "xenstore-read", "/secret"), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "couldn't read path /secret"));
	CU_ASSERT_STRING_EQUAL(out, "");
	CU_ASSERT_NOT_EQUAL(TOOL(1, "xenstore-write", "/secret", "mine"), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "could not write path /secret"));
	CU_ASSERT_NOT_EQUAL(TOOL(1, "xenstore-ls", "/"), 0);
	CU_ASSERT_EQUAL(TOOL(0, "xenstore-read", "/secret"), 0);
	CU_ASSERT_STRING_EQUAL(out, "s3cret\n");

	CU_ASSERT_EQUAL(TOOL(0, "xenstore-chmod", "/secret", "n0", "r1"), 0);
	CU_ASSERT_EQUAL(TOOL(1, "xenstore-read", "/secret"), 0);
	CU_ASSERT_STRING_EQUAL(out, "s3cret\n");
	CU_ASSERT_NOT_EQUAL(TOOL(1, "xenstore-write", "/secret", "mine"), 0);
	CU_ASSERT_NOT_EQUAL(TOOL(2, "xenstore-read", "/secret"), 0);
	/* dom1 may not take the node over nor hand itself more rights. */
	CU_ASSERT_NOT_EQUAL(TOOL(1, "xenstore-chmod", "/secret", "b1"), 0);
	CU_ASSERT_EQUAL(TOOL(0, "xenstore-read", "/secret"), 0);
	CU_ASSERT_STRING_EQUAL(out, "s3cret\n");

	/* Relative paths are the domain's home; what it creates there it owns. */
	CU_ASSERT_EQUAL(TOOL(1, "xenstore-write", "data/note", "hi"), 0);
	CU_ASSERT_EQUAL(TOOL(0, "xenstore-read", "/local/domain/1/data/note"), 0);
	CU_ASSERT_STRING_EQUAL(out, "hi\n");
	CU_ASSERT_EQUAL(TOOL(1, "xenstore-ls", "-p", "data"), 0);
	CU_ASSERT_TRUE(ends_with(ls_line("note"), "(n1)"));
	CU_ASSERT_NOT_EQUAL(TOOL(2, "xenstore-read", "/local/domain/1/data/note"), 0);
	CU_ASSERT_NOT_EQUAL(TOOL(1, "xenstore-write", "/local/domain/2/data/x", "1"), 0);
}

static void test_watch(void)
{
	char line[256];
	int fd = -1;
	int status;
	pid_t pid = spawn_tool(&srv, 0, (const char *const[]){ "xenstore-watch", "/tw", NULL },
			       &fd);

	CU_ASSERT_FATAL(pid > 0);
	/* Fires once on registration, with the watched path. */
	CU_ASSERT_EQUAL(read_line(fd, line, sizeof(line), 5000), 3);
	CU_ASSERT_STRING_EQUAL(line, "/tw");
	CU_ASSERT_EQUAL(TOOL(0, "xenstore-write", "/tw/x/y", "1"), 0);
	CU_ASSERT_TRUE(read_line(fd, line, sizeof(line), 5000) > 0);
	CU_ASSERT_STRING_EQUAL(line, "/tw/x/y");
	CU_ASSERT_EQUAL(TOOL(0, "xenstore-write", "/unrelated", "1"), 0);
	CU_ASSERT_EQUAL(TOOL(0, "xenstore-rm", "/tw"), 0);
	CU_ASSERT_TRUE(read_line(fd, line, sizeof(line), 5000) > 0);
	CU_ASSERT_STRING_EQUAL(line, "/tw");
	CU_ASSERT_EQUAL(TOOL(0, "xenstore-chmod", "/unrelated", "n0"), 0);
	CU_ASSERT_EQUAL(read_line(fd, line, sizeof(line), 300), -1);
	kill(pid, SIGTERM);
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	close(fd);

	/* A guest watching the root hears about what it may read only. */
	pid = spawn_tool(&srv, 2, (const char *const[]){ "xenstore-watch", "/", NULL }, &fd);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL(read_line(fd, line, sizeof(line), 5000), 1);
	CU_ASSERT_EQUAL(TOOL(0, "xenstore-write", "/secret", "other"), 0);
	CU_ASSERT_EQUAL(TOOL(0, "xenstore-write", "/local/domain/2/data/y", "1"), 0);
	CU_ASSERT_TRUE(read_line(fd, line, sizeof(line), 5000) > 0);
	CU_ASSERT_STRING_EQUAL(line, "/local/domain/2/data/y");
	kill(pid, SIGTERM);
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	close(fd);
}


/*
 * Debian ships xenstore-control in xen-utils-4.17 (xenstore-utils has only a link to
 * it): run it when it is there ($PVIO_XENSTORE_CONTROL names another copy), as
 * xenstored's own tool against pvio-simd.
 */
static const char *xenstore_control(void)
{
	static char path[PATH_MAX];
	const char *env = getenv("PVIO_XENSTORE_CONTROL");
	glob_t g;

	if (env && *env)
		return env;
	if (realpath("/usr/bin/xenstore-control", path) && access(path, X_OK) == 0 &&
	    !strstr(path, "wrapper"))
		return path;
	if (glob("/usr/lib/xen-*/bin/xenstore-control", 0, NULL, &g) == 0 && g.gl_pathc) {
		snprintf(path, sizeof(path), "%s", g.gl_pathv[g.gl_pathc - 1]);
		globfree(&g);
		return path;
	}
	return NULL;
}

static void test_xenstore_control(void)
{
	const char *xc = xenstore_control();

	if (!xc) {
		fprintf(stderr, "\n    (xenstore-control not installed: xen-utils-4.17; the wire "
				"test covers XS_CONTROL) ");
		return;
	}
	CU_ASSERT_EQUAL(TOOL(0, xc, "help"), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "quota\t[set <name> <val>|<domid>]\n"));
	CU_ASSERT_EQUAL(TOOL(0, xc, "quota"), 0);
	CU_ASSERT_TRUE(!strncmp(out, "Quota settings:\nnodes            :     1000 Nodes per domain\n", 61));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "path-max         :     2048 Max. length of a node path\n"));
	CU_ASSERT_EQUAL(TOOL(0, xc, "quota", "1"), 0);
	CU_ASSERT_TRUE(!strncmp(out, "Domain 1:\nnodes           :        ", 35));
	CU_ASSERT_EQUAL(TOOL(0, xc, "quota", "set", "watches", "64"), 0);
	CU_ASSERT_EQUAL(TOOL(0, xc, "quota"), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "watches          :       64 Watches per domain\n"));
	CU_ASSERT_EQUAL(TOOL(0, xc, "quota", "set", "watches", "128"), 0);
	CU_ASSERT_NOT_EQUAL(TOOL(0, xc, "quota", "4242"), 0); /* no such domain */
	CU_ASSERT_NOT_EQUAL(TOOL(1, xc, "quota"), 0);          /* a domU may not */
}

static void test_exit(void)
{
	int status = srv_stop(&srv);

	CU_ASSERT_TRUE(WIFEXITED(status));
	CU_ASSERT_EQUAL(WEXITSTATUS(status), 0);
}

CU_TestInfo xsd_utils_tests[] = {
	{ "xenstore-write, xenstore-read", test_write_read },
	{ "xenstore-ls output, nested and -f", test_ls },
	{ "xenstore-list, -exists, -rm", test_list_exists_rm },
	{ "xenstore-chmod seen by xenstore-ls -p", test_chmod },
	{ "a domU cannot read or write dom0's node until chmod", test_domu_permissions },
	{ "xenstore-watch: initial event, changes, permission filter", test_watch },
	{ "xenstore-control help, quota, quota <domid>, quota set", test_xenstore_control },
	{ "server frees everything and exits 0 (LeakSanitizer)", test_exit },
	CU_TEST_INFO_NULL,
};
