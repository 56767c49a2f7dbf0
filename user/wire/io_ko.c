// SPDX-License-Identifier: GPL-2.0
/*
 * The wire stack on velo.ko's rings (ko/velo_ko.h): one velo.ko stack per
 * wire stack, whatever the interface's queue count (the soft provider takes
 * any queue; velo.ko's filters steer the stack's flows to it).
 *
 * Connection records: velo.ko RSTs the peer of each claimed record when the
 * process dies with the connection open. Every connection of the stack gets
 * one at its first SYN or SYN-ACK, keyed by its 4-tuple: velo.ko accepts a
 * record its stack's filters cover, connected or listening (the 3-tuple
 * that steers a listener's port, an active open's or a shared local
 * port's). It is kept current (snd_nxt, rcv_nxt) from every outgoing frame
 * of the connection, released when the connection sends an RST, and, when
 * the table is full, once the engine no longer has the connection open
 * (closed, in TIME_WAIT, or handed to the kernel's TCP).
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/tcp.h>
#include <stdlib.h>

#include "common/log.h"
#include "wire/io_frames.h"

#define KO(s, i) ((void)(i), (s)->ko.k)

#define KO_CONNS_MAX 65536	/* velo.ko's limit */

/* Entry i is velo.ko's record i. */
struct ko_conn {
	struct velo_xsk_flow flow;	/* local = this host */
	int next;			/* bucket chain or free list, -1 ends */
	uint32_t snd_nxt;
};

struct wire_ko_conns {
	unsigned int mask;		/* buckets - 1 */
	int free;
	int *bucket;
	struct ko_conn c[];
};

static unsigned int bucket_of(const struct wire_ko_conns *t, const struct velo_xsk_flow *f)
{
	uint32_t h = (uint32_t)f->local_port << 16 ^ f->remote_port;

	for (unsigned int i = 0; i < 16; i += 4)
		h = (h ^ (uint32_t)f->remote_addr[i] << 24 ^ (uint32_t)f->remote_addr[i + 1] << 16 ^
		     (uint32_t)f->remote_addr[i + 2] << 8 ^ f->remote_addr[i + 3]) * 0x9e3779b1u;
	return (h ^ h >> 16) & t->mask;
}

/* A table of @n entries, as many as the engine has sockets. */
static struct wire_ko_conns *conns_new(unsigned int n)
{
	struct wire_ko_conns *t = malloc(sizeof(*t) + n * sizeof(t->c[0]));
	unsigned int nb = 1;

	while (nb < n)
		nb <<= 1;
	if (!t)
		return NULL;
	t->bucket = malloc(nb * sizeof(*t->bucket));
	if (!t->bucket) {
		free(t);
		return NULL;
	}
	t->mask = nb - 1;
	t->free = 0;
	for (unsigned int i = 0; i < n; i++)
		t->c[i].next = i + 1 < n ? (int)i + 1 : -1;
	memset(t->bucket, 0xff, nb * sizeof(*t->bucket));
	return t;
}

static void conns_free(struct wire_ko_conns *t)
{
	free(t->bucket);
	free(t);
}

/* @flow's entry, or -1. */
static int conn_find(const struct wire_ko_conns *t, const struct velo_xsk_flow *flow)
{
	int i = t->bucket[bucket_of(t, flow)];

	while (i >= 0 && !wire_flow_eq(&t->c[i].flow, flow))
		i = t->c[i].next;
	return i;
}

static void conn_release(struct velo_wire_stack *st, int i)
{
	struct wire_ko_conns *t = st->ko.conns;
	int *pp = &t->bucket[bucket_of(t, &t->c[i].flow)];

	while (*pp != i)
		pp = &t->c[*pp].next;
	*pp = t->c[i].next;
	velo_ko_conn_free(st->ko.k, i);
	t->c[i].next = t->free;
	t->free = i;
}

/* One side of a flow as a sockaddr, for the engine. */
static void flow_sa(int family, const uint8_t *addr, uint16_t port, struct sockaddr_storage *ss)
{
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET6) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		memcpy(&a6->sin6_addr, addr, 16);
	} else {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(port);
		memcpy(&a4->sin_addr, addr, 4);
	}
}

