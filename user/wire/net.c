// SPDX-License-Identifier: GPL-2.0
/*
 * The control plane mirrored into the engine: the interface's addresses
 * (vtcp_addr_add/del), the next hops' link-layer addresses once the kernel
 * has resolved them (vtcp_neigh_set), and routes, asked of the kernel on the
 * engine's behalf (its route callback). Kept current from the ctrl fd.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <string.h>

#include "common/log.h"
#include "wire/priv.h"

void wire_sa_bytes(const struct sockaddr *a, uint8_t out[16], uint16_t *port)
{
	memset(out, 0, 16);
	if (a->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)a;

		memcpy(out, &in->sin_addr, 4);
		*port = ntohs(in->sin_port);
	} else {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)a;

		memcpy(out, &in6->sin6_addr, 16);
		*port = ntohs(in6->sin6_port);
	}
}

static void sa_from_bytes(struct sockaddr_storage *ss, int family, const uint8_t *addr,
			  uint32_t scope)
{
	memset(ss, 0, sizeof(*ss));
	ss->ss_family = (sa_family_t)family;
	if (family == AF_INET) {
		memcpy(&((struct sockaddr_in *)ss)->sin_addr, addr, 4);
	} else {
		memcpy(&((struct sockaddr_in6 *)ss)->sin6_addr, addr, 16);
		((struct sockaddr_in6 *)ss)->sin6_scope_id = scope;
	}
}

/* Adds the next hop to the watch list; the engine learns its MAC once resolved. */
static void neigh_watch(struct velo_wire_stack *st, int family, const uint8_t *addr)
{
	size_t alen = family == AF_INET ? 4 : 16;
	struct wire_neigh *n;

	for (unsigned int i = 0; i < st->nneigh; i++) {
		if (st->neigh[i].family == family && !memcmp(st->neigh[i].addr, addr, alen)) {
			st->neigh[i].retry = true;
			st->neigh_new = true;
			return;
		}
	}
	/* full: forget the oldest, the engine keeps what it was told */
	if (st->nneigh == WIRE_NEIGH_MAX)
		memmove(st->neigh, st->neigh + 1, --st->nneigh * sizeof(*n));
	n = &st->neigh[st->nneigh++];
	memset(n, 0, sizeof(*n));
	n->family = family;
	memcpy(n->addr, addr, alen);
	n->retry = true;
	st->neigh_new = true;
}

void wire_neigh_refresh(struct velo_wire_stack *st)
{
	st->neigh_new = false;
	for (unsigned int i = 0; i < st->nneigh; i++) {
		struct wire_neigh *n = &st->neigh[i];
		struct sockaddr_storage ss;
		uint8_t mac[6];

		int err = velo_ctrl_neigh(st->ctrl, st->ifindex, n->family, n->addr, n->retry, mac);

		n->retry = false;
		sa_from_bytes(&ss, n->family, n->addr, (uint32_t)st->ifindex);
		if (err == -EHOSTUNREACH && !n->failed) /* once per verdict, as the kernel's report */
			vtcp_neigh_failed(st->eng, (struct sockaddr *)&ss);
		n->failed = err == -EHOSTUNREACH;
		if (err) {
			velo_dbg("wire: neighbour %u: %s", i, strerror(-err));
			continue; /* resolving (the fd will say) or failed */
		}
		if (n->known && !memcmp(mac, n->mac, 6))
			continue;
		memcpy(n->mac, mac, 6);
		n->known = true;
		vtcp_neigh_set(st->eng, (struct sockaddr *)&ss, mac);
	}
}

int wire_route(void *ctx, const struct sockaddr *dst, struct vtcp_route *rt)
{
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)dst;
	struct velo_wire_stack *st = ctx;
	struct velo_route r;
	uint8_t addr[16];
	uint16_t port;
	int err;

	wire_sa_bytes(dst, addr, &port);
	err = velo_ctrl_route(st->ctrl, dst->sa_family, addr,
			      dst->sa_family == AF_INET6 ? (int)in6->sin6_scope_id : 0, &r);
	if (err)
		return err;
	if (r.type != 1 /* RTN_UNICAST */ || r.oif != st->ifindex)
		return -ENETUNREACH; /* leaves by another way: not this stack's */
	memset(rt, 0, sizeof(*rt));
	if (r.has_gateway) {
		sa_from_bytes(&rt->nexthop, r.family, r.gateway, (uint32_t)st->ifindex);
		neigh_watch(st, r.family, r.gateway);
	} else {
		neigh_watch(st, r.family, addr);
	}
	if (r.has_prefsrc)
		sa_from_bytes(&rt->src, r.family, r.prefsrc, (uint32_t)st->ifindex);
	rt->mtu = r.mtu;
	return 0;
}

