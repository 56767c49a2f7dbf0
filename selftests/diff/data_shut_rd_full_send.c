// SPDX-License-Identifier: GPL-2.0
/*
 * shutdown(SHUT_RD) on a socket whose send side is full: it stays not
 * writable (poll, select), reads EOF, and nothing is reset; the peer
 * reading makes room again. Then the peer closes with our data unread,
 * which resets us (its RST). Under libvelo on loopback the socket's own
 * RCV_SHUTDOWN read as the peer's FIN with data unread, a reset:
 * POLLOUT|POLLERR|POLLHUP at once (XLIO's known issue, "select upon
 * shutdown of socket returns ready to write").
 */
#include "diff.h"

static const char *selected(int fd)
{
	static char out[32];
	struct timeval tv = { 0, 100000 };
	fd_set r, w;

	FD_ZERO(&r);
	FD_ZERO(&w);
	FD_SET(fd, &r);
	FD_SET(fd, &w);
	NEED(select(fd + 1, &r, &w, NULL, &tv) >= 0);
	snprintf(out, sizeof(out), "%s%s", FD_ISSET(fd, &r) ? "read " : "",
		 FD_ISSET(fd, &w) ? "write" : "");
	return out;
}

int main(void)
{
	char b[64];
	int c, s, e = 0;
	socklen_t el = sizeof(e);

	tcp_pair(&c, &s);
	fill_send(c);
	say("full: poll %s, select \"%s\"", pollmask(poll1(c, POLL_ALL, 0)), selected(c));
	SHOW(shutdown(c, SHUT_RD));
	say("shut: poll %s, select \"%s\"", pollmask(poll1(c, POLL_ALL, 0)), selected(c));
	SHOW(recv(c, b, sizeof(b), 0));
	NEED(getsockopt(c, SOL_SOCKET, SO_ERROR, &e, &el) == 0);
	say("SO_ERROR %s", e ? errname(e) : "0");
	drain_recv(s);
	say("peer read: poll %s", pollmask(poll1(c, POLLOUT, 2000)));
	fill_send(c);
	close(s);
	msleep(100);
	say("peer closed unread: poll %s", pollmask(poll1(c, POLL_ALL, 1000)));
	SHOW(recv(c, b, sizeof(b), 0));
	SHOW(send(c, "x", 1, MSG_NOSIGNAL));
	close(c);
	return 0;
}
