/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Neighbours: ARP (IPv4) and neighbour discovery (IPv6). The host's kernel
 * remains the source of truth (vtcp_neigh_set); the engine also answers
 * requests for its own addresses, learns from replies, asks when it lacks
 * an entry, and holds one frame per unresolved neighbour meanwhile.
 */
#include "internal.h"

#define ETH_P_IP   0x0800
#define ETH_P_ARP  0x0806
#define ETH_P_IPV6 0x86dd
#define NEIGH_RETRY_NS NS_PER_S

static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

void eth_header(uint8_t *p, const uint8_t *dst, const uint8_t *src, uint16_t type)
{
	memcpy(p, dst, 6);
	memcpy(p + 6, src, 6);
	p[12] = (uint8_t)(type >> 8);
	p[13] = (uint8_t)type;
}

struct neigh *neigh_find(struct vtcp_stack *st, const struct vaddr *ip)
{
	for (unsigned int i = 0; i < NEIGH_MAX; i++)
		if (st->neigh[i].used && vaddr_eq(&st->neigh[i].ip, ip))
			return &st->neigh[i];
	return NULL;
}

/* Finds or makes the entry; a full table recycles the oldest-asked one. */
static struct neigh *neigh_get(struct vtcp_stack *st, const struct vaddr *ip)
{
	struct neigh *n = neigh_find(st, ip), *victim = &st->neigh[0];

	if (n)
		return n;
	for (unsigned int i = 0; i < NEIGH_MAX; i++) {
		n = &st->neigh[i];
		if (!n->used) {
			victim = n;
			break;
		}
		if (n->asked_ns < victim->asked_ns)
			victim = n;
	}
	n = victim;
	if (n->held_len)
		st->nheld--;
	n->used = true;
	n->valid = false;
	n->ip = *ip;
	n->asked_ns = 0;
	n->held_len = 0;
	return n;
}

static void neigh_learn(struct vtcp_stack *st, const struct vaddr *ip,
			const uint8_t *mac, bool create)
{
	struct neigh *n = create ? neigh_get(st, ip) : neigh_find(st, ip);

	if (!n)
		return;
	memcpy(n->mac, mac, 6);
	n->valid = true;
}

/* Sends the frames that waited for their neighbour to resolve. */
void neigh_flush(struct vtcp_stack *st)
{
	for (unsigned int i = 0; st->nheld && i < NEIGH_MAX; i++) {
		struct neigh *n = &st->neigh[i];

		if (n->used && n->valid && n->held_len) {
			memcpy(n->held, n->mac, 6);
			st->tx(st->tx_ctx, n->held, n->held_len);
			st->emitted++;
			n->held_len = 0;
			st->nheld--;
		}
	}
}

int vtcp_neigh_set(struct vtcp_stack *st, const struct sockaddr *sa,
		   const uint8_t *mac)
{
	struct vaddr ip;
	struct neigh *n;

	vaddr_from_sa(&ip, NULL, sa);
	if (!ip.fam)
		return -EAFNOSUPPORT;
	if (mac) {
		neigh_learn(st, &ip, mac, true);
		return 0;
	}
	n = neigh_find(st, &ip);
	if (n) {
		if (n->held_len)
			st->nheld--;
		n->held_len = 0;
		n->used = false;
	}
	return 0;
}

static void arp_send(struct vtcp_stack *st, uint16_t op, const uint8_t *tha,
		     const uint8_t *tpa, const uint8_t *spa, const uint8_t *eth_dst)
{
	uint8_t f[42];

	eth_header(f, eth_dst, st->cfg.mac, ETH_P_ARP);
	f[14] = 0; f[15] = 1;		/* Ethernet */
	f[16] = 0x08; f[17] = 0;	/* IPv4 */
	f[18] = 6; f[19] = 4;
	f[20] = 0; f[21] = (uint8_t)op;
	memcpy(f + 22, st->cfg.mac, 6);
	memcpy(f + 28, spa, 4);
	memcpy(f + 32, tha, 6);
	memcpy(f + 38, tpa, 4);
	ctl_queue(st, NULL, f, sizeof(f));
}

void arp_input(struct vtcp_stack *st, const uint8_t *p, size_t len)
{
	struct vaddr spa = { .fam = 4 }, tpa = { .fam = 4 };
	uint16_t op;

	if (len < 28 || p[0] != 0 || p[1] != 1 || p[2] != 0x08 || p[3] != 0 ||
	    p[4] != 6 || p[5] != 4)
		return;
	op = (uint16_t)(p[6] << 8 | p[7]);
	memcpy(spa.a, p + 14, 4);
	memcpy(tpa.a, p + 24, 4);
	if (!addr_is_local(st, &tpa)) {
		/* refresh (never create) entries from traffic not aimed at us */
		neigh_learn(st, &spa, p + 8, false);
		return;
	}
	neigh_learn(st, &spa, p + 8, true);
	if (op == 1)
		arp_send(st, 2, p + 8, p + 14, tpa.a, p + 8);
}

