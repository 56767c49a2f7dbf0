// SPDX-License-Identifier: GPL-2.0
/*
 * A client's TCP_DEFER_ACCEPT: its connect() completes at the SYN-ACK, but
 * the handshake's ACK waits for its first data, which carries it, or for
 * the longest delayed ACK (200 ms). So the listener has nothing to accept
 * at once from a client that says nothing, and does from one that sends.
 */
#include "diff.h"
#include <netinet/tcp.h>

static int deferred_client(const union sa *a, socklen_t al)
{
	int c = socket(AF_INET, SOCK_STREAM, 0), v = 1;
	socklen_t vl = sizeof(v);

	SHOW(setsockopt(c, IPPROTO_TCP, TCP_DEFER_ACCEPT, &v, sizeof(v)));
	SHOW(getsockopt(c, IPPROTO_TCP, TCP_DEFER_ACCEPT, &v, &vl));
	say("TCP_DEFER_ACCEPT reads %d", v);
	SHOW(connect(c, &a->sa, al));
	return c;
}

int main(void)
{
	uint16_t port;
	int l = tcp_listener(&port), c, s;
	union sa a;
	socklen_t al = sa_loop(&a, AF_INET, port);
	char b[8];

	say("-- a client that says nothing");
	c = deferred_client(&a, al);
	say("acceptable within 100 ms: %s", YN(wait_ev(l, POLLIN, 100)));
	say("acceptable within 2 s: %s", YN(wait_ev(l, POLLIN, 2000)));
	s = accept(l, NULL, NULL);
	say("accepted: %s", YN(s >= 0));
	close(s);
	close(c);

	say("-- a client that sends at once");
	c = deferred_client(&a, al);
	SHOW(send(c, "hi", 2, 0));
	say("acceptable within 100 ms: %s", YN(wait_ev(l, POLLIN, 100)));
	s = accept(l, NULL, NULL);
	NEED(s >= 0 && wait_ev(s, POLLIN, 2000));
	SHOW(recv(s, b, sizeof(b), 0));
	close(s);
	close(c);
	close(l);
	return 0;
}
