// SPDX-License-Identifier: GPL-2.0
/*
 * RFS filters: which TCP frames of a netdev belong to which stack.
 *
 * One global resizable hash table (rhashtable) keyed by (netns, ifindex,
 * family, tuple): lookups are O(1) under RCU from the receive hook at any
 * number of filters; writers serialize on a spinlock so that a duplicate
 * check and a takeover are atomic. A filter is owned by a never-reused 64-bit handle, not by a
 * socket fd number: removing a stale handle can never remove the filter
 * of a newer socket that reuses the fd or the tuple (XLIO issue 3440429),
 * and VELO_FILTER_F_TAKEOVER lets a new socket take a tuple over from a
 * closing one of the same stack instead of failing with EEXIST.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/in.h>
#include <linux/inetdevice.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/rhashtable.h>
#include <linux/slab.h>
#include <linux/tcp.h>
#include <linux/uaccess.h>
#include <net/addrconf.h>
#include <net/inet6_hashtables.h>
#include <net/inet_hashtables.h>
#include <net/ip.h>
#include <net/sock.h>

#include "velo.h"

/* The key's bytes that matter (no padding), the netns pointer included. */
#define VELO_KEY_LEN	offsetofend(struct velo_key, raddr)

static const struct rhashtable_params velo_ftab_params = {
	.key_len = VELO_KEY_LEN,
	.key_offset = offsetof(struct velo_filt, key),
	.head_offset = offsetof(struct velo_filt, hnode),
	.automatic_shrinking = true,
};

static struct rhashtable velo_ftab;
static DEFINE_SPINLOCK(velo_ftab_lock);
static atomic64_t velo_handle_gen;

/* Under RCU. */
struct velo_filt *velo_ftab_lookup(const struct velo_key *k)
{
	return rhashtable_lookup(&velo_ftab, k, velo_ftab_params);
}

/* Connected first, then listening on the address, then on any address. */
struct velo_filt *velo_ftab_match(const struct velo_key *k)
{
	struct velo_key l = *k;
	struct velo_filt *f;

	l.listen = 0;
	f = velo_ftab_lookup(&l);
	if (f)
		return f;
	l.listen = 1;
	l.rport = 0;
	memset(l.raddr, 0, sizeof(l.raddr));
	f = velo_ftab_lookup(&l);
	if (f)
		return f;
	memset(l.laddr, 0, sizeof(l.laddr));
	return velo_ftab_lookup(&l);
}

/*
 * Insert @f. A filter with the same key is a duplicate (-EEXIST) unless
 * @takeover and it belongs to the same stack: then @f replaces it
 * atomically for readers and the old one is returned in @old.
 */
int velo_ftab_insert(struct velo_filt *f, bool takeover, struct velo_filt **old)
{
	struct velo_filt *cur;
	int ret = 0;

	*old = NULL;
	spin_lock(&velo_ftab_lock);
	cur = rhashtable_lookup_fast(&velo_ftab, &f->key, velo_ftab_params);
	if (cur && (!takeover || cur->stack != f->stack))
		ret = -EEXIST;
	else if (cur)
		ret = rhashtable_replace_fast(&velo_ftab, &cur->hnode, &f->hnode,
					      velo_ftab_params);
	else
		ret = rhashtable_insert_fast(&velo_ftab, &f->hnode, velo_ftab_params);
	spin_unlock(&velo_ftab_lock);
	if (!ret)
		*old = cur;
	return ret;
}

void velo_ftab_remove(struct velo_filt *f)
{
	spin_lock(&velo_ftab_lock);
	rhashtable_remove_fast(&velo_ftab, &f->hnode, velo_ftab_params);
	spin_unlock(&velo_ftab_lock);
}

int velo_filters_init(void)
{
	return rhashtable_init(&velo_ftab, &velo_ftab_params);
}

/* Every stack, and so every filter, is gone. */
void velo_filters_exit(void)
{
	rhashtable_destroy(&velo_ftab);
}

