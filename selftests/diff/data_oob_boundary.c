// SPDX-License-Identifier: GPL-2.0
/*
 * Urgent data at the edge of what was sent before it: MSG_PEEK and small
 * reads up to the mark, SIOCATMARK and FIONREAD just before and at the mark,
 * a non-blocking read once all is read; an urgent byte as the very first
 * byte of a connection; the other direction in use both before and after.
 */
#include "diff.h"

static void at(int c, const char *when)
{
	int mark = -1, n = -1;

	NEED(ioctl(c, SIOCATMARK, &mark) == 0);
	NEED(ioctl(c, FIONREAD, &n) == 0);
	say("%s: at mark %d, FIONREAD %d", when, mark, n);
}

static void peek_show(int c, size_t len)
{
	char b[32];
	ssize_t r;

	memset(b, 0, sizeof(b));
	r = recv(c, b, len, MSG_PEEK | MSG_DONTWAIT);
	say("peek %zu = %zd \"%s\"", len, r, r > 0 ? b : "");
}

static void read_show(int c, size_t len)
{
	char b[32];
	ssize_t r;

	memset(b, 0, sizeof(b));
	r = recv(c, b, len, MSG_DONTWAIT);
	if (r < 0)
		say("read %zu = -1 %s", len, errname(errno));
	else
		say("read %zu = %zd \"%s\"", len, r, b);
}

static void mid_stream(void)
{
	int c, s;
	char b[8];

	say("-- urgent byte after data both ways");
	tcp_pair(&c, &s);
	SHOW(send(s, "hello", 5, 0));
	SHOW(recv(c, b, 5, MSG_WAITALL));
	SHOW(send(c, "hi", 2, 0));
	SHOW(recv(s, b, 2, MSG_WAITALL));
	SHOW(send(s, "abc", 3, 0));
	SHOW(send(s, "!", 1, MSG_OOB));
	SHOW(send(s, "def", 3, 0));
	NEED(wait_ev(c, POLLPRI, 5000));
	msleep(50);
	at(c, "before");
	peek_show(c, 16);
	read_show(c, 2);
	peek_show(c, 16);
	at(c, "one before");
	read_show(c, 1);
	at(c, "at the mark");
	peek_show(c, 16);
	memset(b, 0, sizeof(b));
	SHOW(recv(c, b, 1, MSG_OOB));
	say("oob \"%s\"", b);
	read_show(c, 16);
	read_show(c, 16);
	at(c, "after");
	/* both directions still carry data */
	SHOW(send(c, "back", 4, 0));
	memset(b, 0, sizeof(b));
	SHOW(recv(s, b, 4, MSG_WAITALL));
	say("got \"%s\"", b);
	SHOW(send(s, "more", 4, 0));
	memset(b, 0, sizeof(b));
	SHOW(recv(c, b, 4, MSG_WAITALL));
	say("got \"%s\"", b);
	close(s);
	SHOW(recv(c, b, sizeof(b), 0));
	close(c);
}

static void first_byte(void)
{
	int c, s;
	char b[8];

	say("-- urgent byte first");
	tcp_pair(&c, &s);
	SHOW(send(s, "#", 1, MSG_OOB));
	SHOW(send(s, "z", 1, 0));
	NEED(wait_ev(c, POLLPRI, 5000));
	msleep(50);
	at(c, "first");
	memset(b, 0, sizeof(b));
	SHOW(recv(c, b, 1, MSG_OOB));
	say("oob \"%s\"", b);
	read_show(c, 16);
	read_show(c, 16);
	SHOW(send(c, "ok", 2, 0));
	memset(b, 0, sizeof(b));
	SHOW(recv(s, b, 2, MSG_WAITALL));
	say("got \"%s\"", b);
	close(c);
	close(s);
}

int main(void)
{
	mid_stream();
	first_byte();
	return 0;
}