static bool addr_listed(const struct sockaddr_storage *list, unsigned int n,
			const struct sockaddr *a)
{
	size_t len = a->sa_family == AF_INET ? sizeof(struct sockaddr_in)
					     : sizeof(struct sockaddr_in6);

	for (unsigned int i = 0; i < n; i++)
		if (list[i].ss_family == a->sa_family && !memcmp(&list[i], a, len))
			return true;
	return false;
}

/* The interface's addresses now, as getifaddrs() reports them. */
static unsigned int current_addrs(struct velo_wire_stack *st, struct sockaddr_storage *out)
{
	struct ifaddrs *ifa, *i;
	unsigned int n = 0;

	if (getifaddrs(&ifa))
		return 0;
	for (i = ifa; i && n < WIRE_ADDR_MAX; i = i->ifa_next) {
		int fam = i->ifa_addr ? i->ifa_addr->sa_family : 0;
		struct sockaddr_storage *ss = &out[n];

		if (strcmp(i->ifa_name, st->ifname) || (fam != AF_INET && fam != AF_INET6))
			continue;
		memset(ss, 0, sizeof(*ss));
		if (fam == AF_INET) {
			memcpy(ss, i->ifa_addr, sizeof(struct sockaddr_in));
		} else {
			memcpy(ss, i->ifa_addr, sizeof(struct sockaddr_in6));
			if (!IN6_IS_ADDR_LINKLOCAL(&((struct sockaddr_in6 *)ss)->sin6_addr))
				((struct sockaddr_in6 *)ss)->sin6_scope_id = 0;
		}
		n++;
	}
	freeifaddrs(ifa);
	return n;
}

static void addrs_sync(struct velo_wire_stack *st)
{
	struct sockaddr_storage now[WIRE_ADDR_MAX];
	unsigned int n = current_addrs(st, now);

	for (unsigned int i = 0; i < st->naddrs; i++)
		if (!addr_listed(now, n, (struct sockaddr *)&st->addrs[i]))
			vtcp_addr_del(st->eng, (struct sockaddr *)&st->addrs[i]);
	for (unsigned int i = 0; i < n; i++)
		if (!addr_listed(st->addrs, st->naddrs, (struct sockaddr *)&now[i]))
			vtcp_addr_add(st->eng, (struct sockaddr *)&now[i]);
	memcpy(st->addrs, now, n * sizeof(now[0]));
	st->naddrs = n;
}

/* Applies the kernel's pending changes; called at creation and when the ctrl fd fires. */
void wire_net_sync(struct velo_wire_stack *st)
{
	uint64_t gen;
	int err = velo_ctrl_process(st->ctrl);

	if (err < 0)
		velo_warn("wire: control plane: %s", strerror(-err));
	gen = velo_ctrl_generation(st->ctrl);
	if (gen != st->ctrl_gen || !st->naddrs) {
		st->ctrl_gen = gen;
		addrs_sync(st);
	}
	wire_neigh_refresh(st);
}

/* The source address of the kernel's route to @a, to reserve a port on. */
int wire_route_src(struct velo_wire_stack *st, const struct sockaddr *a,
		   struct sockaddr_storage *src)
{
	struct vtcp_route rt;
	int err = wire_route(st, a, &rt);

	if (err)
		return err;
	if (rt.src.ss_family == AF_UNSPEC)
		return -EADDRNOTAVAIL;
	*src = rt.src;
	if (src->ss_family == AF_INET6 &&
	    !IN6_IS_ADDR_LINKLOCAL(&((struct sockaddr_in6 *)src)->sin6_addr))
		((struct sockaddr_in6 *)src)->sin6_scope_id = 0;
	return 0;
}
