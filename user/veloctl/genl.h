/* SPDX-License-Identifier: GPL-2.0 */
/* veloctl's client of velo.ko's "velo" generic netlink family (libmnl). */
#ifndef VELOCTL_GENL_H
#define VELOCTL_GENL_H

#include <stdint.h>
#include <libmnl/libmnl.h>
#include <linux/velo.h>

struct vgenl {
	struct mnl_socket *nl;
	uint16_t family;
	unsigned int portid;
	unsigned int seq;
};

/* Open the socket and resolve the family; -1 with errno (ENOENT: no velo.ko). */
int vgenl_open(struct vgenl *g);
void vgenl_close(struct vgenl *g);

/*
 * Send @cmd (a dump when @dump) with the attributes @nlh already holds past
 * the genl header, and call @cb for each reply message. Returns 0 or -1
 * with errno.
 */
struct nlmsghdr *vgenl_msg(struct vgenl *g, void *buf, uint8_t cmd, int dump);
int vgenl_talk(struct vgenl *g, struct nlmsghdr *nlh, mnl_cb_t cb, void *data);

/* The top-level attributes of a reply message, indexed by VELO_A_*. */
void vgenl_attrs(const struct nlmsghdr *nlh, const struct nlattr **tb);

/* Call @fn(name, value, arg) for each counter of a VELO_A_COUNTERS nest. */
void vgenl_counters(const struct nlattr *nest,
		    void (*fn)(const char *name, uint64_t value, void *arg), void *arg);

#endif /* VELOCTL_GENL_H */
