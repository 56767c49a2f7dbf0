// SPDX-License-Identifier: GPL-2.0
/*
 * A listener's options shape the handshakes it answers, as a client sees
 * them (across namespaces: the listener is the engine's, from its first
 * accept() on): TCP_MAXSEG 1000 is the MSS it offers (the client sends
 * 988-byte segments, timestamps on), SO_RCVBUF 4000 leaves no window
 * scaling; the accepted socket has both.
 */
#include "diff.h"
#include <netinet/tcp.h>

int main(void)
{
	union sa a;
	socklen_t al = sa_self(&a, AF_INET, 0), tl;
	int l = socket(AF_INET, SOCK_STREAM, 0), c, s, mss = 1000, rcvbuf = 4000;
	struct tcp_info ti;

	NEED(l >= 0);
	SHOW(setsockopt(l, IPPROTO_TCP, TCP_MAXSEG, &mss, sizeof(mss)));
	SHOW(setsockopt(l, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)));
	NEED(bind(l, &a.sa, al) == 0 && listen(l, 8) == 0);
	engine_listens(l);
	al = sa_self(&a, AF_INET, local_port(l));
	c = peer_socket(AF_INET);
	NEED(c >= 0 && connect(c, &a.sa, al) == 0);
	s = accept(l, NULL, NULL);
	NEED(s >= 0);
	tl = sizeof(ti);
	NEED(getsockopt(c, IPPROTO_TCP, TCP_INFO, &ti, &tl) == 0);
	say("the client: TCP_MAXSEG %d, the window it is offered scaled: %s",
	    int_opt(c, IPPROTO_TCP, TCP_MAXSEG), YN(ti.tcpi_snd_wscale));
	say("accepted: TCP_MAXSEG %d, SO_RCVBUF %d", int_opt(s, IPPROTO_TCP, TCP_MAXSEG),
	    int_opt(s, SOL_SOCKET, SO_RCVBUF));
	close(c);
	close(s);
	close(l);
	return 0;
}
