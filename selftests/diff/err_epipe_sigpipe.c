// SPDX-License-Identifier: GPL-2.0
/*
 * EPIPE and SIGPIPE: sending after our own shutdown(SHUT_WR) fails with
 * EPIPE and raises SIGPIPE (counted by a handler) through send, write,
 * writev, sendmsg and sendto; MSG_NOSIGNAL suppresses the signal; with
 * SIGPIPE ignored the error stays. After the peer resets the connection
 * the first send reports ECONNRESET, the next ones EPIPE.
 */
#include "diff.h"
#include <sys/uio.h>

static volatile sig_atomic_t npipe;

static void on_pipe(int sig)
{
	(void)sig;
	npipe++;
}

static void count(const char *what)
{
	say("  SIGPIPE count after %s: %d", what, (int)npipe);
}

int main(void)
{
	int c, s;
	char b[8] = "data";
	struct iovec iov = { b, 4 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct linger lg = { 1, 0 };

	NEED(sig_install(SIGPIPE, on_pipe, 0) == 0);
	tcp_pair(&c, &s);
	SHOW(shutdown(c, SHUT_WR));
	SHOW(send(c, b, 4, 0));
	count("send");
	SHOW(write(c, b, 4));
	count("write");
	SHOW(writev(c, &iov, 1));
	count("writev");
	SHOW(sendmsg(c, &m, 0));
	count("sendmsg");
	SHOW(sendto(c, b, 4, 0, NULL, 0));
	count("sendto");
	SHOW(send(c, b, 4, MSG_NOSIGNAL));
	count("send MSG_NOSIGNAL");
	SHOW(sendmsg(c, &m, MSG_NOSIGNAL));
	count("sendmsg MSG_NOSIGNAL");
	SHOW(send(c, b, 0, 0));
	count("send of 0 bytes");
	signal(SIGPIPE, SIG_IGN);
	SHOW(send(c, b, 4, 0));
	count("send with SIGPIPE ignored");
	/* the peer can still send to us */
	SHOW(send(s, "back", 4, 0));
	SHOW(recv(c, b, 4, MSG_WAITALL));
	close(c);
	close(s);

	NEED(sig_install(SIGPIPE, on_pipe, 0) == 0);
	npipe = 0;
	tcp_pair(&c, &s);
	NEED(setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) == 0);
	SHOW(close(s));
	NEED(wait_ev(c, POLLIN | POLLRDHUP, 5000));
	say("poll after peer RST = %s", pollmask(poll1(c, POLLIN | POLLOUT | POLLRDHUP, 0)));
	SHOW(send(c, b, 4, 0));
	count("first send after RST");
	SHOW(send(c, b, 4, 0));
	count("second send after RST");
	SHOW(recv(c, b, 4, 0));
	SHOW(send(c, b, 4, MSG_NOSIGNAL));
	count("send MSG_NOSIGNAL after RST");
	close(c);
	return 0;
}
