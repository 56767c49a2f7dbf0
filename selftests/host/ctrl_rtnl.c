// SPDX-License-Identifier: GPL-2.0
/*
 * The control plane against the real kernel: each case runs in a fresh
 * network namespace (root only), changes links, addresses, routes and
 * neighbours with iproute2, and checks what velo_ctrl reports after the
 * kernel's notifications are processed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include <linux/rtnetlink.h>

#include "ctrl/ctrl.h"
#include "ktap.h"

#define PEER_NS_FMT "velo-ctrl-%d"

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (system(cmd)) {
		ktap_diag("command failed: %s", cmd);
		return -1;
	}
	return 0;
}

/* A private network namespace with veth va (10.77.0.1/24) up, or skip. */
static int enter_netns(void)
{
	if (geteuid() != 0 || unshare(CLONE_NEWNET)) {
		ktap_diag("needs root and network namespaces");
		return -1;
	}
	return sh("ip link set lo up && ip link add va type veth peer name vb && "
		  "ip addr add 10.77.0.1/24 dev va && ip link set va up && ip link set vb up");
}

/* Apply every pending notification, waiting up to @ms for the first. */
static void settle(struct velo_ctrl *ctrl, int ms)
{
	struct pollfd p = { .fd = velo_ctrl_fd(ctrl), .events = POLLIN };

	while (poll(&p, 1, ms) > 0 && velo_ctrl_process(ctrl) > 0)
		ms = 50;
}

static struct velo_ctrl *open_ctrl(void)
{
	int err;
	struct velo_ctrl *ctrl = velo_ctrl_open(&err);

	if (!ctrl)
		ktap_diag("velo_ctrl_open: %s", strerror(-err));
	return ctrl;
}

static int in4(const char *s, struct in_addr *a)
{
	return inet_pton(AF_INET, s, a) == 1 ? 0 : -1;
}

static int links_follow_changes(void)
{
	struct velo_ctrl *ctrl;
	const struct velo_link *l;
	int va;

	if (enter_netns())
		return KTAP_SKIP;
	ctrl = open_ctrl();
	KTAP_EXPECT(ctrl);
	va = if_nametoindex("va");
	l = velo_ctrl_link(ctrl, va);
	KTAP_EXPECT(l && !strcmp(l->name, "va") && l->mtu == 1500 && (l->flags & IFF_UP));
	KTAP_EXPECT(velo_ctrl_link(ctrl, 1) && (velo_ctrl_link(ctrl, 1)->flags & IFF_LOOPBACK));
	KTAP_EXPECT(!sh("ip link set va mtu 1400 address 02:00:00:00:77:01"));
	settle(ctrl, 1000);
	l = velo_ctrl_link(ctrl, va);
	KTAP_EXPECT(l && l->mtu == 1400 && !memcmp(l->mac, "\x02\x00\x00\x00\x77\x01", 6));
	KTAP_EXPECT(!sh("ip link del va"));
	settle(ctrl, 1000);
	KTAP_EXPECT(!velo_ctrl_link(ctrl, va));
	velo_ctrl_close(ctrl);
	return KTAP_PASS;
}

static int routes_follow_changes(void)
{
	struct in_addr dst, want;
	struct velo_route r;
	struct velo_ctrl *ctrl;
	uint64_t gen;

	if (enter_netns())
		return KTAP_SKIP;
	ctrl = open_ctrl();
	KTAP_EXPECT(ctrl);
	in4("10.77.0.2", &dst);
	KTAP_EXPECT(velo_ctrl_route(ctrl, AF_INET, &dst, 0, &r) == 0);
	in4("10.77.0.1", &want);
	KTAP_EXPECT(r.type == RTN_UNICAST && r.oif == (int)if_nametoindex("va"));
	KTAP_EXPECT(!r.has_gateway && r.has_prefsrc && !memcmp(r.prefsrc, &want, 4));
	KTAP_EXPECT(r.mtu == 1500);

	in4("10.88.1.1", &dst);
	KTAP_EXPECT(velo_ctrl_route(ctrl, AF_INET, &dst, 0, &r) == -ENETUNREACH);
	gen = velo_ctrl_generation(ctrl);
	KTAP_EXPECT(!sh("ip route add 10.88.0.0/16 via 10.77.0.254 mtu 1300"));
	settle(ctrl, 1000);
	KTAP_EXPECT(velo_ctrl_generation(ctrl) > gen);
	KTAP_EXPECT(velo_ctrl_route(ctrl, AF_INET, &dst, 0, &r) == 0);
	in4("10.77.0.254", &want);
	KTAP_EXPECT(r.has_gateway && !memcmp(r.gateway, &want, 4) && r.mtu == 1300);

	KTAP_EXPECT(!sh("ip route replace 10.88.0.0/16 via 10.77.0.253"));
	settle(ctrl, 1000);
	in4("10.77.0.253", &want);
	KTAP_EXPECT(velo_ctrl_route(ctrl, AF_INET, &dst, 0, &r) == 0);
	KTAP_EXPECT(r.has_gateway && !memcmp(r.gateway, &want, 4) && r.mtu == 1500);

	KTAP_EXPECT(!sh("ip link set va down"));
	settle(ctrl, 1000);
	KTAP_EXPECT(velo_ctrl_route(ctrl, AF_INET, &dst, 0, &r) == -ENETUNREACH);
	KTAP_EXPECT(!(velo_ctrl_link(ctrl, if_nametoindex("va"))->flags & IFF_UP));
	velo_ctrl_close(ctrl);
	return KTAP_PASS;
}

