// SPDX-License-Identifier: GPL-2.0
/*
 * recv flags on TCP: MSG_PEEK (does not consume, repeated peeks see the same
 * bytes, a peek larger than the queue returns what is there), MSG_WAITALL
 * (waits for the full count across several sends from another thread;
 * returns short at EOF), MSG_DONTWAIT, MSG_TRUNC (discards on TCP and
 * returns the count), MSG_PEEK|MSG_TRUNC, and zero-length recv.
 */
#include "diff.h"

static int g_s;

static void *slow_sender(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < 5; i++) {
		msleep(30);
		NEED(send(g_s, "0123456789", 10, 0) == 10);
	}
	return NULL;
}

static void *sender_then_close(void *arg)
{
	(void)arg;
	msleep(50);
	NEED(send(g_s, "tail", 4, 0) == 4);
	msleep(50);
	shutdown(g_s, SHUT_WR);
	return NULL;
}

/* wait until n bytes are queued on fd (FIONREAD), bounded */
static void wait_queued(int fd, int n)
{
	long end = now_ms() + 5000;
	int q = 0;

	while (ioctl(fd, FIONREAD, &q) == 0 && q < n && now_ms() < end)
		msleep(2);
}

int main(void)
{
	int c, s;
	char b[128];
	pthread_t t;

	tcp_pair(&c, &s);
	g_s = s;
	SHOW(send(s, "hello world", 11, 0));
	wait_queued(c, 11);
	memset(b, 0, sizeof(b));
	SHOW(recv(c, b, 5, MSG_PEEK));
	say("peeked \"%s\"", b);
	memset(b, 0, sizeof(b));
	SHOW(recv(c, b, sizeof(b), MSG_PEEK));
	say("peeked \"%s\"", b);
	memset(b, 0, sizeof(b));
	SHOW(recv(c, b, 6, 0));
	say("read \"%s\"", b);
	memset(b, 0, sizeof(b));
	SHOW(recv(c, b, sizeof(b), MSG_PEEK | MSG_DONTWAIT));
	say("peeked \"%s\"", b);
	SHOW(recv(c, b, 0, 0));
	SHOW(recv(c, NULL, 0, 0));
	SHOW(recv(c, b, 3, MSG_TRUNC));
	memset(b, 0, sizeof(b));
	SHOW(recv(c, b, sizeof(b), 0));
	say("read \"%s\" (MSG_TRUNC discarded 3 bytes)", b);
	SHOW(recv(c, b, sizeof(b), MSG_DONTWAIT));
	SHOW(send(s, "abcdefgh", 8, 0));
	wait_queued(c, 8);
	SHOW(recv(c, NULL, 100, MSG_TRUNC | MSG_DONTWAIT));
	SHOW(send(s, "abcdefgh", 8, 0));
	wait_queued(c, 8);
	SHOW(recv(c, b, 100, MSG_PEEK | MSG_TRUNC));
	SHOW(recv(c, b, 100, 0));

	/* MSG_WAITALL across 5 sends */
	NEED(pthread_create(&t, NULL, slow_sender, NULL) == 0);
	memset(b, 0, sizeof(b));
	SHOW(recv(c, b, 50, MSG_WAITALL));
	say("read \"%s\"", b);
	pthread_join(t, NULL);
	/* MSG_WAITALL cut short by EOF */
	NEED(pthread_create(&t, NULL, sender_then_close, NULL) == 0);
	memset(b, 0, sizeof(b));
	SHOW(recv(c, b, 100, MSG_WAITALL));
	say("read \"%s\"", b);
	pthread_join(t, NULL);
	SHOW(recv(c, b, 100, MSG_WAITALL));
	SHOW(recv(c, b, 100, MSG_PEEK));
	/* MSG_WAITALL|MSG_DONTWAIT: returns what is there */
	close(c);
	close(s);
	tcp_pair(&c, &s);
	SHOW(send(s, "xyz", 3, 0));
	wait_queued(c, 3);
	SHOW(recv(c, b, 100, MSG_WAITALL | MSG_DONTWAIT));
	SHOW(recv(c, b, 100, MSG_WAITALL | MSG_DONTWAIT));
	close(c);
	close(s);
	return 0;
}
