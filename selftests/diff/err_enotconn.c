// SPDX-License-Identifier: GPL-2.0
/*
 * Calls on sockets that are not connected: a fresh TCP socket, a bound one,
 * a listening one (recv, send, read, write, getpeername, shutdown, ...).
 * Whatever Linux returns (ENOTCONN, EPIPE + SIGPIPE, ...) is the rule.
 */
#include "diff.h"

static volatile sig_atomic_t npipe;

static void on_pipe(int sig)
{
	(void)sig;
	npipe++;
}

static void calls(const char *what, int fd)
{
	char b[8] = "x";
	union sa a;
	socklen_t l = sizeof(a);
	int v;
	socklen_t vl = sizeof(v);

	say("-- %s", what);
	npipe = 0;
	SHOW(recv(fd, b, sizeof(b), 0));
	SHOW(recv(fd, b, sizeof(b), MSG_DONTWAIT));
	SHOW(read(fd, b, sizeof(b)));
	SHOW(send(fd, b, 1, 0));
	SHOW(write(fd, b, 1));
	SHOW(send(fd, b, 1, MSG_NOSIGNAL));
	say("SIGPIPE count = %d", (int)npipe);
	SHOW(getpeername(fd, &a.sa, &l));
	SHOW(shutdown(fd, SHUT_RD));
	SHOW(shutdown(fd, SHUT_WR));
	SHOW(shutdown(fd, SHUT_RDWR));
	SHOW(shutdown(fd, 7));
	SHOW(getsockopt(fd, SOL_SOCKET, SO_ERROR, &v, &vl));
	say("SO_ERROR = %s", errname(v));
	say("poll = %s", pollmask(poll1(fd, POLL_ALL, 0)));
}

int main(void)
{
	int fd;
	union sa a;
	socklen_t al = sa_self(&a, AF_INET, 0); /* bound to its own address */

	NEED(sig_install(SIGPIPE, on_pipe, 0) == 0);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	calls("fresh socket", fd);
	close(fd);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	NEED(bind(fd, &a.sa, al) == 0);
	calls("bound socket", fd);
	close(fd);
	fd = socket(AF_INET6, SOCK_STREAM, 0);
	calls("fresh IPv6 socket", fd);
	close(fd);
	fd = tcp_listener(NULL);
	calls("listening socket", fd);
	SHOW(listen(fd, 5));
	say("SO_ACCEPTCONN after shutdown of listener:");
	{
		int v = -1;
		socklen_t vl = sizeof(v);

		getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &vl);
		say("  %d", v);
	}
	set_nonblock(fd, 1);
	SHOW(accept(fd, NULL, NULL));
	close(fd);
	return 0;
}
