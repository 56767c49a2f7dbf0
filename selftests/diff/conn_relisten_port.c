// SPDX-License-Identifier: GPL-2.0
/*
 * A server that closes its listener and listens again on the same port
 * (SO_REUSEADDR), while a connection the old one accepted is still open,
 * or was just closed (its TIME_WAIT or FIN_WAIT2 lives on): a client that
 * connects before the new listener's first accept() is queued, and
 * accepted after. Under libvelo across namespaces the old listener's
 * engine half had accepted that connection, and its filter still steered
 * the port's SYNs to the engine, which had no listener there any more:
 * the client was refused (Linux queues it), until the first accept().
 */
#include "diff.h"

static int listener_at(union sa *a, socklen_t al)
{
	int one = 1, l = socket(AF_INET, SOCK_STREAM, 0);

	NEED(l >= 0 && setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0);
	SHOW(bind(l, &a->sa, al));
	SHOW(listen(l, 8));
	return l;
}

/* A connection to @l, accepted: data both ways. */
static void exchange(int l, const union sa *a, socklen_t al, int *c, int *s)
{
	char b[8];

	*c = peer_socket(AF_INET);
	NEED(*c >= 0);
	SHOW(connect(*c, &a->sa, al));
	*s = accept(l, NULL, NULL);
	say("accepted: %s", YN(*s >= 0));
	SHOW(send(*s, "ping", 4, 0));
	SHOW(recv(*c, b, sizeof(b), 0));
	SHOW(send(*c, "pong", 4, 0));
	SHOW(recv(*s, b, sizeof(b), 0));
}

static void round_trip(int keep_open)
{
	union sa a;
	socklen_t al = sa_self(&a, AF_INET, 0);
	int l, c, s, c2, s2;
	char b[8];

	say("-- the old connection %s", keep_open ? "stays open" : "is closed");
	l = listener_at(&a, al);
	al = sa_self(&a, AF_INET, local_port(l));
	engine_listens(l);
	exchange(l, &a, al, &c, &s);
	if (!keep_open) {
		close(s);
		SHOW(recv(c, b, sizeof(b), 0));
		close(c);
	}
	close(l);
	msleep(50);
	l = listener_at(&a, al);
	exchange(l, &a, al, &c2, &s2);
	if (keep_open) {
		SHOW(send(s, "old", 3, 0));
		SHOW(recv(c, b, sizeof(b), 0));
		close(s);
		close(c);
	}
	close(s2);
	close(c2);
	close(l);
}

int main(void)
{
	round_trip(0);
	round_trip(1);
	return 0;
}
