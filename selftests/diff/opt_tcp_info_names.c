// SPDX-License-Identifier: GPL-2.0
/*
 * TCP_INFO tcpi_state through a connection's life (fresh, listen,
 * established both ends, FIN_WAIT2/CLOSE_WAIT, LAST_ACK->CLOSE, reset),
 * tcpi_options has timestamps/sack/wscale on loopback; getsockname/
 * getpeername relative comparisons (ports equal across ends), address
 * families and lengths, IPv6 ::1, IPv4-mapped addresses on a dual-stack
 * v6 listener, IPV6_V6ONLY refusing v4, truncated address buffers.
 * Across namespaces every listener is the peer's (the addresses printed
 * are then the veth's, the mapped one ::ffff:<peer's IPv4 address>).
 */
#include "diff.h"

#ifndef IPV6_FLOWINFO_SEND
#define IPV6_FLOWINFO_SEND 33 /* <linux/in6.h>, which clashes with <netinet/in.h> */
#endif

static void st(const char *what, int fd)
{
	struct tcp_info ti;
	socklen_t l = sizeof(ti);
	int r;

	memset(&ti, 0, sizeof(ti));
	r = getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &l);
	say("%s: TCP_INFO %s state %s", what, r < 0 ? errname(errno) : "ok",
	    tcp_state_name(ti.tcpi_state));
}

static const char *addr_str(const union sa *a)
{
	static char b[4][160];
	static int slot;
	char *p = b[slot++ & 3];
	char ip[64];

	if (a->sa.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &a->in6.sin6_addr, ip, sizeof(ip));
		snprintf(p, 160, "AF_INET6 [%s] flowinfo %u scope %u", ip, a->in6.sin6_flowinfo,
			 a->in6.sin6_scope_id);
	} else if (a->sa.sa_family == AF_INET) {
		inet_ntop(AF_INET, &a->in.sin_addr, ip, sizeof(ip));
		snprintf(p, 160, "AF_INET %s", ip);
	} else {
		snprintf(p, 160, "family %d", a->sa.sa_family);
	}
	return p;
}

