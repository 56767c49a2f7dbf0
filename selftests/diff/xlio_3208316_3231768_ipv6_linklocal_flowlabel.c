// SPDX-License-Identifier: GPL-2.0
/*
 * XLIO 3208316 (IPv6 link-local) and 3231768 (IPv6 flow labels).
 *
 * Link-local: loopback has no link-local address, so a child process moves
 * to a private network namespace (unshare, root only), brings lo up, adds
 * fe80::2/64 to it, and execs this program again there (same environment,
 * so accelerated under libvelo) to: listen on fe80::2%lo, connect with the
 * scope id (works), without it (EINVAL), exchange data, and check the
 * scope ids getsockname/getpeername/accept report.
 *
 * Flow labels, on ::1: a label leased with IPV6_FLOWLABEL_MGR and sent with
 * IPV6_FLOWINFO_SEND (sin6_flowinfo at connect) is the one the receiver
 * sees on the connection's packets (IPV6_FLOWINFO + IPV6_FL_F_REMOTE), and
 * getpeername's sin6_flowinfo carries it.
 */
#include "diff.h"
#include <net/if.h>
#include <sched.h>

#ifndef IPV6_FLOWINFO
#define IPV6_FLOWINFO 11
#endif
#ifndef IPV6_FLOWLABEL_MGR
#define IPV6_FLOWLABEL_MGR 32
#endif
#ifndef IPV6_FLOWINFO_SEND
#define IPV6_FLOWINFO_SEND 33
#endif
/* <linux/in6.h>, which clashes with <netinet/in.h> */
struct fl_req {
	struct in6_addr flr_dst;
	uint32_t flr_label;
	uint8_t flr_action;
	uint8_t flr_share;
	uint16_t flr_flags;
	uint16_t flr_expires;
	uint16_t flr_linger;
	uint32_t flr_pad;
};
#define FL_A_GET 0
#define FL_F_CREATE 1
#define FL_F_REMOTE 8
#define FL_S_ANY 255

struct in6_ifreq_ {
	struct in6_addr addr;
	uint32_t prefixlen;
	int ifindex;
};

static int linklocal(void)
{
	unsigned int lo = if_nametoindex("lo");
	union sa a, b;
	socklen_t al, bl;
	int l, c, s, one = 1;
	uint16_t port;
	char buf[16];

	memset(&a, 0, sizeof(a));
	a.in6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "fe80::2", &a.in6.sin6_addr);
	a.in6.sin6_scope_id = lo;
	l = socket(AF_INET6, SOCK_STREAM, 0);
	NEED(setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0);
	{
		/* and should it still be tentative for a moment, wait for it */
		long end = now_ms() + 5000;
		int r;

		while ((r = bind(l, &a.sa, sizeof(a.in6))) < 0 && errno == EADDRNOTAVAIL &&
		       now_ms() < end)
			msleep(10);
		SHOWL("bind fe80::2%lo", r);
	}
	SHOWL("listen", listen(l, 4));
	port = local_port(l);
	al = sizeof(b);
	getsockname(l, &b.sa, &al);
	say("listener scope id == lo: %s", YN(b.in6.sin6_scope_id == lo));
	a.in6.sin6_port = htons(port);
	c = socket(AF_INET6, SOCK_STREAM, 0);
	a.in6.sin6_scope_id = 0;
	SHOWL("connect fe80::2 without scope id", connect(c, &a.sa, sizeof(a.in6)));
	close(c);
	c = socket(AF_INET6, SOCK_STREAM, 0);
	a.in6.sin6_scope_id = 9999;
	SHOWL("connect fe80::2 with a bad scope id", connect(c, &a.sa, sizeof(a.in6)));
	close(c);
	c = socket(AF_INET6, SOCK_STREAM, 0);
	a.in6.sin6_scope_id = lo;
	SHOWL("connect fe80::2%lo", connect(c, &a.sa, sizeof(a.in6)));
	bl = sizeof(b);
	s = accept(l, &b.sa, &bl);
	NEED(s >= 0);
	say("accept: link-local peer, scope == lo: %s %s",
	    YN(IN6_IS_ADDR_LINKLOCAL(&b.in6.sin6_addr)), YN(b.in6.sin6_scope_id == lo));
	al = sizeof(b);
	getsockname(c, &b.sa, &al);
	say("client name link-local, scope == lo: %s %s",
	    YN(IN6_IS_ADDR_LINKLOCAL(&b.in6.sin6_addr)), YN(b.in6.sin6_scope_id == lo));
	al = sizeof(b);
	getpeername(c, &b.sa, &al);
	say("client peer port == listener, scope == lo: %s %s", YN(sa_port(&b) == port),
	    YN(b.in6.sin6_scope_id == lo));
	SHOW(send(c, "ll-data", 7, 0));
	memset(buf, 0, sizeof(buf));
	SHOW(recv(s, buf, 7, MSG_WAITALL));
	say("got \"%s\"", buf);
	SHOW(send(s, "back", 4, 0));
	SHOW(recv(c, buf, 4, MSG_WAITALL));
	close(c);
	SHOW(recv(s, buf, sizeof(buf), 0));
	close(s);
	close(l);
	return 0;
}

