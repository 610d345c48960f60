/* SPDX-License-Identifier: MIT */
/*
 * proto.c - one xenstore request: check its payload, run it, reply.
 *
 * Payloads come straight from the client's buffer and are not NUL-terminated by the
 * transport: every string argument is checked to end inside the payload before use.
 * A request we cannot make sense of gets XS_ERROR "EINVAL" and counts in bad_messages;
 * it is never logged (a guest could flood the log).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xsd.h"

struct req {
	struct pv_xsd *x;
	struct xsd_conn *c;
	const struct xsd_sockmsg *h;
	const char *body;
	uint32_t len;
	struct xsd_view v; /* the store, or the transaction tx_id names */
};

static int malformed(struct req *r)
{
	r->x->st.bad_messages++;
	return -EINVAL;
}

/* Number of NUL-terminated strings making up the whole payload, or -1. */
static int nstrings(const struct req *r)
{
	int n = 0;

	if (!r->len || r->body[r->len - 1] != '\0')
		return -1;
	for (uint32_t i = 0; i < r->len; i++)
		n += r->body[i] == '\0';
	return n;
}

/* The i-th string of a payload nstrings() accepted. */
static const char *arg(const struct req *r, int i)
{
	const char *s = r->body;

	while (i-- > 0)
		s += strlen(s) + 1;
	return s;
}

/* The single string argument, or NULL. */
static const char *onearg(const struct req *r)
{
	return nstrings(r) == 1 ? r->body : NULL;
}