int main(void)
{
	int fd, l, c, s, off = 0, on = 1;
	uint16_t port;
	union sa a, b;
	socklen_t al, bl;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	st("fresh", fd);
	al = sizeof(a);
	memset(&a, 0xee, sizeof(a));
	SHOW(getsockname(fd, &a.sa, &al));
	say("fresh name %s len %u port %u", addr_str(&a), al, sa_port(&a));
	close(fd);
	l = tcp_listener(&port);
	st("listener", l);
	c = tcp_connect(port);
	s = accept(l, &b.sa, (bl = sizeof(b), &bl));
	NEED(c >= 0 && s >= 0);
	say("accept addr %s len %u, port == client's local port: %s", addr_str(&b), bl,
	    YN(sa_port(&b) == local_port(c)));
	st("client", c);
	st("server", s);
	{
		struct tcp_info ti;
		socklen_t tl = sizeof(ti);

		getsockopt(c, IPPROTO_TCP, TCP_INFO, &ti, &tl);
		say("options: ts %d sack %d wscale %d", !!(ti.tcpi_options & TCPI_OPT_TIMESTAMPS),
		    !!(ti.tcpi_options & TCPI_OPT_SACK), !!(ti.tcpi_options & TCPI_OPT_WSCALE));
		tl = 8;
		SHOW(getsockopt(c, IPPROTO_TCP, TCP_INFO, &ti, &tl));
		say("short TCP_INFO len %u", tl);
		{
			/* the kernel's whole struct: newer than glibc's and this header's */
			unsigned char big[1024];

			tl = sizeof(big);
			SHOW(getsockopt(c, IPPROTO_TCP, TCP_INFO, big, &tl));
			say("whole TCP_INFO len %u", tl);
		}
	}
	say("client peer port == listener port: %s", YN(peer_port(c) == port));
	say("server local port == listener port: %s", YN(local_port(s) == port));
	say("server peer port == client local port: %s", YN(peer_port(s) == local_port(c)));
	say("client local port != listener port: %s", YN(local_port(c) != port));
	al = sizeof(a);
	getpeername(c, &a.sa, &al);
	say("client peer %s len %u", addr_str(&a), al);
	al = 4;
	memset(&a, 0, sizeof(a));
	SHOW(getsockname(c, &a.sa, &al));
	say("truncated getsockname: len %u family %d", al, a.sa.sa_family);
	SHOW(shutdown(c, SHUT_WR));
	NEED(wait_ev(s, POLLRDHUP, 5000));
	NEED(wait_state(c, TCP_FIN_WAIT2, 5000));
	st("client after SHUT_WR", c);
	st("server after peer FIN", s);
	close(s);
	NEED(wait_ev(c, POLLRDHUP, 5000));
	NEED(wait_state(c, TCP_CLOSE, 5000));
	st("client after both", c);
	close(c);

	/* IPv6 */
	l = tcp_listener_fam(AF_INET6, 8, &port);
	c = tcp_connect_fam(AF_INET6, port);
	s = accept(l, NULL, NULL);
	NEED(c >= 0 && s >= 0);
	al = sizeof(a);
	getpeername(s, &a.sa, &al);
	say("v6 server peer %s len %u", addr_str(&a), al);
	al = sizeof(a);
	getsockname(c, &a.sa, &al);
	say("v6 client name %s len %u", addr_str(&a), al);
	st("v6 client", c);
	close(c);
	close(s);
	close(l);

	/* dual-stack v6 listener on :: accepts v4, shown as v4-mapped */
	fd = peer_socket(AF_INET6);
	NEED(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == 0);
	SHOW(setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)));
	memset(&a, 0, sizeof(a));
	a.in6.sin6_family = AF_INET6;
	a.in6.sin6_addr = in6addr_any;
	NEED(bind(fd, &a.sa, sizeof(a.in6)) == 0 && listen(fd, 8) == 0);
	port = local_port(fd);
	c = tcp_connect(port);
	s = accept(fd, NULL, NULL);
	NEED(c >= 0 && s >= 0);
	al = sizeof(a);
	getpeername(s, &a.sa, &al);
	say("dual-stack accepted peer %s len %u", addr_str(&a), al);
	al = sizeof(a);
	getsockname(s, &a.sa, &al);
	say("dual-stack accepted name %s len %u", addr_str(&a), al);
	close(c);
	close(s);
	/* v6 socket connecting to a v4-mapped address (::ffff:127.0.0.1 on loopback) */
	c = socket(AF_INET6, SOCK_STREAM, 0);
	sa_loop(&b, AF_INET, port);
	memset(&a, 0, sizeof(a));
	a.in6.sin6_family = AF_INET6;
	a.in6.sin6_addr.s6_addr[10] = 0xff;
	a.in6.sin6_addr.s6_addr[11] = 0xff;
	memcpy(&a.in6.sin6_addr.s6_addr[12], &b.in.sin_addr, 4);
	a.in6.sin6_port = htons(port);
	SHOW(connect(c, &a.sa, sizeof(a.in6)));
	al = sizeof(a);
	getsockname(c, &a.sa, &al);
	say("v6 socket to mapped: name %s", addr_str(&a));
	s = accept(fd, NULL, NULL);
	close(s);
	close(c);
	close(fd);
	/* V6ONLY listener refuses v4 */
	fd = peer_socket(AF_INET6);
	SHOW(setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)));
	memset(&a, 0, sizeof(a));
	a.in6.sin6_family = AF_INET6;
	NEED(bind(fd, &a.sa, sizeof(a.in6)) == 0 && listen(fd, 8) == 0);
	port = local_port(fd);
	c = tcp_connect(port);
	say("v4 connect to V6ONLY listener = %s", c < 0 ? errname(errno) : "connected");
	if (c >= 0)
		close(c);
	SHOW(setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)));
	close(fd);
	/* flow labels: IPV6_FLOWINFO_SEND default and round trip; link-local
	 * addresses cannot be used on lo, so scope ids are not exercised */
	fd = socket(AF_INET6, SOCK_STREAM, 0);
	{
		int v = -1;
		socklen_t vl = sizeof(v);

		SHOW(getsockopt(fd, IPPROTO_IPV6, IPV6_FLOWINFO_SEND, &v, &vl));
		say("IPV6_FLOWINFO_SEND default %d", v);
		SHOW(setsockopt(fd, IPPROTO_IPV6, IPV6_FLOWINFO_SEND, &on, sizeof(on)));
		vl = sizeof(v);
		getsockopt(fd, IPPROTO_IPV6, IPV6_FLOWINFO_SEND, &v, &vl);
		say("IPV6_FLOWINFO_SEND now %d", v);
		vl = sizeof(v);
		SHOW(getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v, &vl));
		say("IPV6_V6ONLY default %d", v);
		vl = sizeof(v);
		SHOW(getsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &v, &vl));
		say("IPV6_UNICAST_HOPS default %d", v);
		vl = sizeof(v);
		SHOW(getsockopt(fd, IPPROTO_IPV6, IPV6_TCLASS, &v, &vl));
		say("IPV6_TCLASS default %d", v);
	}
	close(fd);
	return 0;
}
