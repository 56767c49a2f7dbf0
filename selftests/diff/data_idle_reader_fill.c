// SPDX-License-Identifier: GPL-2.0
/*
 * A reader that does not read lets its peer fill its whole receive
 * buffer: the window it offers grows with each segment that arrives (as
 * tcp_grow_window()), not only with what the application reads. With the
 * default buffer (tcp_rmem[1], 128 KiB) the queue holds 96 KiB at least,
 * with SO_RCVBUF 1 MiB set before connect() (2 MiB) 1.5 MiB (more where
 * the peer's send buffer and the reader's share a loopback ring). The
 * reader then reads it all, in order.
 */
#include "diff.h"
#include <linux/sockios.h>

static void idle(int family, int rcvbuf)
{
	static char buf[1 << 16];
	uint32_t sent_sum = 0, got_sum = 0;
	long sent = 0, got = 0;
	union sa a;
	uint16_t port;
	int l = tcp_listener_fam(family, 4, &port);
	socklen_t al = sa_loop(&a, family, port);
	int c = socket(family, SOCK_STREAM, 0), s, inq = -1;
	ssize_t r;

	NEED(c >= 0);
	if (rcvbuf)
		NEED(setsockopt(c, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) == 0);
	NEED(connect(c, &a.sa, al) == 0);
	s = accept(l, NULL, NULL);
	NEED(s >= 0);
	close(l);
	set_nonblock(s, 1);
	for (int round = 0; round < 8; round++) {
		for (;;) {
			pattern(buf, sizeof(buf), (uint64_t)sent, 7);
			r = send(s, buf, sizeof(buf), 0);
			if (r <= 0)
				break;
			sent_sum = csum(sent_sum, buf, (size_t)r);
			sent += r;
		}
		NEED(errno == EAGAIN);
		msleep(50);
	}
	NEED(ioctl(c, SIOCINQ, &inq) == 0);
	say("%s, SO_RCVBUF %s: the reader's queue holds %s: %s",
	    family == AF_INET ? "IPv4" : "IPv6", rcvbuf ? "1 MiB" : "unset",
	    rcvbuf ? "1.5 MiB" : "96 KiB", YN(inq >= (rcvbuf ? 1572864 : 98304)));
	set_nonblock(s, 0);
	shutdown(s, SHUT_WR);
	set_nonblock(c, 0);
	while ((r = recv(c, buf, sizeof(buf), 0)) > 0) {
		got_sum = csum(got_sum, buf, (size_t)r);
		got += r;
	}
	say("  read back: all of it %s, in order %s", YN(got == sent), YN(got_sum == sent_sum));
	close(c);
	close(s);
}

int main(void)
{
	idle(AF_INET, 0);
	idle(AF_INET, 1 << 20);
	idle(AF_INET6, 0);
	idle(AF_INET6, 1 << 20);
	return 0;
}
