// SPDX-License-Identifier: GPL-2.0
/*
 * Transmit: what a stack may send and how it goes out. A frame is checked
 * on the kernel's private copy (never on user memory, which can change
 * after the check): it must be Ethernet/IPv4-or-IPv6/TCP from the
 * device's MAC address, and its local address and port must be one of the
 * stack's own filters, so a stack cannot spoof other flows or hosts.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/etherdevice.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/mlx5/qp.h>
#include <linux/skbuff.h>
#include <linux/tcp.h>
#include <net/checksum.h>
#include <net/ip.h>
#include <net/ip6_checksum.h>

#include "velo.h"

/* The IP datagram must fit in the frame and hold its TCP header. */
static bool velo_tx_lengths_ok(const struct sk_buff *skb, unsigned int l3len)
{
	const u8 *l3 = skb->data + ETH_HLEN;
	unsigned int avail = skb->len - ETH_HLEN, total;
	const struct tcphdr *th = (const void *)(l3 + l3len);

	if (l3[0] >> 4 == 4)
		total = ntohs(((const struct iphdr *)l3)->tot_len);
	else
		total = sizeof(struct ipv6hdr) + ntohs(((const struct ipv6hdr *)l3)->payload_len);
	return total <= avail && total >= l3len + th->doff * 4;
}

/* Returns 0 or the counter of the reason the frame is refused. */
int velo_tx_check(struct velo_stack *s, struct net_device *dev,
		  const struct sk_buff *skb)
{
	const struct ethhdr *eth = (const void *)skb->data;
	struct velo_key k = {};
	int l3len;

	if (!ether_addr_equal(eth->h_source, dev->dev_addr))
		return VELO_CNT_TX_SPOOF;
	l3len = velo_key_parse(skb->data + ETH_HLEN, skb->len - ETH_HLEN,
			       eth->h_proto, true, &k);
	if (l3len < 0 || !velo_tx_lengths_ok(skb, l3len))
		return VELO_CNT_TX_BAD_FRAME;
	k.net = s->net;
	k.ifindex = s->ifindex;
	return velo_filter_owns(s, &k) ? 0 : VELO_CNT_TX_SPOOF;
}

/*
 * The soft provider's checksum offload (eth segment cs_flags) for a frame
 * velo_tx_check() accepted: IPv4 header and TCP checksums in software.
 */
void velo_tx_csum(struct sk_buff *skb, u8 cs_flags)
{
	u8 *l3 = skb->data + ETH_HLEN;
	unsigned int l3len, l4len;
	struct tcphdr *th;
	__wsum sum;

	if (l3[0] >> 4 == 4) {
		struct iphdr *iph = (void *)l3;

		l3len = iph->ihl * 4;
		l4len = ntohs(iph->tot_len) - l3len;
		if (cs_flags & MLX5_ETH_WQE_L3_CSUM)
			ip_send_check(iph);
	} else {
		l3len = sizeof(struct ipv6hdr);
		l4len = ntohs(((struct ipv6hdr *)l3)->payload_len);
	}
	if (!(cs_flags & MLX5_ETH_WQE_L4_CSUM))
		return;
	th = (void *)(l3 + l3len);
	th->check = 0;
	sum = csum_partial(th, l4len, 0);
	if (l3[0] >> 4 == 4) {
		struct iphdr *iph = (void *)l3;

		th->check = csum_tcpudp_magic(iph->saddr, iph->daddr, l4len,
					      IPPROTO_TCP, sum);
	} else {
		struct ipv6hdr *ip6 = (void *)l3;

		th->check = csum_ipv6_magic(&ip6->saddr, &ip6->daddr, l4len,
					    IPPROTO_TCP, sum);
	}
}

/* Send a checked frame; returns 0 or VELO_CNT_TX_DEV_DROP. */
int velo_xmit(struct velo_stack *s, struct net_device *dev, struct sk_buff *skb)
{
	unsigned int len = skb->len;

	skb->dev = dev;
	skb_reset_mac_header(skb);
	skb->protocol = eth_hdr(skb)->h_proto;
	skb_set_network_header(skb, ETH_HLEN);
	if (dev_queue_xmit(skb) != NET_XMIT_SUCCESS)
		return VELO_CNT_TX_DEV_DROP;
	velo_count(s, VELO_CNT_TX_FRAMES, 1);
	velo_count(s, VELO_CNT_TX_BYTES, len);
	return 0;
}
