// SPDX-License-Identifier: GPL-2.0
/*
 * The fd numbers an application gets do not depend on libvelo, whose
 * stacks keep fds of their own: after a connection is made and accepted,
 * socket(), dup() and open() get the numbers the kernel gives, and a
 * closed number is reused. Closing every fd above the application's own
 * (closefrom, close_range) and then dup2()ing a socket onto the top 64
 * numbers of the fd table (under a soft RLIMIT_NOFILE of 1024, the common
 * default) leave its connection working.
 */
#include "diff.h"

static int c, s;

static void echo(const char *when)
{
	char b[8] = { 0 };

	say("%s: echo %s", when,
	    YN(send(c, "ping", 4, 0) == 4 && read_full(s, b, 4) == 4 && !memcmp(b, "ping", 4) &&
	       send(s, "pong", 4, 0) == 4 && read_full(c, b, 4) == 4 && !memcmp(b, "pong", 4)));
}

int main(void)
{
	int l, base, n, d, f, c2, s2, lim, top, ok = 1;
	struct rlimit rl;
	uint16_t port;

	NEED(getrlimit(RLIMIT_NOFILE, &rl) == 0);
	rl.rlim_cur = rl.rlim_max < 1024 ? rl.rlim_max : 1024;
	NEED(setrlimit(RLIMIT_NOFILE, &rl) == 0);
	lim = (int)rl.rlim_cur;
	l = tcp_listener(&port);
	base = socket(AF_INET, SOCK_STREAM, 0);
	NEED(l >= 0 && base >= 0);
	c = tcp_connect(port);
	s = accept(l, NULL, NULL);
	NEED(c >= 0 && s >= 0);
	say("connected: base+%d, accepted: base+%d", c - base, s - base);
	n = socket(AF_INET, SOCK_STREAM, 0);
	d = dup(c);
	f = open("/dev/null", O_RDONLY | O_CLOEXEC);
	say("then socket: base+%d, dup: base+%d, open: base+%d", n - base, d - base, f - base);
	close(d);
	c2 = tcp_connect(port);
	s2 = accept(l, NULL, NULL);
	NEED(c2 >= 0 && s2 >= 0);
	say("a second connection takes the dup's number: %s, accepted: base+%d", YN(c2 == d),
	    s2 - base);
	close(c2);
	close(s2);
	echo("before closefrom");

	top = f + 1;
	closefrom(top);
	echo("after closefrom above the application's fds");
	SHOW(close_range((unsigned int)top, ~0u, 0));
	echo("after close_range");

	for (int fd = lim - 64; fd < lim; fd++)
		ok &= dup2(c, fd) == fd;
	say("dup2 onto the top 64 numbers: all ok: %s", YN(ok));
	SHOW(close_range((unsigned int)(lim - 64), (unsigned int)lim - 1, 0));
	echo("after those dups are gone");
	n = socket(AF_INET, SOCK_STREAM, 0);
	say("then socket: base+%d", n - base);
	close(n);
	close(c);
	close(s);
	close(l);
	return 0;
}
