// SPDX-License-Identifier: GPL-2.0
/*
 * TCP_SYNCNT and TCP_LINGER2 change what a connection does, not only what
 * reads back:
 *  - TCP_SYNCNT 1: a connect() whose SYNs a full listener drops (backlog 0,
 *    one connection already queued) retransmits once, at 1 s, and fails
 *    with ETIMEDOUT at 3 s (the default, 6, would take 127 s);
 *  - TCP_LINGER2 1: a closed socket waits only about a second in FIN_WAIT2,
 *    so the peer's FIN 2.5 s later finds nobody and is reset; by default
 *    (60 s) it is acknowledged;
 *  - TCP_LINGER2 -1: a closed socket does not wait there at all (Linux
 *    resets at close when the FIN's ACK came first, as it does on loopback
 *    and veth; else the peer's FIN is reset: either way the peer sees a
 *    reset, as ECONNRESET or EPIPE).
 * Out of range: TCP_SYNCNT 0 and 128 are EINVAL, TCP_LINGER2 1000 reads
 * 120.
 */
#include "diff.h"
#include <netinet/tcp.h>

static int set_opt(int fd, int name, int v)
{
	return setsockopt(fd, IPPROTO_TCP, name, &v, sizeof(v));
}

static void syncnt(int fam)
{
	uint16_t port;
	int l = tcp_listener_fam(fam, 0, &port), first = tcp_connect_fam(fam, port), fd, r;
	union sa a;
	socklen_t al = sa_loop(&a, fam, port);
	long t0;

	NEED(first >= 0);
	fd = socket(fam, SOCK_STREAM, 0);
	NEED(fd >= 0);
	SHOW(set_opt(fd, TCP_SYNCNT, 0));
	SHOW(set_opt(fd, TCP_SYNCNT, 128));
	SHOW(set_opt(fd, TCP_SYNCNT, 1));
	say("TCP_SYNCNT reads %d", int_opt(fd, IPPROTO_TCP, TCP_SYNCNT));
	t0 = now_ms();
	r = connect(fd, &a.sa, al);
	say("connect to a full backlog: %s", r ? errname(errno) : "connected");
	say("it took 2 to 6 s: %s", YN(now_ms() - t0 >= 2000 && now_ms() - t0 < 6000));
	close(fd);
	close(first);
	close(l);
}

/* Closes c with TCP_LINGER2 @secs (0: unset); @wait_ms later the peer ends. */
static void linger2(int fam, int secs, long wait_ms)
{
	int c, s, e = -1;
	socklen_t el = sizeof(e);
	char b[8];
	long end;

	tcp_pair_fam(fam, &c, &s);
	if (secs) {
		SHOW(set_opt(c, TCP_LINGER2, secs));
		say("TCP_LINGER2 reads %d", int_opt(c, IPPROTO_TCP, TCP_LINGER2));
	}
	close(c);
	NEED(wait_ev(s, POLLIN, 5000) & POLLIN);
	SHOW(recv(s, b, sizeof(b), 0));
	msleep(wait_ms);
	shutdown(s, SHUT_WR); /* ENOTCONN if the reset came already */
	/* POLLHUP, both ways shut, comes before any reset: look for the error */
	for (end = now_ms() + 1000; now_ms() < end; msleep(10)) {
		NEED(getsockopt(s, SOL_SOCKET, SO_ERROR, &e, &el) == 0);
		if (e)
			break;
	}
	say("TCP_LINGER2 %d, the peer's FIN %ld ms after close: reset %s", secs, wait_ms,
	    e == ECONNRESET || e == EPIPE ? "yes" : e ? errname(e) : "no");
	close(s);
}

int main(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	SHOW(set_opt(fd, TCP_LINGER2, 1000));
	say("TCP_LINGER2 reads %d", int_opt(fd, IPPROTO_TCP, TCP_LINGER2));
	close(fd);
	syncnt(AF_INET);
	syncnt(AF_INET6);
	linger2(AF_INET, 0, 2500);
	linger2(AF_INET, 1, 2500);
	linger2(AF_INET6, 1, 2500);
	linger2(AF_INET, -1, 300);
	return 0;
}
