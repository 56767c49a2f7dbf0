// SPDX-License-Identifier: GPL-2.0
/*
 * TCP_DEFER_ACCEPT on a listener of the program's own (across namespaces:
 * the engine's, its clients the peer's): a client that connected and sent
 * nothing is not accept()able (its handshake's ACK was dropped), one that
 * sends is, with its data readable at once; one that never sends is
 * accepted when the deferral ends (1 s: the listener's SYN-ACK asks the
 * client's ACK again), with nothing to read. The option reads as the
 * SYN-ACK schedule rounds it up (5 s: 1 + 2 + 4). An accepted socket does
 * not inherit it (it reads 0), but does TCP_LINGER2 and TCP_SYNCNT.
 */
#include "diff.h"
#include <netinet/tcp.h>

static int listener(uint16_t *port)
{
	union sa a;
	socklen_t l = sa_self(&a, AF_INET, 0);
	int fd = socket(AF_INET, SOCK_STREAM, 0), v = 5;
	socklen_t vl = sizeof(v);

	NEED(fd >= 0 && bind(fd, &a.sa, l) == 0);
	SHOW(setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &v, sizeof(v)));
	NEED(getsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &v, &vl) == 0);
	say("TCP_DEFER_ACCEPT 5 reads %d", v);
	v = 1;
	SHOW(setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &v, sizeof(v)));
	v = 3;
	NEED(setsockopt(fd, IPPROTO_TCP, TCP_LINGER2, &v, sizeof(v)) == 0);
	v = 2;
	NEED(setsockopt(fd, IPPROTO_TCP, TCP_SYNCNT, &v, sizeof(v)) == 0);
	NEED(listen(fd, 8) == 0);
	*port = local_port(fd);
	return fd;
}

static int client(uint16_t port)
{
	union sa a;
	socklen_t l = sa_self(&a, AF_INET, port);
	int fd = peer_socket(AF_INET);

	NEED(fd >= 0);
	SHOW(connect(fd, &a.sa, l));
	return fd;
}

int main(void)
{
	uint16_t port;
	int l = listener(&port), c, s;
	char b[16];
	long t0;

	/* (under libvelo the engine listens too from the first accept on) */
	engine_listens(l);
	c = client(port);
	say("listener before data: %s", pollmask(poll1(l, POLL_ALL, 300)));
	SHOW(send(c, "hello", 5, 0));
	say("listener after data: %s", pollmask(poll1(l, POLL_ALL, 2000)));
	s = accept(l, NULL, NULL);
	NEED(s >= 0);
	say("accepted: %s", pollmask(poll1(s, POLL_ALL, 0)));
	SHOW(recv(s, b, sizeof(b), MSG_DONTWAIT));
	say("accepted socket: TCP_DEFER_ACCEPT %d, TCP_LINGER2 %d, TCP_SYNCNT %d",
	    int_opt(s, IPPROTO_TCP, TCP_DEFER_ACCEPT), int_opt(s, IPPROTO_TCP, TCP_LINGER2),
	    int_opt(s, IPPROTO_TCP, TCP_SYNCNT));
	close(s);
	close(c);

	c = client(port);
	t0 = now_ms();
	say("listener, no data: %s", pollmask(poll1(l, POLL_ALL, 5000)));
	say("after 0.5 to 3 s: %s", YN(now_ms() - t0 >= 500 && now_ms() - t0 < 3000));
	s = accept(l, NULL, NULL);
	NEED(s >= 0);
	say("accepted: %s", pollmask(poll1(s, POLL_ALL, 0)));
	SHOW(recv(s, b, sizeof(b), MSG_DONTWAIT));
	SHOW(send(c, "late", 4, 0));
	say("then: %s", pollmask(poll1(s, POLL_ALL, 2000)));
	SHOW(recv(s, b, sizeof(b), MSG_DONTWAIT));
	close(s);
	close(c);
	close(l);
	return 0;
}
