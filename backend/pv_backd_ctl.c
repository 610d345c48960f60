/* SPDX-License-Identifier: MIT */
/*
 * pv_backd_ctl.c - the control socket of pv_backd_ctl.h: one line in, one line out.
 *
 * Clients are dom0 administrators' tools (pvio-ctl block-stats), not guests; still, a
 * client that sends too much or nothing at all costs one small buffer until it goes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "pv_backd_ctl.h"
#include "pv_daemon.h"
#include "pv_blkback.h"
#include "pv_netback.h"

#define COMP "ctl"

struct pv_backd_client {
	struct pv_backd *d;
	struct pv_backd_client *next, **pprev;
	int fd;
	size_t len;
	char buf[PV_BACKD_CTL_MAX_LINE];
};

static int json_str(char *out, size_t len, const char *s)
{
	size_t o = 0;

	if (len < 3)
		return -ENOSPC;
	out[o++] = '"';
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (o + 7 >= len)
			return -ENOSPC;
		if (c == '"' || c == '\\')
			o += (size_t)snprintf(out + o, len - o, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			o += (size_t)snprintf(out + o, len - o, "\\u%04x", c);
		else
			out[o++] = (char)c;
	}
	out[o++] = '"';
	out[o] = 0;
	return (int)o;
}

/* What the queues' threads hold of a device's counters, gathered on each thread. */
struct json_sum {
	struct pv_blkback_stats st;
	unsigned int inflight;
	uint64_t wakeups;
	char threads[PV_BLKBACK_MAX_QUEUES * 4 + 1], thread_wakeups[PV_BLKBACK_MAX_QUEUES * 21 + 1];
	size_t tlen, wlen;
};

static int call_sum(struct pv_blkback_queue *q, void *arg)
{
	struct json_sum *a = arg;
	uint64_t wk = q->w->loop ? pv_loop_wakeups(q->w->loop) : 0;
	unsigned int i;
	int fresh = 1;

	pv_blkback_stats_add(&a->st, &q->st);
	a->inflight += q->inflight;
	/* Wake-ups are a thread's, shared by its queues: each thread counted once. */
	for (i = 0; i < q->idx; i++)
		fresh &= q->dev->qs[i].w != q->w;
	if (fresh)
		a->wakeups += wk;
	a->tlen += (size_t)snprintf(a->threads + a->tlen, sizeof(a->threads) - a->tlen, "%s%u",
				    q->idx ? "," : "", q->w->thread_idx);
	a->wlen += (size_t)snprintf(a->thread_wakeups + a->wlen,
				    sizeof(a->thread_wakeups) - a->wlen, "%s%llu", q->idx ? "," : "",
				    (unsigned long long)wk);
	return 0;
}