/* Plain decimal, no sign, no blanks: Xen's atoi() would take garbage as 0. */
static int parse_num(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (max - (uint64_t)(*s - '0')) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

static int parse_domid(struct req *r, const char *s, domid_t *out)
{
	uint64_t v;

	if (!s || parse_num(s, UINT16_MAX, &v) < 0)
		return malformed(r);
	*out = (domid_t)v;
	return 0;
}

static int path_arg(struct req *r, const char *s, bool special, char **out, uint32_t *rel)
{
	int rc = xsd_canon(r->x, r->c->domid, s, special, out, rel);

	return rc == -EINVAL ? malformed(r) : rc;
}

static int reply(struct req *r, const void *p, size_t len)
{
	struct iovec iov = { (void *)p, len };

	if (len > r->x->lim.max_payload)
		return -E2BIG;
	return xsd_queue(r->c, r->h->type, r->h->req_id, r->h->tx_id, &iov, 1);
}

static int reply_ok(struct req *r)
{
	return reply(r, "OK", 3);
}

static const char *err_name(int err)
{
	for (size_t i = 0; i < sizeof(xsd_errors) / sizeof(xsd_errors[0]); i++)
		if (xsd_errors[i].errnum == err)
			return xsd_errors[i].errstring;
	return "EINVAL";
}

/* ---- the store ------------------------------------------------------------------------ */

/* READ and DIRECTORY: the node's value or its children, after the same checks. */
static int read_node(struct req *r, bool kids)
{
	const char *a = onearg(r);
	struct xsd_node *n;
	char *p;
	int rc;

	if (!a)
		return malformed(r);
	if ((rc = path_arg(r, a, false, &p, NULL)) < 0)
		return rc;
	if ((rc = xsd_lookup(&r->v, p, XSD_PERM_READ, &n)) == 0)
		rc = kids ? reply(r, n->kids, n->kidslen) : reply(r, n->value, n->vlen);
	free(p);
	return rc;
}

static int do_read(struct req *r)
{
	return read_node(r, false);
}

static int do_write(struct req *r)
{
	const char *nul = r->len ? memchr(r->body, '\0', r->len) : NULL;
	uint32_t off;
	char *p;
	int rc;

	if (!nul)
		return malformed(r);
	off = (uint32_t)(nul - r->body) + 1;
	if ((rc = path_arg(r, r->body, false, &p, NULL)) < 0)
		return rc;
	if ((rc = xsd_write(&r->v, p, r->body + off, r->len - off, false)) == 0)
		rc = reply_ok(r);
	free(p);
	return rc;
}

static int do_mkdir(struct req *r)
{
	const char *a = onearg(r);
	char *p;
	int rc;

	if (!a)
		return malformed(r);
	if ((rc = path_arg(r, a, false, &p, NULL)) < 0)
		return rc;
	if ((rc = xsd_write(&r->v, p, "", 0, true)) == 0)
		rc = reply_ok(r);
	free(p);
	return rc;
}

static int do_rm(struct req *r)
{
	const char *a = onearg(r);
	char *p;
	int rc;

	if (!a)
		return malformed(r);
	if ((rc = path_arg(r, a, false, &p, NULL)) < 0)
		return rc;
	if ((rc = xsd_rm(&r->v, p)) == 0)
		rc = reply_ok(r);
	free(p);
	return rc;
}

/* A list too long for one reply is E2BIG, which tells libxenstore to use DIRECTORY_PART. */
static int do_directory(struct req *r)
{
	return read_node(r, true);
}

/*
 * "<gen>\0" then whole names from byte offset off of the children list, and an empty name
 * when the list ends there, as Xen's C xenstored.  The client restarts when gen changes.
 */
static int do_directory_part(struct req *r)
{
	struct xsd_node *n;
	uint64_t off;
	char gen[24], *buf = NULL, *p;
	uint32_t glen, end, budget;
	int rc;

	if (nstrings(r) != 2 || parse_num(arg(r, 1), UINT32_MAX, &off) < 0)
		return malformed(r);
	if ((rc = path_arg(r, r->body, false, &p, NULL)) < 0)
		return rc;
	if ((rc = xsd_lookup(&r->v, p, XSD_PERM_READ, &n)) < 0)
		goto out;
	glen = (uint32_t)snprintf(gen, sizeof(gen), "%" PRIu64, n->gen) + 1;
	if (off >= n->kidslen) {
		char empty[sizeof(gen) + 1];

		memcpy(empty, gen, glen);
		empty[glen] = '\0';
		rc = reply(r, empty, glen + 1);
		goto out;
	}
	/* Xen would hand out the tail of a name; an offset inside one is a client bug. */
	if (off && n->kids[off - 1] != '\0') {
		rc = malformed(r);
		goto out;
	}
	budget = r->x->lim.max_payload - glen - 1;
	for (end = (uint32_t)off; end < n->kidslen;) {
		uint32_t l = (uint32_t)strlen(n->kids + end) + 1;

		if (end + l - off > budget)
			break;
		end += l;
	}
	if (end == off) {
		rc = -E2BIG;
		goto out;
	}
	rc = -ENOMEM;
	if ((buf = malloc(glen + (end - off) + 1))) {
		memcpy(buf, gen, glen);
		memcpy(buf + glen, n->kids + off, end - off);
		buf[glen + end - off] = '\0';
		rc = reply(r, buf, glen + (end - off) + (end == n->kidslen));
	}
out:
	free(buf);
	free(p);
	return rc;
}

static struct xsd_special *special(struct pv_xsd *x, const char *name)
{
	for (size_t i = 0; i < 2; i++)
		if (!strcmp(x->special[i].name, name))
			return &x->special[i];
	return NULL;
}

static int do_get_perms(struct req *r)
{
	static const char letter[4] = { 'n', 'r', 'w', 'b' };
	const struct xsd_perm *perms;
	const char *a = onearg(r);
	struct xsd_special *s;
	struct xsd_node *n;
	char *p, *buf = NULL;
	uint32_t cnt;
	size_t len = 0;
	int rc;

	if (!a)
		return malformed(r);
	if ((rc = path_arg(r, a, true, &p, NULL)) < 0)
		return rc;
	if (p[0] == '@') {
		if (!(s = special(r->x, p))) {
			rc = -ENOENT;
			goto out;
		}
		perms = s->perms;
		cnt = s->nperms;
	} else {
		if ((rc = xsd_lookup(&r->v, p, XSD_PERM_READ, &n)) < 0)
			goto out;
		perms = n->perms;
		cnt = n->nperms;
	}
	rc = -ENOMEM;
	if (!(buf = malloc((size_t)cnt * 8)))
		goto out;
	for (uint32_t i = 0; i < cnt; i++)
		len += (size_t)sprintf(buf + len, "%c%u", letter[perms[i].mode & 3],
				       perms[i].id) + 1;
	rc = reply(r, buf, len);
out:
	free(buf);
	free(p);
	return rc;
}

/* "n0", "r5", "w5", "b5": a letter and a decimal domid, as xs_perm_to_string writes. */
static int parse_perms(struct req *r, int first, int cnt, struct xsd_perm *out)
{
	const char *s = arg(r, first);

	for (int i = 0; i < cnt; i++, s += strlen(s) + 1) {
		static const char letters[] = "nrwb";
		const char *l = *s ? strchr(letters, *s) : NULL;
		domid_t id;

		if (!l)
			return malformed(r);
		if (parse_domid(r, s + 1, &id) < 0)
			return -EINVAL; /* counted */
		out[i] = (struct xsd_perm){ .id = id, .mode = (uint8_t)(l - letters) };
	}
	return 0;
}

/* Drops the entries of p[0, n) that name no live domain; returns how many are left. */
static int drop_dead(const struct pv_xsd *x, struct xsd_perm *p, int n)
{
	int i, k = 0;

	for (i = 0; i < n; i++)
		if (xsd_domain_live(x, p[i].id))
			p[k++] = p[i];
	return k;
}

static int do_set_perms(struct req *r)
{
	int n = nstrings(r), rc;
	struct xsd_perm *perms;
	struct xsd_special *s;
	char *p = NULL;

	if (n < 2)
		return malformed(r);
	if (!(perms = malloc((size_t)(n - 1) * sizeof(*perms))))
		return -ENOMEM;
	if ((rc = parse_perms(r, 1, n - 1, perms)) < 0 ||
	    (rc = path_arg(r, r->body, true, &p, NULL)) < 0)
		goto out;
	rc = -ENOSPC;
	if (r->c->domid != 0 && (unsigned int)(n - 1) > r->x->lim.max_perms)
		goto out;
	/*
	 * As Xen 4.17: an owner that is no domain cannot be charged for the node (its
	 * accounting fails, ENOMEM); entries naming no domain are ignored, and an ignored
	 * entry is as good as absent, so they are dropped (a later domain with that id
	 * must not inherit them).
	 */
	rc = -ENOMEM;
	if (!xsd_domain_live(r->x, perms[0].id))
		goto out;
	n = 2 + drop_dead(r->x, perms + 1, n - 2); /* path + owner + the rest */
	if (p[0] != '@') {
		if ((rc = xsd_set_perms(&r->v, p, perms, (uint32_t)n - 1)) == 0)
			rc = reply_ok(r);
		goto out;
	}
	/* Who sees @introduceDomain / @releaseDomain events: the owner (dom0) decides. */
	rc = -ENOENT;
	if (!(s = special(r->x, p)))
		goto out;
	rc = -EACCES;
	if ((xsd_perm_for(r->c->domid, s->perms, s->nperms) & (XSD_PERM_WRITE | XSD_PERM_OWNER)) !=
	    (XSD_PERM_WRITE | XSD_PERM_OWNER))
		goto out;
	rc = -EPERM;
	if (r->c->domid != 0 && perms[0].id != s->perms[0].id)
		goto out;
	free(s->perms);
	s->perms = perms;
	s->nperms = (uint32_t)n - 1;
	perms = NULL;
	rc = reply_ok(r);
out:
	free(perms);
	free(p);
	return rc;
}

/* ---- watches -------------------------------------------------------------------------- */

static int do_watch(struct req *r)
{
	const char *path, *token;
	struct iovec iov[2];
	uint32_t rel;
	char *p;
	int rc;

	/* A third, reserved argument may follow (xenstore.txt); the token may not be absent. */
	if (nstrings(r) < 2)
		return malformed(r);
	path = arg(r, 0);
	token = arg(r, 1);
	if ((rc = path_arg(r, path, true, &p, &rel)) < 0)
		return rc;
	rc = xsd_watch_add(r->c, p, rel, token);
	free(p);
	if (rc < 0 || (rc = reply_ok(r)) < 0)
		return rc;
	/* Fires once straight away, with the path as the client gave it (as Xen). */
	iov[0] = (struct iovec){ (void *)path, strlen(path) + 1 };
	iov[1] = (struct iovec){ (void *)token, strlen(token) + 1 };
	if (xsd_queue(r->c, XS_WATCH_EVENT, 0, 0, iov, 2) == 0)
		r->x->st.watch_events++;
	return 0;
}

static int do_unwatch(struct req *r)
{
	char *p;
	int rc;

	if (nstrings(r) < 2)
		return malformed(r);
	if ((rc = path_arg(r, r->body, true, &p, NULL)) < 0)
		return rc;
	if ((rc = xsd_watch_del(r->c, p, arg(r, 1))) == 0)
		rc = reply_ok(r);
	free(p);
	return rc;
}

void xsd_txns_free(struct xsd_conn *c)
{
	while (c->txns) {
		struct xsd_txn *t = c->txns;

		c->txns = t->next;
		xsd_txn_free(t);
	}
	c->x->acc[c->domid].txns -= (uint16_t)c->ntxns;
	c->ntxns = 0;
}

static int do_reset_watches(struct req *r)
{
	xsd_watches_free(r->c);
	xsd_txns_free(r->c);
	return reply_ok(r);
}

/* ---- transactions ------------------------------------------------------------------- */

static struct xsd_txn *txn_find(struct xsd_conn *c, uint32_t id)
{
	struct xsd_txn *t;

	for (t = c->txns; t && t->id != id; t = t->next)
		;
	return t;
}

static int do_txn_start(struct req *r)
{
	struct xsd_conn *c = r->c;
	struct xsd_txn *t;
	char buf[16];

	if (r->h->tx_id) /* no nesting; xenstore.txt: "not legal" */
		return malformed(r);
	if (c->domid != 0 && r->x->acc[c->domid].txns >= r->x->lim.max_transactions)
		return -ENOSPC;
	if (!(t = xsd_txn_new()))
		return -ENOMEM;
	/* Ids are only looked up per connection; 0 means "no transaction". */
	do {
		t->id = r->x->next_txid++;
	} while (!t->id || txn_find(c, t->id));
	t->next = c->txns;
	c->txns = t;
	c->ntxns++;
	r->x->acc[c->domid].txns++;
	return reply(r, buf, (size_t)snprintf(buf, sizeof(buf), "%u", t->id) + 1);
}

static int do_txn_end(struct req *r)
{
	const char *a = onearg(r);
	struct xsd_txn *t = r->v.t, **pp;
	int rc = 0;

	if (!t) {
		r->x->st.bad_messages++;
		return -ENOENT;
	}
	if (!a || (strcmp(a, "T") && strcmp(a, "F")))
		return malformed(r);
	for (pp = &r->c->txns; *pp != t; pp = &(*pp)->next)
		;
	*pp = t->next;
	r->c->ntxns--;
	r->x->acc[r->c->domid].txns--;
	if (a[0] == 'T')
		rc = xsd_txn_commit(r->x, t, r->c->domid);
	xsd_txn_free(t);
	return rc < 0 ? rc : reply_ok(r);
}

/* ---- domains -------------------------------------------------------------------------- */

static int do_get_domain_path(struct req *r)
{
	char buf[32];
	domid_t d;
	int rc;

	if ((rc = parse_domid(r, onearg(r), &d)) < 0)
		return rc;
	return reply(r, buf, (size_t)snprintf(buf, sizeof(buf), "/local/domain/%u", d) + 1);
}

static int do_introduce(struct req *r)
{
	const char *mfn;
	uint64_t v;
	domid_t d;
	int rc;

	if (r->c->domid != 0)
		return -EACCES;
	/* <domid>|<mfn>|<evtchn>|: the sim has no ring page or port, but checks they parse. */
	if (nstrings(r) < 3)
		return malformed(r);
	if ((rc = parse_domid(r, arg(r, 0), &d)) < 0)
		return rc;
	mfn = arg(r, 1);
	mfn += mfn[0] == '-'; /* "signed decimal (!)", says xenstore.txt */
	if (d == 0 || d >= XSD_DOMID_RESERVED || parse_num(mfn, UINT64_MAX, &v) < 0 ||
	    parse_num(arg(r, 2), UINT32_MAX, &v) < 0)
		return malformed(r);
	xsd_domain_add(r->x, d);
	return reply_ok(r);
}

static int do_release(struct req *r)
{
	domid_t d;
	int rc;

	if (r->c->domid != 0)
		return -EACCES;
	if ((rc = parse_domid(r, onearg(r), &d)) < 0)
		return rc;
	if (d == 0)
		return -EINVAL;
	if ((rc = xsd_domain_drop(r->x, d, false)) < 0)
		return rc;
	return reply_ok(r);
}

static int do_resume(struct req *r)
{
	domid_t d;
	int rc;

	if (r->c->domid != 0)
		return -EACCES;
	if ((rc = parse_domid(r, onearg(r), &d)) < 0)
		return rc;
	return xsd_introduced(r->x, d) ? reply_ok(r) : -ENOENT;
}

static int do_is_introduced(struct req *r)
{
	domid_t d;
	int rc;

	if ((rc = parse_domid(r, onearg(r), &d)) < 0)
		return rc;
	return reply(r, d == 0 || xsd_introduced(r->x, d) ? "T" : "F", 2);
}

/* SET_TARGET: dom0's business in Xen, and not simulated. */
static int do_unsupported(struct req *r)
{
	return r->c->domid != 0 ? -EACCES : -ENOSYS;
}

/* ---- CONTROL (xenstore-control) ------------------------------------------------------ */

/*
 * The commands of Xen 4.17's C xenstored that mean something here, answered in its
 * format so that Debian's xenstore-control prints what it prints against Xen.  Live
 * update, logging and memory reports do not exist in the sim and are unknown commands.
 */
struct quota_ent {
	const char *name;
	unsigned int *val;
	const char *descr;
};

static size_t hard_quotas(struct pv_xsd *x, struct quota_ent *q)
{
	struct pv_xsd_limits *l = &x->lim;
	size_t n = 0;

	q[n++] = (struct quota_ent){ "nodes", &l->max_nodes, "Nodes per domain" };
	q[n++] = (struct quota_ent){ "watches", &l->max_watches, "Watches per domain" };
	q[n++] = (struct quota_ent){ "transactions", &l->max_transactions, "Transactions per domain" };
	q[n++] = (struct quota_ent){ "outstanding", &l->max_outstanding,
				     "Outstanding requests per domain" };
	q[n++] = (struct quota_ent){ "transaction-nodes", &l->max_txn_nodes,
				     "Max. number of accessed nodes per transaction" };
	q[n++] = (struct quota_ent){ "memory", &l->max_memory,
				     "Total Xenstore memory per domain (error level)" };
	q[n++] = (struct quota_ent){ "node-size", &l->max_node_size, "Max. size of a node" };
	q[n++] = (struct quota_ent){ "path-max", &l->max_path, "Max. length of a node path" };
	q[n++] = (struct quota_ent){ "permissions", &l->max_perms,
				     "Max. number of permissions per node" };
	return n;
}

static size_t soft_quotas(struct pv_xsd *x, struct quota_ent *q)
{
	q[0] = (struct quota_ent){ "memory", &x->lim.max_memory_soft,
				   "Total Xenstore memory per domain (warning level)" };
	return 1;
}

/* A reply text with its NUL, as C xenstored sends it. */
static int reply_text(struct req *r, const char *s)
{
	return reply(r, s, strlen(s) + 1);
}

static int quota_cmd(struct req *r, int argc, const char **argv, bool soft)
{
	struct quota_ent q[16];
	size_t nq = soft ? soft_quotas(r->x, q) : hard_quotas(r->x, q), len = 0, i;
	char buf[1024];

	if (argc == 0) {
		len = (size_t)snprintf(buf, sizeof(buf), "Quota settings:\n");
		for (i = 0; i < nq && len < sizeof(buf); i++)
			len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%-17s: %8u %s\n",
						q[i].name, *q[i].val, q[i].descr);
		return reply_text(r, buf);
	}
	if (!strcmp(argv[0], "set")) {
		uint64_t v;

		/* Xen takes atoi() >= 1; we take plain decimal only (see docs). */
		if (argc != 3 || parse_num(argv[2], INT32_MAX, &v) < 0 || v < 1)
			return -EINVAL;
		for (i = 0; i < nq; i++)
			if (!strcmp(argv[1], q[i].name)) {
				if (q[i].val == &r->x->lim.max_path && v > XENSTORE_REL_PATH_MAX)
					return -EINVAL; /* the sim's buffers are sized for it */
				/* Counted in uint16_t per domain (struct xsd_acc): a larger limit
				 * would let the counter wrap under it and never refuse. */
				if ((q[i].val == &r->x->lim.max_outstanding ||
				     q[i].val == &r->x->lim.max_watches ||
				     q[i].val == &r->x->lim.max_transactions) && v > UINT16_MAX)
					return -EINVAL;
				*q[i].val = (unsigned int)v;
				return reply_text(r, "OK");
			}
		return -EINVAL;
	}
	if (soft || argc != 1)
		return -EINVAL;
	{
		uint64_t d;
		const struct xsd_acc *a;

		if (parse_num(argv[0], UINT16_MAX, &d) < 0)
			return -EINVAL;
		if (!xsd_domain_live(r->x, (domid_t)d))
			return -ENOENT;
		a = &r->x->acc[d];
		/* "memory" is not accounted in the sim: 0 (docs/sim-platform.md). */
		snprintf(buf, sizeof(buf),
			 "Domain %u:\n%-16s: %8u\n%-16s: %8u\n%-16s: %8u\n%-16s: %8u\n%-16s: %8u\n",
			 (unsigned int)d, "nodes", r->x->owned[d], "watches", a->watches,
			 "transactions", a->txns, "outstanding", a->outstanding, "memory", 0u);
		return reply_text(r, buf);
	}
}

