// SPDX-License-Identifier: GPL-2.0
/*
 * The "velo" generic netlink family: dumps of stacks and filters, global
 * counters, and the per-interface acceleration policy. Everything is per
 * network namespace; a requester sees its own stacks only, unless it has
 * CAP_NET_ADMIN there; changing the policy needs CAP_NET_ADMIN.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cred.h>
#include <net/genetlink.h>
#include <net/sock.h>

#include "velo.h"

static struct genl_family velo_genl;

struct velo_nl_dump {
	struct sk_buff *skb;
	struct netlink_callback *cb;
	unsigned long skip;	/* filters of the current stack already sent */
};

static bool velo_nl_visible(const struct velo_stack *s, struct netlink_callback *cb)
{
	return net_eq(s->net, sock_net(cb->skb->sk)) &&
	       (uid_eq(s->uid, NETLINK_CB(cb->skb).creds.uid) ||
		netlink_net_capable(cb->skb, CAP_NET_ADMIN));
}

static int velo_nl_put_cnt(struct sk_buff *skb, const char *name, u64 value)
{
	struct nlattr *cnt = nla_nest_start(skb, VELO_A_CNT);

	if (!cnt || nla_put_string(skb, VELO_A_CNT_NAME, name) ||
	    nla_put_u64_64bit(skb, VELO_A_CNT_VALUE, value, VELO_A_PAD))
		return -EMSGSIZE;
	nla_nest_end(skb, cnt);
	return 0;
}

static int velo_nl_put_counters(struct sk_buff *skb, const atomic64_t *cnt)
{
	struct nlattr *nest = nla_nest_start(skb, VELO_A_COUNTERS);
	int i;

	if (!nest)
		return -EMSGSIZE;
	for (i = 0; i < VELO_CNT_MAX; i++)
		if (velo_nl_put_cnt(skb, velo_counter_names[i], atomic64_read(&cnt[i])))
			return -EMSGSIZE;
	if (cnt == velo_global_cnt &&
	    (velo_nl_put_cnt(skb, "stacks", atomic_read(&velo_live_stacks)) ||
	     velo_nl_put_cnt(skb, "filters", atomic_read(&velo_live_filters)) ||
	     velo_nl_put_cnt(skb, "mem_bytes", atomic_long_read(&velo_live_mem))))
		return -EMSGSIZE;
	nla_nest_end(skb, nest);
	return 0;
}

static void *velo_nl_start(struct velo_nl_dump *d, u8 cmd)
{
	return genlmsg_put(d->skb, NETLINK_CB(d->cb->skb).portid, d->cb->nlh->nlmsg_seq,
			   &velo_genl, NLM_F_MULTI, cmd);
}

