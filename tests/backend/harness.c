/* SPDX-License-Identifier: MIT */
/*
 * harness.c - pvio-simd + pvio-backd in a temp rundir, a toolstack and front ends.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "pv_backd_ctl.h"
#include "sim/pv_sim.h"

struct pv_simtest h_sim;
pid_t h_backd = -1;
struct pv_platform *h_dom[H_NDOMS + 1];

int h_backd_start(const char *extra)
{
	char spec[128], sock[200], cmd[1024];
	const char *bin = pv_simtest_bin("pvio-backd");

	snprintf(spec, sizeof(spec), "sim:%s:0", h_sim.rundir);
	snprintf(sock, sizeof(sock), "%s/%s", h_sim.rundir, PV_BACKD_CTL_SIM_NAME);
	unlink(sock);
	snprintf(cmd, sizeof(cmd), "exec %s --platform %s --foreground --log-level %s "
		 "--max-queues 4 --types phy,file,null %s", bin, spec,
		 getenv("PV_BACKD_LOG") ? getenv("PV_BACKD_LOG") : "error", extra ? extra : "");
	h_backd = fork();
	if (h_backd == 0) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	if (h_backd < 0 || pv_simtest_wait_path(sock, 10000) < 0) {
		fprintf(stderr, "pvio-backd (pid %d) made no %s\n", (int)h_backd, sock);
		return -1;
	}
	return 0;
}

int h_backd_sigterm(void)
{
	int st = -1;

	if (h_backd <= 0)
		return -1;
	kill(h_backd, SIGTERM);
	if (waitpid(h_backd, &st, 0) < 0)
		st = -1;
	h_backd = -1;
	return st;
}

int h_start(const char *backd_extra)
{
	unsigned int i;

	if (pv_simtest_start(&h_sim, "pvio-test-backd", H_NDOMS) < 0)
		return -1;
	for (i = 1; i <= H_NDOMS; i++)
		if (pv_simtest_open(&h_sim, i, &h_dom[i]) < 0)
			return -1;
	return h_backd_start(backd_extra);
}

static char proc_state(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *fp;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fp = fopen(path, "r");
	if (!fp)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = 0;
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

int h_backd_pause(void)
{
	int ms;

	kill(h_backd, SIGSTOP);
	for (ms = 0; ms < 5000 && proc_state(h_backd) != 'T'; ms++)
		usleep(1000);
	return proc_state(h_backd) == 'T' ? 0 : -1;
}

int h_stop(void)
{
	int st = -1;
	unsigned int i;

	if (h_backd > 0)
		st = h_backd_sigterm();
	for (i = 1; i <= H_NDOMS; i++) {
		if (h_dom[i])
			pv_platform_close(h_dom[i]);
		h_dom[i] = NULL;
	}
	/* pvio-simd too must have shut down cleanly (under ASan: with no leak). */
	if (pv_simtest_stop(&h_sim) < 0)
		return -1;
	return st;
}

/* ---- toolstack ------------------------------------------------------------------------ */

static int fe_w(struct h_fe *f, const char *node, const char *fmt, unsigned int v);

static int xs_w(pv_xs_txn_t t, const char *dir, const char *node, const char *val)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, node);
	return pv_xs_write(h_sim.dom0, t, path, val, strlen(val));
}

