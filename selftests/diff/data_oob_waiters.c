// SPDX-License-Identifier: GPL-2.0
/*
 * Urgent data that arrives while the receiver waits, in each way of
 * waiting: poll for POLLPRI alone, select's exception set, epoll
 * level-triggered, edge-triggered (with earlier data unread too) and
 * one-shot, a blocking and a non-blocking read; SIGURG for the socket's owner (blocked, so that only
 * its arrival shows); urgent data the receiver has not looked at when it
 * forks (the child reads it) or closes (unread data: the peer is reset);
 * over IPv6 too.
 */
#include <stdbool.h>

#include "diff.h"

struct later {
	int fd;
	const char *then; /* normal data after the urgent byte, or NULL */
	pthread_t t;
};

static void *send_urgent(void *arg)
{
	struct later *l = arg;

	msleep(100);
	send(l->fd, "!", 1, MSG_OOB);
	if (l->then) {
		msleep(100);
		send(l->fd, l->then, strlen(l->then), 0);
	}
	return NULL;
}

/* The peer sends an urgent byte in 100 ms (and @then 100 ms later), while we wait. */
static void urgent_later(struct later *l, int s, const char *then)
{
	l->fd = s;
	l->then = then;
	NEED(pthread_create(&l->t, NULL, send_urgent, l) == 0);
}

static void read_urgent(int c)
{
	char b[4] = { 0 };

	SHOW(recv(c, b, sizeof(b), MSG_OOB));
	say("urgent \"%s\"", b);
}

static void by_poll(int c)
{
	say("poll POLLPRI = %s", pollmask(poll1(c, POLLPRI, 5000)));
}

static void by_select(int c)
{
	struct timeval tv = { 5, 0 };
	fd_set e;

	FD_ZERO(&e);
	FD_SET(c, &e);
	SHOW(select(c + 1, NULL, NULL, &e, &tv));
	say("except %d", FD_ISSET(c, &e));
}

static void by_epoll(int c, uint32_t mode)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLPRI | mode };
	int ep = epoll_create1(0);

	NEED(ep >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev) == 0);
	SHOW(epoll_wait(ep, &ev, 1, 5000));
	say("epoll = %s", epmask(ev.events));
	SHOW(epoll_wait(ep, &ev, 1, 0));
	close(ep);
}

static void by_epoll_lt(int c)
{
	by_epoll(c, 0);
}

static void by_epoll_et(int c)
{
	by_epoll(c, EPOLLET);
}

static void by_epoll_oneshot(int c)
{
	by_epoll(c, EPOLLONESHOT);
}

/* Edge-triggered, with data before the urgent byte left unread: a new edge. */
static void by_epoll_et_unread(int c)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLPRI | EPOLLET };
	int ep = epoll_create1(0);

	NEED(ep >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev) == 0);
	SHOW(epoll_wait(ep, &ev, 1, 5000));
	say("epoll = %s", epmask(ev.events));
	SHOW(epoll_wait(ep, &ev, 1, 5000));
	say("epoll = %s", epmask(ev.events));
	close(ep);
}

/* A blocked read skips the urgent byte and returns the data after it. */
static void by_read(int c, bool nonblocking)
{
	char b[8] = { 0 };
	ssize_t r;

	set_nonblock(c, nonblocking);
	for (int i = 0; i < 500; i++) {
		r = recv(c, b, sizeof(b), 0);
		if (r >= 0 || errno != EAGAIN)
			break;
		msleep(10);
	}
	SHOWL("read", r);
	say("read \"%s\"", b);
}

static void by_blocking_read(int c)
{
	by_read(c, false);
}

static void by_nonblocking_read(int c)
{
	by_read(c, true);
}

static void waiting(const char *how, void (*wait)(int c), int family)
{
	bool reads = wait == by_blocking_read || wait == by_nonblocking_read;
	struct later l;
	int c, s;

	say("-- %s", how);
	tcp_pair_fam(family, &c, &s);
	if (wait == by_epoll_et_unread)
		SHOW(send(s, "abc", 3, 0));
	urgent_later(&l, s, reads ? "xyz" : NULL);
	wait(c);
	pthread_join(l.t, NULL);
	read_urgent(c);
	close(c);
	close(s);
}

static void sigurg_for_owner(void)
{
	struct later l;
	sigset_t urg, pending;
	int c, s;

	say("-- SIGURG");
	sigemptyset(&urg);
	sigaddset(&urg, SIGURG);
	NEED(sigprocmask(SIG_BLOCK, &urg, NULL) == 0);
	tcp_pair(&c, &s);
	SHOW(fcntl(c, F_SETOWN, getpid()));
	urgent_later(&l, s, NULL);
	by_poll(c);
	pthread_join(l.t, NULL);
	NEED(sigpending(&pending) == 0);
	say("SIGURG pending %s", YN(sigismember(&pending, SIGURG)));
	NEED(sigwaitinfo(&urg, NULL) == SIGURG);
	read_urgent(c);
	close(c);
	close(s);
	NEED(sigprocmask(SIG_UNBLOCK, &urg, NULL) == 0);
}

/* The urgent byte came while nobody looked; then the receiver forks. */
static void unseen_then_fork(void)
{
	int c, s;
	pid_t pid;

	say("-- fork with the urgent byte unread");
	tcp_pair(&c, &s);
	SHOW(send(s, "ab", 2, 0));
	SHOW(send(s, "!", 1, MSG_OOB));
	SHOW(send(s, "cd", 2, 0));
	msleep(200);
	pid = fork();
	NEED(pid >= 0);
	if (!pid) {
		char b[8] = { 0 };
		int mark = -1;

		say("child poll = %s", pollmask(poll1(c, POLLIN | POLLPRI, 5000)));
		SHOW(recv(c, b, sizeof(b), 0));
		say("child read \"%s\"", b);
		NEED(ioctl(c, SIOCATMARK, &mark) == 0);
		say("child at mark %d", mark);
		read_urgent(c);
		memset(b, 0, sizeof(b));
		SHOW(recv(c, b, 2, MSG_WAITALL));
		say("child read \"%s\"", b);
		_exit(0);
	}
	say("child %s", status_str(wait_child(pid)));
	close(c);
	close(s);
}

/* Closed with the urgent byte unread: unread data resets the peer. */
static void unseen_then_close(void)
{
	char b[4];
	int c, s;

	say("-- close with the urgent byte unread");
	tcp_pair(&c, &s);
	SHOW(send(s, "!", 1, MSG_OOB));
	msleep(200);
	SHOW(close(c));
	SHOW(recv(s, b, sizeof(b), 0));
	close(s);
}

int main(void)
{
	waiting("poll POLLPRI", by_poll, AF_INET);
	waiting("select exceptfds", by_select, AF_INET);
	waiting("epoll level-triggered", by_epoll_lt, AF_INET);
	waiting("epoll edge-triggered", by_epoll_et, AF_INET);
	waiting("epoll one-shot", by_epoll_oneshot, AF_INET);
	waiting("epoll edge-triggered, data unread", by_epoll_et_unread, AF_INET);
	waiting("blocked read", by_blocking_read, AF_INET);
	waiting("non-blocking reads", by_nonblocking_read, AF_INET);
	waiting("poll POLLPRI, IPv6", by_poll, AF_INET6);
	sigurg_for_owner();
	unseen_then_fork();
	unseen_then_close();
	return 0;
}
