// SPDX-License-Identifier: GPL-2.0
/*
 * shutdown(SHUT_RD) on a connected socket sends nothing and drops nothing:
 * what was queued is still read, and so is what the peer sends after it;
 * only a read with nothing queued returns 0 at once, blocking or not.
 * Writing still works, and a close after reading everything is a FIN (the
 * peer's first send after it goes, the next fails with EPIPE).
 */
#include "diff.h"

static void take(int fd, int flags, const char *what)
{
	char b[32];
	ssize_t n = recv(fd, b, sizeof(b), flags);

	say("%s: %zd %s%.*s", what, n, n < 0 ? errname(errno) : "", n > 0 ? (int)n : 0, b);
}

int main(void)
{
	int c, s;
	ssize_t n;

	tcp_pair_fam(AF_INET, &c, &s);
	SHOW(send(s, "before", 6, 0));
	NEED(wait_ev(c, POLLIN, 2000));
	SHOW(shutdown(c, SHUT_RD));
	say("poll: %s", pollmask(poll1(c, POLLIN | POLLOUT | POLLRDHUP, 0)));
	take(c, MSG_PEEK, "peek");
	take(c, MSG_DONTWAIT, "recv");
	take(c, MSG_DONTWAIT, "recv, nothing queued");
	take(c, 0, "blocking recv, nothing queued");
	SHOW(send(s, "after", 5, 0));
	NEED(wait_ev(c, POLLIN, 2000));
	msleep(50);
	take(c, 0, "recv");
	SHOW(send(c, "still", 5, 0));
	NEED(wait_ev(s, POLLIN, 2000));
	take(s, MSG_DONTWAIT, "peer recv");
	SHOW(close(c));
	msleep(100);
	n = send(s, "x", 1, MSG_NOSIGNAL);
	say("peer send: %zd %s", n, n < 0 ? errname(errno) : "");
	msleep(100);
	n = send(s, "x", 1, MSG_NOSIGNAL);
	say("peer send again: %zd %s", n, n < 0 ? errname(errno) : "");
	return 0;
}
