/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The stack object: its one allocation, local addresses, routes, the
 * connection table, Ethernet dispatch, and the poll loop that turns due
 * timers and pending work into frames.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "internal.h"

#define ETH_P_IP   0x0800
#define ETH_P_ARP  0x0806
#define ETH_P_IPV6 0x86dd
#define EPHEMERAL_LO 32768 /* net.ipv4.ip_local_port_range */
#define EPHEMERAL_HI 60999
#define PORTS 65536

static uint32_t or_default(uint32_t v, uint32_t def)
{
	return v ? v : def;
}

static size_t align8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

void vtcp_set_sysctls(struct vtcp_stack *st, const struct vtcp_config *cfg)
{
	st->cfg.wscale_space = cfg->wscale_space;
	st->cfg.rmem_default = or_default(cfg->rmem_default, 131072);
	st->cfg.wmem_default = or_default(cfg->wmem_default, 16384);
	st->cfg.keepalive_time_s = or_default(cfg->keepalive_time_s, 7200);
	st->cfg.keepalive_intvl_s = or_default(cfg->keepalive_intvl_s, 75);
	st->cfg.keepalive_probes = or_default(cfg->keepalive_probes, 9);
	st->cfg.syn_retries = or_default(cfg->syn_retries, 6);
	st->cfg.synack_retries = or_default(cfg->synack_retries, 5);
	st->cfg.retries2 = or_default(cfg->retries2, 15);
	st->cfg.fin_timeout_s = or_default(cfg->fin_timeout_s, 60);
	st->cfg.ip_ttl = or_default(cfg->ip_ttl, 64);
	st->cfg.ipv6_hop_limit = or_default(cfg->ipv6_hop_limit, 64);
	st->cfg.orphan_retries = cfg->orphan_retries;
	st->cfg.no_sack = cfg->no_sack;
	st->cfg.no_timestamps = cfg->no_timestamps;
	st->cfg.no_window_scaling = cfg->no_window_scaling;
	st->cfg.ecn = cfg->ecn;
	st->cfg.ipv6_dual_stack = cfg->ipv6_dual_stack;
	st->cfg.notsent_lowat = or_default(cfg->notsent_lowat, UINT32_MAX);
}

struct vtcp_stack *vtcp_stack_create(const struct vtcp_config *cfg)
{
	struct vtcp_stack *st;
	unsigned int i, nhash = 1;
	uint32_t seg_cap;
	size_t per, total;
	uint8_t *mem;