/*
 * The key of a TCP/IP header at @p (@len bytes available, protocol
 * @proto): local = source when @out (a frame we send), else destination.
 * Returns the IP header length or -EINVAL.
 */
int velo_key_parse(const u8 *p, unsigned int len, __be16 proto, bool out,
		   struct velo_key *k)
{
	const struct tcphdr *th;
	unsigned int l3len, alen;
	const u8 *src, *dst;

	if (proto == htons(ETH_P_IP)) {
		const struct iphdr *iph = (const void *)p;

		if (len < sizeof(*iph) || iph->version != 4 || iph->ihl < 5 ||
		    iph->protocol != IPPROTO_TCP || ip_is_fragment(iph))
			return -EINVAL;
		l3len = iph->ihl * 4;
		src = (const u8 *)&iph->saddr;
		dst = (const u8 *)&iph->daddr;
		alen = 4;
		k->family = AF_INET;
	} else if (proto == htons(ETH_P_IPV6)) {
		const struct ipv6hdr *ip6 = (const void *)p;

		if (len < sizeof(*ip6) || ip6->version != 6 || ip6->nexthdr != IPPROTO_TCP)
			return -EINVAL;
		l3len = sizeof(*ip6);
		src = ip6->saddr.s6_addr;
		dst = ip6->daddr.s6_addr;
		alen = 16;
		k->family = AF_INET6;
	} else {
		return -EINVAL;
	}
	if (len < l3len + sizeof(*th))
		return -EINVAL;
	th = (const void *)(p + l3len);
	if (th->doff < 5)
		return -EINVAL;
	memcpy(k->laddr, out ? src : dst, alen);
	memcpy(k->raddr, out ? dst : src, alen);
	k->lport = out ? th->source : th->dest;
	k->rport = out ? th->dest : th->source;
	return l3len;
}

bool velo_addr_local(struct net *net, u16 family, const u8 *addr)
{
	bool local;

	if (family == AF_INET6)
		return ipv6_chk_addr(net, (const struct in6_addr *)addr, NULL, 0);
	rcu_read_lock();
	local = __ip_dev_find(net, *(const __be32 *)addr, false);
	rcu_read_unlock();
	return local;
}

static bool velo_zero(const u8 *p, size_t n)
{
	return !memchr_inv(p, 0, n);
}

/* The kernel's listener for @k's local side, under RCU (no reference). */
static struct sock *velo_kernel_listener(struct net *net, const struct velo_key *k)
{
	struct inet_hashinfo *h = net->ipv4.tcp_death_row.hashinfo;

	if (k->family == AF_INET6)
		return inet6_lookup_listener(net, h, NULL, 0, (const void *)k->raddr, k->rport,
					     (const void *)k->laddr, ntohs(k->lport),
					     k->ifindex, 0);
	return __inet_lookup_listener(net, h, NULL, 0, *(const __be32 *)k->raddr, k->rport,
				      *(const __be32 *)k->laddr, ntohs(k->lport),
				      k->ifindex, 0);
}

/* The kernel's connection of @k, with a reference. */
static struct sock *velo_kernel_conn(struct net *net, const struct velo_key *k)
{
	struct inet_hashinfo *h = net->ipv4.tcp_death_row.hashinfo;

	if (k->family == AF_INET6)
		return __inet6_lookup_established(net, h, (const void *)k->raddr, k->rport,
						  (const void *)k->laddr, ntohs(k->lport),
						  k->ifindex, 0);
	return __inet_lookup_established(net, h, *(const __be32 *)k->raddr, k->rport,
					 *(const __be32 *)k->laddr, ntohs(k->lport),
					 k->ifindex, 0);
}

/*
 * Whether a segment a listening filter matched belongs to a connection the
 * kernel has: its own from before the filter, or one a stack handed to it
 * (TCP_REPAIR, after fork). It stays the kernel's, as the XDP program's
 * bpf_skc_lookup_tcp decides on the module-less path. A SYN opens a new
 * connection: the stack's. Called under RCU.
 */
