// SPDX-License-Identifier: GPL-2.0
/*
 * A reader that sleeps in recv() is woken at once: in a ping-pong of small
 * messages with Nagle on (each side sleeping for the other), and by a large
 * write from a corked sender (full segments go at once). Under libvelo on
 * loopback each wake-up is a doorbell through the kernel socket, which
 * Nagle (waiting for the peer's delayed ACK) and TCP_CORK held: 200 round
 * trips took 3.4 s instead of 0.15 s. TCP_NODELAY and TCP_CORK read back
 * as the program set them.
 */
#include "diff.h"

static int echo_fd;

static void *echo(void *arg)
{
	char b[64];
	ssize_t n;

	(void)arg;
	while ((n = recv(echo_fd, b, sizeof(b), 0)) > 0)
		if (send(echo_fd, b, n, 0) != n)
			break;
	return NULL;
}

static int big_fd;

static void *big_write(void *arg)
{
	static char big[200000];

	(void)arg;
	msleep(100);
	NEED(write_full(big_fd, big, sizeof(big)) == sizeof(big));
	return NULL;
}

static void show_opts(int fd, const char *what)
{
	int nd = -1, ck = -1;
	socklen_t l = sizeof(nd);

	NEED(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &nd, &l) == 0);
	l = sizeof(ck);
	NEED(getsockopt(fd, IPPROTO_TCP, TCP_CORK, &ck, &l) == 0);
	say("%s: TCP_NODELAY %d TCP_CORK %d", what, nd, ck);
}

static void set_opt(int fd, int name, int v)
{
	NEED(setsockopt(fd, IPPROTO_TCP, name, &v, sizeof(v)) == 0);
}

int main(void)
{
	pthread_t t;
	char b[4096];
	long t0, ms;
	ssize_t n;
	int c, s, i;

	tcp_pair_fam(AF_INET, &c, &s);
	show_opts(c, "fresh");
	echo_fd = s;
	NEED(pthread_create(&t, NULL, echo, NULL) == 0);
	t0 = now_ms();
	for (i = 0; i < 200; i++) {
		NEED(send(c, "ping", 4, 0) == 4);
		NEED(read_full(c, b, 4) == 4);
		if (i % 3 == 0)
			msleep(2); /* the echo sleeps in recv() */
	}
	ms = now_ms() - t0;
	say("200 round trips, each side sleeping: %s", ms < 1500 ? "under 1.5 s" : "slow");
	show_opts(c, "after the round trips");
	shutdown(c, SHUT_WR);
	NEED(pthread_join(t, NULL) == 0);
	close(c);
	close(s);

	tcp_pair_fam(AF_INET, &c, &s);
	set_opt(c, TCP_CORK, 1);
	show_opts(c, "corked");
	big_fd = c;
	NEED(pthread_create(&t, NULL, big_write, NULL) == 0);
	t0 = now_ms();
	n = recv(s, b, sizeof(b), 0);
	ms = now_ms() - t0 - 100;
	say("sleeping reader: %s, woken %s", n > 0 ? "data" : "none",
	    ms < 100 ? "within 100 ms of the write" : "late");
	NEED(pthread_join(t, NULL) == 0);
	set_opt(c, TCP_NODELAY, 1);
	show_opts(c, "TCP_NODELAY 1");
	set_opt(c, TCP_CORK, 0);
	set_opt(c, TCP_NODELAY, 0);
	show_opts(c, "both 0");
	return 0;
}
