// SPDX-License-Identifier: GPL-2.0
/*
 * The wire stack on velo.ko's rings (ko/velo_ko.h): one velo.ko stack per
 * wire stack, whatever the interface's queue count (the soft provider takes
 * any queue; velo.ko's filters steer the stack's flows to it).
 *
 * Connection records: velo.ko RSTs the peer of each claimed record when the
 * process dies with the connection open. A record needs a connected filter
 * (a 5-tuple), while an active open steers its local port with a 3-tuple
 * (its peer is not known to the engine before the SYN-ACK). So each
 * 3-tuple on a port of the stack's own (not shared with a kernel listener)
 * gets an entry here; its first outgoing SYN names the peer: the entry
 * adds that 5-tuple's filter and claims a record, kept current (snd_nxt,
 * rcv_nxt) from every outgoing frame of the connection, and released with
 * the 3-tuple (which lingers through FIN_WAIT and TIME_WAIT). Passive opens
 * and further connections of a shared local port get none.
 */
#include <errno.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/tcp.h>
#include <stdlib.h>

#include "common/log.h"
#include "wire/io_frames.h"

#define KO(s, i) ((void)(i), (s)->ko.k)

#define KO_CONNS 512		/* records: as many as the engine's default sockets */
#define KO_BUCKETS 256
#define REC_NONE (-1)		/* no SYN sent yet */
#define REC_FAILED (-2)		/* no filter or record for it: not tried again */

struct ko_conn {
	struct velo_xsk_flow flow;	/* local = this host; remote set by the SYN */
	int rec;			/* velo.ko's record, or REC_* */
	int next;			/* bucket chain or free list, -1 ends */
	uint64_t filter;		/* the 5-tuple's, when rec >= 0 */
	uint32_t snd_nxt;
};

struct wire_ko_conns {
	unsigned int used;
	int free;
	int bucket[KO_BUCKETS];
	struct ko_conn c[KO_CONNS];
};

/* By local port: the SYN finds its 3-tuple's entry. */
static unsigned int bucket_of(const struct velo_xsk_flow *f)
{
	return f->local_port % KO_BUCKETS;
}

static struct wire_ko_conns *conns_new(void)
{
	struct wire_ko_conns *t = malloc(sizeof(*t));

	if (!t)
		return NULL;
	t->used = 0;
	t->free = 0;
	for (int i = 0; i < KO_CONNS; i++)
		t->c[i].next = i + 1 < KO_CONNS ? i + 1 : -1;
	for (int b = 0; b < KO_BUCKETS; b++)
		t->bucket[b] = -1;
	return t;
}

/* An entry for a new 3-tuple, or -1 when the table is full. */
static int conn_add(struct wire_ko_conns *t, const struct velo_xsk_flow *flow)
{
	int i = t->free;
	unsigned int b = bucket_of(flow);

	if (i < 0)
		return -1;
	t->free = t->c[i].next;
	t->c[i] = (struct ko_conn){ .flow = *flow, .rec = REC_NONE, .next = t->bucket[b] };
	t->bucket[b] = i;
	t->used++;
	return i;
}

static void conn_del(struct velo_wire_stack *st, int i)
{
	struct wire_ko_conns *t = st->ko.conns;
	int *pp = &t->bucket[bucket_of(&t->c[i].flow)];

	while (*pp != i)
		pp = &t->c[*pp].next;
	*pp = t->c[i].next;
	if (t->c[i].rec >= 0) {
		velo_ko_conn_free(st->ko.k, t->c[i].rec);
		velo_ko_filter_remove(st->ko.k, t->c[i].filter);
	}
	t->c[i].next = t->free;
	t->free = i;
	t->used--;
}

