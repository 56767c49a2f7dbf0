// SPDX-License-Identifier: GPL-2.0
/*
 * IP_MTU and IPV6_MTU: the path MTU of a socket's route, which exists once
 * the socket connects (ENOTCONN before, and on a listener), over IPv4 and
 * IPv6, on the connecting end and the accepted one; IP_MTU on an AF_INET6
 * socket too. IPV6_PATHMTU: the same MTU in a struct ip6_mtuinfo whose
 * address stays zero, EINVAL for a shorter length (under libvelo a wire
 * connection's kernel socket, never connected, said ENOTCONN).
 */
#include "diff.h"

static void mtu(const char *what, int fd, int level, int name)
{
	int v = 0;
	socklen_t l = sizeof(v);

	if (getsockopt(fd, level, name, &v, &l))
		say("%s: %s", what, errname(errno));
	else
		say("%s: %d", what, v);
}

static void pathmtu(const char *what, int fd, socklen_t len)
{
	struct ip6_mtuinfo mi;
	socklen_t l = len;

	memset(&mi, 0xaa, sizeof(mi));
	if (getsockopt(fd, IPPROTO_IPV6, IPV6_PATHMTU, &mi, &l))
		say("%s, IPV6_PATHMTU (length %u): %s", what, len, errname(errno));
	else
		say("%s, IPV6_PATHMTU (length %u): length %u, mtu %u, address zero: %s", what, len,
		    l, mi.ip6m_mtu, YN(!mi.ip6m_addr.sin6_family && !mi.ip6m_addr.sin6_port &&
					IN6_IS_ADDR_UNSPECIFIED(&mi.ip6m_addr.sin6_addr)));
}

static void one(int family)
{
	int level = family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6;
	int name = family == AF_INET ? IP_MTU : IPV6_MTU;
	int fresh = socket(family, SOCK_STREAM, 0), c, s, l;
	uint16_t port;

	say("-- %s", family == AF_INET ? "IPv4" : "IPv6");
	mtu("fresh", fresh, level, name);
	close(fresh);
	l = tcp_listener_fam(family, 4, &port);
	mtu("listener", l, level, name);
	c = tcp_connect_fam(family, port);
	s = accept(l, NULL, NULL);
	NEED(c >= 0 && s >= 0);
	mtu("connected", c, level, name);
	mtu("accepted", s, level, name);
	if (family == AF_INET6) {
		mtu("connected, IP_MTU", c, IPPROTO_IP, IP_MTU);
		pathmtu("listener", l, sizeof(struct ip6_mtuinfo));
		pathmtu("connected", c, sizeof(struct ip6_mtuinfo));
		pathmtu("connected", c, 8);
		pathmtu("accepted", s, sizeof(struct ip6_mtuinfo));
	}
	close(c);
	close(s);
	close(l);
}

int main(void)
{
	one(AF_INET);
	one(AF_INET6);
	return 0;
}
