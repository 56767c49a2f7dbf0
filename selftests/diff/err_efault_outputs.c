// SPDX-License-Identifier: GPL-2.0
/*
 * EFAULT, not a crash, where a call's own arguments point at memory in the
 * user address range that it cannot read (PROT_NONE) or, for what it
 * answers in, cannot write (read-only): option values and lengths,
 * addresses, ioctl results, poll/epoll/select/pselect arrays, msghdrs and their
 * iovecs, sendto's address (copied in even on a connection; too long:
 * EINVAL). A recvmsg whose header is read-only takes the data, then fails.
 * sendfile's offset is read first and written last; splice's offsets are
 * copied in, then refused (ESPIPE for the pipe's, EINVAL for the
 * socket's).
 */
#include "diff.h"
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>

int main(void)
{
	char *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *no = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct epoll_event ev = { .events = EPOLLIN };
	struct msghdr m = { 0 };
	socklen_t l = 4;
	char b[4];
	int c, s, ep;

	NEED(ro != MAP_FAILED && no != MAP_FAILED);
	signal(SIGPIPE, SIG_IGN);
	tcp_pair(&c, &s);
	SHOWL("getsockopt(TCP_NODELAY) into read-only", getsockopt(c, IPPROTO_TCP, TCP_NODELAY, ro, &l));
	SHOWL("getsockopt(TCP_CORK) into read-only", getsockopt(c, IPPROTO_TCP, TCP_CORK, ro, &l));
	SHOWL("getsockopt, read-only length", getsockopt(c, IPPROTO_TCP, TCP_NODELAY, b, (socklen_t *)ro));
	SHOWL("setsockopt(TCP_NODELAY) from PROT_NONE", setsockopt(c, IPPROTO_TCP, TCP_NODELAY, no, 4));
	SHOWL("setsockopt(TCP_CORK) from PROT_NONE", setsockopt(c, IPPROTO_TCP, TCP_CORK, no, 4));
	l = 16;
	SHOWL("getsockname into read-only", getsockname(c, (struct sockaddr *)ro, &l));
	SHOWL("getpeername into PROT_NONE", getpeername(c, (struct sockaddr *)no, &l));
	SHOWL("ioctl(FIONREAD) into read-only", ioctl(c, FIONREAD, ro));
	SHOWL("ioctl(FIONBIO) from PROT_NONE", ioctl(c, FIONBIO, no));
	SHOWL("ioctl(TIOCOUTQ) into read-only", ioctl(c, TIOCOUTQ, ro));

	SHOW(send(s, "x", 1, 0));
	NEED(wait_ev(c, POLLIN, 5000));
	SHOWL("poll, read-only array", poll((struct pollfd *)ro, 1, 0));
	ep = epoll_create1(0);
	NEED(ep >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev) == 0);
	SHOWL("epoll_ctl from PROT_NONE", epoll_ctl(ep, EPOLL_CTL_MOD, c, (struct epoll_event *)no));
	SHOWL("epoll_wait into read-only", epoll_wait(ep, (struct epoll_event *)ro, 4, 0));
	SHOWL("select, read-only set", select(c + 1, (fd_set *)ro, NULL, NULL, &(struct timeval){ 0, 0 }));
	SHOWL("pselect, read-only set",
	      pselect(c + 1, (fd_set *)ro, NULL, NULL, &(struct timespec){ 0, 0 }, NULL));
	SHOWL("pselect, PROT_NONE set",
	      pselect(c + 1, (fd_set *)no, NULL, NULL, &(struct timespec){ 0, 0 }, NULL));

	m.msg_iov = (struct iovec *)no;
	m.msg_iovlen = 1;
	SHOWL("sendmsg, PROT_NONE iovec", sendmsg(c, &m, 0));
	SHOWL("recvmsg, PROT_NONE iovec", recvmsg(c, &m, 0));
	SHOWL("sendmsg, PROT_NONE header", sendmsg(c, (struct msghdr *)no, 0));
	SHOWL("sendto, PROT_NONE address", sendto(c, "y", 1, 0, (struct sockaddr *)no, 16));
	SHOWL("sendto, too long an address", sendto(c, "y", 1, 0, (struct sockaddr *)b, 200));
	SHOWL("recvmsg, read-only header", recvmsg(c, (struct msghdr *)ro, 0));
	SHOW(recv(c, b, sizeof(b), MSG_DONTWAIT));
	SHOW(send(c, "z", 1, 0));
	SHOW(recv(s, b, sizeof(b), 0));

	{
		int f = open("/proc/self/exe", O_RDONLY), p[2];
		loff_t o = 0;

		NEED(f >= 0 && pipe(p) == 0);
		SHOWL("sendfile, PROT_NONE offset", sendfile(c, f, (off_t *)no, 4));
		SHOWL("sendfile, read-only offset", sendfile(c, f, (off_t *)ro, 4));
		SHOW(read_full(s, b, 4));
		NEED(write(p[1], "abcd", 4) == 4);
		SHOWL("splice to the socket, PROT_NONE offset", splice(p[0], NULL, c, (loff_t *)no, 4, 0));
		SHOWL("splice to the socket, its offset", splice(p[0], NULL, c, &o, 4, 0));
		SHOWL("splice to the socket, the pipe's offset", splice(p[0], &o, c, NULL, 4, 0));
		SHOWL("splice from the socket, its offset", splice(c, &o, p[1], NULL, 4, 0));
		SHOWL("splice to the socket", splice(p[0], NULL, c, NULL, 4, 0));
		SHOW(read_full(s, b, 4));
		close(f);
		close(p[0]);
		close(p[1]);
	}
	close(ep);
	close(c);
	close(s);
	return 0;
}