/* Releases the entries of connections the engine no longer has open. */
static void conns_sweep(struct velo_wire_stack *st)
{
	struct wire_ko_conns *t = st->ko.conns;

	for (unsigned int b = 0; b <= t->mask; b++) {
		for (int i = t->bucket[b], next; i >= 0; i = next) {
			const struct velo_xsk_flow *f = &t->c[i].flow;
			struct sockaddr_storage l, r;
			int state;

			next = t->c[i].next;
			flow_sa(f->family, f->local_addr, f->local_port, &l);
			flow_sa(f->family, f->remote_addr, f->remote_port, &r);
			state = vtcp_conn_state(st->eng, (struct sockaddr *)&l, (struct sockaddr *)&r);
			if (state < 0 || state == VTCP_TIME_WAIT || state == VTCP_CLOSE)
				conn_release(st, i);
		}
	}
}

/* An outgoing frame's TCP header, with its flow (@fl zeroed by the caller) and payload size. */
static const struct tcphdr *frame_tcp(const uint8_t *f, size_t len, struct velo_xsk_flow *fl,
				      uint32_t *payload)
{
	const struct tcphdr *th;
	size_t l3 = 14, l4;

	if (len >= l3 + sizeof(struct iphdr) && f[12] == 0x08 && f[13] == 0x00) {
		const struct iphdr *ip = (const void *)(f + l3);

		l4 = l3 + ip->ihl * 4u;
		if (ip->protocol != IPPROTO_TCP || len < l4 + sizeof(*th))
			return NULL;
		fl->family = AF_INET;
		memcpy(fl->local_addr, &ip->saddr, 4);
		memcpy(fl->remote_addr, &ip->daddr, 4);
		*payload = ntohs(ip->tot_len) - (uint32_t)(l4 - l3);
	} else if (len >= l3 + sizeof(struct ip6_hdr) + sizeof(*th) && f[12] == 0x86 &&
		   f[13] == 0xdd) {
		const struct ip6_hdr *ip6 = (const void *)(f + l3);

		if (ip6->ip6_nxt != IPPROTO_TCP)
			return NULL;
		l4 = l3 + sizeof(*ip6);
		fl->family = AF_INET6;
		memcpy(fl->local_addr, &ip6->ip6_src, 16);
		memcpy(fl->remote_addr, &ip6->ip6_dst, 16);
		*payload = ntohs(ip6->ip6_plen);
	} else {
		return NULL;
	}
	th = (const void *)(f + l4);
	*payload -= th->doff * 4u;
	fl->local_port = ntohs(th->source);
	fl->remote_port = ntohs(th->dest);
	return th;
}

/* The wire's flows are velo_xsk's; velo_ko's has the same fields. */
static struct velo_ko_flow ko_flow(const struct velo_xsk_flow *f)
{
	struct velo_ko_flow kf = { .family = f->family, .local_port = f->local_port,
				   .remote_port = f->remote_port };

	memcpy(kf.local_addr, f->local_addr, sizeof(kf.local_addr));
	memcpy(kf.remote_addr, f->remote_addr, sizeof(kf.remote_addr));
	return kf;
}

/* The connection of @flow sends its SYN or SYN-ACK @frame: its record. */
static void conn_claim(struct velo_wire_stack *st, const struct velo_xsk_flow *flow,
		       const uint8_t *frame, uint32_t snd_nxt, uint32_t rcv_nxt)
{
	struct wire_ko_conns *t = st->ko.conns;
	struct velo_ko_flow kf = ko_flow(flow);
	unsigned int b = bucket_of(t, flow);
	int i, err;

	if (t->free < 0)
		conns_sweep(st);
	i = t->free;
	if (i < 0) {
		velo_dbg("wire: no velo.ko connection record left");
		return;
	}
	err = velo_ko_conn_open(st->ko.k, (uint32_t)i, &kf, frame /* destination MAC */, snd_nxt,
				rcv_nxt);
	if (err) {
		velo_dbg("wire: no velo.ko connection record: %s", strerror(-err));
		return;
	}
	t->free = t->c[i].next;
	t->c[i] = (struct ko_conn){ .flow = *flow, .snd_nxt = snd_nxt, .next = t->bucket[b] };
	t->bucket[b] = i;
}

