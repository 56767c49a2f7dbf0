// SPDX-License-Identifier: GPL-2.0
/* Back-to-back engine pair over an emulated link (see engine_pair.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_pair.h"
#include "ktap.h"

static const uint8_t pair_mac[2][6] = { { 0x02, 0, 0, 0, 1, 1 }, { 0x02, 0, 0, 0, 1, 2 } };

static uint64_t ep_rand(struct ep *ep)
{
	ep->rng ^= ep->rng << 13;
	ep->rng ^= ep->rng >> 7;
	ep->rng ^= ep->rng << 17;
	return ep->rng;
}

static bool chance(struct ep *ep, unsigned int ppm)
{
	return ppm && ep_rand(ep) % 1000000 < ppm;
}

void ep_addr(const struct ep *ep, int side, struct sockaddr_storage *ss, uint16_t port)
{
	memset(ss, 0, sizeof(*ss));
	if (ep->v6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		inet_pton(AF_INET6, side ? "fd00::2" : "fd00::1", &s6->sin6_addr);
		s6->sin6_port = htons(port);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_addr.s_addr = htonl(side ? 0x0a000002 : 0x0a000001);
		s4->sin_port = htons(port);
	}
}

int ep_init(struct ep *ep, const struct vtcp_config *cfg, bool v6, uint64_t seed)
{
	struct sockaddr_storage ss;

	memset(ep, 0, sizeof(*ep));
	ep->v6 = v6;
	ep->rng = seed ? seed : 88172645463325252ull;
	ep->now = 1000000000ull;
	for (int i = 0; i < 2; i++) {
		struct vtcp_config c = *cfg;

		memcpy(c.mac, pair_mac[i], 6);
		c.ifindex = 2;
		c.mtu = c.mtu ? c.mtu : 1500;
		memcpy(c.isn_secret, i ? "pair-secret-bbbb" : "pair-secret-aaaa", 16);
		ep->st[i] = vtcp_stack_create(&c);
		ep->dir[i].q = calloc(EP_MAX_INFLIGHT, sizeof(struct ep_pkt));
		if (!ep->st[i] || !ep->dir[i].q)
			return -1;
		ep_addr(ep, i, &ss, 0);
		vtcp_addr_add(ep->st[i], (struct sockaddr *)&ss);
		ep_addr(ep, !i, &ss, 0);
		vtcp_neigh_set(ep->st[i], (struct sockaddr *)&ss, pair_mac[!i]);
	}
	return 0;
}

void ep_fini(struct ep *ep)
{
	for (int i = 0; i < 2; i++) {
		vtcp_stack_destroy(ep->st[i]);
		free(ep->dir[i].q);
	}
}

static void enqueue(struct ep *ep, struct ep_dir *d, const uint8_t *f, size_t len, uint64_t at)
{
	unsigned int cap = EP_MAX_INFLIGHT, pos;

	if (d->n == cap || len > sizeof(d->q[0].data))
		return;
	/* insertion keeps delivery order (reordered packets jump ahead) */
	pos = d->n;
	while (pos > 0 && d->q[(d->head + pos - 1) % cap].at > at) {
		d->q[(d->head + pos) % cap] = d->q[(d->head + pos - 1) % cap];
		pos--;
	}
	d->q[(d->head + pos) % cap].at = at;
	d->q[(d->head + pos) % cap].len = (uint16_t)len;
	memcpy(d->q[(d->head + pos) % cap].data, f, len);
	d->n++;
	(void)ep;
}

static void ep_tx(void *ctx, const void *frame, size_t len)
{
	struct ep *ep = ctx;
	struct ep_dir *d = &ep->dir[ep->cur];
	struct ep_impair *im = &d->im;
	unsigned int qlim = im->queue_pkts ? im->queue_pkts : 1000;
	uint64_t start, at;
	uint8_t buf[1600];

	d->sent++;
	if (len > sizeof(buf))
		return;
	memcpy(buf, frame, len);
	start = d->busy_until > ep->now ? d->busy_until : ep->now;
	if (im->rate_bps) {
		/* a full bottleneck queue tail-drops */
		if ((start - ep->now) * im->rate_bps / 8 / 1000000000ull > (uint64_t)qlim * 1514) {
			d->dropped++;
			return;
		}
		d->busy_until = start + (uint64_t)len * 8 * 1000000000ull / im->rate_bps;
		start = d->busy_until;
	}
	if (chance(ep, im->loss_ppm)) {
		d->dropped++;
		return;
	}
	if (chance(ep, im->corrupt_ppm) && len > 60)
		buf[14 + 20 + 20 + ep_rand(ep) % (len - 54)] ^= (uint8_t)(1 + ep_rand(ep) % 255);
	at = start + im->delay_ns;
	if (chance(ep, im->reorder_ppm))
		at += im->delay_ns / 2 + 1000000; /* held back behind later packets */
	enqueue(ep, d, buf, len, at);
	if (chance(ep, im->dup_ppm))
		enqueue(ep, d, buf, len, at + 1000);
}

static uint64_t next_event(struct ep *ep)
{
	uint64_t t = UINT64_MAX;

	for (int i = 0; i < 2; i++) {
		uint64_t d = vtcp_next_deadline(ep->st[i]);

		if (d < t)
			t = d;
		if (ep->dir[i].n && ep->dir[i].q[ep->dir[i].head].at < t)
			t = ep->dir[i].q[ep->dir[i].head].at;
	}
	return t;
}

