// SPDX-License-Identifier: GPL-2.0
/*
 * MSG_OOB on TCP: one urgent byte between normal data. The receiver waits
 * for the peer's FIN (POLLRDHUP), so everything has arrived, then: POLLPRI
 * and EPOLLPRI are reported, normal reads stop at the mark, SIOCATMARK,
 * recv(MSG_OOB) returns the byte once (then EINVAL), the urgent byte is not
 * in the normal stream; with SO_OOBINLINE it is, and MSG_OOB gives EINVAL.
 */
#include "diff.h"

static void receive(int oobinline)
{
	int c, s, mark, ep;
	char b[32];
	struct epoll_event ev = { .events = EPOLLIN | EPOLLPRI };

	say("-- SO_OOBINLINE=%d", oobinline);
	tcp_pair(&c, &s);
	if (oobinline)
		NEED(setsockopt(c, SOL_SOCKET, SO_OOBINLINE, &oobinline, sizeof(int)) == 0);
	SHOW(send(s, "abc", 3, 0));
	SHOW(send(s, "!", 1, MSG_OOB));
	SHOW(send(s, "def", 3, 0));
	SHOW(shutdown(s, SHUT_WR));
	NEED(wait_ev(c, POLLRDHUP, 5000));
	say("poll = %s", pollmask(poll1(c, POLL_ALL, 0)));
	ep = epoll_create1(0);
	NEED(epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev) == 0);
	SHOW(epoll_wait(ep, &ev, 1, 0));
	say("epoll = %s", epmask(ev.events));
	close(ep);
	{
		fd_set r, e;
		struct timeval tv = { 0, 0 };

		FD_ZERO(&r);
		FD_ZERO(&e);
		FD_SET(c, &r);
		FD_SET(c, &e);
		SHOW(select(c + 1, &r, NULL, &e, &tv));
		say("select read %d except %d", FD_ISSET(c, &r), FD_ISSET(c, &e));
	}
	SHOW(ioctl(c, SIOCATMARK, &mark));
	say("at mark = %d", mark);
	memset(b, 0, sizeof(b));
	SHOW(recv(c, b, sizeof(b), 0));
	say("normal read \"%s\"", b);
	SHOW(ioctl(c, SIOCATMARK, &mark));
	say("at mark = %d", mark);
	memset(b, 0, sizeof(b));
	SHOW(recv(c, b, sizeof(b), MSG_OOB | MSG_PEEK));
	say("oob peek \"%s\"", b);
	memset(b, 0, sizeof(b));
	SHOW(recv(c, b, sizeof(b), MSG_OOB));
	say("oob read \"%s\"", b);
	SHOW(recv(c, b, sizeof(b), MSG_OOB));
	say("poll = %s", pollmask(poll1(c, POLL_ALL, 0)));
	memset(b, 0, sizeof(b));
	SHOW(recv(c, b, sizeof(b), 0));
	say("normal read \"%s\"", b);
	memset(b, 0, sizeof(b));
	SHOW(recv(c, b, sizeof(b), 0));
	say("normal read \"%s\"", b);
	SHOW(ioctl(c, SIOCATMARK, &mark));
	say("at mark = %d", mark);
	close(c);
	close(s);
}

int main(void)
{
	receive(0);
	receive(1);
	return 0;
}