static int velo_nl_stack(struct velo_stack *s, void *arg)
{
	struct velo_nl_dump *d = arg;
	void *hdr;

	if (!velo_nl_visible(s, d->cb))
		return 0;
	hdr = velo_nl_start(d, VELO_CMD_GET_STACK);
	if (!hdr)
		return -EMSGSIZE;
	if (nla_put_u32(d->skb, VELO_A_STACK_ID, s->id) ||
	    nla_put_u32(d->skb, VELO_A_IFINDEX, s->ifindex) ||
	    nla_put_u32(d->skb, VELO_A_QUEUE, s->queue) ||
	    nla_put_u32(d->skb, VELO_A_PROVIDER, s->provider) ||
	    nla_put_u32(d->skb, VELO_A_PID, s->tgid) ||
	    nla_put_u32(d->skb, VELO_A_UID, from_kuid_munged(current_user_ns(), s->uid)) ||
	    velo_nl_put_counters(d->skb, s->cnt)) {
		genlmsg_cancel(d->skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(d->skb, hdr);
	return 0;
}

static int velo_nl_filter(struct velo_nl_dump *d, const struct velo_stack *s,
			  const struct velo_filt *f)
{
	int alen = f->key.family == AF_INET6 ? 16 : 4;
	void *hdr = velo_nl_start(d, VELO_CMD_GET_FILTER);

	if (!hdr)
		return -EMSGSIZE;
	if (nla_put_u32(d->skb, VELO_A_STACK_ID, s->id) ||
	    nla_put_u64_64bit(d->skb, VELO_A_FILTER_HANDLE, f->handle, VELO_A_PAD) ||
	    nla_put_u32(d->skb, VELO_A_IFINDEX, s->ifindex) ||
	    nla_put_u16(d->skb, VELO_A_FAMILY, f->key.family) ||
	    nla_put_u32(d->skb, VELO_A_FLAGS, f->key.listen ? VELO_FILTER_F_LISTEN : 0) ||
	    nla_put(d->skb, VELO_A_LADDR, alen, f->key.laddr) ||
	    nla_put(d->skb, VELO_A_RADDR, alen, f->key.raddr) ||
	    nla_put_u16(d->skb, VELO_A_LPORT, ntohs(f->key.lport)) ||
	    nla_put_u16(d->skb, VELO_A_RPORT, ntohs(f->key.rport))) {
		genlmsg_cancel(d->skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(d->skb, hdr);
	return 0;
}

/* A stack's filters, from d->skip on; on a full skb, d->skip says where. */
static int velo_nl_stack_filters(struct velo_stack *s, void *arg)
{
	struct velo_nl_dump *d = arg;
	struct velo_filt *f;
	unsigned long i = 0;
	int ret = 0;

	if (!velo_nl_visible(s, d->cb))
		return 0;
	mutex_lock(&s->lock);
	list_for_each_entry(f, &s->filters, snode) {
		if (i++ < d->skip)
			continue;
		ret = velo_nl_filter(d, s, f);
		if (ret) {
			d->skip = i - 1;
			break;
		}
	}
	mutex_unlock(&s->lock);
	if (!ret)
		d->skip = 0;
	return ret;
}

/* cb->args: [0] next stack id, [1] filters of it already sent, [2] done. */
static int velo_nl_dump(struct sk_buff *skb, struct netlink_callback *cb, velo_stack_fn fn)
{
	struct velo_nl_dump d = { .skb = skb, .cb = cb, .skip = cb->args[1] };
	unsigned long pos = cb->args[0];

	if (cb->args[2])
		return 0;
	if (velo_stacks_for_each(&pos, fn, &d)) {
		cb->args[0] = pos;
		cb->args[1] = d.skip;
	} else {
		cb->args[2] = 1;
	}
	return skb->len;
}

static int velo_nl_dump_stacks(struct sk_buff *skb, struct netlink_callback *cb)
{
	return velo_nl_dump(skb, cb, velo_nl_stack);
}

static int velo_nl_dump_filters(struct sk_buff *skb, struct netlink_callback *cb)
{
	return velo_nl_dump(skb, cb, velo_nl_stack_filters);
}

static int velo_nl_get_stats(struct sk_buff *skb, struct genl_info *info)
{
	struct sk_buff *msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	void *hdr;

	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &velo_genl, 0, VELO_CMD_GET_STATS);
	if (!hdr || velo_nl_put_counters(msg, velo_global_cnt)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
}

static int velo_nl_set_policy(struct sk_buff *skb, struct genl_info *info)
{
	if (GENL_REQ_ATTR_CHECK(info, VELO_A_IFINDEX) ||
	    GENL_REQ_ATTR_CHECK(info, VELO_A_ACCELERATE))
		return -EINVAL;
	return velo_policy_set(genl_info_net(info), nla_get_u32(info->attrs[VELO_A_IFINDEX]),
			       nla_get_u8(info->attrs[VELO_A_ACCELERATE]));
}

static int velo_nl_dump_policy(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct velo_nl_dump d = { .skb = skb, .cb = cb };
	unsigned long ifindex = cb->args[0];
	void *hdr;
	int accel;

	while ((accel = velo_policy_next(sock_net(skb->sk), &ifindex)) >= 0) {
		hdr = velo_nl_start(&d, VELO_CMD_GET_POLICY);
		if (!hdr)
			break;
		if (nla_put_u32(skb, VELO_A_IFINDEX, ifindex) ||
		    nla_put_u8(skb, VELO_A_ACCELERATE, accel)) {
			genlmsg_cancel(skb, hdr);
			break;
		}
		genlmsg_end(skb, hdr);
		ifindex++;
	}
	cb->args[0] = ifindex;
	return skb->len;
}

static const struct nla_policy velo_nl_policy[VELO_A_MAX + 1] = {
	[VELO_A_IFINDEX] = NLA_POLICY_MIN(NLA_U32, 1),
	[VELO_A_ACCELERATE] = NLA_POLICY_MAX(NLA_U8, 1),
};

static const struct genl_small_ops velo_nl_ops[] = {
	{ .cmd = VELO_CMD_GET_STACK, .dumpit = velo_nl_dump_stacks },
	{ .cmd = VELO_CMD_GET_FILTER, .dumpit = velo_nl_dump_filters },
	{ .cmd = VELO_CMD_GET_STATS, .doit = velo_nl_get_stats },
	{ .cmd = VELO_CMD_SET_POLICY, .doit = velo_nl_set_policy, .flags = GENL_UNS_ADMIN_PERM },
	{ .cmd = VELO_CMD_GET_POLICY, .dumpit = velo_nl_dump_policy },
};

static struct genl_family velo_genl __ro_after_init = {
	.name = VELO_GENL_NAME,
	.version = VELO_GENL_VERSION,
	.maxattr = VELO_A_MAX,
	.policy = velo_nl_policy,
	.netnsok = true,
	.module = THIS_MODULE,
	.small_ops = velo_nl_ops,
	.n_small_ops = ARRAY_SIZE(velo_nl_ops),
	.resv_start_op = VELO_CMD_GET_STACK,
};

int velo_netlink_init(void)
{
	return genl_register_family(&velo_genl);
}

void velo_netlink_exit(void)
{
	genl_unregister_family(&velo_genl);
}