/* Keeps the record of the frame's connection current (tx_frame's hook). */
static void ko_on_tx(struct velo_wire_stack *st, const uint8_t *frame, size_t len)
{
	struct velo_xsk_flow fl;
	const struct tcphdr *th;
	struct ko_conn *c;
	uint32_t payload = 0, end, rcv_nxt;
	int i;

	memset(&fl, 0, sizeof(fl));
	th = frame_tcp(frame, len, &fl, &payload);
	if (!th)
		return;
	i = conn_find(st->ko.conns, &fl);
	end = ntohl(th->seq) + payload + th->syn + th->fin;
	rcv_nxt = th->ack ? ntohl(th->ack_seq) : 0;
	if (i < 0) {
		if (th->syn && !th->rst)
			conn_claim(st, &fl, frame, end, rcv_nxt);
		return;
	}
	if (th->rst) {
		conn_release(st, i);
		return;
	}
	c = &st->ko.conns->c[i];
	/* retransmissions do not move snd_nxt back; a new SYN starts afresh */
	if (th->syn || (int32_t)(end - c->snd_nxt) > 0)
		c->snd_nxt = end;
	velo_ko_conn_update(st->ko.k, i, c->snd_nxt, rcv_nxt);
}

static int ko_open(struct velo_wire_stack *st)
{
	unsigned int n = st->cfg.max_sockets < KO_CONNS_MAX ? st->cfg.max_sockets : KO_CONNS_MAX;
	struct velo_ko_config kc = { .ifname = st->ifname, .nr_conns = n };
	int err;

	st->ko.conns = conns_new(n);
	if (!st->ko.conns)
		return -ENOMEM;
	err = velo_ko_open(&kc, &st->ko.k);
	if (err) {
		conns_free(st->ko.conns);
		return err;
	}
	st->nq = 1;
	velo_dbg("wire: %s: velo.ko stack %u", st->ifname, velo_ko_stack_id(st->ko.k));
	return 0;
}

/*
 * The module RSTs the peers of records still claimed: not those of
 * connections already over (TIME_WAIT, handed to the kernel at exit).
 */
static void ko_close(struct velo_wire_stack *st)
{
	if (st->eng)
		conns_sweep(st);
	velo_ko_close(st->ko.k);
	conns_free(st->ko.conns);
	st->nq = 0;
}

/* The engine computes every checksum: none is left to the provider. */
static void ko_tx_flush(struct velo_wire_stack *st)
{
	velo_ko_tx_submit(st->ko.k, st->ko.txq, st->ntx, 0);
	st->ntx = 0;
}

/* Completed sends make the fd readable: take them back before sleeping on it. */
static int ko_sleep_fd(struct velo_wire_stack *st, unsigned int q)
{
	(void)q;
	velo_ko_tx_reap(st->ko.k);
	return velo_ko_fd(st->ko.k);
}

/*
 * The mlx5 provider's flow rules take every segment matching a listening
 * filter, including those of the kernel's own connections on that port: a
 * listener sharing its port with the application's kernel listener stays
 * the kernel's there. The soft provider leaves those to the kernel.
 */
static int ko_filter_add(struct velo_wire_stack *st, const struct velo_xsk_flow *flow,
			 bool kernel_too, union wire_filter *h)
{
	struct velo_ko_flow kf = ko_flow(flow);

	if (!flow->remote_port && kernel_too && velo_ko_hw_steering(st->ko.k))
		return -EOPNOTSUPP;
	return velo_ko_filter_add(st->ko.k, &kf, 0, &h->ko.handle);
}

static int ko_filter_remove(struct velo_wire_stack *st, const union wire_filter *h)
{
	return velo_ko_filter_remove(st->ko.k, h->ko.handle);
}

static void ko_stats(struct velo_wire_stack *st, struct velo_wire_stats *s)
{
	s->ko_stack = velo_ko_stack_id(st->ko.k);
}

WIRE_IO_BACKEND(velo_ko, ko, KO, ko_on_tx, VELO_WIRE_KO, "velo.ko")