/* On the main thread; each queue's counters are read on its thread, which alone writes them. */
int pv_backd_ctl_json(struct pv_blkback_dev *dev, char *buf, size_t len)
{
	/* params is a xenstore value (at most 4096 bytes); JSON escapes a byte in 6 at worst */
	char params[4096 * 6 + 3], type[16 * 6 + 3];
	struct json_sum sum;
	const struct pv_blkback_stats *s = &sum.st;
	int n;

	/* The device's own (its queues gone, the main thread's), then each queue's on its thread. */
	memset(&sum, 0, sizeof(sum));
	sum.st = dev->st;
	pv_backd_worker_call_all(dev, call_sum, &sum);

	if (json_str(params, sizeof(params), dev->params) < 0 ||
	    json_str(type, sizeof(type), dev->type) < 0)
		return -ENOSPC;
	n = snprintf(buf, len,
		     "{\"domid\":%u,\"devid\":%u,\"state\":%d,\"state_name\":\"%s\",\"params\":%s,\"mode\":\"%s\","
		     "\"type\":%s,\"sectors\":%llu,\"sector_size\":%u,\"queues\":%u,"
		     "\"ring_pages\":%u,\"persistent\":%u,\"indirect_segments\":%u,"
		     "\"grant_mode\":\"%s\",\"requests\":%llu,\"reads\":%llu,\"writes\":%llu,"
		     "\"flushes\":%llu,\"barriers\":%llu,\"discards\":%llu,\"indirect\":%llu,"
		     "\"bytes_read\":%llu,\"bytes_written\":%llu,\"errors\":%llu,"
		     "\"bad_requests\":%llu,\"persistent_hits\":%llu,\"grant_maps\":%llu,"
		     "\"grant_unmaps\":%llu,\"grant_copies\":%llu,\"notifications_in\":%llu,"
		     "\"notifications_out\":%llu,\"journal_replayed\":%llu,"
		     "\"journal_dropped\":%llu,\"journal_lost\":%llu,\"inflight\":%u",
		     dev->domid, dev->devid, dev->state, pv_backd_state_name(dev->state), params, dev->lim.readonly ? "r" : "w", type,
		     (unsigned long long)dev->lim.sectors, dev->sector_size ? dev->sector_size : 512,
		     dev->nqueues, dev->connected ? 1u << dev->ring_order : 0, dev->persistent,
		     dev->lim.max_indirect, dev->d->grant_copy ? "copy" : "map",
		     (unsigned long long)s->requests, (unsigned long long)s->reads,
		     (unsigned long long)s->writes, (unsigned long long)s->flushes,
		     (unsigned long long)s->barriers, (unsigned long long)s->discards,
		     (unsigned long long)s->indirect, (unsigned long long)s->bytes_read,
		     (unsigned long long)s->bytes_written, (unsigned long long)s->errors,
		     (unsigned long long)s->bad_requests, (unsigned long long)s->persistent_hits,
		     (unsigned long long)s->grant_maps, (unsigned long long)s->grant_unmaps,
		     (unsigned long long)s->grant_copies, (unsigned long long)s->notifications_in,
		     (unsigned long long)s->notifications_out,
		     (unsigned long long)s->journal_replayed, (unsigned long long)s->journal_dropped,
		     (unsigned long long)s->journal_lost, sum.inflight);
	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	/* pv_blkback_sched.c's counters */
	n += snprintf(buf + n, len - (size_t)n,
		      ",\"budget_yields\":%llu,\"time_yields\":%llu,\"completion_yields\":%llu,"
		      "\"spurious_notifications\":%llu,"
		      "\"storm_masks\":%llu,\"persistent_evictions\":%llu,"
		      "\"bounce_waits\":%llu,\"bounce_peak\":%llu,\"bounce_releases\":%llu,"
		      "\"submit_retries\":%llu,\"cq_overflows\":%llu,"
		      "\"fe_watch_events\":%llu,\"poll_hits\":%llu,\"poll_expired\":%llu,"
		      "\"direct\":%u,\"direct_io_safe\":%u,\"dio_align\":%u,"
		      "\"buffered_fallbacks\":%llu,\"loop_wakeups\":%llu,\"thread\":%u,"
		      "\"queue_threads\":[%s],\"queue_thread_wakeups\":[%s],"
		      "\"sync_ios\":%llu,\"grant_map_calls\":%llu}",
		      (unsigned long long)s->budget_yields, (unsigned long long)s->time_yields,
		      (unsigned long long)s->completion_yields,
		      (unsigned long long)s->spurious_notifications,
		      (unsigned long long)s->storm_masks,
		      (unsigned long long)s->persistent_evictions,
		      (unsigned long long)s->bounce_waits, (unsigned long long)s->bounce_peak,
		      (unsigned long long)s->bounce_releases,
		      (unsigned long long)s->submit_retries, (unsigned long long)s->cq_overflows,
		      (unsigned long long)s->fe_watch_events, (unsigned long long)s->poll_hits,
		      (unsigned long long)s->poll_expired, dev->dfd >= 0, dev->direct_io_safe,
		      dev->dfd >= 0 ? dev->dio_align : 0,
		      (unsigned long long)s->buffered_fallbacks,
		      /* its queues' threads', shared by every queue those threads serve */
		      (unsigned long long)sum.wakeups,
		      dev->nqueues && dev->qs[0].w ? dev->qs[0].w->thread_idx : 0, sum.threads,
		      sum.thread_wakeups,
		      (unsigned long long)s->sync_ios,
		      (unsigned long long)s->grant_map_calls);
	return (size_t)n >= len ? -ENOSPC : n;
}

static void reply(int fd, const char *s, size_t len)
{
	while (len) {
		ssize_t n = send(fd, s, len, MSG_NOSIGNAL);

		if (n <= 0)
			return; /* a client too slow for the send time-out loses its answer */
		s += n;
		len -= (size_t)n;
	}
}