static const struct {
	const char *cmd, *pars;
} control_cmds[] = {
	{ "check", "" },
	{ "print", "<string>" },
	{ "quota", "[set <name> <val>|<domid>]" },
	{ "quota-soft", "[set <name> <val>]" },
	{ "help", "" },
};

static int do_control(struct req *r)
{
	const char *argv[8];
	int n = nstrings(r), i;
	char buf[512];
	size_t len = 0;

	if (r->c->domid != 0)
		return -EACCES;
	if (n < 1)
		return -EINVAL;
	if (n > (int)(sizeof(argv) / sizeof(argv[0])))
		return -EINVAL;
	for (i = 0; i < n; i++)
		argv[i] = arg(r, i);
	if (!strcmp(argv[0], "quota"))
		return quota_cmd(r, n - 1, argv + 1, false);
	if (!strcmp(argv[0], "quota-soft"))
		return quota_cmd(r, n - 1, argv + 1, true);
	if (!strcmp(argv[0], "check"))
		return n == 1 ? reply_text(r, "OK") : -EINVAL;
	if (!strcmp(argv[0], "print")) /* Xen logs it; the sim has no trace log to write */
		return n == 2 ? reply_text(r, "OK") : -EINVAL;
	if (!strcmp(argv[0], "help")) {
		if (n != 1)
			return -EINVAL;
		for (size_t k = 0; k < sizeof(control_cmds) / sizeof(control_cmds[0]); k++)
			len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s\t%s\n",
						control_cmds[k].cmd, control_cmds[k].pars);
		return reply_text(r, buf);
	}
	return -EINVAL;
}

