// SPDX-License-Identifier: GPL-2.0
/*
 * velo's XDP steering program: TCP frames of flows registered by a velo
 * stack go to that stack's AF_XDP socket on the receiving queue; everything
 * else (ARP, ND, ICMP, other TCP, IP fragments, IPv6 with extension headers,
 * anything malformed or truncated) goes to the kernel untouched.
 *
 * A frame is looked up as a connected flow (5-tuple), then as a listener on
 * its local address (3-tuple), then as a wildcard listener (local port).
 * A listener's port can also be the kernel's: velo's listeners share it with
 * the application's kernel listener (libvelo accepts from both), and the
 * kernel may have accepted connections on it before velo's filter came. A
 * segment that only matches a listener therefore stays with the kernel when
 * the kernel has a connection of its own (established, SYN_RECV or
 * TIME_WAIT) for its 5-tuple; a SYN without ACK opens a new one, velo's.
 * A matched frame is only redirected when the queue's XSK belongs to the
 * flow's owner, so that two stacks on one interface never see each other's
 * frames; a queue without an XSK hands the frame to the kernel
 * (bpf_redirect_map's XDP_PASS fallback).
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <stdbool.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "velo_xdp.h"

#define IP_MF 0x2000	/* more fragments */
#define IP_OFFSET 0x1fff

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VELO_XDP_MAX_FLOWS);
	__type(key, struct velo_flow_key);
	__type(value, struct velo_flow_val);
} velo_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, VELO_XDP_MAX_QUEUES);
	__type(key, __u32);
	__type(value, __u32);
} velo_xsks SEC(".maps");

/* Owner cookie of the XSK in velo_xsks at the same index; 0: none. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VELO_XDP_MAX_QUEUES);
	__type(key, __u32);
	__type(value, __u64);
} velo_qowner SEC(".maps");

/* Read and written by user space only; bound to the program at load (steer.c). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VELO_XDP_MAX_OWNERS);
	__type(key, __u64);
	__type(value, struct velo_owner_val);
} velo_owners SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VELO_XDP_NR_COUNTERS);
	__type(key, __u32);
	__type(value, __u64);
} velo_stats SEC(".maps");

static __always_inline int count(__u32 counter, int action)
{
	__u64 *c = bpf_map_lookup_elem(&velo_stats, &counter);

	if (c)
		(*c)++;
	return action;
}

/* Fills the key's addresses; returns the TCP header or NULL to pass. */
static __always_inline struct tcphdr *parse_ipv4(void *l3, void *end,
						  struct velo_flow_key *key)
{
	struct iphdr *ip = l3;
	struct tcphdr *tcp;

	if ((void *)(ip + 1) > end || ip->version != 4 || ip->ihl < 5)
		return NULL;
	/* a fragment's ports are in its first piece only: the kernel reassembles */
	if (ip->frag_off & bpf_htons(IP_MF | IP_OFFSET))
		return NULL;
	if (ip->protocol != IPPROTO_TCP)
		return NULL;
	tcp = l3 + ip->ihl * 4;
	if ((void *)(tcp + 1) > end)
		return NULL;
	key->family = 4;
	__builtin_memcpy(key->local_addr, &ip->daddr, 4);
	__builtin_memcpy(key->remote_addr, &ip->saddr, 4);
	return tcp;
}

/* Extension headers are not walked: such frames go to the kernel. */
static __always_inline struct tcphdr *parse_ipv6(void *l3, void *end,
						  struct velo_flow_key *key)
{
	struct ipv6hdr *ip6 = l3;
	struct tcphdr *tcp = (void *)(ip6 + 1);

	if ((void *)(tcp + 1) > end || ip6->version != 6 || ip6->nexthdr != IPPROTO_TCP)
		return NULL;
	key->family = 6;
	__builtin_memcpy(key->local_addr, &ip6->daddr, 16);
	__builtin_memcpy(key->remote_addr, &ip6->saddr, 16);
	return tcp;
}