bool velo_filter_kernel_owns(const struct velo_filt *f, const struct velo_key *k,
			     const struct tcphdr *th)
{
	return f->key.listen && !(th->syn && !th->ack) && velo_kernel_has_conn(k, true);
}

/*
 * Whether the kernel has a connection on @k's 4-tuple: a full socket, or
 * with @time_wait a TIME_WAIT one too.
 */
bool velo_kernel_has_conn(const struct velo_key *k, bool time_wait)
{
	struct sock *sk;
	bool has;

	rcu_read_lock();
	sk = velo_kernel_conn((struct net *)k->net, k);
	rcu_read_unlock();
	if (!sk)
		return false;
	has = time_wait || sk_fullsock(sk);
	sock_gen_put(sk);
	return has;
}

/* May the caller take over @sk's tuple? TIME_WAIT: nobody's any more. */
static bool velo_sock_mine(struct sock *sk)
{
	if (!sk_fullsock(sk))
		return sk->sk_state == TCP_TIME_WAIT;
	return uid_eq(sock_i_uid(sk), current_fsuid());
}

/*
 * A tuple a kernel TCP socket already uses belongs to that socket's owner:
 * a stack may claim it only for a socket of the same user (a user-space
 * stack keeping a kernel twin of its socket, as XLIO does) or with
 * CAP_NET_ADMIN. Otherwise anyone allowed to open /dev/velo could steal
 * another user's listener or connection on ports >= 1024. A wildcard
 * listening filter is checked against wildcard kernel listeners only.
 */
static int velo_tuple_check(struct net *net, const struct velo_key *k)
{
	bool taken = false;
	struct sock *sk;

	if (ns_capable(net->user_ns, CAP_NET_ADMIN))
		return 0;
	/* the lookups walk RCU lists; a listener is not referenced */
	rcu_read_lock();
	sk = velo_kernel_listener(net, k);
	if (sk)
		taken = !velo_sock_mine(sk);
	if (!taken && !k->listen) {
		sk = velo_kernel_conn(net, k);
		if (sk) {
			taken = !velo_sock_mine(sk);
			sock_gen_put(sk);
		}
	}
	rcu_read_unlock();
	return taken ? -EADDRINUSE : 0;
}

/* Validate a user filter and turn it into a key of stack @s. */
static int velo_filter_key(struct velo_stack *s, const struct velo_filter *uf,
			   struct velo_key *k)
{
	bool listen = uf->flags & VELO_FILTER_F_LISTEN;
	size_t alen = uf->family == AF_INET6 ? 16 : 4;

	if ((uf->family != AF_INET && uf->family != AF_INET6) ||
	    uf->protocol != IPPROTO_TCP || uf->reserved || uf->reserved2 ||
	    (uf->flags & ~(VELO_FILTER_F_LISTEN | VELO_FILTER_F_TAKEOVER)) ||
	    !uf->lport || !velo_zero(uf->laddr + alen, 16 - alen) ||
	    !velo_zero(uf->raddr + alen, 16 - alen))
		return -EINVAL;
	if (listen && (uf->rport || !velo_zero(uf->raddr, 16)))
		return -EINVAL;
	if (!listen && (!uf->rport || velo_zero(uf->raddr, 16) || velo_zero(uf->laddr, 16)))
		return -EINVAL;
	/* A stack may only claim (and so send from) its own host's addresses. */
	if (!velo_zero(uf->laddr, 16) && !velo_addr_local(s->net, uf->family, uf->laddr))
		return -EADDRNOTAVAIL;
	if (inet_port_requires_bind_service(s->net, ntohs(uf->lport)) &&
	    !ns_capable(s->net->user_ns, CAP_NET_BIND_SERVICE))
		return -EACCES;
	memset(k, 0, sizeof(*k));
	k->net = s->net;
	k->ifindex = s->ifindex;
	k->family = uf->family;
	k->listen = listen;
	k->lport = uf->lport;
	k->rport = uf->rport;
	memcpy(k->laddr, uf->laddr, 16);
	memcpy(k->raddr, uf->raddr, 16);
	return velo_tuple_check(s->net, k);
}