static void answer(struct pv_backd *d, int fd, char *line)
{
	unsigned int domid, devid;
	char extra;
	struct pv_blkback_dev *dev;

	/* Fresh sizes for whoever asks: online resize shows without waiting for the timer. */
	pv_blkback_tick(d);
	if (sscanf(line, "stats %u %u %c", &domid, &devid, &extra) == 2) {
		char buf[2048];
		int n;

		dev = pv_blkback_find(d, domid, devid);
		if (!dev || dev->ignored) {
			static const char e[] = "{\"error\":\"no such device\"}\n";

			reply(fd, e, sizeof(e) - 1);
			return;
		}
		n = pv_backd_ctl_json(dev, buf, sizeof(buf) - 1);
		if (n < 0)
			n = snprintf(buf, sizeof(buf), "{\"error\":\"too long\"}");
		buf[n++] = '\n';
		reply(fd, buf, (size_t)n);
	} else if (sscanf(line, "vif-stats %u %u %c", &domid, &devid, &extra) == 2) {
		struct pv_netback_vif *vif = pv_netback_find(d, domid, devid);
		char buf[4096];
		int n;

		if (!vif) {
			static const char e[] = "{\"error\":\"no such vif\"}\n";
			reply(fd, e, sizeof(e) - 1);
			return;
		}
		n = pv_netback_ctl_json(vif, buf, sizeof(buf) - 1);
		if (n < 0)
			n = snprintf(buf, sizeof(buf), "{\"error\":\"too long\"}");
		buf[n++] = '\n';
		reply(fd, buf, (size_t)n);
	} else if (strcmp(line, "vif-list") == 0) {
		struct pv_netback_vif *vif;
		size_t cap = 4096, len = 1;
		char *out = malloc(cap);

		if (!out)
			return;
		out[0] = '[';
		for (vif = d->net ? d->net->vifs : NULL; vif; vif = vif->next) {
			int n;

			while (cap - len < 4096 + 3) {
				char *bigger = cap < (64u << 20) ? realloc(out, cap * 2) : NULL;

				if (!bigger) {
					free(out);
					return;
				}
				out = bigger;
				cap *= 2;
			}
			if (len > 1)
				out[len++] = ',';
			n = pv_netback_ctl_json(vif, out + len, 4096);
			if (n < 0) {
				free(out);
				return;
			}
			len += (size_t)n;
		}
		out[len++] = ']';
		out[len++] = '\n';
		reply(fd, out, len);
		free(out);
	} else if (strcmp(line, "list") == 0) {
		size_t cap = 4096, len = 1;
		char *out = malloc(cap);

		if (!out)
			return;
		out[0] = '[';
		for (dev = d->devs; dev; dev = dev->next) {
			int n;

			if (dev->ignored)
				continue;
			for (;;) {
				n = pv_backd_ctl_json(dev, out + len + 1, cap - len - 3);
				if (n >= 0)
					break;
				char *bigger = cap < (64u << 20) ? realloc(out, cap * 2) : NULL;

				if (!bigger) {
					free(out);
					return;
				}
				out = bigger;
				cap *= 2;
			}
			if (len > 1)
				out[len] = ',';
			else
				memmove(out + len, out + len + 1, (size_t)n);
			len += (size_t)n + (len > 1);
		}
		out[len++] = ']';
		out[len++] = '\n';
		reply(fd, out, len);
		free(out);
	} else {
		static const char e[] = "{\"error\":\"unknown command\"}\n";

		reply(fd, e, sizeof(e) - 1);
	}
}

static void client_free(struct pv_backd_client *c)
{
	pv_loop_del(c->d->loop, c->fd);
	close(c->fd);
	*c->pprev = c->next;
	if (c->next)
		c->next->pprev = c->pprev;
	free(c);
}

static void on_client(struct pv_loop *loop, int fd, uint32_t events, void *opaque)
{
	struct pv_backd_client *c = opaque;
	char *nl;
	ssize_t n;

	(void)events;
	n = recv(fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0) {
		c->len += (size_t)n;
		c->buf[c->len] = 0;
		nl = strchr(c->buf, '\n');
		if (!nl && c->len < sizeof(c->buf) - 1)
			return;
		if (nl)
			*nl = 0;
		else
			c->buf[0] = 0; /* too long: answered as unknown */
		answer(c->d, fd, c->buf);
	}
	(void)loop;
	client_free(c);
}

static void on_accept(struct pv_loop *loop, int fd, uint32_t events, void *opaque)
{
	struct pv_backd *d = opaque;
	struct timeval tv = { .tv_sec = 1 };
	struct pv_backd_client *c;
	int cfd;

	(void)events;
	/*
	 * Blocking, so that SO_SNDTIMEO bounds a reply to a slow reader instead of a full
	 * socket buffer cutting a long "list" short; reads use MSG_DONTWAIT.
	 */
	cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
	if (cfd < 0)
		return;
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(cfd);
		return;
	}
	c->d = d;
	c->fd = cfd;
	setsockopt(cfd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (pv_loop_add(loop, cfd, EPOLLIN, on_client, c) < 0) {
		close(cfd);
		free(c);
		return;
	}
	c->next = d->clients;
	if (c->next)
		c->next->pprev = &c->next;
	c->pprev = &d->clients;
	d->clients = c;
}

int pv_backd_ctl_open(struct pv_backd *d, const char *path)
{
	int fd, rc;

	fd = pv_listen_unix(path, SOCK_STREAM, 0600);
	if (fd < 0)
		return fd;
	rc = pv_loop_add(d->loop, fd, EPOLLIN, on_accept, d);
	if (rc < 0) {
		close(fd);
		unlink(path);
		return rc;
	}
	d->ctl_fd = fd;
	d->ctl_path = strdup(path);
	return 0;
}

void pv_backd_ctl_close(struct pv_backd *d)
{
	while (d->clients)
		client_free(d->clients);
	if (d->ctl_fd >= 0) {
		pv_loop_del(d->loop, d->ctl_fd);
		close(d->ctl_fd);
		d->ctl_fd = -1;
	}
	if (d->ctl_path) {
		unlink(d->ctl_path);
		free(d->ctl_path);
		d->ctl_path = NULL;
	}
}
