// SPDX-License-Identifier: GPL-2.0
/*
 * One epoll set (and one poll array, one select set) holding kernel fds of
 * every kind next to TCP sockets: a pipe, a UDP socket, an eventfd, a
 * timerfd, a UNIX socketpair, a TCP listener and a connected TCP socket.
 * Each is made ready in turn; the reported set is printed sorted by tag.
 * The UDP sockets (the kernel's, not velo's) are both the program's own,
 * on loopback in either mode; across namespaces the TCP peer is the peer's.
 */
#include "diff.h"
#include <sys/eventfd.h>
#include <sys/timerfd.h>

enum { PIPE, UDP, EVFD, TIMER, UNIX, LISTEN, TCP, N };
static const char *const names[N] = { "pipe", "udp", "eventfd", "timerfd", "unix",
				       "listener", "tcp" };
static int fds[N], ep;

static void report(const char *what)
{
	struct epoll_event ev[N];
	struct pollfd p[N];
	fd_set r;
	struct timeval tv = { 0, 0 };
	int n = epoll_wait(ep, ev, N, 0), i, mx = 0;
	char line[512] = "", pl[512] = "", sl[256] = "";
	int seen[N] = { 0 };

	for (i = 0; i < n; i++)
		seen[ev[i].data.u32] = 1;
	for (i = 0; i < N; i++)
		if (seen[i])
			snprintf(line + strlen(line), sizeof(line) - strlen(line), " %s", names[i]);
	FD_ZERO(&r);
	for (i = 0; i < N; i++) {
		p[i].fd = fds[i];
		p[i].events = POLLIN;
		p[i].revents = 0;
		FD_SET(fds[i], &r);
		if (fds[i] > mx)
			mx = fds[i];
	}
	NEED(poll(p, N, 0) >= 0);
	NEED(select(mx + 1, &r, NULL, NULL, &tv) >= 0);
	for (i = 0; i < N; i++) {
		if (p[i].revents)
			snprintf(pl + strlen(pl), sizeof(pl) - strlen(pl), " %s", names[i]);
		if (FD_ISSET(fds[i], &r))
			snprintf(sl + strlen(sl), sizeof(sl) - strlen(sl), " %s", names[i]);
	}
	say("%s:", what);
	say("  epoll:%s", line[0] ? line : " -");
	say("  poll: %s", pl[0] ? pl : " -");
	say("  select:%s", sl[0] ? sl : " -");
}

int main(void)
{
	int p[2], u2, sp[2], c, s, l, cl;
	uint16_t port;
	union sa a;
	socklen_t al = sa_lo(&a, AF_INET, 0);
	struct itimerspec its = { { 0, 0 }, { 0, 50000000 } };
	uint64_t v = 1;
	char b[64];
	int i;

	NEED(pipe(p) == 0);
	fds[PIPE] = p[0];
	fds[UDP] = socket(AF_INET, SOCK_DGRAM, 0);
	NEED(bind(fds[UDP], &a.sa, al) == 0);
	u2 = socket(AF_INET, SOCK_DGRAM, 0);
	fds[EVFD] = eventfd(0, 0);
	fds[TIMER] = timerfd_create(CLOCK_MONOTONIC, 0);
	NEED(socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == 0);
	fds[UNIX] = sp[0];
	l = tcp_listener(&port);
	fds[LISTEN] = l;
	tcp_pair(&c, &s);
	fds[TCP] = c;
	ep = epoll_create1(0);
	for (i = 0; i < N; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = i };

		NEED(fds[i] >= 0);
		NEED(epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev) == 0);
	}
	report("all idle");
	NEED(write(p[1], "p", 1) == 1);
	report("pipe written");
	al = sa_lo(&a, AF_INET, local_port(fds[UDP]));
	NEED(sendto(u2, "u", 1, 0, &a.sa, al) == 1);
	NEED(wait_ev(fds[UDP], POLLIN, 5000));
	report("udp datagram");
	NEED(write(fds[EVFD], &v, 8) == 8);
	report("eventfd");
	NEED(timerfd_settime(fds[TIMER], 0, &its, NULL) == 0);
	NEED(wait_ev(fds[TIMER], POLLIN, 5000));
	report("timer expired");
	NEED(write(sp[1], "x", 1) == 1);
	report("unix");
	cl = tcp_connect(port);
	NEED(cl >= 0 && wait_ev(l, POLLIN, 5000));
	report("pending connection");
	NEED(send(s, "t", 1, 0) == 1);
	NEED(wait_ev(c, POLLIN, 5000));
	report("tcp data");
	/* consume each in turn */
	NEED(read(p[0], b, 1) == 1);
	NEED(recv(fds[UDP], b, sizeof(b), 0) == 1);
	NEED(read(fds[EVFD], &v, 8) == 8);
	NEED(read(fds[TIMER], &v, 8) == 8);
	report("pipe, udp, eventfd, timer consumed");
	NEED(read(sp[0], b, 1) == 1);
	close(accept(l, NULL, NULL));
	NEED(recv(c, b, 1, 0) == 1);
	report("all consumed");
	/* echo over UDP and UNIX still correct while TCP is in the same set */
	NEED(send(s, "again", 5, 0) == 5);
	NEED(wait_ev(c, POLLIN, 5000));
	report("tcp again");
	SHOW(recv(c, b, sizeof(b), 0));
	close(cl);
	close(ep);
	return 0;
}