	if (!cfg || !cfg->max_sockets || cfg->max_sockets > (1u << 20) ||
	    cfg->sndbuf_max < 4096 || cfg->rcvbuf_max < 4096 ||
	    cfg->mtu < 1280 || cfg->mtu > 9216)
		return NULL;
	while (nhash < cfg->max_sockets * 2)
		nhash <<= 1;
	/* one segment record per 256 bytes of send buffer bounds tiny writes */
	seg_cap = cfg->sndbuf_max / 256 + 16;
	/* the socket's buffers, its control block and its scheduling slots */
	per = align8(cfg->sndbuf_max) + align8(cfg->rcvbuf_max) +
	      align8(seg_cap * sizeof(struct txseg)) + sizeof(struct tcb) +
	      2 * sizeof(int) + sizeof(uint32_t) + sizeof(uint64_t);
	total = align8(sizeof(*st)) + 5 * 8 + align8(nhash * sizeof(int)) +
		align8(PORTS * sizeof(int)) + align8(cfg->mtu + ETH_HLEN) +
		NEIGH_MAX * align8(cfg->mtu + ETH_HLEN) + cfg->max_sockets * per;
	/*
	 * Mostly socket buffers that are never all touched: reserved, not
	 * committed, so the kernel's overcommit guess does not refuse a large
	 * max_sockets on a small machine (pages come zeroed as used).
	 */
	mem = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		   -1, 0);
	if (mem == MAP_FAILED)
		return NULL;
	st = (struct vtcp_stack *)mem;
	st->mem = mem;
	st->mem_len = total;
	mem += align8(sizeof(*st));
	st->cfg = *cfg;
	vtcp_set_sysctls(st, cfg);
	st->default_cc = cc_find(cfg->congestion_control ? cfg->congestion_control : "cubic");
	if (!st->default_cc) {
		munmap(st->mem, total);
		return NULL;
	}
	st->tcbs = (struct tcb *)mem;
	st->ntcb = cfg->max_sockets;
	mem += align8(cfg->max_sockets * sizeof(struct tcb));
	st->heap_key = (uint64_t *)mem;
	mem += align8(cfg->max_sockets * sizeof(uint64_t));
	st->heap_pos = (uint32_t *)mem;
	mem += align8(cfg->max_sockets * sizeof(uint32_t));
	st->heap = (int *)mem;
	mem += align8(cfg->max_sockets * sizeof(int));
	st->work_next = (int *)mem;
	mem += align8(cfg->max_sockets * sizeof(int));
	sched_init(st);
	st->hash = (int *)mem;
	st->hash_mask = nhash - 1;
	for (i = 0; i < nhash; i++)
		st->hash[i] = -1;
	mem += align8(nhash * sizeof(int));
	st->port_head = (int *)mem;
	for (i = 0; i < PORTS; i++)
		st->port_head[i] = -1;
	mem += align8(PORTS * sizeof(int));
	st->listen_head = -1;
	st->frame = mem;
	mem += align8(cfg->mtu + ETH_HLEN);
	for (i = 0; i < NEIGH_MAX; i++) {
		st->neigh[i].held = mem;
		mem += align8(cfg->mtu + ETH_HLEN);
	}
	for (i = 0; i < st->ntcb; i++) {
		struct tcb *tp = &st->tcbs[i];

		ring_init(&tp->sndq, mem, cfg->sndbuf_max);
		mem += align8(cfg->sndbuf_max);
		ring_init(&tp->rcvq, mem, cfg->rcvbuf_max);
		mem += align8(cfg->rcvbuf_max);
		tp->segs = (struct txseg *)mem;
		tp->seg_cap = seg_cap;
		mem += align8(seg_cap * sizeof(struct txseg));
		tp->aq_next = i + 1 < st->ntcb ? (int)i + 1 : -1;
	}
	st->free_head = 0;
	st->next_port = EPHEMERAL_LO + (uint16_t)(siphash24(cfg->isn_secret, "port", 4) %
						(EPHEMERAL_HI - EPHEMERAL_LO));
	return st;
}

void vtcp_stack_destroy(struct vtcp_stack *st)
{
	if (st)
		munmap(st->mem, st->mem_len);
}

bool vaddr_eq(const struct vaddr *a, const struct vaddr *b)
{
	return a->fam == b->fam && memcmp(a->a, b->a, 16) == 0 &&
	       (a->fam != 6 || !a->scope || !b->scope || a->scope == b->scope);
}

bool vaddr_any(const struct vaddr *a)
{
	static const uint8_t zero[16];

	return memcmp(a->a, zero, 16) == 0;
}

static const uint8_t v4mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

bool vaddr_unmap_v4(struct vaddr *v)
{
	if (v->fam != 6 || memcmp(v->a, v4mapped_prefix, 12))
		return false;
	memmove(v->a, v->a + 12, 4);
	memset(v->a + 4, 0, 12);
	v->fam = 4;
	v->scope = 0;
	return true;
}

bool tcb_dual_stack(const struct tcb *tp)
{
	return tp->laddr.fam == 6 && !tp->v6only && vaddr_any(&tp->laddr);
}

