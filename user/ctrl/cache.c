// SPDX-License-Identifier: GPL-2.0
/*
 * The link and neighbour caches: loaded by a dump, kept current by the
 * kernel's notifications (the same parsers handle both).
 */
#include <errno.h>
#include <string.h>
#include <net/if_arp.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#include "ctrl/priv.h"

struct attrs {
	const struct nlattr *tb[64];
};

static int collect_attr(const struct nlattr *attr, void *arg)
{
	struct attrs *a = arg;
	unsigned int type = mnl_attr_get_type(attr);

	if (type < sizeof(a->tb) / sizeof(a->tb[0]))
		a->tb[type] = attr;
	return MNL_CB_OK;
}

int ctrl_link_msg(const struct nlmsghdr *nlh, void *arg)
{
	struct velo_ctrl *ctrl = arg;
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	struct velo_link link = { .ifindex = ifi->ifi_index };
	struct attrs a = { { 0 } };

	if (nlh->nlmsg_type == RTM_DELLINK) {
		ctrl_table_del(&ctrl->links, &link.ifindex);
		return MNL_CB_OK;
	}
	if (mnl_attr_parse(nlh, sizeof(*ifi), collect_attr, &a) < 0)
		return MNL_CB_ERROR;
	link.flags = ifi->ifi_flags;
	link.type = ifi->ifi_type;
	if (a.tb[IFLA_IFNAME])
		strncpy(link.name, mnl_attr_get_str(a.tb[IFLA_IFNAME]), sizeof(link.name) - 1);
	if (a.tb[IFLA_MTU] && mnl_attr_get_payload_len(a.tb[IFLA_MTU]) == 4)
		link.mtu = mnl_attr_get_u32(a.tb[IFLA_MTU]);
	if (a.tb[IFLA_ADDRESS] && mnl_attr_get_payload_len(a.tb[IFLA_ADDRESS]) == 6)
		memcpy(link.mac, mnl_attr_get_payload(a.tb[IFLA_ADDRESS]), 6);
	return ctrl_table_put(&ctrl->links, &link) ? MNL_CB_ERROR : MNL_CB_OK;
}

int ctrl_neigh_msg(const struct nlmsghdr *nlh, void *arg)
{
	struct velo_ctrl *ctrl = arg;
	const struct ndmsg *ndm = mnl_nlmsg_get_payload(nlh);
	struct ctrl_neigh n = { .ifindex = ndm->ndm_ifindex, .family = ndm->ndm_family };
	struct attrs a = { { 0 } };

	if (ndm->ndm_family != AF_INET && ndm->ndm_family != AF_INET6)
		return MNL_CB_OK;
	if (mnl_attr_parse(nlh, sizeof(*ndm), collect_attr, &a) < 0)
		return MNL_CB_ERROR;
	if (!a.tb[NDA_DST] ||
	    mnl_attr_get_payload_len(a.tb[NDA_DST]) != ctrl_addr_len(n.family))
		return MNL_CB_OK;
	memcpy(n.addr, mnl_attr_get_payload(a.tb[NDA_DST]), ctrl_addr_len(n.family));
	if (nlh->nlmsg_type == RTM_DELNEIGH) {
		ctrl_table_del(&ctrl->neighs, &n);
		return MNL_CB_OK;
	}
	n.state = ndm->ndm_state;
	if (a.tb[NDA_LLADDR] && mnl_attr_get_payload_len(a.tb[NDA_LLADDR]) == 6)
		memcpy(n.mac, mnl_attr_get_payload(a.tb[NDA_LLADDR]), 6);
	return ctrl_table_put(&ctrl->neighs, &n) ? MNL_CB_ERROR : MNL_CB_OK;
}

/* A dump request of @type whose payload header is @hdrlen zero bytes. */
static int dump(struct velo_ctrl *ctrl, uint16_t type, size_t hdrlen, mnl_cb_t cb)
{
	char buf[128];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	mnl_nlmsg_put_extra_header(nlh, hdrlen);	/* family AF_UNSPEC: all */
	return ctrl_request(ctrl, nlh, cb, ctrl);
}

int ctrl_dump_links(struct velo_ctrl *ctrl)
{
	return dump(ctrl, RTM_GETLINK, sizeof(struct ifinfomsg), ctrl_link_msg);
}

int ctrl_dump_neighs(struct velo_ctrl *ctrl)
{
	return dump(ctrl, RTM_GETNEIGH, sizeof(struct ndmsg), ctrl_neigh_msg);
}

const struct velo_link *velo_ctrl_link(const struct velo_ctrl *ctrl, int ifindex)
{
	return ctrl_table_find(&ctrl->links, &ifindex);
}
