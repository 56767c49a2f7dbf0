// SPDX-License-Identifier: GPL-2.0
/*
 * TCP_CORK and MSG_MORE hold a partial segment, but not forever: with
 * nothing in flight, Linux's probe timer sends it after max(RTO, 200 ms).
 * The peer sees nothing 100 ms after such a send and the bytes within the
 * next 300 ms; a plain send, or taking the cork out, sends at once.
 */
#include "diff.h"

static void show_readable(int fd, const char *when, int ms)
{
	short ev = poll1(fd, POLLIN, ms);

	say("%s, peer within %d ms: %s", when, ms, pollmask(ev));
}

static void take(int fd)
{
	char buf[16];
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

	if (n < 0)
		say("recv: %s", errname(errno));
	else
		say("recv: \"%.*s\"", (int)n, buf);
}

static void cork(int fd, int on)
{
	say("TCP_CORK %d = %s", on,
	    setsockopt(fd, IPPROTO_TCP, TCP_CORK, &on, sizeof(on)) ? errname(errno) : "0");
}

int main(void)
{
	int c, s;

	tcp_pair_fam(AF_INET, &c, &s);
	SHOW(send(c, "abc", 3, MSG_MORE));
	show_readable(s, "after MSG_MORE", 100);
	SHOW(send(c, "d", 1, 0));
	show_readable(s, "after a plain send", 100);
	take(s);

	SHOW(send(c, "efg", 3, MSG_MORE));
	show_readable(s, "MSG_MORE again", 100);
	show_readable(s, "MSG_MORE, later", 300);
	take(s);

	cork(c, 1);
	SHOW(send(c, "hij", 3, 0));
	show_readable(s, "corked", 100);
	show_readable(s, "corked, later", 300);
	take(s);
	SHOW(send(c, "klm", 3, 0));
	show_readable(s, "corked again", 50);
	cork(c, 0);
	show_readable(s, "uncorked", 100);
	take(s);
	return 0;
}