bool bind_overlap(const struct tcb *o, const struct vaddr *v, bool v6only)
{
	if (o->laddr.fam == v->fam)
		return vaddr_eq(&o->laddr, v) || vaddr_any(&o->laddr) || vaddr_any(v);
	/* across families only a dual-stack wildcard meets IPv4 (Linux's bind rule) */
	if (v->fam == 4)
		return tcb_dual_stack(o);
	return o->laddr.fam == 4 && !v6only && vaddr_any(v);
}

void vaddr_from_sa(struct vaddr *v, uint16_t *port, const struct sockaddr *sa)
{
	memset(v, 0, sizeof(*v));
	if (port)
		*port = 0;
	if (!sa)
		return;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		v->fam = 4;
		memcpy(v->a, &s4->sin_addr, 4);
		if (port)
			*port = ntohs(s4->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

		v->fam = 6;
		memcpy(v->a, &s6->sin6_addr, 16);
		v->scope = s6->sin6_scope_id;
		if (port)
			*port = ntohs(s6->sin6_port);
	}
}

socklen_t vaddr_to_sa_mapped(const struct vaddr *v, uint16_t port, bool mapped,
			     struct sockaddr *sa, socklen_t len)
{
	struct vaddr m;

	if (!mapped || v->fam != 4)
		return vaddr_to_sa(v, port, sa, len);
	memset(&m, 0, sizeof(m));
	m.fam = 6;
	memcpy(m.a, v4mapped_prefix, 12);
	memcpy(m.a + 12, v->a, 4);
	return vaddr_to_sa(&m, port, sa, len);
}

socklen_t vaddr_to_sa(const struct vaddr *v, uint16_t port, struct sockaddr *sa,
		      socklen_t len)
{
	struct sockaddr_storage ss;
	socklen_t n;

	memset(&ss, 0, sizeof(ss));
	if (v->fam == 6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		memcpy(&s6->sin6_addr, v->a, 16);
		s6->sin6_scope_id = v->scope;
		n = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		memcpy(&s4->sin_addr, v->a, 4);
		n = sizeof(*s4);
	}
	memcpy(sa, &ss, MIN(n, len));
	return n;
}

static bool linklocal6(const struct vaddr *a)
{
	return a->fam == 6 && a->a[0] == 0xfe && (a->a[1] & 0xc0) == 0x80;
}

int vtcp_addr_add(struct vtcp_stack *st, const struct sockaddr *sa)
{
	struct local_addr *free_slot = NULL;
	struct vaddr v;

	vaddr_from_sa(&v, NULL, sa);
	if (!v.fam)
		return -EAFNOSUPPORT;
	if (linklocal6(&v) && !v.scope)
		v.scope = st->cfg.ifindex;
	for (unsigned int i = 0; i < ADDR_MAX; i++) {
		if (st->addrs[i].used && vaddr_eq(&st->addrs[i].a, &v))
			return -EEXIST;
		if (!st->addrs[i].used && !free_slot)
			free_slot = &st->addrs[i];
	}
	if (!free_slot)
		return -ENOSPC;
	free_slot->a = v;
	free_slot->used = true;
	return 0;
}

int vtcp_addr_del(struct vtcp_stack *st, const struct sockaddr *sa)
{
	struct vaddr v;

	vaddr_from_sa(&v, NULL, sa);
	for (unsigned int i = 0; i < ADDR_MAX; i++) {
		if (st->addrs[i].used && vaddr_eq(&st->addrs[i].a, &v)) {
			st->addrs[i].used = false;
			return 0;
		}
	}
	return -EADDRNOTAVAIL;
}

bool addr_is_local(const struct vtcp_stack *st, const struct vaddr *a)
{
	for (unsigned int i = 0; i < ADDR_MAX; i++)
		if (st->addrs[i].used && vaddr_eq(&st->addrs[i].a, a))
			return true;
	return false;
}

/* Same family, link-local for link-local destinations, else global first. */
bool addr_pick_src(const struct vtcp_stack *st, const struct vaddr *dst,
		   struct vaddr *src)
{
	const struct local_addr *best = NULL;

