// SPDX-License-Identifier: GPL-2.0
/*
 * File status flags: O_NONBLOCK set through one fd is seen through its dup
 * (one open file description) and changes the behaviour of calls on both;
 * accept4 SOCK_NONBLOCK/SOCK_CLOEXEC; socket() SOCK_NONBLOCK|SOCK_CLOEXEC;
 * accept() without flags does not inherit O_NONBLOCK from the listener;
 * FIONBIO ioctl is the same flag.
 */
#include "diff.h"

static void flags(const char *what, int fd)
{
	int fl = fcntl(fd, F_GETFL), fd_fl = fcntl(fd, F_GETFD);

	say("%s: O_NONBLOCK=%d O_RDWR=%d FD_CLOEXEC=%d", what, !!(fl & O_NONBLOCK),
	    (fl & O_ACCMODE) == O_RDWR, !!(fd_fl & FD_CLOEXEC));
}

int main(void)
{
	int c, s, d, l, a, fd, on = 1, off = 0;
	uint16_t port;
	char b[8];

	tcp_pair(&c, &s);
	d = dup(c);
	flags("fresh", c);
	NEED(fcntl(c, F_SETFL, fcntl(c, F_GETFL) | O_NONBLOCK) == 0);
	flags("c after F_SETFL O_NONBLOCK", c);
	flags("dup of c", d);
	SHOWL("recv on dup (no data)", recv(d, b, sizeof(b), 0));
	SHOWL("read on dup (no data)", read(d, b, sizeof(b)));
	SHOWL("ioctl FIONBIO off via dup", ioctl(d, FIONBIO, &off));
	flags("c after FIONBIO off on dup", c);
	SHOWL("ioctl FIONBIO on via c", ioctl(c, FIONBIO, &on));
	flags("dup after FIONBIO on", d);
	SHOWL("recv on c", recv(c, b, sizeof(b), 0));
	close(d);
	close(c);
	close(s);

	l = tcp_listener(&port);
	set_nonblock(l, 1);
	flags("listener", l);
	SHOWL("accept on empty nonblocking listener", accept(l, NULL, NULL));
	c = tcp_connect(port);
	NEED(c >= 0);
	NEED(wait_ev(l, POLLIN, 5000));
	a = accept(l, NULL, NULL);
	NEED(a >= 0);
	flags("accept() from nonblocking listener", a);
	close(a);
	close(c);
	c = tcp_connect(port);
	NEED(wait_ev(l, POLLIN, 5000));
	a = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	NEED(a >= 0);
	flags("accept4(SOCK_NONBLOCK|SOCK_CLOEXEC)", a);
	SHOWL("recv on it", recv(a, b, sizeof(b), 0));
	close(a);
	close(c);
	c = tcp_connect(port);
	NEED(wait_ev(l, POLLIN, 5000));
	a = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	flags("accept4(SOCK_CLOEXEC)", a);
	close(a);
	close(c);
	SHOW(accept4(l, NULL, NULL, 0x40000000));
	close(l);

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	flags("socket(SOCK_NONBLOCK|SOCK_CLOEXEC)", fd);
	close(fd);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, IPPROTO_TCP);
	flags("socket(SOCK_NONBLOCK, IPPROTO_TCP)", fd);
	close(fd);
	SHOW(socket(AF_INET, SOCK_STREAM | 0x40000000, 0));
	SHOW(socket(AF_INET, SOCK_STREAM, IPPROTO_UDP));
	return 0;
}