/* @flow's entry: its connection's, or its 3-tuple's if no SYN was sent from it yet. */
static struct ko_conn *conn_find(struct wire_ko_conns *t, const struct velo_xsk_flow *flow)
{
	for (int i = t->bucket[bucket_of(flow)]; i >= 0; i = t->c[i].next) {
		const struct velo_xsk_flow *f = &t->c[i].flow;

		if (f->family == flow->family && f->local_port == flow->local_port &&
		    !memcmp(f->local_addr, flow->local_addr, sizeof(f->local_addr)) &&
		    (!f->remote_port || (f->remote_port == flow->remote_port &&
					 !memcmp(f->remote_addr, flow->remote_addr,
						 sizeof(f->remote_addr)))))
			return &t->c[i];
	}
	return NULL;
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

/* @c's connection sends its SYN: a filter for its 5-tuple, and a record. */
static void conn_claim(struct velo_wire_stack *st, struct ko_conn *c,
		       const struct velo_xsk_flow *flow, const uint8_t *frame)
{
	struct velo_ko_flow kf = ko_flow(flow);
	int err = velo_ko_filter_add(st->ko.k, &kf, 0, &c->filter);

	c->flow = *flow;
	c->rec = err ? err : velo_ko_conn_claim(st->ko.k, &kf, frame /* destination MAC */,
						c->snd_nxt, 0);
	if (c->rec >= 0)
		return;
	velo_dbg("wire: no velo.ko connection record: %s", strerror(-c->rec));
	if (!err)
		velo_ko_filter_remove(st->ko.k, c->filter);
	c->rec = REC_FAILED;
}

/* Keeps the record of the frame's connection current (tx_frame's hook). */
static void ko_on_tx(struct velo_wire_stack *st, const uint8_t *frame, size_t len)
{
	struct velo_xsk_flow fl;
	const struct tcphdr *th;
	struct ko_conn *c;
	uint32_t payload = 0, end, rcv_nxt;

	if (!st->ko.conns->used)
		return;
	memset(&fl, 0, sizeof(fl));
	th = frame_tcp(frame, len, &fl, &payload);
	c = th ? conn_find(st->ko.conns, &fl) : NULL;
	if (!c || c->rec == REC_FAILED || (c->rec == REC_NONE && (!th->syn || th->ack)))
		return;
	end = ntohl(th->seq) + payload + th->syn + th->fin;
	/* retransmissions do not move snd_nxt back */
	if (th->syn || (int32_t)(end - c->snd_nxt) > 0)
		c->snd_nxt = end;
	rcv_nxt = th->ack ? ntohl(th->ack_seq) : 0;
	if (c->rec == REC_NONE)
		conn_claim(st, c, &fl, frame);
	else
		velo_ko_conn_update(st->ko.k, c->rec, c->snd_nxt, rcv_nxt);
}

static int ko_open(struct velo_wire_stack *st)
{
	struct velo_ko_config kc = { .ifname = st->ifname, .nr_conns = KO_CONNS };
	int err;

	st->ko.conns = conns_new();
	if (!st->ko.conns)
		return -ENOMEM;
	err = velo_ko_open(&kc, &st->ko.k);
	if (err) {
		free(st->ko.conns);
		return err;
	}
	st->nq = 1;
	velo_dbg("wire: %s: velo.ko stack %u", st->ifname, velo_ko_stack_id(st->ko.k));
	return 0;
}

/* The module RSTs the peers of records still claimed. */
static void ko_close(struct velo_wire_stack *st)
{
	velo_ko_close(st->ko.k);
	free(st->ko.conns);
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
	int err;

	if (!flow->remote_port && kernel_too && velo_ko_hw_steering(st->ko.k))
		return -EOPNOTSUPP;
	err = velo_ko_filter_add(st->ko.k, &kf, 0, &h->ko.handle);
	h->ko.conn = !err && !flow->remote_port && !kernel_too ? conn_add(st->ko.conns, flow) : -1;
	return err;
}

static int ko_filter_remove(struct velo_wire_stack *st, const union wire_filter *h)
{
	if (h->ko.conn >= 0)
		conn_del(st, h->ko.conn);
	return velo_ko_filter_remove(st->ko.k, h->ko.handle);
}

static void ko_stats(struct velo_wire_stack *st, struct velo_wire_stats *s)
{
	s->ko_stack = velo_ko_stack_id(st->ko.k);
}

WIRE_IO_BACKEND(velo_ko, ko, KO, ko_on_tx, VELO_WIRE_KO, "velo.ko")
