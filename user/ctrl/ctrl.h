/* SPDX-License-Identifier: GPL-2.0 */
/*
 * velo's control plane: the kernel's view of links, local addresses, routes
 * and neighbours, read over rtnetlink and followed at runtime. The kernel
 * stays the source of truth: routes are asked of it (and cached until any
 * change), neighbour resolution is asked of it, never reinvented.
 *
 * Not thread-safe: the owner serialises calls. velo_ctrl_fd() becomes
 * readable when the kernel reports a change; velo_ctrl_process() applies it.
 */
#ifndef VELO_CTRL_CTRL_H
#define VELO_CTRL_CTRL_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

struct velo_ctrl;

struct velo_link {
	int ifindex;
	char name[IF_NAMESIZE];
	unsigned int mtu;
	unsigned int flags;		/* IFF_UP, IFF_RUNNING, IFF_LOOPBACK... */
	uint16_t type;			/* ARPHRD_* */
	uint8_t mac[6];			/* valid when type is ARPHRD_ETHER */
};

struct velo_route {
	int family;
	uint8_t type;			/* RTN_UNICAST, RTN_LOCAL, ... */
	int oif;
	bool has_gateway;
	bool has_prefsrc;
	uint8_t gateway[16];		/* next hop, when has_gateway */
	uint8_t prefsrc[16];		/* source address to use */
	unsigned int mtu;		/* route MTU metric, else the link's */
};

/* Opens both rtnetlink sockets and loads links, addresses, neighbours. */
struct velo_ctrl *velo_ctrl_open(int *err);
void velo_ctrl_close(struct velo_ctrl *ctrl);

/* Readable when changes are pending; then call velo_ctrl_process(). */
int velo_ctrl_fd(const struct velo_ctrl *ctrl);
/* Applies pending notifications. Returns how many, or -errno. */
int velo_ctrl_process(struct velo_ctrl *ctrl);
/* Bumped by every change of links, addresses or routes. */
uint64_t velo_ctrl_generation(const struct velo_ctrl *ctrl);

const struct velo_link *velo_ctrl_link(const struct velo_ctrl *ctrl, int ifindex);
/* Whether @addr is one of this namespace's local addresses (kernel's view). */
bool velo_ctrl_is_local(struct velo_ctrl *ctrl, int family, const void *addr);

/*
 * The kernel's output route to @dst (@oif: required for link-local scope,
 * else 0). Returns 0, or -errno as the kernel gives it (-ENETUNREACH...).
 */
int velo_ctrl_route(struct velo_ctrl *ctrl, int family, const void *dst, int oif,
		    struct velo_route *out);

/*
 * The link-layer address of @addr on @ifindex. Returns 0 with @mac filled;
 * -EAGAIN when the kernel has been asked to resolve it (watch the fd);
 * -EHOSTUNREACH when resolution failed. With @retry, a failed one is asked
 * again, as a packet for it makes the kernel try again.
 */
int velo_ctrl_neigh(struct velo_ctrl *ctrl, int ifindex, int family, const void *addr,
		    bool retry, uint8_t mac[6]);

#endif /* VELO_CTRL_CTRL_H */
