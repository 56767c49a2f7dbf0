// SPDX-License-Identifier: GPL-2.0
/*
 * epoll registrations follow the open file, not the fd number (the case
 * behind HAProxy's fd-generation counter):
 *  - closing the only fd of a registered socket removes it: no event,
 *    not even after data arrives for the old connection's peer;
 *  - a new socket that gets the same fd number does not inherit the old
 *    registration (no event for it until it is added; ADD succeeds);
 *  - a registered socket with a dup: closing the registered fd number
 *    keeps the registration alive (events keep coming with the old data
 *    tag), EPOLL_CTL_DEL on the closed number fails with EBADF, and once
 *    the number is reused by another socket, ADD of it succeeds (a
 *    different file) while the stale registration still reports;
 *  - closing the last reference finally removes the stale registration.
 * Also the same with poll() on reused fd numbers.
 */
#include "diff.h"

static int ep;

static void wait_show(const char *what)
{
	struct epoll_event ev[8];
	int n = epoll_wait(ep, ev, 8, 0), i;
	char line[512] = "";

	/* sort by tag for a stable order */
	for (i = 1; i < n; i++) {
		struct epoll_event t = ev[i];
		int j = i;

		while (j > 0 && ev[j - 1].data.u64 > t.data.u64) {
			ev[j] = ev[j - 1];
			j--;
		}
		ev[j] = t;
	}
	for (i = 0; i < n; i++)
		snprintf(line + strlen(line), sizeof(line) - strlen(line), " [gen%llu:%s]",
			 (unsigned long long)ev[i].data.u64, epmask(ev[i].events));
	say("%s: n=%d%s", what, n, line);
}

static void add(int fd, uint64_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.u64 = tag };

	SHOWL("epoll_ctl ADD", epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev));
}

static void queued(int fd)
{
	NEED(wait_ev(fd, POLLIN, 5000));
}

int main(void)
{
	int c, s, c2, s2, d, fdno;
	char b[16];

	ep = epoll_create1(0);

	/* 1: close removes the registration */
	tcp_pair(&c, &s);
	fdno = c;
	add(c, 1);
	SHOW(send(s, "x", 1, 0));
	queued(c);
	wait_show("gen1 readable");
	SHOW(recv(c, b, sizeof(b), 0));
	SHOW(close(c));
	wait_show("after close of gen1");
	SHOW(send(s, "y", 1, MSG_NOSIGNAL));
	msleep(20);
	wait_show("peer sends after close");
	close(s);

	/* 2: the fd number is reused by a new connection */
	tcp_pair(&c, &s);
	say("new socket got the same fd number: %s", YN(c == fdno || s == fdno));
	if (s == fdno) {
		int t = c;

		c = s;
		s = t;
	}
	SHOW(send(s, "z", 1, 0));
	queued(c);
	wait_show("reused fd number, readable, not added");
	add(c, 2);
	wait_show("after ADD as gen2");
	SHOW(recv(c, b, sizeof(b), 0));
	wait_show("gen2 drained");

	/* 3: registered fd closed while a dup keeps the file open */
	d = dup(c);
	fdno = c;
	{
		uint16_t port;
		int l2 = tcp_listener(&port);

		SHOW(close(c));
		/* the lowest free number is the one just closed */
		c2 = socket(AF_INET, SOCK_STREAM, 0);
		say("number reused again: %s", YN(c2 == fdno));
		{
			union sa a;
			socklen_t al = sa_loop(&a, AF_INET, port);

			NEED(connect(c2, &a.sa, al) == 0);
		}
		s2 = accept(l2, NULL, NULL);
		NEED(s2 >= 0);
		close(l2);
	}
	SHOW(send(s, "w", 1, 0));
	queued(d);
	wait_show("registered number closed, dup alive, data");
	SHOWL("epoll_ctl DEL closed number", epoll_ctl(ep, EPOLL_CTL_DEL, fdno, NULL));
	SHOWL("epoll_ctl DEL via dup (not registered under that number)",
	      epoll_ctl(ep, EPOLL_CTL_DEL, d, NULL));
	add(c2, 3);
	wait_show("stale gen2 (via dup) + new gen3 idle");
	SHOW(send(s2, "v", 1, 0));
	queued(c2);
	wait_show("gen3 readable too");
	SHOW(recv(d, b, sizeof(b), 0));
	wait_show("dup drained");
	SHOW(shutdown(s, SHUT_WR));
	NEED(wait_ev(d, POLLRDHUP, 5000));
	wait_show("peer of stale gen2 shut down");
	SHOW(close(d));
	wait_show("after closing the dup (last reference)");
	SHOW(recv(c2, b, sizeof(b), 0));
	wait_show("gen3 drained");
	close(c2);
	close(s2);
	close(s);

	/* 4: poll on a closed fd number reused: sees the new socket only */
	tcp_pair(&c, &s);
	fdno = c;
	SHOW(send(s, "a", 1, 0));
	queued(c);
	close(c);
	say("poll on closed number = %s", pollmask(poll1(fdno, POLLIN, 0)));
	tcp_pair(&c, &s2);
	say("poll on reused number (new idle socket) = %s",
	    (c == fdno || s2 == fdno) ? pollmask(poll1(fdno, POLLIN | POLLOUT, 0)) : "n/a");
	close(c);
	close(s);
	close(s2);
	close(ep);
	return 0;
}