static int local_addresses(void)
{
	struct in_addr a;
	struct in6_addr a6 = IN6ADDR_LOOPBACK_INIT;
	struct velo_ctrl *ctrl;

	if (enter_netns())
		return KTAP_SKIP;
	ctrl = open_ctrl();
	KTAP_EXPECT(ctrl);
	in4("10.77.0.1", &a);
	KTAP_EXPECT(velo_ctrl_is_local(ctrl, AF_INET, &a));
	in4("127.0.0.1", &a);
	KTAP_EXPECT(velo_ctrl_is_local(ctrl, AF_INET, &a));
	KTAP_EXPECT(velo_ctrl_is_local(ctrl, AF_INET6, &a6));
	in4("10.77.0.9", &a);
	KTAP_EXPECT(!velo_ctrl_is_local(ctrl, AF_INET, &a));
	KTAP_EXPECT(!sh("ip addr add 10.77.0.9/32 dev va"));
	settle(ctrl, 1000);
	KTAP_EXPECT(velo_ctrl_is_local(ctrl, AF_INET, &a));
	velo_ctrl_close(ctrl);
	return KTAP_PASS;
}

static int ipv6_and_link_local(void)
{
	struct in6_addr dst;
	struct velo_route r;
	struct velo_ctrl *ctrl;
	int va;

	if (enter_netns())
		return KTAP_SKIP;
	KTAP_EXPECT(!sh("ip addr add 2001:db8::1/64 dev va nodad"));
	ctrl = open_ctrl();
	KTAP_EXPECT(ctrl);
	va = if_nametoindex("va");
	inet_pton(AF_INET6, "2001:db8::2", &dst);
	KTAP_EXPECT(velo_ctrl_route(ctrl, AF_INET6, &dst, 0, &r) == 0);
	KTAP_EXPECT(r.oif == va && !r.has_gateway && r.mtu == 1500);
	/* link-local: the scope id picks the interface */
	inet_pton(AF_INET6, "fe80::2", &dst);
	KTAP_EXPECT(velo_ctrl_route(ctrl, AF_INET6, &dst, va, &r) == 0);
	KTAP_EXPECT(r.oif == va);
	velo_ctrl_close(ctrl);
	return KTAP_PASS;
}

static int neigh_wait(struct velo_ctrl *ctrl, int ifindex, const char *addr, uint8_t mac[6])
{
	struct in_addr a;
	int i, ret = -EAGAIN;

	in4(addr, &a);
	for (i = 0; i < 50 && ret == -EAGAIN; i++) {
		ret = velo_ctrl_neigh(ctrl, ifindex, AF_INET, &a, false, mac);
		if (ret == -EAGAIN)
			settle(ctrl, 100);
	}
	return ret;
}

/* Drops CAP_NET_ADMIN from the effective set: no libcap here, so capset. */
static int drop_net_admin(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d))
		return -1;
	d[CAP_TO_INDEX(CAP_NET_ADMIN)].effective &= ~CAP_TO_MASK(CAP_NET_ADMIN);
	return syscall(SYS_capset, &h, d) ? -1 : 0;
}

/* A peer namespace answering for 10.77.0.2 on vb; va gives up after one probe. */
static int add_peer(char *ns, size_t len)
{
	snprintf(ns, len, PEER_NS_FMT, (int)getpid());
	return sh("ip netns add %s && ip link set vb netns %s && "
		  "ip -n %s link set vb up address 02:00:00:00:77:02 && "
		  "ip -n %s addr add 10.77.0.2/24 dev vb && "
		  "sysctl -qw net.ipv4.neigh.va.mcast_solicit=1 "
		  "net.ipv4.neigh.va.retrans_time_ms=100", ns, ns, ns, ns);
}

/* In a child, so that dropping a capability can't stop the clean-up. */
static int resolve_in_child(bool unprivileged)
{
	uint8_t mac[6] = { 0 };
	struct velo_ctrl *ctrl;
	int va = if_nametoindex("va"), ok, status;
	pid_t pid = fork();

	if (pid == 0) {
		if (unprivileged && drop_net_admin())
			_exit(1);
		ctrl = open_ctrl();
		ok = ctrl && neigh_wait(ctrl, va, "10.77.0.2", mac) == 0 &&
		     !memcmp(mac, "\x02\x00\x00\x00\x77\x02", 6) &&
		     neigh_wait(ctrl, va, "10.77.0.99", mac) == -EHOSTUNREACH;
		_exit(ok ? 0 : 1);
	}
	return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	       WEXITSTATUS(status) == 0;
}

static int check_resolution(bool unprivileged)
{
	char ns[32];
	int ok;

	if (enter_netns())
		return KTAP_SKIP;
	if (add_peer(ns, sizeof(ns)))
		return KTAP_FAIL;
	ok = resolve_in_child(unprivileged);
	sh("ip netns del %s", ns);
	return ok ? KTAP_PASS : KTAP_FAIL;
}

static int neighbours_resolved_by_kernel(void)
{
	return check_resolution(false);
}

/* Without CAP_NET_ADMIN (no NTF_USE), a datagram makes the kernel resolve. */
static int neighbours_resolved_unprivileged(void)
{
	return check_resolution(true);
}

static const struct ktap_case cases[] = {
	{ "links_follow_changes", links_follow_changes, 0 },
	{ "routes_follow_changes", routes_follow_changes, 0 },
	{ "local_addresses", local_addresses, 0 },
	{ "ipv6_and_link_local", ipv6_and_link_local, 0 },
	{ "neighbours_resolved_by_kernel", neighbours_resolved_by_kernel, 0 },
	{ "neighbours_resolved_unprivileged", neighbours_resolved_unprivileged, 0 },
};

KTAP_MAIN(cases)
