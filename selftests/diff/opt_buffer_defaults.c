// SPDX-License-Identifier: GPL-2.0
/*
 * The buffer sizes a program reads without having set them: SO_SNDBUF and
 * SO_RCVBUF of a fresh socket (tcp_wmem[1], tcp_rmem[1]), after connect()
 * (Linux sizes the send buffer from the MSS and the window then: only that
 * it grew is shown, its size follows the route's cached metrics such as
 * reordering), after a byte each way, and TCP_MAXSEG before and after
 * connecting and after a byte each way; SO_SNDBUF set by the program is
 * twice its value from then on; SO_RCVBUF of a reader of 16 MB has grown
 * (receive autotuning). Under libvelo a wire connection's kernel socket
 * never connects: it said tcp_wmem[1].
 */
#include "diff.h"
#include <stdbool.h>

static int fresh_sndbuf;

static void show_bufs(int fd, const char *what, bool maxseg, bool grown)
{
	int sb = -1, rb = -1, mss = -1;
	socklen_t l = sizeof(sb);
	char sbs[32];

	NEED(getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sb, &l) == 0);
	l = sizeof(rb);
	NEED(getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rb, &l) == 0);
	l = sizeof(mss);
	NEED(getsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &mss, &l) == 0);
	if (!fresh_sndbuf)
		fresh_sndbuf = sb;
	if (grown)
		snprintf(sbs, sizeof(sbs), "%s", sb > fresh_sndbuf ? "grown" : "not grown");
	else
		snprintf(sbs, sizeof(sbs), "%d", sb);
	if (maxseg)
		say("%s: SO_SNDBUF %s SO_RCVBUF %d TCP_MAXSEG %d", what, sbs, rb, mss);
	else
		say("%s: SO_SNDBUF %s SO_RCVBUF %d", what, sbs, rb);
}

/* A reader that takes 16 MB as fast as it comes: receive autotuning grows its buffer. */
static void bulk_read_grows(void)
{
	static char big[1 << 20];
	int c, s, before, after;
	struct drain d;

	tcp_pair(&c, &s);
	before = int_opt(c, SOL_SOCKET, SO_RCVBUF);
	drain_start(&d, c);
	for (int i = 0; i < 16; i++)
		NEED(write_full(s, big, sizeof(big)) == (ssize_t)sizeof(big));
	NEED(shutdown(s, SHUT_WR) == 0);
	NEED(drain_join(&d) == 16u << 20);
	after = int_opt(c, SOL_SOCKET, SO_RCVBUF);
	say("a reader of 16 MB: SO_RCVBUF grew %s", YN(after > before));
	close(c);
	close(s);
}

int main(void)
{
	int c = socket(AF_INET, SOCK_STREAM, 0), l, s, v = 100000;
	uint16_t port;
	union sa a;
	socklen_t al;
	char b[4];

	show_bufs(c, "fresh", true, false);
	l = tcp_listener_fam(AF_INET, 16, &port);
	al = sa_loop(&a, AF_INET, port);
	SHOW(connect(c, &a.sa, al));
	show_bufs(c, "connected", true, true);
	s = accept(l, NULL, NULL);
	NEED(s >= 0);
	SHOW(send(c, "x", 1, 0));
	NEED(wait_ev(s, POLLIN, 2000) && recv(s, b, 1, 0) == 1);
	SHOW(send(s, "y", 1, 0));
	NEED(wait_ev(c, POLLIN, 2000) && recv(c, b, 1, 0) == 1);
	/* on lo, the client's MSS moves to half the window the peer offered */
	show_bufs(c, "a byte each way", true, true);
	SHOW(setsockopt(c, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v)));
	show_bufs(c, "SO_SNDBUF 100000", false, false);
	bulk_read_grows();
	return 0;
}
