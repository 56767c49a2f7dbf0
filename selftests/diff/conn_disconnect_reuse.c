// SPDX-License-Identifier: GPL-2.0
/*
 * connect(AF_UNSPEC) disconnects a TCP socket (a reset to the peer, which
 * still reads what it had been sent before ECONNRESET; what the socket had
 * not read is dropped), and the same socket then connects again, to
 * another listener: only the new connection's bytes are read, both ways,
 * and readiness, getpeername and SO_ERROR are the new connection's. Then
 * the same once more after a refused connect.
 */
#include "diff.h"

static void rd(int fd, const char *who)
{
	char buf[64];
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

	if (n < 0)
		say("%s: recv %s", who, errname(errno));
	else
		say("%s: recv %zd \"%.*s\"", who, n, (int)n, buf);
}

static void disconnect(int fd)
{
	union sa u;

	memset(&u, 0, sizeof(u));
	u.sa.sa_family = AF_UNSPEC;
	SHOWL("connect(AF_UNSPEC)", connect(fd, &u.sa, sizeof(u.sa)));
}

static int so_error(int fd)
{
	int e = -1;
	socklen_t l = sizeof(e);

	NEED(getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &l) == 0);
	return e;
}

int main(void)
{
	int l1, l2, c, s1, s2;
	uint16_t p1, p2;
	union sa a, peer;
	socklen_t al, pl;

	l1 = tcp_listener(&p1);
	l2 = tcp_listener(&p2);
	c = tcp_connect(p1);
	s1 = accept(l1, NULL, NULL);
	NEED(c >= 0 && s1 >= 0);
	NEED(send(c, "to-s1", 5, 0) == 5);
	NEED(send(s1, "unread-by-c", 11, 0) == 11);
	NEED(wait_ev(s1, POLLIN, 5000) && wait_ev(c, POLLIN, 5000));
	msleep(50);

	disconnect(c);
	say("c after disconnect: %s", pollmask(poll1(c, POLL_ALL, 0)));
	say("SO_ERROR %s", errname(so_error(c)));
	say("then: %s", pollmask(poll1(c, POLL_ALL, 0)));
	pl = sizeof(peer);
	SHOWL("getpeername", getpeername(c, &peer.sa, &pl));
	rd(c, "c");
	NEED(wait_ev(s1, POLLRDHUP | POLLERR, 5000));
	say("s1: %s", pollmask(poll1(s1, POLL_ALL, 0)));
	rd(s1, "s1");
	rd(s1, "s1");
	rd(s1, "s1");

	/* the same socket, another connection */
	al = sa_loop(&a, AF_INET, p2);
	SHOWL("connect again", connect(c, &a.sa, al));
	s2 = accept(l2, NULL, NULL);
	NEED(s2 >= 0);
	pl = sizeof(peer);
	NEED(getpeername(c, &peer.sa, &pl) == 0);
	say("peer is the second listener: %s", YN(sa_port(&peer) == p2));
	say("c: %s", pollmask(poll1(c, POLL_ALL, 0)));
	rd(c, "c");
	NEED(send(c, "to-s2", 5, 0) == 5);
	NEED(send(s2, "to-c", 4, 0) == 4);
	NEED(wait_ev(s2, POLLIN, 5000) && wait_ev(c, POLLIN, 5000));
	msleep(20);
	rd(s2, "s2");
	rd(c, "c");

	/* again, through a refused connect */
	disconnect(c);
	close(s2);
	close(l2);
	al = sa_loop(&a, AF_INET, p2);
	SHOWL("connect to the closed listener", connect(c, &a.sa, al));
	say("SO_ERROR %s", errname(so_error(c)));
	al = sa_loop(&a, AF_INET, p1);
	SHOWL("connect to the first listener", connect(c, &a.sa, al));
	s1 = accept(l1, NULL, NULL);
	NEED(s1 >= 0);
	NEED(send(s1, "third", 5, 0) == 5);
	NEED(wait_ev(c, POLLIN, 5000));
	msleep(20);
	rd(c, "c");
	SHOW(shutdown(c, SHUT_WR));
	NEED(wait_ev(s1, POLLRDHUP, 5000));
	rd(s1, "s1");
	close(c);
	close(s1);
	close(l1);
	return 0;
}
