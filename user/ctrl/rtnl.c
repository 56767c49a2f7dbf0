// SPDX-License-Identifier: GPL-2.0
/*
 * The rtnetlink plumbing of the control plane: two sockets, one for our
 * requests and dumps and one subscribed to change notifications, so that a
 * notification can never be mistaken for (or interleave with) a reply. A
 * lost notification (ENOBUFS) costs a full reload, never a stale cache.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/rtnetlink.h>

#include "common/fd.h"
#include "common/log.h"
#include "ctrl/priv.h"

#define CTRL_MON_RCVBUF (1 << 20)

int ctrl_request(struct velo_ctrl *ctrl, struct nlmsghdr *nlh, mnl_cb_t cb, void *arg)
{
	unsigned int portid = mnl_socket_get_portid(ctrl->req);
	ssize_t n;
	int ret;

	/* a reply to a non-dump request ends with the kernel's ack */
	if (!(nlh->nlmsg_flags & NLM_F_DUMP))
		nlh->nlmsg_flags |= NLM_F_ACK;
	nlh->nlmsg_seq = ++ctrl->seq;
	if (mnl_socket_sendto(ctrl->req, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	do {
		n = mnl_socket_recvfrom(ctrl->req, ctrl->buf, sizeof(ctrl->buf));
		if (n < 0)
			return -errno;
		ret = mnl_cb_run(ctrl->buf, n, nlh->nlmsg_seq, portid, cb, arg);
	} while (ret > 0);
	return ret < 0 ? -errno : 0;
}

/* Route, address and rule changes can change any route: forget them all. */
static void routes_changed(struct velo_ctrl *ctrl)
{
	ctrl->generation++;
}

static int monitor_msg(const struct nlmsghdr *nlh, void *arg)
{
	struct velo_ctrl *ctrl = arg;

	switch (nlh->nlmsg_type) {
	case RTM_NEWLINK:
	case RTM_DELLINK:
		routes_changed(ctrl);
		return ctrl_link_msg(nlh, ctrl);
	case RTM_NEWNEIGH:
	case RTM_DELNEIGH:
		return ctrl_neigh_msg(nlh, ctrl);
	case RTM_NEWADDR:
	case RTM_DELADDR:
	case RTM_NEWROUTE:
	case RTM_DELROUTE:
	case RTM_NEWRULE:
	case RTM_DELRULE:
		routes_changed(ctrl);
		return MNL_CB_OK;
	default:
		return MNL_CB_OK;
	}
}

static int reload(struct velo_ctrl *ctrl)
{
	int ret;

	ctrl_table_clear(&ctrl->links);
	ctrl_table_clear(&ctrl->neighs);
	routes_changed(ctrl);
	ret = ctrl_dump_links(ctrl);
	return ret ? ret : ctrl_dump_neighs(ctrl);
}

int velo_ctrl_process(struct velo_ctrl *ctrl)
{
	int handled = 0, ret;
	ssize_t n;

	for (;;) {
		n = mnl_socket_recvfrom(ctrl->mon, ctrl->buf, sizeof(ctrl->buf));
		if (n < 0 && errno == EAGAIN)
			return handled;
		if (n < 0 && errno == ENOBUFS) {
			velo_info("ctrl: rtnetlink notifications overflowed: reloading");
			ret = reload(ctrl);
			if (ret)
				return ret;
			handled++;
			continue;
		}
		if (n < 0)
			return -errno;
		ret = mnl_cb_run(ctrl->buf, n, 0, 0, monitor_msg, ctrl);
		if (ret < 0)
			return -errno;
		handled++;
	}
}

static const unsigned int monitor_groups[] = {
	RTNLGRP_LINK, RTNLGRP_NEIGH, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR,
	RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE, RTNLGRP_IPV4_RULE, RTNLGRP_IPV6_RULE,
};

static struct mnl_socket *open_monitor(void)
{
	struct mnl_socket *mon = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC | SOCK_NONBLOCK);
	int rcvbuf = CTRL_MON_RCVBUF;
	size_t i;

	if (!mon)
		return NULL;
	if (mnl_socket_bind(mon, 0, MNL_SOCKET_AUTOPID) < 0)
		goto fail;
	for (i = 0; i < sizeof(monitor_groups) / sizeof(monitor_groups[0]); i++) {
		unsigned int group = monitor_groups[i];

		if (mnl_socket_setsockopt(mon, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)))
			goto fail;
	}
	/* best effort: a small buffer only means more reloads */
	setsockopt(mnl_socket_get_fd(mon), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	return mon;
fail:
	mnl_socket_close(mon);
	return NULL;
}

static struct velo_ctrl *ctrl_open(int *err)
{
	struct velo_ctrl *ctrl = calloc(1, sizeof(*ctrl));

	*err = -ENOMEM;
	if (!ctrl)
		return NULL;
	if (ctrl_table_init(&ctrl->links, sizeof(int), sizeof(struct velo_link)) ||
	    ctrl_table_init(&ctrl->neighs, CTRL_NEIGH_KEY_LEN, sizeof(struct ctrl_neigh)))
		goto fail;
	/* subscribe before loading, so no change falls between the two */
	ctrl->mon = open_monitor();
	ctrl->req = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!ctrl->mon || !ctrl->req || mnl_socket_bind(ctrl->req, 0, MNL_SOCKET_AUTOPID) < 0) {
		*err = -errno;
		goto fail;
	}
	ctrl->generation = 1;
	*err = reload(ctrl);
	if (*err)
		goto fail;
	return ctrl;
fail:
	velo_ctrl_close(ctrl);
	return NULL;
}

/* libmnl makes and closes the netlink sockets: they are libvelo's private fds. */
struct velo_ctrl *velo_ctrl_open(int *err)
{
	struct velo_ctrl *ctrl;

	velo_fd_capture_begin();
	ctrl = ctrl_open(err);
	velo_fd_capture_end();
	return ctrl;
}

void velo_ctrl_close(struct velo_ctrl *ctrl)
{
	if (!ctrl)
		return;
	velo_fd_capture_begin();
	if (ctrl->mon)
		mnl_socket_close(ctrl->mon);
	if (ctrl->req)
		mnl_socket_close(ctrl->req);
	velo_fd_capture_end();
	ctrl_table_fini(&ctrl->links);
	ctrl_table_fini(&ctrl->neighs);
	free(ctrl);
}

int velo_ctrl_fd(const struct velo_ctrl *ctrl)
{
	return mnl_socket_get_fd(ctrl->mon);
}

uint64_t velo_ctrl_generation(const struct velo_ctrl *ctrl)
{
	return ctrl->generation;
}