/* child: private netns with fe80::2 on lo, then exec the link-local part there */
static void netns_child(void)
{
	struct ifreq ifr;
	struct in6_ifreq_ r6;
	int fd;

	if (unshare(CLONE_NEWNET) < 0) {
		say("unshare(CLONE_NEWNET) failed: %s (link-local part not run)", errname(errno));
		_exit(0);
	}
	/* no duplicate address detection: the address is usable at once */
	{
		FILE *f = fopen("/proc/sys/net/ipv6/conf/lo/accept_dad", "w");

		if (f) {
			fputs("0\n", f);
			fclose(f);
		}
	}
	fd = socket(AF_INET6, SOCK_DGRAM, 0);
	NEED(fd >= 0);
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	NEED(ioctl(fd, SIOCGIFFLAGS, &ifr) == 0);
	ifr.ifr_flags |= IFF_UP;
	NEED(ioctl(fd, SIOCSIFFLAGS, &ifr) == 0);
	memset(&r6, 0, sizeof(r6));
	inet_pton(AF_INET6, "fe80::2", &r6.addr);
	r6.prefixlen = 64;
	r6.ifindex = if_nametoindex("lo");
	NEED(ioctl(fd, SIOCSIFADDR, &r6) == 0);
	close(fd);
	execl("/proc/self/exe", "self", "linklocal", (char *)NULL);
	_exit(127);
}

static void flowlabel(void)
{
	int l, c, s, one = 1, v;
	uint16_t port;
	union sa a;
	socklen_t al;
	struct fl_req fr;
	socklen_t fl = sizeof(fr);
	char buf[8];
	/* leases outlive the socket for seconds: a label of our own, not printed */
	uint32_t label = 0x10000 | ((uint32_t)getpid() * 2654435761u >> 17);

	l = tcp_listener_fam(AF_INET6, 4, &port);
	al = sa_loop(&a, AF_INET6, port);

	/*
	 * (Whether a label that was not leased is refused depends on whether
	 * any exclusive label exists system-wide at that moment, so it is not
	 * checked here.)
	 */
	a.in6.sin6_flowinfo = htonl(label);
	c = socket(AF_INET6, SOCK_STREAM, 0);
	memset(&fr, 0, sizeof(fr));
	fr.flr_dst = in6addr_loopback;
	fr.flr_label = htonl(label);
	fr.flr_action = FL_A_GET;
	fr.flr_share = FL_S_ANY;
	fr.flr_flags = FL_F_CREATE;
	SHOWL("lease flow label", setsockopt(c, IPPROTO_IPV6, IPV6_FLOWLABEL_MGR, &fr, sizeof(fr)));
	SHOWL("IPV6_FLOWINFO_SEND", setsockopt(c, IPPROTO_IPV6, IPV6_FLOWINFO_SEND, &one, sizeof(one)));
	SHOWL("connect with the leased label", connect(c, &a.sa, al));
	NEED(wait_ev(l, POLLIN, 5000));
	s = accept(l, NULL, NULL);
	NEED(s >= 0);
	SHOWL("receiver IPV6_FLOWINFO", setsockopt(s, IPPROTO_IPV6, IPV6_FLOWINFO, &one, sizeof(one)));
	SHOW(send(c, "fl", 2, 0));
	SHOW(recv(s, buf, 2, MSG_WAITALL));
	memset(&fr, 0, sizeof(fr));
	fr.flr_action = FL_A_GET;
	fr.flr_flags = FL_F_REMOTE;
	fl = sizeof(fr);
	SHOWL("get remote flow label", getsockopt(s, IPPROTO_IPV6, IPV6_FLOWLABEL_MGR, &fr, &fl));
	say("receiver sees the sender's label: %s", YN(ntohl(fr.flr_label) == label));
	v = -1;
	al = sizeof(v);
	getsockopt(c, IPPROTO_IPV6, IPV6_FLOWINFO_SEND, &v, &al);
	say("sender IPV6_FLOWINFO_SEND = %d", v);
	al = sizeof(a);
	getpeername(c, &a.sa, &al);
	say("sender's peer flowinfo carries the label: %s",
	    YN((ntohl(a.in6.sin6_flowinfo) & 0xfffff) == label));
	close(c);
	close(s);
	close(l);
}

int main(int argc, char **argv)
{
	pid_t pid;

	if (argc > 1 && !strcmp(argv[1], "linklocal"))
		return linklocal();
	say("-- link-local (private network namespace)");
	pid = fork();
	NEED(pid >= 0);
	if (pid == 0)
		netns_child();
	say("link-local child %s", status_str(wait_child(pid)));
	say("-- flow labels on ::1");
	flowlabel();
	return 0;
}
