// SPDX-License-Identifier: GPL-2.0
/* veloctl: inspect and configure velo (velo.ko and libvelo). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/velo.h>

#include "common/log.h"
#include "veloctl/procs.h"
#include "veloctl/genl.h"

struct out {
	int json;
	int n;		/* objects printed so far */
};

static int cmd_version(void)
{
	struct velo_version v;
	int fd;

	printf("veloctl %s\n", VELO_VERSION);
	fd = open(VELO_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		printf("velo.ko: not loaded (%s: %s)\n", VELO_DEVICE_PATH, strerror(errno));
		return 0;
	}
	if (ioctl(fd, VELO_IOC_VERSION, &v) < 0) {
		velo_err("%s: VELO_IOC_VERSION: %s", VELO_DEVICE_PATH, strerror(errno));
		close(fd);
		return 1;
	}
	close(fd);
	printf("velo.ko: %.*s (abi %u%s)\n", (int)sizeof(v.release), v.release, v.abi,
	       v.abi == VELO_ABI_VERSION ? "" : ", MISMATCH with this veloctl");
	return v.abi == VELO_ABI_VERSION ? 0 : 1;
}

static uint32_t get_u32(const struct nlattr *a)
{
	return a && !mnl_attr_validate(a, MNL_TYPE_U32) ? mnl_attr_get_u32(a) : 0;
}

static uint16_t get_u16(const struct nlattr *a)
{
	return a && !mnl_attr_validate(a, MNL_TYPE_U16) ? mnl_attr_get_u16(a) : 0;
}

static const char *ifname(uint32_t ifindex, char *buf)
{
	if (!if_indextoname(ifindex, buf))
		snprintf(buf, IF_NAMESIZE, "if%u", ifindex);
	return buf;
}

static void print_cnt(const char *name, uint64_t value, void *arg)
{
	struct out *o = arg;

	if (o->json)
		printf("%s\"%s\":%" PRIu64, o->n++ ? "," : "", name, value);
	else
		printf("  %-20s %" PRIu64 "\n", name, value);
}

static void begin(struct out *o)
{
	if (o->json)
		printf("%s{", o->n++ ? "," : "");
}

static int stack_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[VELO_A_MAX + 1];
	struct out *o = data, c = { .json = o->json };
	char name[IF_NAMESIZE];

	vgenl_attrs(nlh, tb);
	begin(o);
	if (o->json)
		printf("\"id\":%u,\"ifindex\":%u,\"ifname\":\"%s\",\"queue\":%u,"
		       "\"provider\":\"%s\",\"pid\":%u,\"uid\":%u,\"counters\":{",
		       get_u32(tb[VELO_A_STACK_ID]), get_u32(tb[VELO_A_IFINDEX]),
		       ifname(get_u32(tb[VELO_A_IFINDEX]), name), get_u32(tb[VELO_A_QUEUE]),
		       get_u32(tb[VELO_A_PROVIDER]) == VELO_PROVIDER_MLX5 ? "mlx5" : "soft",
		       get_u32(tb[VELO_A_PID]), get_u32(tb[VELO_A_UID]));
	else
		printf("stack %u: %s queue %u provider %s pid %u uid %u\n",
		       get_u32(tb[VELO_A_STACK_ID]), ifname(get_u32(tb[VELO_A_IFINDEX]), name),
		       get_u32(tb[VELO_A_QUEUE]),
		       get_u32(tb[VELO_A_PROVIDER]) == VELO_PROVIDER_MLX5 ? "mlx5" : "soft",
		       get_u32(tb[VELO_A_PID]), get_u32(tb[VELO_A_UID]));
	vgenl_counters(tb[VELO_A_COUNTERS], print_cnt, &c);
	if (o->json)
		printf("}}");
	return MNL_CB_OK;
}

static void addr_str(const struct nlattr *a, int family, char *buf, size_t len)
{
	if (!a || mnl_attr_get_payload_len(a) != (family == AF_INET6 ? 16 : 4) ||
	    !inet_ntop(family, mnl_attr_get_payload(a), buf, len))
		snprintf(buf, len, "?");
}

static int filter_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[VELO_A_MAX + 1];
	char l[INET6_ADDRSTRLEN], r[INET6_ADDRSTRLEN], name[IF_NAMESIZE];
	struct out *o = data;
	int family, listen;
	uint64_t handle;

	vgenl_attrs(nlh, tb);
	family = get_u16(tb[VELO_A_FAMILY]);
	listen = get_u32(tb[VELO_A_FLAGS]) & VELO_FILTER_F_LISTEN;
	handle = tb[VELO_A_FILTER_HANDLE] &&
		 !mnl_attr_validate(tb[VELO_A_FILTER_HANDLE], MNL_TYPE_U64) ?
		 mnl_attr_get_u64(tb[VELO_A_FILTER_HANDLE]) : 0;
	addr_str(tb[VELO_A_LADDR], family, l, sizeof(l));
	addr_str(tb[VELO_A_RADDR], family, r, sizeof(r));
	ifname(get_u32(tb[VELO_A_IFINDEX]), name);
	begin(o);
	if (o->json)
		printf("\"stack\":%u,\"handle\":%" PRIu64 ",\"ifname\":\"%s\",\"family\":\"%s\","
		       "\"type\":\"%s\",\"local\":\"%s\",\"lport\":%u,\"remote\":\"%s\","
		       "\"rport\":%u}", get_u32(tb[VELO_A_STACK_ID]), handle, name,
		       family == AF_INET6 ? "inet6" : "inet", listen ? "listen" : "connected",
		       l, get_u16(tb[VELO_A_LPORT]), r, get_u16(tb[VELO_A_RPORT]));
	else if (listen)
		printf("stack %u handle %" PRIu64 " %s tcp listen %s port %u\n",
		       get_u32(tb[VELO_A_STACK_ID]), handle, name, l, get_u16(tb[VELO_A_LPORT]));
	else
		printf("stack %u handle %" PRIu64 " %s tcp conn %s port %u <-> %s port %u\n",
		       get_u32(tb[VELO_A_STACK_ID]), handle, name, l, get_u16(tb[VELO_A_LPORT]),
		       r, get_u16(tb[VELO_A_RPORT]));
	return MNL_CB_OK;
}