	for (unsigned int i = 0; i < ADDR_MAX; i++) {
		const struct local_addr *l = &st->addrs[i];

		if (!l->used || l->a.fam != dst->fam)
			continue;
		if (!best || linklocal6(&l->a) == linklocal6(dst))
			best = l;
		if (linklocal6(&l->a) == linklocal6(dst))
			break;
	}
	if (best)
		*src = best->a;
	return best != NULL;
}

int route_lookup(struct vtcp_stack *st, const struct vaddr *dst,
		 struct vaddr *nexthop, struct vaddr *src, uint32_t *mtu)
{
	struct vtcp_route rt;
	struct sockaddr_storage ss;
	int err;

	*nexthop = *dst;
	*mtu = st->cfg.mtu;
	if (linklocal6(dst) && dst->scope && dst->scope != st->cfg.ifindex)
		return -ENETUNREACH;
	if (st->cfg.route) {
		memset(&rt, 0, sizeof(rt));
		vaddr_to_sa(dst, 0, (struct sockaddr *)&ss, sizeof(ss));
		err = st->cfg.route(st->cfg.route_ctx, (struct sockaddr *)&ss, &rt);
		if (err)
			return err;
		if (rt.nexthop.ss_family != AF_UNSPEC)
			vaddr_from_sa(nexthop, NULL, (struct sockaddr *)&rt.nexthop);
		if (rt.mtu)
			*mtu = MIN(rt.mtu, st->cfg.mtu);
		if (rt.src.ss_family != AF_UNSPEC && src) {
			vaddr_from_sa(src, NULL, (struct sockaddr *)&rt.src);
			return 0;
		}
	}
	if (src && !addr_pick_src(st, dst, src))
		return -EADDRNOTAVAIL;
	return 0;
}

static unsigned int tuple_bucket(const struct vtcp_stack *st, const struct vaddr *l,
				 uint16_t lport, const struct vaddr *r, uint16_t rport)
{
	uint32_t h = (uint32_t)lport * 0x9e3779b1u ^ (uint32_t)rport * 0x85ebca6bu;

	for (unsigned int i = 0; i < 16; i += 4) {
		uint32_t w;

		memcpy(&w, r->a + i, 4);
		h = (h ^ w) * 0x27d4eb2fu;
		memcpy(&w, l->a + i, 4);
		h = (h ^ w) * 0x165667b1u;
	}
	return (h ^ h >> 15) & st->hash_mask;
}

int tcb_index(const struct vtcp_stack *st, const struct tcb *tp)
{
	return (int)(tp - st->tcbs);
}

void tcb_hash(struct vtcp_stack *st, struct tcb *tp)
{
	unsigned int b = tuple_bucket(st, &tp->laddr, tp->lport, &tp->raddr, tp->rport);

	tp->hnext = st->hash[b];
	st->hash[b] = tcb_index(st, tp);
	tp->hashed = true;
}

void tcb_unhash(struct vtcp_stack *st, struct tcb *tp)
{
	unsigned int b = tuple_bucket(st, &tp->laddr, tp->lport, &tp->raddr, tp->rport);
	int *link = &st->hash[b], me = tcb_index(st, tp);

	while (*link >= 0) {
		if (*link == me) {
			*link = tp->hnext;
			tp->hnext = -1;
			tp->hashed = false;
			return;
		}
		link = &st->tcbs[*link].hnext;
	}
}

static bool same_group(const struct tcb *lp, const struct tcb *tp)
{
	return tp->state == VTCP_LISTEN && tp->reuseport && tp->lport == lp->lport &&
	       tp->laddr.fam == lp->laddr.fam && tp->v6only == lp->v6only &&
	       vaddr_eq(&tp->laddr, &lp->laddr);
}

/*
 * Listener @lp, or one of its SO_REUSEPORT group (the listeners on its
 * address and port that all set it), chosen by the connection's 4-tuple
 * as Linux's reuseport_select_sock() does, so a SYN's retransmission and
 * the handshake's ACK go to the same one.
 */
