// SPDX-License-Identifier: GPL-2.0
/*
 * What a connection shows as it closes and resets (TCP_INFO state,
 * getpeername, poll, send, recv), on both ends:
 *  - the peer closes with our data unread: its RST; send ECONNRESET, then
 *    recv 0;
 *  - we send to a peer that closed: its RST; the next send EPIPE;
 *  - shut both ways, then data from the peer: we reset the connection
 *    (RFC 1122; Linux's TCPAbortOnData), recv ECONNRESET, no peer name;
 *  - FIN_WAIT2, then TIME_WAIT (CLOSE to the holder: no peer name);
 *  - CLOSE_WAIT, then our FIN: CLOSE, send EPIPE;
 *  - TCP_DEFER_ACCEPT: nothing to accept until data comes.
 */
#include "diff.h"
#include <netinet/tcp.h>

static void state(const char *what, int fd)
{
	struct sockaddr_storage a;
	socklen_t al = sizeof(a), il;
	struct tcp_info ti;
	int r;

	il = sizeof(ti);
	NEED(getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &il) == 0);
	r = getpeername(fd, (struct sockaddr *)&a, &al);
	say("%s: state %d, getpeername %s, poll %s", what, ti.tcpi_state,
	    r ? errname(errno) : "ok", pollmask(poll1(fd, POLL_ALL, 0)));
}

static void pair(int l, uint16_t port, int *c, int *s)
{
	*c = tcp_connect(port);
	*s = accept(l, NULL, NULL);
	NEED(*c >= 0 && *s >= 0);
}

static void resets(int l, uint16_t port)
{
	char b[64];
	int c, s;

	pair(l, port, &c, &s);
	SHOW(send(s, "unread", 6, 0));
	msleep(50);
	close(c);
	msleep(50);
	state("peer closed with our data unread", s);
	SHOW(send(s, "x", 1, 0));
	SHOW(recv(s, b, sizeof(b), 0));
	state("then", s);
	close(s);

	pair(l, port, &c, &s);
	close(c);
	msleep(50);
	state("peer closed", s);
	SHOW(send(s, "x", 1, 0));
	msleep(50);
	state("after a send to it", s);
	SHOW(send(s, "x", 1, 0));
	SHOW(recv(s, b, sizeof(b), 0));
	close(s);

	pair(l, port, &c, &s);
	SHOW(shutdown(c, SHUT_RDWR));
	msleep(50);
	state("shut both ways", c);
	state("its peer", s);
	SHOW(send(c, "x", 1, 0));
	SHOW(recv(c, b, sizeof(b), 0));
	SHOW(send(s, "y", 1, 0));
	msleep(50);
	state("data came after", c);
	SHOW(recv(c, b, sizeof(b), 0));
	state("its peer, after", s);
	close(c);
	close(s);
}

static void closes(int l, uint16_t port)
{
	char b[64];
	int c, s;

	pair(l, port, &c, &s);
	SHOW(shutdown(c, SHUT_WR));
	msleep(50);
	state("FIN_WAIT2", c);
	close(s);
	msleep(50);
	state("TIME_WAIT", c);
	SHOW(recv(c, b, sizeof(b), 0));
	close(c);

	pair(l, port, &c, &s);
	close(s);
	msleep(50);
	state("CLOSE_WAIT", c);
	SHOW(shutdown(c, SHUT_WR));
	msleep(50);
	state("then our FIN", c);
	SHOW(send(c, "x", 1, 0));
	close(c);
}

static void defer_accept(void)
{
	uint16_t port;
	int l = tcp_listener(&port), c, s, sec = 1;
	char b[8];

	SHOW(setsockopt(l, IPPROTO_TCP, TCP_DEFER_ACCEPT, &sec, sizeof(sec)));
	set_nonblock(l, 1);
	c = tcp_connect(port);
	msleep(100);
	SHOW(accept(l, NULL, NULL));
	SHOW(send(c, "d", 1, 0));
	msleep(100);
	s = accept(l, NULL, NULL);
	say("accepted once data came: %s", YN(s >= 0));
	SHOW(recv(s, b, sizeof(b), 0));
	SHOW(send(s, "e", 1, 0));
	SHOW(recv(c, b, sizeof(b), 0));
	close(c);
	close(s);
	close(l);
}

int main(void)
{
	uint16_t port;
	int l = tcp_listener(&port);

	signal(SIGPIPE, SIG_IGN);
	resets(l, port);
	closes(l, port);
	close(l);
	defer_accept();
	return 0;
}
