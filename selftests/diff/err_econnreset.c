// SPDX-License-Identifier: GPL-2.0
/*
 * Connection reset: the peer closes with SO_LINGER {1, 0} (RST); the peer
 * closes while it has unread data (Linux sends RST); our data queued before
 * the RST. Each case prints readiness, recv/send results in sequence,
 * SO_ERROR and the TCP state. Also SO_LINGER {1,0} on a listener's pending
 * connection and accept after the client reset.
 */
#include "diff.h"

static void after(const char *what, int c)
{
	char b[16];
	int err = -1;
	socklen_t l = sizeof(err);

	say("-- %s", what);
	NEED(wait_ev(c, POLLERR | POLLHUP, 5000));
	say("poll = %s", pollmask(poll1(c, POLL_ALL, 0)));
	say("state = %s", tcp_state_name(tcp_state(c)));
	memset(b, 0, sizeof(b));
	SHOW(recv(c, b, sizeof(b), 0));
	say("got \"%s\"", b);
	SHOW(recv(c, b, sizeof(b), 0));
	SHOW(getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &l));
	say("SO_ERROR = %s", errname(err));
	SHOW(send(c, "x", 1, MSG_NOSIGNAL));
	say("poll = %s", pollmask(poll1(c, POLL_ALL, 0)));
}

int main(void)
{
	int c, s, l, a;
	uint16_t port;
	struct linger lg = { 1, 0 };
	char b[16];

	tcp_pair(&c, &s);
	NEED(setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) == 0);
	SHOW(close(s));
	after("peer closed with SO_LINGER {1,0}", c);
	close(c);

	/* our unread data when the RST comes: Linux drops it, recv reports ECONNRESET */
	tcp_pair(&c, &s);
	SHOW(send(s, "unread", 6, 0));
	NEED(wait_ev(c, POLLIN, 5000));
	msleep(20);
	NEED(setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) == 0);
	SHOW(close(s));
	after("peer RST while we had unread data", c);
	close(c);

	/* the peer closes normally but had unread data from us: RST */
	tcp_pair(&c, &s);
	SHOW(send(c, "you-never-read-this", 19, 0));
	{
		long end = now_ms() + 5000;
		int q = 0;

		while (ioctl(s, FIONREAD, &q) == 0 && q < 19 && now_ms() < end)
			msleep(2);
	}
	SHOW(close(s));
	after("peer close() with unread data", c);
	close(c);

	/* shutdown(SHUT_RDWR) does not reset; then close with unread data does */
	tcp_pair(&c, &s);
	SHOW(shutdown(s, SHUT_RDWR));
	NEED(wait_ev(c, POLLRDHUP, 5000));
	say("after peer SHUT_RDWR poll = %s", pollmask(poll1(c, POLL_ALL, 0)));
	SHOW(recv(c, b, sizeof(b), 0));
	SHOW(send(c, "late", 4, MSG_NOSIGNAL));
	after("data sent to a peer that shut down reading", c);
	close(s);
	close(c);

	/* client resets before accept */
	l = tcp_listener(&port);
	c = tcp_connect(port);
	NEED(c >= 0);
	NEED(wait_ev(l, POLLIN, 5000));
	NEED(setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) == 0);
	SHOW(close(c));
	msleep(50);
	say("listener poll = %s", pollmask(poll1(l, POLL_ALL, 0)));
	a = accept(l, NULL, NULL);
	say("accept of reset connection ok: %s", YN(a >= 0));
	if (a >= 0) {
		say("accepted poll = %s", pollmask(poll1(a, POLL_ALL, 0)));
		SHOW(recv(a, b, sizeof(b), 0));
		SHOW(recv(a, b, sizeof(b), 0));
		close(a);
	}
	close(l);
	return 0;
}