static struct tcb *reuseport_pick(struct vtcp_stack *st, struct tcb *lp,
				  const struct vaddr *raddr, uint16_t rport)
{
	uint8_t key[16 + 16 + 2 + 2];
	unsigned int n = 0, k;
	int i;

	if (!lp || !lp->reuseport)
		return lp;
	for (i = st->listen_head; i >= 0; i = st->tcbs[i].lnext)
		n += same_group(lp, &st->tcbs[i]);
	memcpy(key, lp->laddr.a, 16);
	memcpy(key + 16, raddr->a, 16);
	memcpy(key + 32, &lp->lport, 2);
	memcpy(key + 34, &rport, 2);
	k = (unsigned int)(siphash24(st->cfg.isn_secret, key, sizeof(key)) % n);
	for (i = st->listen_head; i >= 0; i = st->tcbs[i].lnext)
		if (same_group(lp, &st->tcbs[i]) && !k--)
			return &st->tcbs[i];
	return lp;
}

/* Exact 4-tuple first, then a listener on the address, then a wildcard one. */
struct tcb *tcb_lookup(struct vtcp_stack *st, const struct vaddr *laddr,
		       uint16_t lport, const struct vaddr *raddr, uint16_t rport)
{
	struct tcb *wild = NULL, *dual = NULL;
	int i = st->hash[tuple_bucket(st, laddr, lport, raddr, rport)];

	for (; i >= 0; i = st->tcbs[i].hnext) {
		struct tcb *tp = &st->tcbs[i];

		if (tp->lport == lport && tp->rport == rport &&
		    vaddr_eq(&tp->laddr, laddr) && vaddr_eq(&tp->raddr, raddr))
			return tp;
	}
	for (i = st->listen_head; i >= 0; i = st->tcbs[i].lnext) {
		struct tcb *tp = &st->tcbs[i];

		if (tp->state != VTCP_LISTEN || tp->lport != lport)
			continue;
		if (tp->laddr.fam != laddr->fam) {
			if (laddr->fam == 4 && tcb_dual_stack(tp))
				dual = tp;
			continue;
		}
		if (vaddr_eq(&tp->laddr, laddr))
			return reuseport_pick(st, tp, raddr, rport);
		if (vaddr_any(&tp->laddr))
			wild = tp;
	}
	/* an IPv4 listener first, as Linux scores same-family sockets higher */
	return reuseport_pick(st, wild ? wild : dual, raddr, rport);
}

bool port_in_use(struct vtcp_stack *st, const struct vaddr *laddr, uint16_t lport,
		 const struct vaddr *raddr, uint16_t rport)
{
	for (int i = st->port_head[lport]; i >= 0; i = st->tcbs[i].pnext) {
		struct tcb *tp = &st->tcbs[i];

		if (!bind_overlap(tp, laddr, false))
			continue;
		/* with a peer given, only the same 4-tuple conflicts */
		if (raddr && tp->state != VTCP_LISTEN && tp->state != VTCP_CLOSE &&
		    (tp->rport != rport || !vaddr_eq(&tp->raddr, raddr)))
			continue;
		return true;
	}
	return false;
}

uint16_t port_ephemeral(struct vtcp_stack *st, const struct vaddr *laddr,
			const struct vaddr *raddr, uint16_t rport)
{
	for (unsigned int n = 0; n <= EPHEMERAL_HI - EPHEMERAL_LO; n++) {
		uint16_t p = st->next_port;

		st->next_port = p >= EPHEMERAL_HI ? EPHEMERAL_LO : p + 1;
		if (!port_in_use(st, laddr, p, raddr, rport))
			return p;
	}
	return 0;
}

struct tcb *tcb_alloc(struct vtcp_stack *st)
{
	struct tcb *tp;
	struct ring sq, rq;
	struct txseg *segs;
	uint32_t seg_cap;

