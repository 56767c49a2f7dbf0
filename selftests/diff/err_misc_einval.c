// SPDX-License-Identifier: GPL-2.0
/*
 * EISCONN, EALREADY, EADDRINUSE and EINVAL rules: connect twice; a second
 * non-blocking connect while the first is pending (listener with a full
 * accept queue, so the SYN is dropped and the connect stays pending);
 * bind to a port in use with and without SO_REUSEADDR/SO_REUSEPORT; bind
 * twice; listen/bind on a connected socket; connect on a listener; bad
 * address lengths and families.
 *
 * Across namespaces the listeners that take connections are the peer's,
 * sockets only bound are bound to the program's own address, and the
 * EADDRINUSE part (a bind that conflicts with a listener of the
 * program's own) stays on loopback in either mode.
 */
#include "diff.h"

int main(void)
{
	union sa a, b;
	socklen_t al, bl;
	uint16_t port;
	int l, c, c2, c3, s, fd, fd2, one = 1;

	/* EISCONN */
	l = tcp_listener(&port);
	al = sa_loop(&a, AF_INET, port);
	c = socket(AF_INET, SOCK_STREAM, 0);
	SHOW(connect(c, &a.sa, al));
	SHOW(connect(c, &a.sa, al));
	SHOW(listen(c, 5));
	bl = sa_self(&b, AF_INET, 0);
	SHOW(bind(c, &b.sa, bl));
	s = accept(l, NULL, NULL);
	SHOW(connect(s, &a.sa, al));
	SHOW(connect(l, &a.sa, al));
	close(c);
	close(s);
	close(l);

	/* EALREADY: backlog 0 takes one connection; the next SYN is dropped */
	l = tcp_listener_fam(AF_INET, 0, &port);
	al = sa_loop(&a, AF_INET, port);
	c = tcp_connect(port);
	NEED(c >= 0);
	NEED(wait_ev(l, POLLIN, 5000));
	c2 = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	c3 = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	SHOW(connect(c2, &a.sa, al));
	SHOW(connect(c3, &a.sa, al));
	SHOW(connect(c3, &a.sa, al));
	say("c3 state pending (SYN_SENT): %s", YN(tcp_state(c3) == TCP_SYN_SENT));
	say("c3 POLLOUT while pending: %s", YN(poll1(c3, POLLOUT, 200) & POLLOUT));
	close(c2);
	close(c3);
	close(c);
	close(l);

	/* EADDRINUSE: the listener is the program's own, on loopback */
	l = tcp_listener_lo(AF_INET, 128, &port);
	al = sa_lo(&a, AF_INET, port);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	SHOW(bind(fd, &a.sa, al));
	NEED(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0);
	SHOW(bind(fd, &a.sa, al));
	close(fd);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	a.in.sin_addr.s_addr = htonl(INADDR_ANY);
	NEED(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0);
	SHOW(bind(fd, &a.sa, al));
	close(fd);
	close(l);
	/* two bound (not listening) sockets with SO_REUSEADDR share a port; listen on both */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	fd2 = socket(AF_INET, SOCK_STREAM, 0);
	NEED(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0);
	NEED(setsockopt(fd2, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0);
	al = sa_self(&a, AF_INET, 0);
	NEED(bind(fd, &a.sa, al) == 0);
	port = local_port(fd);
	al = sa_self(&a, AF_INET, port);
	SHOW(bind(fd2, &a.sa, al));
	SHOW(listen(fd, 5));
	SHOW(listen(fd2, 5));
	close(fd);
	close(fd2);
	/* SO_REUSEPORT: both may listen (the peer's, connected to below) */
	fd = peer_socket(AF_INET);
	fd2 = peer_socket(AF_INET);
	NEED(setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) == 0);
	NEED(setsockopt(fd2, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) == 0);
	al = sa_loop(&a, AF_INET, 0);
	NEED(bind(fd, &a.sa, al) == 0);
	port = local_port(fd);
	al = sa_loop(&a, AF_INET, port);
	SHOW(bind(fd2, &a.sa, al));
	SHOW(listen(fd, 5));
	SHOW(listen(fd2, 5));
	c = tcp_connect(port);
	say("connect to reuseport group ok: %s", YN(c >= 0));
	close(c);
	close(fd);
	close(fd2);

	/* EINVAL and friends */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	al = sa_self(&a, AF_INET, 0);
	SHOW(bind(fd, &a.sa, al));
	SHOW(bind(fd, &a.sa, al));
	close(fd);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	SHOW(bind(fd, &a.sa, 4));
	SHOW(connect(fd, &a.sa, 4));
	a.in.sin_family = AF_INET6;
	SHOW(bind(fd, &a.sa, sizeof(a.in)));
	a.in.sin_family = AF_UNIX;
	SHOW(bind(fd, &a.sa, sizeof(a.in)));
	SHOW(connect(fd, &a.sa, sizeof(a.in)));
	a.in.sin_family = AF_INET;
	a.in.sin_addr.s_addr = inet_addr("192.0.2.1"); /* not local */
	SHOW(bind(fd, &a.sa, sizeof(a.in)));
	SHOW(listen(fd, -1));
	SHOW(listen(fd, 1 << 30));
	close(fd);
	fd = socket(AF_INET6, SOCK_STREAM, 0);
	al = sa_self(&a, AF_INET6, 0);
	SHOW(bind(fd, &a.sa, al - 1));
	SHOW(bind(fd, &a.sa, al));
	close(fd);
	/* AF_UNSPEC connect on a TCP socket: disconnect */
	tcp_pair(&c, &s);
	memset(&b, 0, sizeof(b));
	b.sa.sa_family = AF_UNSPEC;
	SHOW(connect(c, &b.sa, sizeof(b.sa)));
	say("state after AF_UNSPEC connect = %s", tcp_state_name(tcp_state(c)));
	NEED(wait_ev(s, POLLIN, 5000));
	{
		char t[4];

		SHOW(recv(s, t, sizeof(t), 0));
	}
	close(c);
	close(s);
	SHOW(socket(AF_INET, 99, 0));
	SHOW(socket(12345, SOCK_STREAM, 0));
	return 0;
}
