// SPDX-License-Identifier: GPL-2.0
/*
 * Ports held by TIME_WAIT: after an active close, the closing side's port
 * is in TIME_WAIT. A client port (the socket had no SO_REUSEADDR) cannot be
 * bound again, with or without SO_REUSEADDR on the new socket; a listener
 * whose accepted connection was actively closed (server-side TIME_WAIT,
 * listener with SO_REUSEADDR) can be replaced by a new listener on the
 * same port only with SO_REUSEADDR; the passive closer's port and an idle
 * listener's port are free at once.
 *
 * Across namespaces the listeners (and binds of the listener's port) are
 * the peer's, the clients (and binds of the client's port) the program's
 * own, bound to its own address.
 */
#include "diff.h"

/* peer: the peer's side (listener), else the program's own (client) */
static int bind_port(uint16_t port, int reuse, int peer)
{
	union sa a;
	socklen_t al = peer ? sa_loop(&a, AF_INET, port) : sa_self(&a, AF_INET, port);
	int fd = peer ? peer_socket(AF_INET) : socket(AF_INET, SOCK_STREAM, 0), r;

	NEED(fd >= 0);
	if (reuse)
		NEED(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &reuse, sizeof(reuse)) == 0);
	r = bind(fd, &a.sa, al);
	if (r < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static void show_bind(const char *what, uint16_t port, int reuse, int do_listen, int peer)
{
	int fd = bind_port(port, reuse, peer);

	if (fd < 0) {
		say("%s: bind %s", what, errname(errno));
		return;
	}
	if (do_listen) {
		int r = listen(fd, 4);

		say("%s: bind ok, listen %s", what, r < 0 ? errname(errno) : "ok");
	} else {
		say("%s: bind ok", what);
	}
	close(fd);
}

/* socket bound to port (127.0.0.1 in one namespace; SO_REUSEADDR if reuse) */
static int bound(uint16_t port, int reuse, int peer)
{
	int fd = bind_port(port, reuse, peer);

	NEED(fd >= 0);
	return fd;
}

int main(void)
{
	int l, c, s;
	uint16_t lport, cport;
	union sa a;
	socklen_t al;
	char b[4];

	/* all ports outside the ephemeral range: nobody else takes them meanwhile */

	/* the client closes first: its port is in TIME_WAIT */
	lport = quiet_port();
	l = bound(lport, 1, 1);
	NEED(listen(l, 4) == 0);
	cport = quiet_port();
	c = bound(cport, 0, 0);
	al = sa_loop(&a, AF_INET, lport);
	NEED(connect(c, &a.sa, al) == 0);
	s = accept(l, NULL, NULL);
	NEED(s >= 0);
	SHOW(close(c));
	NEED(wait_ev(s, POLLRDHUP, 5000));
	SHOW(recv(s, b, sizeof(b), 0));
	SHOW(close(s));
	msleep(50);
	show_bind("client port in TIME_WAIT, no SO_REUSEADDR", cport, 0, 0, 0);
	show_bind("client port in TIME_WAIT, SO_REUSEADDR", cport, 1, 0, 0);
	close(l);

	/* the server closes first: the listener's port has a TIME_WAIT child */
	lport = quiet_port();
	l = bound(lport, 1, 1);
	NEED(listen(l, 4) == 0);
	cport = quiet_port();
	c = bound(cport, 0, 0);
	al = sa_loop(&a, AF_INET, lport);
	NEED(connect(c, &a.sa, al) == 0);
	s = accept(l, NULL, NULL);
	NEED(s >= 0);
	SHOW(close(s));
	NEED(wait_ev(c, POLLRDHUP, 5000));
	SHOW(recv(c, b, sizeof(b), 0));
	/* finish the passive close before closing: LAST_ACK -> CLOSE */
	SHOW(shutdown(c, SHUT_WR));
	say("passive closer reaches CLOSE: %s", YN(wait_state(c, TCP_CLOSE, 5000)));
	SHOW(close(c));
	SHOW(close(l));
	show_bind("listener port with TIME_WAIT child, no SO_REUSEADDR", lport, 0, 1, 1);
	show_bind("listener port with TIME_WAIT child, SO_REUSEADDR", lport, 1, 1, 1);
	show_bind("passive closer's port, no SO_REUSEADDR", cport, 0, 0, 0);

	/* a listener closed with no connections: its port is free at once */
	lport = quiet_port();
	l = bound(lport, 1, 1);
	NEED(listen(l, 4) == 0);
	close(l);
	show_bind("closed idle listener's port, no SO_REUSEADDR", lport, 0, 1, 1);
	return 0;
}