	if (st->free_head < 0) {
		/* out of blocks: the oldest TIME_WAIT goes first, as Linux's tw bucket limit */
		struct tcb *old = NULL;

		for (unsigned int i = 0; i < st->ntcb; i++) {
			tp = &st->tcbs[i];
			if (tp->used && tp->state == VTCP_TIME_WAIT &&
			    (!old || tp->tw_start_ns < old->tw_start_ns))
				old = tp;
		}
		if (!old)
			return NULL;
		tcp_done(st, old, 0);
	}
	tp = &st->tcbs[st->free_head];
	st->free_head = tp->aq_next;
	sq = tp->sndq;
	rq = tp->rcvq;
	segs = tp->segs;
	seg_cap = tp->seg_cap;
	memset(tp, 0, sizeof(*tp));
	ring_init(&tp->sndq, sq.buf, sq.cap);
	ring_init(&tp->rcvq, rq.buf, rq.cap);
	tp->segs = segs;
	tp->seg_cap = seg_cap;
	tp->used = true;
	tp->state = VTCP_CLOSE;
	tp->parent = tp->aq_next = tp->hnext = tp->pnext = tp->lnext = -1;
	tp->aq_head = tp->aq_tail = -1;
	tp->t_rtx = tp->t_delack = tp->t_keep = tp->t_rack = tp->t_pace = NO_DEADLINE;
	tp->max_pacing_rate = ~0ull;
	tp->cc = st->default_cc;
	tp->ecn_want = st->cfg.ecn == 1;
	tp->keepidle_s = st->cfg.keepalive_time_s;
	tp->keepintvl_s = st->cfg.keepalive_intvl_s;
	tp->keepcnt = st->cfg.keepalive_probes;
	tp->sndbuf = st->cfg.wmem_default;
	tp->rcvbuf = rq.cap;
	tp->rto_ns = TCP_RTO_INIT_NS;
	tp->rack_reo_mult = 1;
	tp->reordering = TCP_REORDERING;
	return tp;
}

void tcb_bind_port(struct vtcp_stack *st, struct tcb *tp, uint16_t lport)
{
	tp->lport = lport;
	if (tp->bound)
		return;
	tp->bound = true;
	tp->pprev = -1;
	tp->pnext = st->port_head[lport];
	if (tp->pnext >= 0)
		st->tcbs[tp->pnext].pprev = tcb_index(st, tp);
	st->port_head[lport] = tcb_index(st, tp);
}

/* A port's chain is doubly linked: accepted sockets share the listener's port. */
void port_unlink(struct vtcp_stack *st, struct tcb *tp)
{
	if (tp->pprev >= 0)
		st->tcbs[tp->pprev].pnext = tp->pnext;
	else
		st->port_head[tp->lport] = tp->pnext;
	if (tp->pnext >= 0)
		st->tcbs[tp->pnext].pprev = tp->pprev;
}

/* Listeners are few: a singly linked list. */
static void listen_unlink(struct vtcp_stack *st, struct tcb *tp)
{
	int *link = &st->listen_head, me = tcb_index(st, tp);

	while (*link != me)
		link = &st->tcbs[*link].lnext;
	*link = tp->lnext;
}

void tcb_listen(struct vtcp_stack *st, struct tcb *tp)
{
	tp->state = VTCP_LISTEN;
	if (tp->listed)
		return;
	tp->listed = true;
	tp->lnext = st->listen_head;
	st->listen_head = tcb_index(st, tp);
}

void tcb_free(struct vtcp_stack *st, struct tcb *tp)
{
	if (tp->hashed)
		tcb_unhash(st, tp);
	if (tp->bound)
		port_unlink(st, tp);
	if (tp->listed)
		listen_unlink(st, tp);
	tp->bound = tp->listed = false;
	sched_forget(st, tp);
	ring_release(&tp->sndq);
	ring_release(&tp->rcvq);
	tp->used = false;
	tp->state = VTCP_CLOSE;
	tp->aq_next = st->free_head;
	st->free_head = tcb_index(st, tp);
}

