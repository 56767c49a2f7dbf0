/* SPDX-License-Identifier: GPL-2.0 */
/* The control plane's internals, shared by its files. */
#ifndef VELO_CTRL_PRIV_H
#define VELO_CTRL_PRIV_H

#include <libmnl/libmnl.h>

#include "ctrl/ctrl.h"
#include "ctrl/table.h"

#define CTRL_ROUTE_CACHE_SIZE 256	/* direct-mapped, power of two */
/* libmnl's advice for dumps: the kernel fills messages up to 32 KiB */
#define CTRL_NL_BUF_SIZE 32768

struct ctrl_neigh {
	int32_t ifindex;		/* key: ifindex, family, addr */
	int32_t family;
	uint8_t addr[16];
	uint8_t mac[6];
	uint16_t state;			/* NUD_* */
};

#define CTRL_NEIGH_KEY_LEN offsetof(struct ctrl_neigh, mac)

struct ctrl_route_slot {
	uint64_t generation;		/* 0: empty */
	int family;
	int oif;
	uint8_t dst[16];
	int err;			/* the kernel's answer when it refused */
	struct velo_route route;
};

struct velo_ctrl {
	struct mnl_socket *req;		/* requests and dumps, blocking */
	struct mnl_socket *mon;		/* change notifications, non-blocking */
	unsigned int seq;
	uint64_t generation;
	struct ctrl_table links;	/* struct velo_link by ifindex */
	struct ctrl_table neighs;	/* struct ctrl_neigh */
	struct ctrl_route_slot routes[CTRL_ROUTE_CACHE_SIZE];
	char buf[CTRL_NL_BUF_SIZE];
};

/* rtnl.c: one request, its replies passed to @cb (may be NULL). */
int ctrl_request(struct velo_ctrl *ctrl, struct nlmsghdr *nlh, mnl_cb_t cb, void *arg);

/* cache.c: apply one link or neighbour message (dump or notification). */
int ctrl_link_msg(const struct nlmsghdr *nlh, void *ctrl);
int ctrl_neigh_msg(const struct nlmsghdr *nlh, void *ctrl);
int ctrl_dump_links(struct velo_ctrl *ctrl);
int ctrl_dump_neighs(struct velo_ctrl *ctrl);

static inline size_t ctrl_addr_len(int family)
{
	return family == AF_INET6 ? 16 : 4;
}

#endif /* VELO_CTRL_PRIV_H */
