// SPDX-License-Identifier: GPL-2.0
/*
 * A reader asleep (in recv, poll or epoll_wait) when a partial segment is
 * held by MSG_MORE or TCP_CORK wakes when Linux's probe timer sends it,
 * some 200 ms later, not at once; a plain send wakes it at once. A reader
 * that spins with non-blocking reads gets the held bytes then too, and its
 * close afterwards is an orderly one (the peer's next send succeeds, its
 * read sees EOF).
 */
#include "diff.h"

static int writer_fd, writer_flags, writer_cork;

static void *writer(void *arg)
{
	int one = 1;

	(void)arg;
	msleep(100);
	if (writer_cork)
		NEED(setsockopt(writer_fd, IPPROTO_TCP, TCP_CORK, &one, sizeof(one)) == 0);
	NEED(send(writer_fd, "abc", 3, writer_flags) == 3);
	return NULL;
}

static const char *wait_names[] = { "recv", "poll", "epoll_wait" };

static void sleeper(int how, int flags, int cork, const char *what)
{
	struct epoll_event e = { .events = EPOLLIN };
	char b[64];
	pthread_t t;
	int c, s, ep;
	ssize_t n;
	long t0, ms;

	tcp_pair_fam(AF_INET, &c, &s);
	NEED(send(c, "w", 1, 0) == 1);
	NEED(wait_ev(s, POLLIN, 2000) && recv(s, b, 1, 0) == 1);
	writer_fd = c;
	writer_flags = flags;
	writer_cork = cork;
	NEED(pthread_create(&t, NULL, writer, NULL) == 0);
	t0 = now_ms();
	if (how == 0) {
		n = recv(s, b, sizeof(b), 0);
	} else if (how == 1) {
		poll1(s, POLLIN, 5000);
		n = recv(s, b, sizeof(b), MSG_DONTWAIT);
	} else {
		ep = epoll_create1(0);
		NEED(epoll_ctl(ep, EPOLL_CTL_ADD, s, &e) == 0);
		epoll_wait(ep, &e, 1, 5000);
		n = recv(s, b, sizeof(b), MSG_DONTWAIT);
		close(ep);
	}
	ms = now_ms() - t0 - 100;
	NEED(pthread_join(t, NULL) == 0);
	say("%s asleep, %s: %zd bytes, %s", wait_names[how], what, n,
	    ms < 150 ? "at once" : "after the probe timer");
	close(c);
	close(s);
}

static void spinner_then_close(void)
{
	char b[64];
	ssize_t n;
	long t0;
	int c, s;

	tcp_pair_fam(AF_INET, &c, &s);
	NEED(send(c, "w", 1, 0) == 1);
	NEED(wait_ev(s, POLLIN, 2000) && recv(s, b, 1, 0) == 1);
	SHOW(send(c, "more", 4, MSG_MORE));
	t0 = now_ms();
	while ((n = recv(s, b, sizeof(b), MSG_DONTWAIT)) < 0 && now_ms() - t0 < 3000)
		;
	say("spinning reader: %zd bytes, %s", n, now_ms() - t0 < 150 ? "at once" : "later");
	SHOW(close(s));
	msleep(300);
	n = send(c, "x", 1, MSG_NOSIGNAL);
	say("send after the reader's close: %zd %s", n, n < 0 ? errname(errno) : "");
	msleep(100);
	n = recv(c, b, sizeof(b), MSG_DONTWAIT);
	say("recv: %zd %s", n, n < 0 ? errname(errno) : "");
	close(c);
}

int main(void)
{
	for (int how = 0; how < 3; how++) {
		sleeper(how, MSG_MORE, 0, "MSG_MORE");
		sleeper(how, 0, 1, "TCP_CORK");
		sleeper(how, 0, 0, "plain");
	}
	spinner_then_close();
	return 0;
}
