// SPDX-License-Identifier: GPL-2.0
/*
 * XLIO 3217617 (binding to any IP is slow and limited): listeners bound to
 * 0.0.0.0 and :: accept connections to 127.0.0.1, 127.0.0.2, ::1 and
 * ::ffff:127.0.0.1 (dual stack) and report the right local address on
 * each accepted socket; 200 wildcard listeners are created, used once
 * each and closed well within the time limit; binding 127.0.0.1 to the
 * port of a listening wildcard socket is refused even with SO_REUSEADDR.
 *
 * Inherently single-namespace: the wildcard listeners are the program's
 * own and the connections are to this host's loopback addresses, so in
 * either mode everything stays on loopback (explicit loopback addresses;
 * across namespaces under VELO_WIRE=on the listeners still start their
 * engine halves on the veth at the first accept).
 */
#include "diff.h"

static int any_listener(int fam, uint16_t port, int v6only)
{
	union sa a;
	int fd = socket(fam, SOCK_STREAM, 0), one = 1;

	NEED(fd >= 0);
	NEED(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0);
	memset(&a, 0, sizeof(a));
	if (fam == AF_INET6) {
		NEED(setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only)) == 0);
		a.in6.sin6_family = AF_INET6;
		a.in6.sin6_port = htons(port);
		NEED(bind(fd, &a.sa, sizeof(a.in6)) == 0);
	} else {
		a.in.sin_family = AF_INET;
		a.in.sin_port = htons(port);
		NEED(bind(fd, &a.sa, sizeof(a.in)) == 0);
	}
	NEED(listen(fd, 16) == 0);
	return fd;
}

static void try(int l, int fam, const char *dst, uint16_t port)
{
	union sa a, n;
	socklen_t nl = sizeof(n);
	int c = socket(fam, SOCK_STREAM, 0), s, r;
	char ip[64];

	memset(&a, 0, sizeof(a));
	if (fam == AF_INET6) {
		a.in6.sin6_family = AF_INET6;
		a.in6.sin6_port = htons(port);
		inet_pton(AF_INET6, dst, &a.in6.sin6_addr);
		r = connect(c, &a.sa, sizeof(a.in6));
	} else {
		a.in.sin_family = AF_INET;
		a.in.sin_port = htons(port);
		inet_pton(AF_INET, dst, &a.in.sin_addr);
		r = connect(c, &a.sa, sizeof(a.in));
	}
	if (r < 0) {
		say("connect %s: %s", dst, errname(errno));
		close(c);
		return;
	}
	s = accept(l, NULL, NULL);
	NEED(s >= 0);
	getsockname(s, &n.sa, &nl);
	inet_ntop(n.sa.sa_family, n.sa.sa_family == AF_INET6 ? (void *)&n.in6.sin6_addr :
			(void *)&n.in.sin_addr, ip, sizeof(ip));
	say("connect %s: accepted, local address %s", dst, ip);
	NEED(send(c, "q", 1, 0) == 1);
	{
		char b;

		NEED(recv(s, &b, 1, 0) == 1);
	}
	close(c);
	close(s);
}

int main(void)
{
	int l, l6, i, spec, c, s;
	uint16_t port;
	long t0;
	union sa a;
	socklen_t al;

	l = any_listener(AF_INET, 0, 0);
	port = local_port(l);
	try(l, AF_INET, "127.0.0.1", port);
	try(l, AF_INET, "127.0.0.2", port);
	try(l, AF_INET, "127.1.2.3", port);
	close(l);
	l6 = any_listener(AF_INET6, 0, 0);
	port = local_port(l6);
	try(l6, AF_INET6, "::1", port);
	try(l6, AF_INET, "127.0.0.1", port);
	try(l6, AF_INET6, "::ffff:127.0.0.1", port);
	close(l6);
	l6 = any_listener(AF_INET6, 0, 1);
	port = local_port(l6);
	try(l6, AF_INET6, "::1", port);
	try(l6, AF_INET, "127.0.0.1", port);
	close(l6);

	/* 200 wildcard listeners, each used once */
	t0 = now_ms();
	{
		static int ls[200];
		int ok = 1;

		for (i = 0; i < 200; i++)
			ls[i] = any_listener(AF_INET, 0, 0);
		for (i = 0; i < 200; i++) {
			c = tcp_connect_lo(AF_INET, local_port(ls[i]));
			s = accept(ls[i], NULL, NULL);
			ok &= c >= 0 && s >= 0;
			close(c);
			close(s);
			close(ls[i]);
		}
		say("200 wildcard listeners used: %s, within 10 s: %s", YN(ok),
		    YN(now_ms() - t0 < 10000));
	}

	/* wildcard listening + specific bind on its port: EADDRINUSE */
	l = any_listener(AF_INET, 0, 0);
	port = local_port(l);
	spec = socket(AF_INET, SOCK_STREAM, 0);
	{
		int one = 1;

		NEED(setsockopt(spec, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0);
	}
	al = sa_lo(&a, AF_INET, port);
	SHOWL("bind 127.0.0.1 on the wildcard's port", bind(spec, &a.sa, al));
	SHOWL("listen (autobinds another port)", listen(spec, 4));
	say("autobound port differs: %s", YN(local_port(spec) != port));
	c = tcp_connect_lo(AF_INET, port);
	NEED(c >= 0);
	NEED(wait_ev(l, POLLIN, 5000));
	say("wildcard listener got the connection: %s, the other: %s", YN(poll1(l, POLLIN, 0)),
	    YN(poll1(spec, POLLIN, 0)));
	close(c);
	close(spec);
	close(l);
	return 0;
}