static int stats_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[VELO_A_MAX + 1];

	vgenl_attrs(nlh, tb);
	vgenl_counters(tb[VELO_A_COUNTERS], print_cnt, data);
	return MNL_CB_OK;
}

static int policy_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[VELO_A_MAX + 1];
	char name[IF_NAMESIZE];
	struct out *o = data;
	int on;

	vgenl_attrs(nlh, tb);
	on = tb[VELO_A_ACCELERATE] && mnl_attr_get_u8(tb[VELO_A_ACCELERATE]);
	ifname(get_u32(tb[VELO_A_IFINDEX]), name);
	begin(o);
	if (o->json)
		printf("\"ifname\":\"%s\",\"accelerate\":%s}", name, on ? "true" : "false");
	else
		printf("%s accelerate %s\n", name, on ? "on" : "off");
	return MNL_CB_OK;
}

/* A dump (or, for stats, a do) printed by @cb; JSON wraps it. */
static int cmd_query(uint8_t cmd, mnl_cb_t cb, int json)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct out o = { .json = json };
	int dump = cmd != VELO_CMD_GET_STATS;
	struct vgenl g;
	int r;

	if (vgenl_open(&g)) {
		velo_err("velo netlink family: %s", errno == ENOENT ? "velo.ko not loaded" :
			 strerror(errno));
		return 1;
	}
	if (json)
		printf(dump ? "[" : "{");
	r = vgenl_talk(&g, vgenl_msg(&g, buf, cmd, dump), cb, &o);
	if (json)
		printf(dump ? "]\n" : "}\n");
	if (r)
		velo_err("velo netlink: %s", strerror(errno));
	vgenl_close(&g);
	return r ? 1 : 0;
}

static int cmd_policy_set(const char *dev, const char *val)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	unsigned int ifindex = if_nametoindex(dev);
	struct nlmsghdr *nlh;
	struct vgenl g;
	int r;

	if (!ifindex || (strcmp(val, "on") && strcmp(val, "off"))) {
		velo_err("usage: veloctl policy <ifname> on|off");
		return 2;
	}
	if (vgenl_open(&g)) {
		velo_err("velo netlink family: %s", strerror(errno));
		return 1;
	}
	nlh = vgenl_msg(&g, buf, VELO_CMD_SET_POLICY, 0);
	mnl_attr_put_u32(nlh, VELO_A_IFINDEX, ifindex);
	mnl_attr_put_u8(nlh, VELO_A_ACCELERATE, !strcmp(val, "on"));
	r = vgenl_talk(&g, nlh, NULL, NULL);
	if (r)
		velo_err("set policy of %s: %s", dev, strerror(errno));
	vgenl_close(&g);
	return r ? 1 : 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: veloctl <command> [--json]\n"
		   "commands:\n"
		   "  version                 versions of veloctl and of the loaded velo.ko\n"
		   "  stacks [--json]         stacks you can see, with their counters\n"
		   "  filters [--json]        RFS filters of those stacks\n"
		   "  stats [--json]          global counters\n"
		   "  policy [--json]         interfaces with an acceleration policy\n"
		   "  policy <ifname> on|off  allow or refuse new stacks (CAP_NET_ADMIN)\n"
		   "  sockets [PID] [--json]  processes under libvelo: counters and sockets\n"
		   "  top [PID] [-d S] [-n N] live per-process rates, every S seconds\n");
}

int main(int argc, char **argv)
{
	int json = argc > 2 && !strcmp(argv[argc - 1], "--json");
	const char *cmd = argc > 1 ? argv[1] : "";

	velo_log_init();
	if (argc < 2 || !strcmp(cmd, "-h") || !strcmp(cmd, "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(cmd, "version"))
		return cmd_version();
	if (!strcmp(cmd, "stacks"))
		return cmd_query(VELO_CMD_GET_STACK, stack_cb, json);
	if (!strcmp(cmd, "filters"))
		return cmd_query(VELO_CMD_GET_FILTER, filter_cb, json);
	if (!strcmp(cmd, "stats"))
		return cmd_query(VELO_CMD_GET_STATS, stats_cb, json);
	if (!strcmp(cmd, "policy") && argc == 4)
		return cmd_policy_set(argv[2], argv[3]);
	if (!strcmp(cmd, "policy"))
		return cmd_query(VELO_CMD_GET_POLICY, policy_cb, json);
	if (!strcmp(cmd, "sockets"))
		return veloctl_sockets(argc, argv, json);
	if (!strcmp(cmd, "top"))
		return veloctl_top(argc, argv);
	velo_err("unknown command '%s'", cmd);
	usage(stderr);
	return 2;
}
