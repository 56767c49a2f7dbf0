// SPDX-License-Identifier: GPL-2.0
/*
 * XLIO 3217629 (iperf3's siglongjmp out of a signal handler leaves the
 * library's state undefined): a SIGALRM handler siglongjmps out of a recv,
 * accept, epoll_wait, poll and a blocking send that it interrupted, 20 times
 * each; afterwards every socket still works (data sent and received, new
 * connections accepted, readiness reported), from this thread and another.
 */
#include "diff.h"
#include <setjmp.h>
#include <sys/time.h>

static sigjmp_buf jb;
static volatile sig_atomic_t jumped;

static void on_alrm(int sig)
{
	(void)sig;
	jumped++;
	siglongjmp(jb, 1);
}

static void arm(int ms)
{
	struct itimerval it = { { 0, 0 }, { ms / 1000, (ms % 1000) * 1000 } };

	setitimer(ITIMER_REAL, &it, NULL);
}

static int c, s, l, ep, fullc, fulls;

static void blocked(int which)
{
	char b[16];
	struct epoll_event ev;
	struct pollfd p = { .fd = c, .events = POLLIN };
	static char junk[1 << 20];

	switch (which) {
	case 0: recv(c, b, sizeof(b), 0); break;
	case 1: accept(l, NULL, NULL); break;
	case 2: epoll_wait(ep, &ev, 1, 10000); break;
	case 3: poll(&p, 1, 10000); break;
	default: send(fullc, junk, sizeof(junk), 0); break;
	}
}

static void *other_thread(void *arg)
{
	char b[8];

	(void)arg;
	NEED(send(s, "t", 1, 0) == 1);
	NEED(recv(c, b, 1, MSG_WAITALL) == 1);
	return NULL;
}

int main(void)
{
	static const char *const names[] = { "recv", "accept", "epoll_wait", "poll", "send (full)" };
	struct epoll_event ev = { .events = EPOLLIN };
	uint16_t port;
	int which, i, sz = 16384;
	char b[16];
	pthread_t t;

	NEED(sig_install(SIGALRM, on_alrm, SA_RESTART) == 0);
	tcp_pair(&c, &s);
	tcp_pair(&fullc, &fulls);
	NEED(setsockopt(fullc, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)) == 0);
	NEED(setsockopt(fulls, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz)) == 0);
	l = tcp_listener(&port);
	ep = epoll_create1(0);
	NEED(epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev) == 0);
	for (which = 0; which < 5; which++) {
		jumped = 0;
		for (i = 0; i < 20; i++) {
			if (sigsetjmp(jb, 1) == 0) {
				arm(20);
				blocked(which);
				arm(0);
			}
		}
		say("%s: jumped out %d times", names[which], (int)jumped);
	}
	arm(0);
	/* everything still works */
	SHOW(send(s, "after", 5, 0));
	memset(b, 0, sizeof(b));
	SHOW(recv(c, b, 5, MSG_WAITALL));
	say("got \"%s\"", b);
	SHOW(send(s, "x", 1, 0));
	NEED(wait_ev(c, POLLIN, 5000));
	SHOW(epoll_wait(ep, &ev, 1, 1000));
	SHOW(recv(c, b, 1, 0));
	{
		int cc = tcp_connect(port), a;

		NEED(cc >= 0);
		a = accept(l, NULL, NULL);
		say("accept after jumps: %s", YN(a >= 0));
		close(a);
		close(cc);
	}
	{
		/* the full connection drains and carries data again */
		static char sink[1 << 16];
		ssize_t r;
		size_t got = 0;

		long until = now_ms() + 10000;

		/*
		 * until the writer has room again (a third of its buffer free),
		 * which over a real link can take more than one pause of 300 ms
		 */
		set_nonblock(fulls, 1);
		while (((r = recv(fulls, sink, sizeof(sink), 0)) > 0 ||
			(r < 0 && errno == EAGAIN &&
			 (wait_ev(fulls, POLLIN, 300) || !wait_ev(fullc, POLLOUT, 0)))) &&
		       now_ms() < until)
			got += r > 0 ? r : 0;
		say("full connection drained something: %s", YN(got > 0));
		set_nonblock(fulls, 0);
		set_nonblock(fullc, 1);
		while (send(fullc, "z", 1, 0) < 0 && errno == EAGAIN)
			NEED(wait_ev(fullc, POLLOUT, 5000));
		NEED(wait_ev(fulls, POLLIN, 5000));
		SHOW(recv(fulls, b, 1, 0));
	}
	NEED(pthread_create(&t, NULL, other_thread, NULL) == 0);
	pthread_join(t, NULL);
	say("another thread used the sockets");
	close(c);
	SHOW(recv(s, b, sizeof(b), 0));
	return 0;
}
