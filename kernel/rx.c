// SPDX-License-Identifier: GPL-2.0
/*
 * The receive hook: frames matching a filter are stolen for their stack
 * before the kernel's IP stack sees them (so it never answers them with an
 * RST); everything else passes untouched.
 *
 * Why netfilter PRE_ROUTING rather than an rx_handler: an rx_handler is
 * exclusive per netdev and would make velo incompatible with bridges,
 * bonds, macvlan and openvswitch on the same device; a tc ingress hook
 * needs a classifier and qdisc setup; a packet_type cannot keep a frame
 * from ip_rcv. PRE_ROUTING hooks are per network namespace (as filters
 * are), coexist with everything, see frames after the IP header checks
 * (bad headers never reach a stack) and can steal them (NF_STOLEN). The
 * priority is before conntrack's defragmentation (-400) and the raw table,
 * so stolen flows are never tracked. When a netns has no filter, a
 * per-netns count skips the hook's body. (Not a static key: filters come
 * and go with sockets, and toggling a key patches kernel text each time.)
 *
 * This file also keeps the per-netns state: that count and the
 * per-interface acceleration policy.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6.h>
#include <linux/skbuff.h>
#include <linux/xarray.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>

#include "velo.h"

#define VELO_NF_PRIORITY	(NF_IP_PRI_CONNTRACK_DEFRAG - 100)
/* Largest IPv4 header (60) plus a TCP header without options. */
#define VELO_HDR_MAX		80

struct velo_net {
	atomic_t nfilters;
	struct xarray policy;	/* ifindex -> xa_mk_value(accelerate) */
};

static unsigned int velo_net_id __read_mostly;

static struct velo_net *velo_net(const struct net *net)
{
	return net_generic(net, velo_net_id);
}

void velo_rx_filter_added(const struct net *net)
{
	atomic_inc(&velo_net(net)->nfilters);
}

void velo_rx_filter_removed(const struct net *net)
{
	atomic_dec(&velo_net(net)->nfilters);
}

/*
 * A NIC hands its queues wire frames; the kernel may have merged them
 * (GRO on virtio-net, veth with NAPI...). Split such a frame back, as
 * openvswitch does for its upcalls (not the transmit path's segmentation,
 * which would warn about receive checksums).
 */
static void velo_rx_deliver(struct velo_stack *s, struct sk_buff *skb)
{
	struct sk_buff *segs, *seg, *next;

	/*
	 * A hardware stack's frames arrive in its own queues, which velo.ko
	 * must not write: one that reached the kernel anyway (before its
	 * steering rule, or over another path) is dropped, not answered.
	 */
	if (s->hw)
		return;
	if (!skb_is_gso(skb)) {
		velo_soft_rx(s, skb);
		return;
	}
	__skb_push(skb, skb->data - skb_mac_header(skb));
	segs = __skb_gso_segment(skb, NETIF_F_SG, false);
	__skb_pull(skb, skb_network_offset(skb));
	if (IS_ERR(segs)) {
		velo_count(s, VELO_CNT_RX_SPLIT_FAIL, 1);
		return;
	}
	if (!segs) {		/* a single segment: already a wire frame */
		velo_soft_rx(s, skb);
		return;
	}
	velo_count(s, VELO_CNT_RX_GRO_SPLIT, 1);
	skb_list_walk_safe(segs, seg, next) {
		__skb_pull(seg, skb_network_offset(seg));
		velo_soft_rx(s, seg);
		consume_skb(seg);
	}
}

static unsigned int velo_rx_hook(void *priv, struct sk_buff *skb,
				 const struct nf_hook_state *state)
{
	unsigned int len = min_t(unsigned int, skb->len, VELO_HDR_MAX);
	struct velo_key k = {};
	u8 buf[VELO_HDR_MAX];
	struct velo_filt *f;
	const u8 *p;
	int l3len;

	if (!atomic_read(&velo_net(state->net)->nfilters) ||
	    !skb_mac_header_was_set(skb))
		return NF_ACCEPT;
	p = skb_header_pointer(skb, 0, len, buf);
	l3len = p ? velo_key_parse(p, len, skb->protocol, false, &k) : -EINVAL;
	if (l3len < 0)
		return NF_ACCEPT;
	k.net = state->net;
	k.ifindex = state->in->ifindex;
	f = velo_ftab_match(&k);	/* hooks run under rcu_read_lock() */
	if (!f || velo_filter_kernel_owns(f, &k, (const struct tcphdr *)(p + l3len)))
		return NF_ACCEPT;
	velo_rx_deliver(f->stack, skb);
	consume_skb(skb);
	return NF_STOLEN;
}

/*
 * IPv4 fragments cannot be matched before reassembly, which happens just
 * before LOCAL_IN (or at conntrack's defrag): a second hook there steals
 * reassembled datagrams of filtered tuples, so the kernel's TCP does not
 * answer them with an RST either. (IPv6 reassembles after LOCAL_IN: IPv6
 * fragments, like extension headers, still reach the kernel.)
 */
static const struct nf_hook_ops velo_nf_ops[] = {
	{
		.hook = velo_rx_hook,
		.pf = NFPROTO_IPV4,
		.hooknum = NF_INET_PRE_ROUTING,
		.priority = VELO_NF_PRIORITY,
	},
	{
		.hook = velo_rx_hook,
		.pf = NFPROTO_IPV4,
		.hooknum = NF_INET_LOCAL_IN,
		.priority = VELO_NF_PRIORITY,
	},
	{
		.hook = velo_rx_hook,
		.pf = NFPROTO_IPV6,
		.hooknum = NF_INET_PRE_ROUTING,
		.priority = VELO_NF_PRIORITY,
	},
};

static int __net_init velo_net_init(struct net *net)
{
	struct velo_net *vn = velo_net(net);

	atomic_set(&vn->nfilters, 0);
	xa_init(&vn->policy);
	return nf_register_net_hooks(net, velo_nf_ops, ARRAY_SIZE(velo_nf_ops));
}

static void __net_exit velo_net_exit(struct net *net)
{
	nf_unregister_net_hooks(net, velo_nf_ops, ARRAY_SIZE(velo_nf_ops));
	xa_destroy(&velo_net(net)->policy);
}

static struct pernet_operations velo_net_ops = {
	.init = velo_net_init,
	.exit = velo_net_exit,
	.id = &velo_net_id,
	.size = sizeof(struct velo_net),
};

int velo_policy_set(struct net *net, u32 ifindex, bool accelerate)
{
	return xa_err(xa_store(&velo_net(net)->policy, ifindex,
			       xa_mk_value(accelerate), GFP_KERNEL));
}

/* A device's policy goes with it: its ifindex may name another one later. */
void velo_policy_forget(struct net *net, u32 ifindex)
{
	xa_erase(&velo_net(net)->policy, ifindex);
}

/* 1: accelerate (the default for interfaces without a policy), 0: not. */
int velo_policy_get(struct net *net, u32 ifindex)
{
	void *v = xa_load(&velo_net(net)->policy, ifindex);

	return v ? xa_to_value(v) : 1;
}

/* The first interface with a policy at or after *@ifindex, or -ENOENT. */
int velo_policy_next(struct net *net, unsigned long *ifindex)
{
	void *v = xa_find(&velo_net(net)->policy, ifindex, ULONG_MAX, XA_PRESENT);

	return v ? xa_to_value(v) : -ENOENT;
}

int velo_rx_init(void)
{
	return register_pernet_subsys(&velo_net_ops);
}

void velo_rx_exit(void)
{
	unregister_pernet_subsys(&velo_net_ops);
}