int h_attach(struct h_fe *f, unsigned int domid, unsigned int devid, uint64_t bytes,
	     const char *mode, const char *params_override)
{
	struct pv_xs_perm bep[2] = { { 0, PV_XS_PERM_NONE }, { (domid_t)domid, PV_XS_PERM_READ } };
	struct pv_xs_perm fep[2] = { { (domid_t)domid, PV_XS_PERM_NONE }, { 0, PV_XS_PERM_READ } };
	char v[64];
	pv_xs_txn_t t;
	int rc;

	memset(f, 0, sizeof(*f));
	f->domid = domid;
	f->devid = devid;
	f->diskfd = -1;
	snprintf(f->be, sizeof(f->be), "/local/domain/0/backend/vbd/%u/%u", domid, devid);
	snprintf(f->fe, sizeof(f->fe), "/local/domain/%u/device/vbd/%u", domid, devid);
	snprintf(f->disk, sizeof(f->disk), "%s/disk-%u-%u.img", h_sim.rundir, domid, devid);
	f->diskfd = open(f->disk, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (f->diskfd < 0 || ftruncate(f->diskfd, (off_t)bytes) < 0)
		return -1;
	do {
		if (pv_xs_txn_start(h_sim.dom0, &t) < 0)
			return -1;
		pv_xs_mkdir(h_sim.dom0, t, f->be);
		pv_xs_set_perms(h_sim.dom0, t, f->be, bep, 2);
		xs_w(t, f->be, "frontend", f->fe);
		snprintf(v, sizeof(v), "%u", domid);
		xs_w(t, f->be, "frontend-id", v);
		xs_w(t, f->be, "params", params_override ? params_override : f->disk);
		xs_w(t, f->be, "type", "phy");
		xs_w(t, f->be, "mode", mode);
		xs_w(t, f->be, "device-type", "disk");
		xs_w(t, f->be, "online", "1");
		xs_w(t, f->be, "removable", "0");
		xs_w(t, f->be, "bootable", "1");
		xs_w(t, f->be, "dev", "xvdb");
		xs_w(t, f->be, "discard-enable", "1");
		xs_w(t, f->be, "state", "1");
		pv_xs_mkdir(h_sim.dom0, t, f->fe);
		pv_xs_set_perms(h_sim.dom0, t, f->fe, fep, 2);
		xs_w(t, f->fe, "backend", f->be);
		xs_w(t, f->fe, "backend-id", "0");
		snprintf(v, sizeof(v), "%u", devid);
		xs_w(t, f->fe, "virtual-device", v);
		xs_w(t, f->fe, "device-type", "disk");
		xs_w(t, f->fe, "state", "1");
		rc = pv_xs_txn_end(h_sim.dom0, t, 0);
	} while (rc == -EAGAIN);
	return rc;
}

int h_be_state(struct h_fe *f)
{
	char path[200];
	uint64_t v = 0;

	snprintf(path, sizeof(path), "%s/state", f->be);
	return pv_xs_read_u64(h_sim.dom0, 0, path, &v) < 0 ? -1 : (int)v;
}

int h_be_has(struct h_fe *f, const char *node)
{
	char path[200], *s;

	snprintf(path, sizeof(path), "%s/%s", f->be, node);
	if (pv_xs_read(h_sim.dom0, 0, path, &s, NULL) < 0)
		return 0;
	free(s);
	return 1;
}

int h_wait_be_state(struct h_fe *f, int state, int ms)
{
	for (; ms > 0; ms -= 5) {
		if (h_be_state(f) == state)
			return 0;
		usleep(5000);
	}
	return -ETIMEDOUT;
}

int h_detach(struct h_fe *f)
{
	char path[256], *v = NULL;
	int rc;

	xs_w(0, f->be, "online", "0");
	xs_w(0, f->be, "state", "5");
	/*
	 * pvio-backd serves a connected front end until it lets go (as Linux's blkback): this
	 * guest, asked to, does (a Linux blkfront with nobody holding the disk).
	 */
	snprintf(path, sizeof(path), "%s/state", f->fe);
	if (pv_xs_read(h_dom[f->domid], 0, path, &v, NULL) == 0 &&
	    (!strcmp(v, "3") || !strcmp(v, "4")))
		fe_w(f, "state", "%u", 5);
	free(v);
	rc = h_wait_be_state(f, 6, 5000);
	pv_xs_rm(h_sim.dom0, 0, f->be);
	pv_xs_rm(h_sim.dom0, 0, f->fe);
	return rc;
}

/* ---- front end ------------------------------------------------------------------------ */

static int fe_w(struct h_fe *f, const char *node, const char *fmt, unsigned int v)
{
	char path[256], val[32];

	snprintf(path, sizeof(path), "%s/%s", f->fe, node);
	snprintf(val, sizeof(val), fmt, v);
	return pv_xs_write(h_dom[f->domid], 0, path, val, strlen(val));
}

int h_connect_start(struct h_fe *f, const struct h_conn *c)
{
	struct pv_platform *p = h_dom[f->domid];
	unsigned int i, j, npages;
	char node[64];
	int rc;

	f->order = c->order;
	f->nq = c->nq ? c->nq : 1;
	npages = 1u << f->order;
	if (!f->data && pv_gnt_share(p, 0, H_DATA_PAGES, 1, f->data_refs, (void **)&f->data) < 0)
		return -1;
	for (i = 0; i < f->nq; i++) {
		rc = pv_gnt_share(p, 0, npages, 1, f->q[i].refs, &f->q[i].sring);
		if (rc < 0)
			return rc;
		pv_ring_front_init(&f->q[i].ring, f->q[i].sring, (size_t)npages * PV_PAGE_SIZE,
				   sizeof(union pv_blkif_sring_entry));
		rc = pv_evtchn_alloc_unbound(p, 0, &f->q[i].port);
		if (rc < 0)
			return rc;
		for (j = 0; j < npages; j++) {
			char prefix[32] = "";

			if (f->nq > 1)
				snprintf(prefix, sizeof(prefix), "queue-%u/", i);
			if (c->order || c->force_order)
				snprintf(node, sizeof(node), "%sring-ref%u", prefix, j);
			else
				snprintf(node, sizeof(node), "%sring-ref", prefix);
			fe_w(f, node, "%u", f->q[i].refs[j]);
		}
		if (f->nq > 1)
			snprintf(node, sizeof(node), "queue-%u/event-channel", i);
		else
			snprintf(node, sizeof(node), "event-channel");
		fe_w(f, node, "%u", f->q[i].port);
	}
	if (c->order || c->force_order)
		fe_w(f, "ring-page-order", "%u", c->order);
	if (c->nq)
		fe_w(f, "multi-queue-num-queues", "%u", c->nq);
	fe_w(f, "feature-persistent", "%u", (unsigned int)c->persistent);
	if (c->protocol) {
		char path[256];

		snprintf(path, sizeof(path), "%s/protocol", f->fe);
		pv_xs_write(p, 0, path, c->protocol, strlen(c->protocol));
	}
	if (c->bad_node) {
		char path[256];
		const char *eq = strchr(c->bad_node, '=');

		snprintf(path, sizeof(path), "%s/%.*s", f->fe, (int)(eq - c->bad_node), c->bad_node);
		pv_xs_write(p, 0, path, eq + 1, strlen(eq + 1));
	}
	return fe_w(f, "state", "%u", 3);
}

int h_connect(struct h_fe *f, const struct h_conn *c)
{
	if (h_wait_be_state(f, 2, 5000) < 0)
		return -2;
	if (h_connect_start(f, c) < 0)
		return -1;
	return h_wait_be_state(f, 4, 5000);
}

static int unshare_retry(struct pv_platform *p, void *addr, unsigned int n)
{
	int rc = -EBUSY, i;

	for (i = 0; i < 400 && rc == -EBUSY; i++) {
		rc = pv_gnt_unshare(p, addr, n);
		if (rc == -EBUSY)
			usleep(5000);
	}
	return rc;
}

int h_fe_close(struct h_fe *f)
{
	int rc = 0;

	fe_w(f, "state", "%u", 6);
	if (h_wait_be_state(f, 6, 5000) < 0)
		rc = -ETIMEDOUT;
	return h_fe_release(f) < 0 ? -EBUSY : rc;
}

int h_fe_release(struct h_fe *f)
{
	struct pv_platform *p = h_dom[f->domid];
	unsigned int i;
	int rc = 0;

	/* Unshare succeeds only if the backend no longer maps anything: no grant leak. */
	for (i = 0; i < f->nq; i++) {
		if (f->q[i].sring && unshare_retry(p, f->q[i].sring, 1u << f->order) < 0)
			rc = -EBUSY;
		if (f->q[i].port)
			pv_evtchn_unbind(p, f->q[i].port);
		f->q[i].sring = NULL;
		f->q[i].port = 0;
	}
	if (f->data && unshare_retry(p, f->data, H_DATA_PAGES) < 0)
		rc = -EBUSY;
	f->data = NULL;
	return rc;
}

void h_fe_free(struct h_fe *f)
{
	if (f->diskfd >= 0)
		close(f->diskfd);
	f->diskfd = -1;
}

/* ---- requests ---------------------------------------------------------------------------- */

void h_put(struct h_fe *f, unsigned int qi, const struct blkif_request *r)
{
	struct pv_ring_front *ring = &f->q[qi].ring;

	memcpy(pv_blkif_front_req(ring, ring->req_prod_pvt++), r, sizeof(*r));
}

unsigned long h_kicks;

void h_push(struct h_fe *f, unsigned int qi)
{
	if (pv_ring_push_requests_and_check_notify(&f->q[qi].ring)) {
		pv_evtchn_notify(h_dom[f->domid], f->q[qi].port);
		h_kicks++;
	}
}

int h_get(struct h_fe *f, unsigned int qi, struct blkif_response *rsp, int ms)
{
	struct pv_ring_front *ring = &f->q[qi].ring;
	pv_ring_idx_t prod;

	for (; ms > 0; ms--) {
		if (pv_ring_front_rsp_prod(ring, &prod) > 0) {
			pv_blkif_front_copy_rsp(ring, ring->rsp_cons++, rsp);
			return 0;
		}
		usleep(1000);
	}
	return -ETIMEDOUT;
}

/*
 * The response's operation as Linux's xen-blkfront checks it: the request's, and for an
 * indirect request the inner one (it disables the disk on anything else).
 */
static uint8_t rsp_op(const struct blkif_request *r)
{
	struct blkif_request_indirect ir;

	if (r->operation != BLKIF_OP_INDIRECT)
		return r->operation;
	memcpy(&ir, r, sizeof(ir));
	return ir.indirect_op;
}

int h_do(struct h_fe *f, unsigned int qi, const struct blkif_request *r)
{
	struct blkif_response rsp;

	h_put(f, qi, r);
	h_push(f, qi);
	if (h_get(f, qi, &rsp, 5000) < 0)
		return -1000;
	if (rsp.id != r->id)
		return -1001;
	if (rsp.operation != rsp_op(r))
		return -1002;
	return rsp.status;
}

void h_rw(struct h_fe *f, struct blkif_request *r, uint8_t op, uint64_t sector,
	  unsigned int pg, unsigned int nsect)
{
	unsigned int i = 0;

	memset(r, 0, sizeof(*r));
	r->operation = op;
	r->id = ++f->q[0].next_id;
	r->sector_number = sector;
	while (nsect) {
		unsigned int n = nsect > 8 ? 8 : nsect;

		r->seg[i].gref = f->data_refs[pg + i];
		r->seg[i].first_sect = 0;
		r->seg[i].last_sect = (uint8_t)(n - 1);
		nsect -= n;
		i++;
	}
	r->nr_segments = (uint8_t)i;
}

/* ---- control socket ---------------------------------------------------------------------- */

int h_ctl(const char *cmd, char *out, size_t len)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t got = 0;
	ssize_t n;
	int fd;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", h_sim.rundir, PV_BACKD_CTL_SIM_NAME);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (write(fd, cmd, strlen(cmd)) < 0) {
		close(fd);
		return -1;
	}
	while (got + 1 < len && (n = read(fd, out + got, len - 1 - got)) > 0)
		got += (size_t)n;
	out[got] = 0;
	close(fd);
	return got && out[got - 1] == '\n' ? 0 : -1;
}

long long h_stat(struct h_fe *f, const char *name)
{
	char cmd[64], out[4096], key[64], *p;

	snprintf(cmd, sizeof(cmd), "stats %u %u\n", f->domid, f->devid);
	if (h_ctl(cmd, out, sizeof(out)) < 0)
		return -1;
	snprintf(key, sizeof(key), "\"%s\":", name);
	p = strstr(out, key);
	return p ? strtoll(p + strlen(key), NULL, 10) : -1;
}
