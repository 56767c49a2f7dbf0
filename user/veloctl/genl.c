// SPDX-License-Identifier: GPL-2.0
/* veloctl's client of velo.ko's "velo" generic netlink family (libmnl). */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <linux/genetlink.h>

#include "veloctl/genl.h"

static int family_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nlattr *a;

	mnl_attr_for_each(a, nlh, sizeof(struct genlmsghdr))
		if (mnl_attr_get_type(a) == CTRL_ATTR_FAMILY_ID)
			*(uint16_t *)data = mnl_attr_get_u16(a);
	return MNL_CB_OK;
}

static struct nlmsghdr *msg_start(struct vgenl *g, void *buf, uint16_t type, uint8_t cmd,
				  uint8_t version, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *gh;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	nlh->nlmsg_seq = ++g->seq;
	gh = mnl_nlmsg_put_extra_header(nlh, sizeof(*gh));
	gh->cmd = cmd;
	gh->version = version;
	return nlh;
}

int vgenl_talk(struct vgenl *g, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	int n;

	if (mnl_socket_sendto(g->nl, nlh, nlh->nlmsg_len) < 0)
		return -1;
	for (;;) {
		n = mnl_socket_recvfrom(g->nl, buf, sizeof(buf));
		if (n < 0)
			return -1;
		n = mnl_cb_run(buf, n, nlh->nlmsg_seq, g->portid, cb, data);
		if (n <= MNL_CB_STOP)
			return n < 0 ? -1 : 0;
	}
}

int vgenl_open(struct vgenl *g)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;

	memset(g, 0, sizeof(*g));
	g->seq = (unsigned int)time(NULL);
	g->nl = mnl_socket_open(NETLINK_GENERIC);
	if (!g->nl)
		return -1;
	if (mnl_socket_bind(g->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		vgenl_close(g);
		return -1;
	}
	g->portid = mnl_socket_get_portid(g->nl);
	nlh = msg_start(g, buf, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 1, 0);
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, VELO_GENL_NAME);
	if (vgenl_talk(g, nlh, family_cb, &g->family) || !g->family) {
		vgenl_close(g);
		errno = ENOENT;
		return -1;
	}
	return 0;
}

void vgenl_close(struct vgenl *g)
{
	if (g->nl)
		mnl_socket_close(g->nl);
	g->nl = NULL;
}

struct nlmsghdr *vgenl_msg(struct vgenl *g, void *buf, uint8_t cmd, int dump)
{
	return msg_start(g, buf, g->family, cmd, VELO_GENL_VERSION, dump ? NLM_F_DUMP : 0);
}

void vgenl_attrs(const struct nlmsghdr *nlh, const struct nlattr **tb)
{
	struct nlattr *a;

	memset(tb, 0, sizeof(*tb) * (VELO_A_MAX + 1));
	mnl_attr_for_each(a, nlh, sizeof(struct genlmsghdr))
		if (mnl_attr_get_type(a) <= VELO_A_MAX)
			tb[mnl_attr_get_type(a)] = a;
}

void vgenl_counters(const struct nlattr *nest,
		    void (*fn)(const char *name, uint64_t value, void *arg), void *arg)
{
	const struct nlattr *cnt, *a;

	if (!nest)
		return;
	mnl_attr_for_each_nested(cnt, nest) {
		const char *name = NULL;
		uint64_t value = 0;

		mnl_attr_for_each_nested(a, cnt) {
			if (mnl_attr_get_type(a) == VELO_A_CNT_NAME &&
			    !mnl_attr_validate(a, MNL_TYPE_NUL_STRING))
				name = mnl_attr_get_str(a);
			else if (mnl_attr_get_type(a) == VELO_A_CNT_VALUE &&
				 !mnl_attr_validate(a, MNL_TYPE_U64))
				value = mnl_attr_get_u64(a);
		}
		if (name)
			fn(name, value, arg);
	}
}
