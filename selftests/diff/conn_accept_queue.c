// SPDX-License-Identifier: GPL-2.0
/*
 * A listener of the program's own (across namespaces: the engine's, its
 * clients the peer's) and what happens to connections before accept():
 *  - data and FIN before accept(): the accepted socket reads them, then 0;
 *  - a client's RST before accept(): still accepted (Linux keeps it
 *    queued), and the socket reports the reset;
 *  - the listener closed with connections queued: they are reset;
 *  - listen() again with another backlog; shutdown(SHUT_RD) stops the
 *    listening (accept EINVAL, the queued connection reset) and the socket
 *    may listen again.
 */
#include "diff.h"

static int listener(uint16_t *port, int backlog)
{
	union sa a;
	socklen_t l = sa_self(&a, AF_INET, 0);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	NEED(fd >= 0 && bind(fd, &a.sa, l) == 0 && listen(fd, backlog) == 0);
	*port = local_port(fd);
	return fd;
}

static int client(uint16_t port)
{
	union sa a;
	socklen_t l = sa_self(&a, AF_INET, port);
	int fd = peer_socket(AF_INET);

	NEED(fd >= 0 && connect(fd, &a.sa, l) == 0);
	return fd;
}

static void early_data(int l, uint16_t port)
{
	char b[64];
	int c = client(port), s;

	SHOW(send(c, "early", 5, 0));
	NEED(shutdown(c, SHUT_WR) == 0);
	msleep(100);
	say("listener: %s", pollmask(poll1(l, POLL_ALL, 0)));
	s = accept(l, NULL, NULL);
	NEED(s >= 0);
	say("accepted: %s", pollmask(poll1(s, POLL_ALL, 0)));
	SHOW(recv(s, b, sizeof(b), 0));
	SHOW(recv(s, b, sizeof(b), 0));
	SHOW(send(s, "late", 4, 0));
	SHOW(recv(c, b, sizeof(b), 0));
	close(c);
	close(s);
}

static void early_reset(int l, uint16_t port)
{
	struct linger lg = { 1, 0 };
	char b[64];
	int c = client(port), s;

	NEED(setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) == 0);
	msleep(50);
	close(c);
	msleep(100);
	say("listener after the client's RST: %s", pollmask(poll1(l, POLL_ALL, 0)));
	set_nonblock(l, 1);
	s = accept(l, NULL, NULL);
	say("accepted: %s", s >= 0 ? "yes" : errname(errno));
	if (s >= 0) {
		say("accepted: %s", pollmask(poll1(s, POLL_ALL, 0)));
		SHOW(recv(s, b, sizeof(b), 0));
		SHOW(send(s, "x", 1, 0));
		close(s);
	}
	SHOW(accept(l, NULL, NULL));
	set_nonblock(l, 0);
}

static void close_with_queue(int l, uint16_t port)
{
	int c = client(port), c2 = client(port);
	char b[64];

	SHOW(send(c2, "pending", 7, 0));
	msleep(50);
	close(l);
	msleep(100);
	say("queued client: %s", pollmask(poll1(c, POLL_ALL, 0)));
	SHOW(recv(c, b, sizeof(b), 0));
	SHOW(send(c2, "x", 1, 0));
	say("queued client that sent: %s", pollmask(poll1(c2, POLL_ALL, 0)));
	SHOW(recv(c2, b, sizeof(b), 0));
	close(c);
	close(c2);
}

static void relisten_and_shutdown(void)
{
	uint16_t port;
	int l = listener(&port, 1), c;
	char b[64];

	SHOW(listen(l, 10));
	c = client(port);
	msleep(50);
	SHOW(shutdown(l, SHUT_RD));
	say("listener after shutdown: %s", pollmask(poll1(l, POLL_ALL, 0)));
	SHOW(accept(l, NULL, NULL));
	msleep(50);
	say("its queued client: %s", pollmask(poll1(c, POLL_ALL, 0)));
	SHOW(recv(c, b, sizeof(b), 0));
	SHOW(listen(l, 5));
	close(c);
	close(l);
}

int main(void)
{
	uint16_t port;
	int l = listener(&port, 8);

	signal(SIGPIPE, SIG_IGN);
	early_data(l, port);
	early_reset(l, port);
	close_with_queue(l, port);
	relisten_and_shutdown();
	return 0;
}