/* ---- dispatch ------------------------------------------------------------------------- */

static const struct {
	int (*fn)(struct req *r);
	bool tx; /* runs inside the transaction tx_id names; other types ignore tx_id */
} ops[XS_TYPE_COUNT] = {
	[XS_CONTROL] = { do_control, false },
	[XS_DIRECTORY] = { do_directory, true },
	[XS_READ] = { do_read, true },
	[XS_GET_PERMS] = { do_get_perms, true },
	[XS_WATCH] = { do_watch, false },
	[XS_UNWATCH] = { do_unwatch, false },
	[XS_TRANSACTION_START] = { do_txn_start, false },
	[XS_TRANSACTION_END] = { do_txn_end, true },
	[XS_INTRODUCE] = { do_introduce, false },
	[XS_RELEASE] = { do_release, false },
	[XS_GET_DOMAIN_PATH] = { do_get_domain_path, false },
	[XS_WRITE] = { do_write, true },
	[XS_MKDIR] = { do_mkdir, true },
	[XS_RM] = { do_rm, true },
	[XS_SET_PERMS] = { do_set_perms, true },
	[XS_IS_DOMAIN_INTRODUCED] = { do_is_introduced, false },
	[XS_RESUME] = { do_resume, false },
	[XS_SET_TARGET] = { do_unsupported, false },
	[XS_RESET_WATCHES] = { do_reset_watches, false },
	[XS_DIRECTORY_PART] = { do_directory_part, true },
};

void xsd_handle(struct xsd_conn *c, const struct xsd_sockmsg *h, const char *body)
{
	struct req r = {
		.x = c->x, .c = c, .h = h, .body = body, .len = h->len,
		.v = { .x = c->x, .dom = c->domid },
	};
	int rc;

	c->x->st.messages++;
	if (h->type >= XS_TYPE_COUNT || !ops[h->type].fn) {
		rc = malformed(&r);
	} else if (ops[h->type].tx && h->tx_id && !(r.v.t = txn_find(c, h->tx_id))) {
		c->x->st.bad_messages++;
		rc = -ENOENT;
	} else {
		rc = ops[h->type].fn(&r);
	}
	if (rc < 0) {
		const char *e = err_name(-rc);
		struct iovec iov = { (void *)e, strlen(e) + 1 };

		c->x->st.errors++;
		xsd_queue(c, XS_ERROR, h->req_id, h->tx_id, &iov, 1);
	}
}