/* A 3-tuple (listener) match: the kernel's socket for this 5-tuple, if any. */
static __always_inline bool kernel_owns(struct xdp_md *ctx, struct velo_flow_key *key,
					struct tcphdr *tcp)
{
	struct bpf_sock_tuple t;
	struct bpf_sock *sk;
	__u32 len;
	bool own;

	if (tcp->syn && !tcp->ack)
		return false;
	__builtin_memset(&t, 0, sizeof(t));
	if (key->family == 4) {
		__builtin_memcpy(&t.ipv4.saddr, key->remote_addr, 4);
		__builtin_memcpy(&t.ipv4.daddr, key->local_addr, 4);
		t.ipv4.sport = tcp->source;
		t.ipv4.dport = tcp->dest;
		len = sizeof(t.ipv4);
	} else {
		__builtin_memcpy(t.ipv6.saddr, key->remote_addr, 16);
		__builtin_memcpy(t.ipv6.daddr, key->local_addr, 16);
		t.ipv6.sport = tcp->source;
		t.ipv6.dport = tcp->dest;
		len = sizeof(t.ipv6);
	}
	sk = bpf_skc_lookup_tcp(ctx, &t, len, BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return false;
	own = sk->state != BPF_TCP_LISTEN;
	bpf_sk_release(sk);
	return own;
}

/*
 * 5-tuple, then listener on this address, then wildcard listener; *listener
 * says the match was a 3-tuple. The key's addresses are left as they came.
 */
static __always_inline struct velo_flow_val *lookup_flow(struct velo_flow_key *key,
							 bool *listener)
{
	struct velo_flow_key k = *key;
	struct velo_flow_val *val = bpf_map_lookup_elem(&velo_flows, &k);

	*listener = !val;
	if (val)
		return val;
	key = &k;
	key->remote_port = 0;
	__builtin_memset(key->remote_addr, 0, sizeof(key->remote_addr));
	val = bpf_map_lookup_elem(&velo_flows, key);
	if (val)
		return val;
	__builtin_memset(key->local_addr, 0, sizeof(key->local_addr));
	return bpf_map_lookup_elem(&velo_flows, key);
}

SEC("xdp")
int velo_xdp_v2(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct velo_flow_key key;
	struct velo_flow_val *val;
	__u32 queue = ctx->rx_queue_index;
	struct tcphdr *tcp;
	__u64 *qowner;
	bool listener;

	if ((void *)(eth + 1) > end)
		return count(VELO_XDP_PASSED, XDP_PASS);
	__builtin_memset(&key, 0, sizeof(key));
	if (eth->h_proto == bpf_htons(ETH_P_IP))
		tcp = parse_ipv4(eth + 1, end, &key);
	else if (eth->h_proto == bpf_htons(ETH_P_IPV6))
		tcp = parse_ipv6(eth + 1, end, &key);
	else
		tcp = NULL;
	if (!tcp)
		return count(VELO_XDP_PASSED, XDP_PASS);
	key.local_port = tcp->dest;
	key.remote_port = tcp->source;

	val = lookup_flow(&key, &listener);
	if (!val || (listener && kernel_owns(ctx, &key, tcp)))
		return count(VELO_XDP_PASSED, XDP_PASS);
	qowner = bpf_map_lookup_elem(&velo_qowner, &queue);
	if (!qowner || !*qowner)
		return count(VELO_XDP_NO_SOCKET, XDP_PASS);
	if (*qowner != val->owner)
		return count(VELO_XDP_FOREIGN_QUEUE, XDP_PASS);
	if (bpf_redirect_map(&velo_xsks, queue, XDP_PASS) != XDP_REDIRECT)
		return count(VELO_XDP_NO_SOCKET, XDP_PASS);
	return count(VELO_XDP_REDIRECTED, XDP_REDIRECT);
}

char LICENSE[] SEC("license") = "GPL";
