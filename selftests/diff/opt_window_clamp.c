// SPDX-License-Identifier: GPL-2.0
/*
 * TCP_WINDOW_CLAMP: set before connecting it bounds the window the
 * connection offers (no window scaling for 5000 bytes, on both ends' view)
 * but not what it queues: a peer's 20000 bytes all arrive, 5000 of window
 * at a time. Connected, it may change (at least 1152) and not be removed
 * (0: EINVAL); an unconnected socket reads 0, a connected one its clamp.
 */
#include "diff.h"
#include <netinet/tcp.h>
#include <stdbool.h>

static unsigned int wscale(int fd, bool ours)
{
	struct tcp_info ti;
	socklen_t l = sizeof(ti);

	NEED(getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &l) == 0);
	return ours ? ti.tcpi_rcv_wscale : ti.tcpi_snd_wscale;
}

int main(void)
{
	static char big[20000];
	uint16_t port;
	int l = tcp_listener(&port), c, s, v = 5000;
	union sa a;
	socklen_t al = sa_loop(&a, AF_INET, port);

	c = socket(AF_INET, SOCK_STREAM, 0);
	NEED(c >= 0);
	say("unconnected: %d", int_opt(c, IPPROTO_TCP, TCP_WINDOW_CLAMP));
	SHOW(setsockopt(c, IPPROTO_TCP, TCP_WINDOW_CLAMP, &v, sizeof(v)));
	SHOW(connect(c, &a.sa, al));
	s = accept(l, NULL, NULL);
	NEED(s >= 0);
	say("connected: %d; our window scale %u, the peer's view %u",
	    int_opt(c, IPPROTO_TCP, TCP_WINDOW_CLAMP), wscale(c, true),
	    wscale(s, false));
	set_nonblock(s, 1);
	SHOW(send(s, big, sizeof(big), 0));
	SHOW(read_full(c, big, sizeof(big)));
	v = 0;
	SHOW(setsockopt(c, IPPROTO_TCP, TCP_WINDOW_CLAMP, &v, sizeof(v)));
	v = 1;
	SHOW(setsockopt(c, IPPROTO_TCP, TCP_WINDOW_CLAMP, &v, sizeof(v)));
	say("set to 1: %d", int_opt(c, IPPROTO_TCP, TCP_WINDOW_CLAMP));
	v = 100000;
	SHOW(setsockopt(c, IPPROTO_TCP, TCP_WINDOW_CLAMP, &v, sizeof(v)));
	say("set to 100000: %d", int_opt(c, IPPROTO_TCP, TCP_WINDOW_CLAMP));
	close(c);
	close(s);
	close(l);

	tcp_pair(&c, &s);
	say("connected without one: %s",
	    int_opt(c, IPPROTO_TCP, TCP_WINDOW_CLAMP) > 0 ? "a clamp" : "none");
	close(c);
	close(s);
	return 0;
}