static void solicited_node(uint8_t *a, const uint8_t *target)
{
	static const uint8_t pfx[13] = { 0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff };

	memcpy(a, pfx, 13);
	memcpy(a + 13, target + 13, 3);
}

/* NS (type 135) or NA (136) carrying our link-layer address option. */
static void nd_send(struct vtcp_stack *st, uint8_t type, const struct vaddr *src,
		    const uint8_t *dst_ip, const uint8_t *dst_mac,
		    const uint8_t *target, bool solicited)
{
	uint8_t f[ETH_HLEN + IP6_HLEN + 32];
	uint8_t *ip = f + ETH_HLEN, *icmp = ip + IP6_HLEN;
	struct vaddr d = { .fam = 6 };
	uint32_t sum;
	uint16_t c;

	memcpy(d.a, dst_ip, 16);
	eth_header(f, dst_mac, st->cfg.mac, ETH_P_IPV6);
	ip6_header(ip, src, &d, 32, 0, 0, 255); /* RFC 4861: only on-link senders */
	ip[6] = 58;
	memset(icmp, 0, 32);
	icmp[0] = type;
	if (type == 136)
		icmp[4] = (uint8_t)(0x20 | (solicited ? 0x40 : 0)); /* override */
	memcpy(icmp + 8, target, 16);
	icmp[24] = type == 135 ? 1 : 2; /* source / target link-layer address */
	icmp[25] = 1;
	memcpy(icmp + 26, st->cfg.mac, 6);
	sum = csum_add(csum_pseudo(src, &d, 58, 32), icmp, 32);
	c = csum_fold(sum);
	icmp[2] = (uint8_t)(c >> 8);
	icmp[3] = (uint8_t)c;
	ctl_queue(st, NULL, f, sizeof(f));
}

static const uint8_t *nd_lladdr(const uint8_t *opt, size_t len, uint8_t want)
{
	while (len >= 8) {
		size_t ol = opt[1] * 8u;

		if (!ol || ol > len)
			return NULL;
		if (opt[0] == want && ol >= 8)
			return opt + 2;
		opt += ol;
		len -= ol;
	}
	return NULL;
}

void nd_input(struct vtcp_stack *st, const struct ip_meta *m,
	      const uint8_t *p, size_t len)
{
	struct vaddr target = { .fam = 6 };
	const uint8_t *ll;

	if (len < 24 || (p[0] != 135 && p[0] != 136))
		return;
	if (csum_fold(csum_add(csum_pseudo(&m->src, &m->dst, 58, (uint32_t)len),
			       p, len)) != 0)
		return;
	memcpy(target.a, p + 8, 16);
	if (target.a[0] == 0xfe && (target.a[1] & 0xc0) == 0x80)
		target.scope = st->cfg.ifindex;
	if (p[0] == 135) {
		static const uint8_t unspec[16];

		if (!addr_is_local(st, &target))
			return;
		ll = nd_lladdr(p + 24, len - 24, 1);
		if (memcmp(m->src.a, unspec, 16) == 0)
			return; /* duplicate address detection probe: not ours to answer */
		if (ll)
			neigh_learn(st, &m->src, ll, true);
		nd_send(st, 136, &target, m->src.a, ll ? ll : bcast, target.a, true);
		return;
	}
	ll = nd_lladdr(p + 24, len - 24, 2);
	if (ll)
		neigh_learn(st, &target, ll, true);
}

static void neigh_solicit(struct vtcp_stack *st, struct neigh *n,
			  const struct vaddr *src)
{
	if (n->ip.fam == 4) {
		static const uint8_t zero[6];

		arp_send(st, 1, zero, n->ip.a, src->a, bcast);
	} else {
		uint8_t dst[16], mac[6] = { 0x33, 0x33 };

		solicited_node(dst, n->ip.a);
		memcpy(mac + 2, dst + 12, 4);
		nd_send(st, 135, src, dst, mac, n->ip.a, false);
	}
}

void neigh_output(struct vtcp_stack *st, const struct vaddr *nexthop,
		  uint8_t *frame, size_t len)
{
	struct neigh *n = neigh_get(st, nexthop);
	struct vaddr src;

	if (n->valid) {
		memcpy(frame, n->mac, 6);
		memcpy(frame + 6, st->cfg.mac, 6);
		st->tx(st->tx_ctx, frame, len);
		st->emitted++;
		return;
	}
	memcpy(n->held, frame, len);
	memcpy(n->held + 6, st->cfg.mac, 6);
	if (!n->held_len)
		st->nheld++;
	n->held_len = (uint16_t)len;
	if (n->asked_ns && st->now - n->asked_ns < NEIGH_RETRY_NS)
		return;
	n->asked_ns = st->now ? st->now : 1;
	if (!addr_pick_src(st, nexthop, &src))
		return;
	neigh_solicit(st, n, &src);
}
