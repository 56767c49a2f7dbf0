// SPDX-License-Identifier: GPL-2.0
/*
 * Calls in states they do not fit, and calls of nothing: a socket never
 * connected (send EPIPE, recv ENOTCONN, a write of nothing EPIPE, a read
 * of nothing 0, shutdown ENOTCONN, accept EINVAL), a listener (send,
 * recv, connect), a connected socket (connect EISCONN, listen and accept
 * EINVAL; writes of nothing 0; recv of nothing waits for data (EAGAIN),
 * read() and readv() of nothing return 0 at once; recvfrom gives no
 * address; sendto's address is ignored; MSG_TRUNC discards), short option
 * lengths, shutdown's edge cases, bad flags, and a listener shut for
 * reading (accept EINVAL, listen again works).
 */
#include "diff.h"
#include <sys/uio.h>

int main(void)
{
	int l, c, s, fd, one = 1, v;
	uint16_t port;
	union sa a, f;
	socklen_t al, fl, vl;
	char buf[16];
	struct iovec none = { buf, 0 };

	signal(SIGPIPE, SIG_IGN);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	SHOW(send(fd, "x", 1, 0));
	SHOW(recv(fd, buf, 1, MSG_DONTWAIT));
	SHOW(write(fd, buf, 0));
	SHOW(read(fd, buf, 0));
	SHOW(shutdown(fd, SHUT_RDWR));
	SHOW(accept(fd, NULL, NULL));
	close(fd);

	l = tcp_listener(&port);
	SHOW(send(l, "x", 1, 0));
	SHOW(recv(l, buf, 1, MSG_DONTWAIT));
	SHOW(read(l, buf, 0));
	al = sa_loop(&a, AF_INET, port);
	SHOWL("connect on the listener", connect(l, &a.sa, al));

	c = tcp_connect(port);
	s = accept(l, NULL, NULL);
	NEED(c >= 0 && s >= 0);
	SHOWL("connect again", connect(c, &a.sa, al));
	SHOW(listen(c, 5));
	SHOW(accept(c, NULL, NULL));
	SHOW(write(c, buf, 0));
	SHOW(send(c, buf, 0, 0));
	SHOW(recv(s, buf, 0, MSG_DONTWAIT));
	SHOW(read(s, buf, 0));
	SHOW(readv(s, &none, 1));

	NEED(send(c, "hello", 5, 0) == 5);
	NEED(wait_ev(s, POLLIN, 5000));
	msleep(20);
	memset(&f, 0x55, sizeof(f));
	fl = sizeof(f);
	SHOW(recvfrom(s, buf, 2, 0, &f.sa, &fl));
	say("address length %u, family untouched: %s", fl, YN(f.sa.sa_family == 0x5555));
	memset(&f, 0, sizeof(f));
	f.in.sin_family = AF_INET;
	f.in.sin_port = htons(1);
	SHOWL("sendto another address", sendto(c, "ab", 2, 0, &f.sa, sizeof(f.in)));
	NEED(wait_ev(s, POLLIN, 5000));
	msleep(20);
	SHOW(recv(s, buf, sizeof(buf), MSG_TRUNC | MSG_DONTWAIT));

	SHOW(setsockopt(c, SOL_SOCKET, SO_KEEPALIVE, &one, 1));
	vl = 1;
	SHOW(getsockopt(c, SOL_SOCKET, SO_TYPE, &v, &vl));
	say("length %u", vl);
	vl = 0;
	SHOW(getsockopt(c, IPPROTO_TCP, TCP_NODELAY, &v, &vl));
	say("length %u", vl);

	SHOW(shutdown(c, SHUT_RD));
	SHOW(recv(c, buf, 1, 0));
	SHOW(send(s, "zz", 2, 0));
	msleep(50);
	SHOW(recv(c, buf, 4, MSG_DONTWAIT));
	say("c: %s", pollmask(poll1(c, POLL_ALL, 0)));
	SHOW(shutdown(c, 7));
	SHOW(shutdown(c, SHUT_WR));
	SHOW(shutdown(c, SHUT_WR));
	NEED(wait_ev(s, POLLRDHUP, 5000));
	say("s: %s", pollmask(poll1(s, POLL_ALL, 0)));
	SHOW(recv(s, buf, sizeof(buf), 0));
	SHOW(send(c, "q", 1, MSG_NOSIGNAL));
	close(c);
	close(s);

	SHOW(accept4(l, NULL, NULL, 12345));
	SHOW(socket(AF_INET, SOCK_STREAM, IPPROTO_UDP));
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
	say("O_NONBLOCK %s, FD_CLOEXEC %s", YN(fcntl(fd, F_GETFL) & O_NONBLOCK),
	    YN(fcntl(fd, F_GETFD) & FD_CLOEXEC));
	SHOW(connect(fd, &a.sa, al));
	say("%s", pollmask(poll1(fd, POLLOUT, 5000)));
	SHOW(connect(fd, &a.sa, al));
	s = accept(l, NULL, NULL);
	NEED(s >= 0);
	SHOW(shutdown(l, SHUT_RD));
	SHOW(accept(l, NULL, NULL));
	SHOW(listen(l, 5));
	close(fd);
	close(s);
	close(l);
	return 0;
}