void ctl_queue(struct vtcp_stack *st, const struct vaddr *nexthop,
	       const uint8_t *frame, size_t len)
{
	struct ctl_frame *c;

	if (st->nctl >= CTL_QUEUE || len > CTL_FRAME_MAX)
		return; /* like a full qdisc: control frames are best effort */
	c = &st->ctl[st->nctl++];
	memcpy(c->data, frame, len);
	c->len = (uint16_t)len;
	if (nexthop)
		c->nexthop = *nexthop;
	else
		memset(&c->nexthop, 0, sizeof(c->nexthop));
}

int vtcp_input(struct vtcp_stack *st, const void *frame, size_t len, uint64_t now_ns)
{
	const uint8_t *p = frame;
	uint16_t type;

	st->now = now_ns;
	st->refused = -1;
	if (len < ETH_HLEN)
		return -1;
	/* ours, broadcast or multicast */
	if (!(p[0] & 1) && memcmp(p, st->cfg.mac, 6) != 0)
		return -1;
	type = (uint16_t)(p[12] << 8 | p[13]);
	if (type == ETH_P_IP)
		ip4_input(st, p + ETH_HLEN, len - ETH_HLEN);
	else if (type == ETH_P_IPV6)
		ip6_input(st, p + ETH_HLEN, len - ETH_HLEN);
	else if (type == ETH_P_ARP)
		arp_input(st, p + ETH_HLEN, len - ETH_HLEN);
	return st->refused;
}

static void ctl_flush(struct vtcp_stack *st)
{
	for (unsigned int i = 0; i < st->nctl; i++) {
		struct ctl_frame *c = &st->ctl[i];

		if (c->nexthop.fam) {
			memcpy(st->frame, c->data, c->len);
			neigh_output(st, &c->nexthop, st->frame, c->len);
		} else {
			st->tx(st->tx_ctx, c->data, c->len);
			st->emitted++;
		}
	}
	st->nctl = 0;
}

/* Due timers, output and a readiness report for one socket with work. */
static void poll_socket(struct vtcp_stack *st, struct tcb *tp, uint64_t now_ns)
{
	st->polling = tp;
	if (tcp_deadline(tp) <= now_ns)
		tcp_timers(st, tp);
	if (tp->used && (tp->want_tx || tp->ack_now))
		tcp_output(st, tp);
	if (st->nctl)
		ctl_flush(st);
	if (tp->used && !tp->orphan && st->cfg.on_event) {
		unsigned int ev = sock_events(st, tp);

		/*
		 * New data is reported even when the mask looks the same: the
		 * application may have read everything since the last report
		 * (edge-triggered waiters and MSG_WAITALL wait for exactly that).
		 */
		if (ev != tp->ev_last || tp->rcv_nxt != tp->rcv_nxt_last) {
			tp->ev_last = ev;
			tp->rcv_nxt_last = tp->rcv_nxt;
			st->cfg.on_event(st->cfg.event_ctx, tcb_index(st, tp), ev);
		}
	}
	st->polling = NULL;
	sched_rekey(st, tp);
}

int vtcp_poll(struct vtcp_stack *st, uint64_t now_ns, vtcp_tx_fn tx, void *ctx)
{
	struct tcb *tp;

	st->now = now_ns;
	st->tx = tx;
	st->tx_ctx = ctx;
	st->emitted = 0;
	st->in_poll = true;
	ctl_flush(st);
	sched_collect_due(st, now_ns);
	while ((tp = sched_next_work(st)))
		if (tp->used)
			poll_socket(st, tp, now_ns);
	neigh_flush(st);
	st->in_poll = false;
	return st->emitted;
}

uint64_t vtcp_next_deadline(struct vtcp_stack *st)
{
	return st->nctl ? st->now : sched_deadline(st);
}
