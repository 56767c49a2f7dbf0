// SPDX-License-Identifier: GPL-2.0
/*
 * XLIO 3440429: a new socket that gets the fd number of a socket being torn
 * down. Close a connected socket and a listener and immediately create,
 * bind (SO_REUSEADDR), listen and connect on the same fd numbers and the
 * same 4-tuple (client bound to its previous local port). The server side
 * closes first, so its end of the old tuple is in TIME_WAIT, which a new
 * SYN for the same tuple may reuse. Everything must work, repeatedly.
 * Across namespaces the listener is the peer's (its fd is still one of
 * the program's), the client the program's own, bound to its own address.
 */
#include "diff.h"

int main(void)
{
	union sa a, b;
	socklen_t al;
	int l, c, s, one = 1, round;
	uint16_t lport, cport;
	char buf[16];

	/* ports outside the ephemeral range: nobody else takes them between rounds */
	lport = quiet_port();
	cport = quiet_port();
	l = peer_socket(AF_INET);
	NEED(setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0);
	al = sa_loop(&a, AF_INET, lport);
	NEED(bind(l, &a.sa, al) == 0 && listen(l, 16) == 0);
	for (round = 0; round < 5; round++) {
		int oldl = l, oldc;

		c = socket(AF_INET, SOCK_STREAM, 0);
		NEED(c >= 0);
		NEED(setsockopt(c, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0);
		al = sa_self(&b, AF_INET, cport);
		SHOWL("client bind (same port every round)", bind(c, &b.sa, al));
		al = sa_loop(&a, AF_INET, lport);
		SHOWL("connect", connect(c, &a.sa, al));
		s = accept(l, NULL, NULL);
		say("accept ok: %s, peer port == client port: %s, client port same: %s",
		    YN(s >= 0), YN(peer_port(s) == cport), YN(local_port(c) == cport));
		SHOWL("send", send(c, "hello", 5, 0));
		SHOWL("recv", recv(s, buf, 5, MSG_WAITALL));
		/* server closes first (TIME_WAIT on its side), then the client */
		SHOWL("close accepted", close(s));
		SHOWL("client sees EOF", recv(c, buf, sizeof(buf), 0));
		oldc = c;
		SHOWL("close client", close(c));
		SHOWL("close listener", close(l));
		/* immediately: same fd numbers, same ports */
		l = peer_socket(AF_INET);
		say("new listener got an old fd number: %s", YN(l == oldl || l == oldc));
		NEED(setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0);
		al = sa_loop(&a, AF_INET, lport);
		SHOWL("bind listener same port", bind(l, &a.sa, al));
		SHOWL("listen", listen(l, 16));
	}
	close(l);
	return 0;
}