bool ep_run(struct ep *ep, bool (*done)(struct ep *ep, void *ctx), void *ctx,
	    uint64_t limit_ns)
{
	uint64_t end = ep->now + limit_ns;

	for (;;) {
		uint64_t t;

		for (int i = 0; i < 2; i++) {
			struct ep_dir *d = &ep->dir[i];

			while (d->n && d->q[d->head].at <= ep->now) {
				struct ep_pkt *p = &d->q[d->head];

				vtcp_input(ep->st[!i], p->data, p->len, ep->now);
				d->head = (d->head + 1) % EP_MAX_INFLIGHT;
				d->n--;
			}
		}
		for (int i = 0; i < 2; i++) {
			ep->cur = i;
			vtcp_poll(ep->st[i], ep->now, ep_tx, ep);
		}
		if (done && done(ep, ctx))
			return true;
		t = next_event(ep);
		if (t <= ep->now)
			t = ep->now; /* work pending now: loop again */
		if (t > end)
			return false;
		ep->now = t;
	}
}

/* Bulk transfer */

struct bulk_side {
	int sock;
	uint64_t sent, rcvd;
	uint32_t tx_state, rx_state; /* pattern generators */
	bool shut;
};

struct bulk_ctx {
	struct ep_bulk *b;
	int lsock;
	struct bulk_side s[2];
	bool bad;
};

static uint8_t pattern(uint32_t *state)
{
	*state = *state * 1103515245u + 12345u;
	return (uint8_t)(*state >> 16);
}

static void pump(struct ep *ep, struct bulk_ctx *c, int i)
{
	struct bulk_side *s = &c->s[i];
	uint8_t buf[16384];
	bool sends = i == 0 || c->b->both_ways;
	ssize_t n;

	if (s->sock < 0)
		return;
	while (sends && s->sent < c->b->bytes) {
		size_t want = sizeof(buf);
		uint32_t st = s->tx_state;

		if (c->b->bytes - s->sent < want)
			want = (size_t)(c->b->bytes - s->sent);
		for (size_t k = 0; k < want; k++)
			buf[k] = pattern(&st);
		n = vtcp_send(ep->st[i], s->sock, buf, want, 0);
		if (n <= 0)
			break;
		/* advance the generator by what was accepted only */
		for (ssize_t k = 0; k < n; k++)
			pattern(&s->tx_state);
		s->sent += (uint64_t)n;
	}
	if (sends && s->sent == c->b->bytes && !s->shut) {
		vtcp_shutdown(ep->st[i], s->sock, SHUT_WR);
		s->shut = true;
	}
	while ((n = vtcp_recv(ep->st[i], s->sock, buf, sizeof(buf), 0)) > 0) {
		for (ssize_t k = 0; k < n; k++)
			if (buf[k] != pattern(&s->rx_state))
				c->bad = true;
		s->rcvd += (uint64_t)n;
	}
}

static bool bulk_done(struct ep *ep, void *ctx)
{
	struct bulk_ctx *c = ctx;

	if (c->s[1].sock < 0) {
		c->s[1].sock = vtcp_accept(ep->st[1], c->lsock, NULL, NULL);
		if (c->s[1].sock < 0)
			c->s[1].sock = -1;
	}
	pump(ep, c, 0);
	pump(ep, c, 1);
	if (c->bad)
		return true;
	return c->s[1].rcvd == c->b->bytes &&
	       (!c->b->both_ways || c->s[0].rcvd == c->b->bytes);
}

int ep_bulk(struct ep *ep, struct ep_bulk *b, uint64_t limit_ns)
{
	struct sockaddr_storage ss;
	struct bulk_ctx c;
	struct vtcp_info ti;
	uint64_t start = ep->now;
	bool ok;

	memset(&c, 0, sizeof(c));
	c.b = b;
	c.s[0].tx_state = c.s[1].rx_state = 1;
	c.s[1].tx_state = c.s[0].rx_state = 2;
	c.lsock = vtcp_socket(ep->st[1], ep->v6 ? AF_INET6 : AF_INET);
	ep_addr(ep, 1, &ss, 5001);
	if (vtcp_bind(ep->st[1], c.lsock, (struct sockaddr *)&ss, sizeof(ss)) ||
	    vtcp_listen(ep->st[1], c.lsock, 4))
		return -1;
	c.s[1].sock = -1;
	c.s[0].sock = vtcp_socket(ep->st[0], ep->v6 ? AF_INET6 : AF_INET);
	if (b->cc && vtcp_set_cc(ep->st[0], c.s[0].sock, b->cc))
		return -1;
	if (vtcp_connect(ep->st[0], c.s[0].sock, (struct sockaddr *)&ss, sizeof(ss)) != -EINPROGRESS)
		return -1;
	ok = ep_run(ep, bulk_done, &c, limit_ns);
	b->elapsed_ns = ep->now - start;
	vtcp_get_info(ep->st[0], c.s[0].sock, &ti);
	b->retrans = ti.tcpi_total_retrans;
	if (c.s[1].sock >= 0) {
		struct vtcp_info rti;

		vtcp_get_info(ep->st[1], c.s[1].sock, &rti);
		b->rcv_space = rti.tcpi_rcv_space;
		vtcp_getopt(ep->st[1], c.s[1].sock, VTCP_RCVBUF, &b->rcvbuf);
	}
	if (!ok || c.bad) {
		ktap_diag("bulk: %s; sent %llu rcvd %llu (of %llu), state %d cwnd %u unacked %u",
			  c.bad ? "data corrupted" : "timed out",
			  (unsigned long long)c.s[0].sent, (unsigned long long)c.s[1].rcvd,
			  (unsigned long long)b->bytes, ti.tcpi_state, ti.tcpi_snd_cwnd,
			  ti.tcpi_unacked);
		return -1;
	}
	vtcp_close(ep->st[0], c.s[0].sock);
	vtcp_close(ep->st[1], c.s[1].sock);
	vtcp_close(ep->st[1], c.lsock);
	return 0;
}
