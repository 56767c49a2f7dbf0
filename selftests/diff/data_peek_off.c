// SPDX-License-Identifier: GPL-2.0
/*
 * SO_PEEK_OFF on TCP (Linux 6.10+): a MSG_PEEK read starts that many bytes
 * past the next unread byte and moves the offset on; a normal read moves
 * it back by what it took (not below 0); -1 turns it off. Ten bytes are
 * peeked and read in pieces, the offset read back after each step, then a
 * peek past the data (EAGAIN without blocking, else it waits for more). A
 * listener's offset is its accepted sockets'. Where the kernel has no
 * SO_PEEK_OFF for TCP the program says so and checks only that.
 */
#include "diff.h"

static int peek_off(int fd)
{
	int v = -2;
	socklen_t l = sizeof(v);

	if (getsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &v, &l) < 0)
		return -100 - errno;
	return v;
}

static void rd(int fd, size_t len, int flags, const char *what)
{
	char buf[32];
	ssize_t n = recv(fd, buf, len, flags);

	if (n < 0)
		say("%s: %s, offset %d", what, errname(errno), peek_off(fd));
	else
		say("%s: \"%.*s\", offset %d", what, (int)n, buf, peek_off(fd));
}

static void set_off(int fd, int v)
{
	say("SO_PEEK_OFF %d = %s", v,
	    setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &v, sizeof(v)) ? errname(errno) : "0");
}

int main(void)
{
	int l, c, s, n = 0, zero = 0;
	uint16_t port;

	l = tcp_listener(&port);
	c = tcp_connect(port);
	s = accept(l, NULL, NULL);
	NEED(c >= 0 && s >= 0);
	say("default offset %d", peek_off(s));
	if (setsockopt(s, SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof(zero)) < 0) {
		say("no SO_PEEK_OFF for TCP here: %s", errname(errno));
		return 0;
	}
	NEED(send(c, "abcdefghij", 10, 0) == 10);
	while (n < 10 && wait_ev(s, POLLIN, 5000))
		NEED(ioctl(s, FIONREAD, &n) == 0);
	say("queued %d", n);

	rd(s, 3, MSG_PEEK, "peek 3");
	rd(s, 3, MSG_PEEK, "peek 3");
	rd(s, 2, 0, "read 2");
	rd(s, 3, MSG_PEEK, "peek 3");
	rd(s, 10, MSG_PEEK | MSG_DONTWAIT, "peek 10");
	rd(s, 10, MSG_PEEK | MSG_DONTWAIT, "peek 10 at the end");
	say("poll with the offset at the end: %s", pollmask(poll1(s, POLLIN, 0)));
	set_off(s, -1);
	rd(s, 10, MSG_PEEK, "peek 10, off");
	set_off(s, 100);
	rd(s, 4, MSG_PEEK | MSG_DONTWAIT, "peek 4 past the data");
	rd(s, 4, 0, "read 4");
	set_off(s, 1);
	rd(s, 2, MSG_PEEK, "peek 2");
	rd(s, 10, 0, "read 10");
	set_off(s, -7);

	/* more data after the offset moved: the peek sees only what is new */
	set_off(s, 0);
	NEED(send(c, "KLMNOP", 6, 0) == 6);
	NEED(wait_ev(s, POLLIN, 5000));
	msleep(20);
	rd(s, 3, MSG_PEEK | MSG_WAITALL, "peek 3");
	NEED(send(c, "Q", 1, 0) == 1);
	msleep(20);
	rd(s, 10, MSG_PEEK | MSG_DONTWAIT, "peek 10");
	rd(s, 10, 0, "read 10");
	close(c);
	NEED(wait_ev(s, POLLRDHUP, 5000));
	rd(s, 10, MSG_PEEK, "peek at EOF");
	close(s);

	/* set on the listener: the accepted socket has it */
	set_off(l, 0);
	c = tcp_connect(port);
	s = accept(l, NULL, NULL);
	NEED(c >= 0 && s >= 0);
	say("accepted socket's offset %d", peek_off(s));
	NEED(send(c, "xyz", 3, 0) == 3);
	NEED(wait_ev(s, POLLIN, 5000));
	msleep(20);
	rd(s, 1, MSG_PEEK, "peek 1");
	rd(s, 1, MSG_PEEK, "peek 1");

	/* a blocking peek past the data waits for more */
	set_off(s, 3);
	if (fork() == 0) {
		msleep(200);
		send(c, "late", 4, 0);
		_exit(0);
	}
	rd(s, 10, MSG_PEEK, "blocking peek past the data");
	NEED(wait(NULL) > 0);
	rd(s, 10, 0, "read 10");
	close(c);
	close(s);
	close(l);
	return 0;
}
