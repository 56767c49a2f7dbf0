// SPDX-License-Identifier: GPL-2.0
/*
 * Teardown: when a stack dies (its process exited or was killed, or closed
 * its last fd and mapping) with connections still open, the peers must not
 * be left half-open: every VELO_CONN_OPEN connection record gets an RST
 * with seq = the recorded snd_nxt (exactly what the peer expects, RFC
 * 5961). Records are user memory: each is snapshotted and its tuple must
 * be one this very stack may send on, so a stack can only reset its own
 * connections.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/etherdevice.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/mlx5/qp.h>
#include <linux/skbuff.h>
#include <linux/tcp.h>
#include <net/ip.h>

#include "velo.h"

/*
 * A record may name a connection the stack could send on (velo_filter_owns:
 * its own connected filter, or its listening filter on the local port, which
 * steers accepted connections and those of a shared local port), and not one
 * the kernel has on that tuple: a connection handed to the kernel's TCP
 * (a kernel TIME_WAIT there is an older connection's).
 */
static bool velo_conn_valid(struct velo_stack *s, const struct velo_conn *c)
{
	struct velo_key k = {
		.net = s->net,
		.ifindex = s->ifindex,
		.family = c->family,
		.lport = c->lport,
		.rport = c->rport,
	};

	if ((c->family != AF_INET && c->family != AF_INET6) ||
	    !is_valid_ether_addr(c->peer_mac) || !c->rport)
		return false;
	memcpy(k.laddr, c->laddr, sizeof(k.laddr));
	memcpy(k.raddr, c->raddr, sizeof(k.raddr));
	return velo_filter_owns(s, &k) && !velo_kernel_has_conn(&k, false);
}

static void velo_rst_ip(void *l3, const struct velo_conn *c)
{
	if (c->family == AF_INET6) {
		struct ipv6hdr *ip6 = l3;

		ip6->version = 6;
		ip6->payload_len = htons(sizeof(struct tcphdr));
		ip6->nexthdr = IPPROTO_TCP;
		ip6->hop_limit = 64;
		memcpy(&ip6->saddr, c->laddr, 16);
		memcpy(&ip6->daddr, c->raddr, 16);
	} else {
		struct iphdr *iph = l3;

		iph->version = 4;
		iph->ihl = 5;
		iph->tot_len = htons(sizeof(*iph) + sizeof(struct tcphdr));
		iph->frag_off = htons(IP_DF);
		iph->ttl = 64;
		iph->protocol = IPPROTO_TCP;
		memcpy(&iph->saddr, c->laddr, 4);
		memcpy(&iph->daddr, c->raddr, 4);
	}
}

/* An RST|ACK frame for connection record @c, from @src_mac. */
struct sk_buff *velo_rst_build(const u8 *src_mac, const struct velo_conn *c)
{
	unsigned int l3len = c->family == AF_INET6 ? sizeof(struct ipv6hdr) :
						     sizeof(struct iphdr);
	unsigned int len = ETH_HLEN + l3len + sizeof(struct tcphdr);
	struct sk_buff *skb = alloc_skb(LL_MAX_HEADER + len, GFP_KERNEL);
	struct ethhdr *eth;
	struct tcphdr *th;

	if (!skb)
		return NULL;
	skb_reserve(skb, LL_MAX_HEADER);
	eth = skb_put_zero(skb, len);
	ether_addr_copy(eth->h_dest, c->peer_mac);
	ether_addr_copy(eth->h_source, src_mac);
	eth->h_proto = htons(c->family == AF_INET6 ? ETH_P_IPV6 : ETH_P_IP);
	velo_rst_ip(eth + 1, c);
	th = (void *)((u8 *)(eth + 1) + l3len);
	th->source = c->lport;
	th->dest = c->rport;
	th->seq = htonl(c->snd_nxt);
	th->ack_seq = htonl(c->rcv_nxt);
	th->doff = sizeof(*th) / 4;
	th->rst = 1;
	th->ack = 1;
	velo_tx_csum(skb, MLX5_ETH_WQE_L3_CSUM | MLX5_ETH_WQE_L4_CSUM);
	return skb;
}

void velo_teardown_rst(struct velo_stack *s)
{
	struct velo_conn c;
	struct sk_buff *skb;
	u32 i;

	lockdep_assert_held(&s->lock);
	for (i = 0; i < s->layout.nr_conns; i++) {
		memcpy(&c, &s->conns[i], sizeof(c));
		if (c.state != VELO_CONN_OPEN)
			continue;
		if (!velo_conn_valid(s, &c)) {
			velo_count(s, VELO_CNT_RST_INVALID, 1);
			continue;
		}
		skb = velo_rst_build(s->dev->dev_addr, &c);
		if (skb && !velo_xmit(s, s->dev, skb))
			velo_count(s, VELO_CNT_RST_SENT, 1);
		cond_resched();
	}
}
