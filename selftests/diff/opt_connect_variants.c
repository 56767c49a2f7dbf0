// SPDX-License-Identifier: GPL-2.0
/*
 * Less common ways to connect and bind: sendto(MSG_FASTOPEN) and
 * TCP_FASTOPEN_CONNECT on a client (data delivered whatever the kernel's
 * tcp_fastopen sysctl allows: with or without the SYN carrying it),
 * TCP_FASTOPEN on a listener, IP_FREEBIND / IP_BIND_ADDRESS_NO_PORT binds,
 * SO_BINDTODEVICE "lo" (root) with a loopback connect, and connect on a
 * socket bound to a different loopback address (127.0.0.2) keeps it; an
 * address of the other family: EINVAL on an IPv6 socket (sockaddr_in is
 * short for it), EAFNOSUPPORT on an IPv4 one.
 *
 * Across namespaces the fast-open listener is the peer's; the parts about
 * loopback (a source bound to 127.0.0.2, SO_BINDTODEVICE "lo") connect to
 * a listener of the program's own on loopback, in either mode.
 */
#include "diff.h"

int main(void)
{
	int l, ll, c, s, one = 1, qlen = 5, v;
	uint16_t port, lport;
	union sa a, b;
	socklen_t al, bl;
	char buf[32];

	l = tcp_listener(&port);
	SHOWL("TCP_FASTOPEN on listener", setsockopt(l, IPPROTO_TCP, TCP_FASTOPEN, &qlen, sizeof(qlen)));
	al = sa_loop(&a, AF_INET, port);

	/* sendto(MSG_FASTOPEN): connects and sends */
	c = socket(AF_INET, SOCK_STREAM, 0);
	SHOWL("sendto MSG_FASTOPEN", sendto(c, "tfo-data", 8, MSG_FASTOPEN, &a.sa, al));
	s = accept(l, NULL, NULL);
	NEED(s >= 0);
	memset(buf, 0, sizeof(buf));
	SHOW(recv(s, buf, 8, MSG_WAITALL));
	say("got \"%s\"", buf);
	say("client state %s", tcp_state_name(tcp_state(c)));
	SHOW(send(s, "back", 4, 0));
	SHOW(recv(c, buf, 4, MSG_WAITALL));
	close(c);
	close(s);

	/* TCP_FASTOPEN_CONNECT: connect() returns at once, the first write goes out */
	c = socket(AF_INET, SOCK_STREAM, 0);
	SHOWL("TCP_FASTOPEN_CONNECT", setsockopt(c, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, &one, sizeof(one)));
	v = -1;
	bl = sizeof(v);
	getsockopt(c, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, &v, &bl);
	say("TCP_FASTOPEN_CONNECT read back %d", v);
	SHOW(connect(c, &a.sa, al));
	SHOW(send(c, "first", 5, 0));
	s = accept(l, NULL, NULL);
	NEED(s >= 0);
	memset(buf, 0, sizeof(buf));
	SHOW(recv(s, buf, 5, MSG_WAITALL));
	say("got \"%s\"", buf);
	close(c);
	close(s);

	/* bound to 127.0.0.2 before connecting (to a loopback listener) */
	ll = tcp_listener_lo(AF_INET, 128, &lport);
	al = sa_lo(&a, AF_INET, lport);
	c = socket(AF_INET, SOCK_STREAM, 0);
	memset(&b, 0, sizeof(b));
	b.in.sin_family = AF_INET;
	inet_pton(AF_INET, "127.0.0.2", &b.in.sin_addr);
	SHOW(setsockopt(c, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one)));
	SHOW(bind(c, &b.sa, sizeof(b.in)));
	bl = sizeof(b);
	getsockname(c, &b.sa, &bl);
	say("port before connect (IP_BIND_ADDRESS_NO_PORT): %u", sa_port(&b));
	SHOW(connect(c, &a.sa, al));
	s = accept(ll, &b.sa, (bl = sizeof(b), &bl));
	NEED(s >= 0);
	inet_ntop(AF_INET, &b.in.sin_addr, buf, sizeof(buf));
	say("server sees the client at %s, port == client's: %s", buf, YN(sa_port(&b) == local_port(c)));
	close(c);
	close(s);

	/* IP_FREEBIND: bind to an address that is not local */
	c = socket(AF_INET, SOCK_STREAM, 0);
	memset(&b, 0, sizeof(b));
	b.in.sin_family = AF_INET;
	inet_pton(AF_INET, "192.0.2.77", &b.in.sin_addr);
	SHOWL("bind non-local", bind(c, &b.sa, sizeof(b.in)));
	SHOW(setsockopt(c, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one)));
	SHOWL("bind non-local with IP_FREEBIND", bind(c, &b.sa, sizeof(b.in)));
	close(c);

	/* SO_BINDTODEVICE lo */
	c = socket(AF_INET, SOCK_STREAM, 0);
	{
		int r = setsockopt(c, SOL_SOCKET, SO_BINDTODEVICE, "lo", 3);

		say("SO_BINDTODEVICE lo = %s", r < 0 ? errname(errno) : "0");
		if (r == 0) {
			char dev[16] = "";
			socklen_t dl = sizeof(dev);

			getsockopt(c, SOL_SOCKET, SO_BINDTODEVICE, dev, &dl);
			say("read back \"%s\"", dev);
		}
	}
	SHOW(connect(c, &a.sa, al));
	s = accept(ll, NULL, NULL);
	say("accepted: %s", YN(s >= 0));
	close(c);
	close(s);
	close(ll);

	/* the other family's address, to the listener */
	c = socket(AF_INET6, SOCK_STREAM, 0);
	SHOWL("IPv6 socket, sockaddr_in", connect(c, &a.sa, sizeof(a.in)));
	close(c);
	c = socket(AF_INET, SOCK_STREAM, 0);
	memset(&b, 0, sizeof(b));
	b.in6.sin6_family = AF_INET6;
	b.in6.sin6_port = htons(port);
	SHOWL("IPv4 socket, sockaddr_in6", connect(c, &b.sa, sizeof(b.in6)));
	close(c);
	close(l);
	return 0;
}