static void velo_filter_unlink(struct velo_stack *s, struct velo_filt *f)
{
	if (f->hw)
		s->hw->filter_del(velo_provider_priv(s), f);
	velo_ftab_remove(f);
	list_del(&f->snode);
	kfree_rcu(f, rcu);
	s->nfilters--;
	atomic_dec(&velo_live_filters);
	velo_rx_filter_removed(s->net);
}

static int velo_filter_insert(struct velo_stack *s, struct velo_filt *f, bool takeover)
{
	struct velo_filt *old;
	int ret;

	if (s->nfilters >= READ_ONCE(velo_max_filters)) {
		pr_warn_ratelimited("stack %u: over max_filters=%u\n", s->id, velo_max_filters);
		return -ENOSPC;
	}
	ret = velo_ftab_insert(f, takeover, &old);
	if (ret)
		return ret;
	if (old) {
		/* Same stack, same tuple: the hardware rule stays as it is. */
		f->hw = old->hw;
	} else if (s->hw) {
		ret = s->hw->filter_add(velo_provider_priv(s), f);
		if (ret) {
			velo_ftab_remove(f);
			synchronize_rcu();	/* the caller frees f at once */
			return ret;
		}
	}
	list_add_tail(&f->snode, &s->filters);
	if (old) {
		list_del(&old->snode);
		kfree_rcu(old, rcu);
		return 0;
	}
	s->nfilters++;
	atomic_inc(&velo_live_filters);
	velo_rx_filter_added(s->net);
	return 0;
}

long velo_filter_add(struct velo_stack *s, void __user *arg)
{
	struct velo_filter __user *uarg = arg;
	struct velo_filter uf;
	struct velo_filt *f;
	int ret;

	if (copy_from_user(&uf, uarg, sizeof(uf)))
		return -EFAULT;
	f = kzalloc(sizeof(*f), GFP_KERNEL_ACCOUNT);
	if (!f)
		return -ENOMEM;
	f->stack = s;
	f->handle = atomic64_inc_return(&velo_handle_gen);
	mutex_lock(&s->lock);
	ret = s->dev ? velo_filter_key(s, &uf, &f->key) : -ENODEV;
	/* The handle is out before the filter exists: no filter without one. */
	if (!ret && put_user(f->handle, &uarg->handle))
		ret = -EFAULT;
	if (!ret)
		ret = velo_filter_insert(s, f, uf.flags & VELO_FILTER_F_TAKEOVER);
	mutex_unlock(&s->lock);
	if (ret)
		kfree(f);
	return ret;
}

long velo_filter_del(struct velo_stack *s, void __user *arg)
{
	struct velo_filter __user *uarg = arg;
	struct velo_filt *f;
	int ret = -ENOENT;
	u64 handle;

	if (get_user(handle, &uarg->handle))
		return -EFAULT;
	mutex_lock(&s->lock);
	list_for_each_entry(f, &s->filters, snode) {
		if (f->handle == handle) {
			velo_filter_unlink(s, f);
			ret = 0;
			break;
		}
	}
	mutex_unlock(&s->lock);
	return ret;
}

void velo_filters_flush(struct velo_stack *s)
{
	struct velo_filt *f, *tmp;

	lockdep_assert_held(&s->lock);
	list_for_each_entry_safe(f, tmp, &s->filters, snode)
		velo_filter_unlink(s, f);
}

/*
 * May stack @s send a frame of key @k? Its local side must be one of the
 * stack's filters: the connection itself, or a listening filter on the
 * port (for SYN-ACKs), whose wildcard address must then be local.
 */
bool velo_filter_owns(struct velo_stack *s, const struct velo_key *k)
{
	struct velo_filt *f;
	bool ok;

	rcu_read_lock();
	f = velo_ftab_match(k);
	ok = f && f->stack == s;
	if (ok && f->key.listen && velo_zero(f->key.laddr, 16))
		ok = velo_addr_local(s->net, k->family, k->laddr);
	rcu_read_unlock();
	return ok;
}
