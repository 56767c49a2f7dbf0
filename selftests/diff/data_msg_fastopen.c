// SPDX-License-Identifier: GPL-2.0
/*
 * MSG_FASTOPEN on a socket that is connected (or connecting): Linux's
 * tcp_sendmsg_fastopen() runs before anything else and fails with its
 * connect's EISCONN (EALREADY in the handshake), or EOPNOTSUPP for an
 * AF_UNSPEC address; even after SHUT_WR (no EPIPE, no SIGPIPE). Under
 * libvelo an accelerated socket ignored the flag and sent the byte. Also
 * how send's address is checked on a connection that ignores it: sendto()
 * and sendmsg() fault on an unreadable one, sendmsg() cuts a long one and
 * refuses a negative length (libvelo's sendmsg() looked at none of it).
 */
#include "diff.h"

static void on(const char *what, int fd)
{
	union sa a;
	socklen_t l = sa_loop(&a, AF_INET, 9);
	struct iovec iov = { (char *)"y", 1 };
	struct msghdr m = { .msg_name = &a, .msg_namelen = l, .msg_iov = &iov, .msg_iovlen = 1 };

	say("-- %s", what);
	SHOW(send(fd, "x", 1, MSG_FASTOPEN));
	SHOW(send(fd, "x", 1, MSG_FASTOPEN | MSG_DONTWAIT));
	SHOW(sendto(fd, "x", 1, MSG_FASTOPEN, &a.sa, l));
	SHOW(sendmsg(fd, &m, MSG_FASTOPEN));
	a.sa.sa_family = AF_UNSPEC;
	SHOW(sendto(fd, "x", 1, MSG_FASTOPEN, &a.sa, l));
	a.sa.sa_family = AF_INET;
	SHOW(sendto(fd, "x", 1, 0, (void *)8, 16));
	SHOW(sendto(fd, "x", 1, 0, (void *)8, 0));
	m.msg_name = (void *)8;
	SHOW(sendmsg(fd, &m, 0));
	m.msg_namelen = 0;
	SHOW(sendmsg(fd, &m, 0));
	m.msg_name = &a;
	m.msg_namelen = 4096;
	SHOW(sendmsg(fd, &m, 0));
	m.msg_namelen = -1;
	SHOW(sendmsg(fd, &m, 0));
	SHOW(shutdown(fd, SHUT_WR));
	SHOW(send(fd, "x", 1, MSG_FASTOPEN));
	SHOW(send(fd, "x", 1, MSG_NOSIGNAL));
}

/* In the handshake: across namespaces, to an address of the link nobody has. */
static void connecting(void)
{
	union sa a;
	socklen_t l;
	int c;

	if (!peer_env(AF_INET)) {
		say("-- connecting: across namespaces only");
		return;
	}
	l = sa_self(&a, AF_INET, 80);
	a.in.sin_addr.s_addr = htonl((ntohl(a.in.sin_addr.s_addr) & ~0xffu) | 99);
	c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	NEED(c >= 0);
	say("-- connecting");
	SHOW(connect(c, &a.sa, l));
	SHOW(send(c, "x", 1, MSG_FASTOPEN));
	SHOW(send(c, "x", 1, 0));
	close(c);
}

int main(void)
{
	char buf[64];
	int c, s;

	signal(SIGPIPE, SIG_IGN);
	tcp_pair(&c, &s);
	on("connected", c);
	on("accepted", s);
	/* the three bytes the sends with an ignored address sent, then EOF */
	SHOW(recv(c, buf, 3, MSG_WAITALL));
	SHOW(recv(c, buf, sizeof(buf), 0));
	SHOW(recv(s, buf, 3, MSG_WAITALL));
	SHOW(recv(s, buf, sizeof(buf), 0));
	close(c);
	close(s);
	connecting();
	return 0;
}
