// SPDX-License-Identifier: GPL-2.0
/*
 * EBADF on a closed fd (socket calls, I/O, fcntl, epoll_ctl, poll POLLNVAL,
 * select EBADF), ENOTSOCK for socket calls on a pipe, a regular file and
 * an epoll fd; ENOPROTOOPT/EINVAL for bad option levels and lengths.
 */
#include "diff.h"

static void sockcalls(const char *what, int fd)
{
	union sa a;
	socklen_t al = sa_loop(&a, AF_INET, 9), l = sizeof(a);
	int v = 1;
	socklen_t vl = sizeof(v);
	char b[4] = "x";
	struct msghdr m = { 0 };

	say("-- %s", what);
	SHOW(bind(fd, &a.sa, al));
	SHOW(listen(fd, 1));
	SHOW(accept(fd, NULL, NULL));
	SHOW(accept4(fd, NULL, NULL, SOCK_CLOEXEC));
	SHOW(connect(fd, &a.sa, al));
	SHOW(getsockname(fd, &a.sa, &l));
	SHOW(getpeername(fd, &a.sa, &l));
	SHOW(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &v, sizeof(v)));
	SHOW(getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &vl));
	SHOW(shutdown(fd, SHUT_RDWR));
	SHOW(send(fd, b, 1, MSG_DONTWAIT));
	SHOW(recv(fd, b, 1, MSG_DONTWAIT));
	SHOW(sendto(fd, b, 1, MSG_DONTWAIT, NULL, 0));
	SHOW(recvfrom(fd, b, 1, MSG_DONTWAIT, NULL, NULL));
	SHOW(sendmsg(fd, &m, MSG_DONTWAIT));
	SHOW(recvmsg(fd, &m, MSG_DONTWAIT));
}

int main(void)
{
	int c, s, p[2], f, ep, fd;
	char path[] = "/tmp/vdiff-ebadf.XXXXXX";
	char b[4];
	struct epoll_event ev = { .events = EPOLLIN };
	struct pollfd pf;
	fd_set r;
	struct timeval tv = { 0, 0 };

	tcp_pair(&c, &s);
	fd = c;
	SHOW(close(c));
	SHOW(close(fd));
	sockcalls("closed socket fd", fd);
	SHOW(read(fd, b, 1));
	SHOW(write(fd, b, 1));
	SHOW(fcntl(fd, F_GETFL));
	SHOW(dup(fd));
	ep = epoll_create1(0);
	SHOW(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev));
	pf.fd = fd;
	pf.events = POLLIN;
	SHOW(poll(&pf, 1, 0));
	say("revents = %s", pollmask(pf.revents));
	FD_ZERO(&r);
	FD_SET(fd, &r);
	SHOW(select(fd + 1, &r, NULL, NULL, &tv));
	SHOW(ioctl(fd, FIONREAD, &pf.fd));
	SHOWL("poll on a closed socket's peer", wait_ev(s, POLLIN, 5000));
	SHOW(recv(s, b, 1, 0));
	close(s);

	NEED(pipe(p) == 0);
	sockcalls("pipe", p[0]);
	f = mkstemp(path);
	NEED(f >= 0);
	unlink(path);
	sockcalls("regular file", f);
	sockcalls("epoll fd", ep);
	SHOW(epoll_ctl(ep, EPOLL_CTL_ADD, f, &ev));
	SHOW(epoll_ctl(ep, EPOLL_CTL_ADD, ep, &ev));
	sockcalls("fd -1", -1);
	sockcalls("fd 100000", 100000);

	/* bad levels, names and lengths on a real socket */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	{
		int v = 1;
		socklen_t vl = sizeof(v);
		char small[2];
		socklen_t sl;

		SHOW(setsockopt(fd, 12345, 1, &v, sizeof(v)));
		SHOW(getsockopt(fd, 12345, 1, &v, &vl));
		SHOW(setsockopt(fd, SOL_SOCKET, 12345, &v, sizeof(v)));
		SHOW(getsockopt(fd, SOL_SOCKET, 12345, &v, &vl));
		SHOW(setsockopt(fd, IPPROTO_TCP, 12345, &v, sizeof(v)));
		SHOW(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &v, 2));
		SHOW(setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, 2));
		SHOW(setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, -1));
		sl = sizeof(small);
		memset(small, 0x55, sizeof(small));
		SHOW(getsockopt(fd, SOL_SOCKET, SO_TYPE, small, &sl));
		say("small optlen -> %u", sl);
		sl = 0;
		SHOW(getsockopt(fd, SOL_SOCKET, SO_TYPE, small, &sl));
		say("zero optlen -> %u", sl);
		sl = sizeof(small);
		SHOW(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, small, &sl));
		say("small TCP optlen -> %u", sl);
		sl = (socklen_t)-1;
		SHOW(getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &sl));
		SHOW(setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v, sizeof(v)));
		SHOW(setsockopt(fd, SOL_IP, IP_TOS, &v, sizeof(v)));
	}
	close(fd);
	return 0;
}
