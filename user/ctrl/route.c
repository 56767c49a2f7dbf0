// SPDX-License-Identifier: GPL-2.0
/*
 * Routes and neighbours, asked of the kernel. A route answer (or refusal)
 * is cached in a direct-mapped slot until the control-plane generation moves
 * on, so a connect() costs at most one RTM_GETROUTE per destination and
 * change. Neighbour resolution is the kernel's: when an entry is missing we
 * ask it to resolve (NTF_USE) and its notification fills the cache.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#include "common/log.h"
#include "ctrl/priv.h"

/* The kernel's NUD_VALID (not in the uapi): states with a usable address. */
#define CTRL_NUD_VALID (NUD_PERMANENT | NUD_NOARP | NUD_REACHABLE | NUD_PROBE | \
			NUD_STALE | NUD_DELAY)

struct route_reply {
	struct velo_route *route;
	const struct velo_ctrl *ctrl;
};

static int route_attr(const struct nlattr *attr, void *arg)
{
	struct velo_route *r = arg;
	size_t alen = ctrl_addr_len(r->family);

	switch (mnl_attr_get_type(attr)) {
	case RTA_OIF:
		r->oif = mnl_attr_get_u32(attr);
		break;
	case RTA_GATEWAY:
		if (mnl_attr_get_payload_len(attr) == alen) {
			memcpy(r->gateway, mnl_attr_get_payload(attr), alen);
			r->has_gateway = true;
		}
		break;
	case RTA_PREFSRC:
		if (mnl_attr_get_payload_len(attr) == alen) {
			memcpy(r->prefsrc, mnl_attr_get_payload(attr), alen);
			r->has_prefsrc = true;
		}
		break;
	case RTA_METRICS: {
		const struct nlattr *m;

		mnl_attr_for_each_nested(m, attr)
			if (mnl_attr_get_type(m) == RTAX_MTU)
				r->mtu = mnl_attr_get_u32(m);
		break;
	}
	}
	return MNL_CB_OK;
}

static int route_msg(const struct nlmsghdr *nlh, void *arg)
{
	struct route_reply *reply = arg;
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	const struct velo_link *link;

	if (nlh->nlmsg_type != RTM_NEWROUTE)
		return MNL_CB_OK;
	reply->route->type = rtm->rtm_type;
	mnl_attr_parse(nlh, sizeof(*rtm), route_attr, reply->route);
	link = velo_ctrl_link(reply->ctrl, reply->route->oif);
	if (!reply->route->mtu && link)
		reply->route->mtu = link->mtu;
	return MNL_CB_OK;
}

static int ask_route(struct velo_ctrl *ctrl, int family, const void *dst, int oif,
		     struct velo_route *out)
{
	char buf[256];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	struct route_reply reply = { .route = out, .ctrl = ctrl };

	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	rtm->rtm_family = family;
	rtm->rtm_dst_len = ctrl_addr_len(family) * 8;
	mnl_attr_put(nlh, RTA_DST, ctrl_addr_len(family), dst);
	if (oif)
		mnl_attr_put_u32(nlh, RTA_OIF, oif);
	memset(out, 0, sizeof(*out));
	out->family = family;
	return ctrl_request(ctrl, nlh, route_msg, &reply);
}

static size_t route_slot(int family, const void *dst, int oif)
{
	const uint8_t *p = dst;
	uint32_t h = 2166136261u ^ (uint32_t)family ^ ((uint32_t)oif << 8);
	size_t i;

	for (i = 0; i < ctrl_addr_len(family); i++)
		h = (h ^ p[i]) * 16777619u;
	return h & (CTRL_ROUTE_CACHE_SIZE - 1);
}

int velo_ctrl_route(struct velo_ctrl *ctrl, int family, const void *dst, int oif,
		    struct velo_route *out)
{
	struct ctrl_route_slot *s = &ctrl->routes[route_slot(family, dst, oif)];
	size_t alen = ctrl_addr_len(family);

	if (family != AF_INET && family != AF_INET6)
		return -EAFNOSUPPORT;
	if (s->generation != ctrl->generation || s->family != family || s->oif != oif ||
	    memcmp(s->dst, dst, alen)) {
		s->err = ask_route(ctrl, family, dst, oif, &s->route);
		s->generation = ctrl->generation;
		s->family = family;
		s->oif = oif;
		memset(s->dst, 0, sizeof(s->dst));
		memcpy(s->dst, dst, alen);
	}
	*out = s->route;
	return s->err;
}

bool velo_ctrl_is_local(struct velo_ctrl *ctrl, int family, const void *addr)
{
	struct velo_route r;

	/* the kernel's local table decides, as for its own sockets */
	return !velo_ctrl_route(ctrl, family, addr, 0, &r) && r.type == RTN_LOCAL;
}

/*
 * Without CAP_NET_ADMIN the kernel refuses NTF_USE: make it resolve the
 * address the way any unprivileged program would, by routing a datagram
 * there (an empty one, to the discard port).
 */
static int resolve_by_datagram(int ifindex, int family, const void *addr)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(9) };
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(9) };
	int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int ret;

	if (fd < 0)
		return -errno;
	if (family == AF_INET6) {
		memcpy(&sin6.sin6_addr, addr, 16);
		sin6.sin6_scope_id = ifindex;
		ret = sendto(fd, "", 0, MSG_DONTWAIT, (struct sockaddr *)&sin6, sizeof(sin6));
	} else {
		memcpy(&sin.sin_addr, addr, 4);
		ret = sendto(fd, "", 0, MSG_DONTWAIT, (struct sockaddr *)&sin, sizeof(sin));
	}
	ret = ret < 0 ? -errno : 0;
	close(fd);
	return ret;
}

static int ask_resolve(struct velo_ctrl *ctrl, int ifindex, int family, const void *addr)
{
	char buf[256];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ndmsg *ndm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ndm));
	int ret;

	nlh->nlmsg_type = RTM_NEWNEIGH;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE;
	ndm->ndm_family = family;
	ndm->ndm_ifindex = ifindex;
	ndm->ndm_flags = NTF_USE;
	mnl_attr_put(nlh, NDA_DST, ctrl_addr_len(family), addr);
	ret = ctrl_request(ctrl, nlh, NULL, NULL);
	if (ret == -EPERM)
		ret = resolve_by_datagram(ifindex, family, addr);
	return ret;
}

int velo_ctrl_neigh(struct velo_ctrl *ctrl, int ifindex, int family, const void *addr,
		    bool retry, uint8_t mac[6])
{
	struct ctrl_neigh key = { .ifindex = ifindex, .family = family };
	struct ctrl_neigh *n;
	int ret;

	memcpy(key.addr, addr, ctrl_addr_len(family));
	n = ctrl_table_find(&ctrl->neighs, &key);
	if (n && (n->state & CTRL_NUD_VALID)) {
		memcpy(mac, n->mac, 6);
		return 0;
	}
	if (n && (n->state & NUD_FAILED) && !retry)
		return -EHOSTUNREACH;
	if (n && (n->state & NUD_INCOMPLETE))
		return -EAGAIN;		/* the kernel is already at it */
	ret = ask_resolve(ctrl, ifindex, family, addr);
	if (ret)
		velo_dbg("ctrl: asking the kernel to resolve a neighbour: %s", strerror(-ret));
	else if (n)
		n->state = NUD_INCOMPLETE; /* the kernel says nothing until its verdict */
	return ret ? ret : -EAGAIN;
}
