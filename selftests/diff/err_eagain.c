// SPDX-License-Identifier: GPL-2.0
/*
 * EAGAIN: recv on an empty non-blocking socket, MSG_DONTWAIT on a blocking
 * one, accept on an empty non-blocking listener; send on a full send path
 * (peer not reading) until EAGAIN, POLLOUT is then off; once the peer
 * drains everything, POLLOUT comes back and every byte arrives in order.
 */
#include "diff.h"

int main(void)
{
	int c, s, sz = 16384;
	char *buf = malloc(65536), rb[65536];
	size_t total = 0, got = 0;
	uint32_t hs = 0, hr = 0;
	ssize_t r;
	int saw_eagain = 0;

	NEED(buf);
	tcp_pair(&c, &s);
	SHOW(recv(c, rb, 10, MSG_DONTWAIT));
	set_nonblock(c, 1);
	SHOW(recv(c, rb, 10, 0));
	SHOW(read(c, rb, 10));
	say("poll idle = %s", pollmask(poll1(c, POLL_ALL, 0)));
	NEED(setsockopt(c, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)) == 0);
	NEED(setsockopt(s, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz)) == 0);
	for (;;) {
		pattern(buf, 65536, total, 1);
		r = send(c, buf, 65536, 0);
		if (r < 0) {
			saw_eagain = errno == EAGAIN;
			break;
		}
		hs = csum(hs, buf, r);
		total += r;
		if (total > (64u << 20))
			break;
	}
	say("send until full ended with EAGAIN: %s", YN(saw_eagain));
	say("POLLOUT while full: %s", YN(poll1(c, POLLOUT, 100) & POLLOUT));
	SHOW(send(c, buf, 1, MSG_DONTWAIT));
	/* drain on the peer */
	set_nonblock(s, 1);
	while (got < total) {
		r = recv(s, rb, sizeof(rb), 0);
		if (r < 0 && errno == EAGAIN) {
			NEED(wait_ev(s, POLLIN, 5000));
			continue;
		}
		NEED(r > 0);
		hr = csum(hr, rb, r);
		got += r;
	}
	say("all bytes received, checksum equal: %s", YN(hr == hs));
	say("POLLOUT after drain: %s", YN(wait_ev(c, POLLOUT, 5000)));
	SHOW(recv(s, rb, 10, 0));
	{
		uint16_t port;
		int l = tcp_listener(&port);

		set_nonblock(l, 1);
		SHOW(accept(l, NULL, NULL));
		SHOW(accept4(l, NULL, NULL, SOCK_NONBLOCK));
		close(l);
	}
	free(buf);
	return 0;
}
