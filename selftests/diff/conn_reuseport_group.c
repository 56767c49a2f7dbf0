// SPDX-License-Identifier: GPL-2.0
/*
 * Three listeners with SO_REUSEPORT on one port (a server's per-thread
 * listeners): a socket without the option cannot bind the port; 30
 * connections are all accepted and answered, and each listener gets some
 * of them, as Linux spreads a group's connections by their 4-tuple; after
 * one listener closes, the other two take all of the next 30. (Across
 * namespaces under libvelo the engine listens beside each kernel listener
 * from its first accept() on: the engine had no SO_REUSEPORT, so the first
 * listener's engine half took every connection and the others none.)
 */
#include "diff.h"

#define LISTENERS 3
#define CONNS 30

static int l[LISTENERS], c[CONNS];

static void connect_all(const union sa *a, socklen_t al)
{
	for (int i = 0; i < CONNS; i++) {
		c[i] = peer_socket(AF_INET);
		NEED(c[i] >= 0 && connect(c[i], &a->sa, al) == 0);
	}
	msleep(200);
}

/* Accepts what listeners [from, LISTENERS) have queued, answering each. */
static int accept_all(int from, int got[LISTENERS])
{
	int total = 0, s;

	for (int i = from; i < LISTENERS; i++) {
		got[i] = 0;
		set_nonblock(l[i], 1);
		while ((s = accept(l[i], NULL, NULL)) >= 0) {
			NEED(send(s, "ok", 2, 0) == 2);
			close(s);
			got[i]++;
		}
		NEED(errno == EAGAIN);
		set_nonblock(l[i], 0);
		total += got[i];
	}
	return total;
}

static int answered(void)
{
	int n = 0;
	char b[4];

	for (int i = 0; i < CONNS; i++) {
		n += recv(c[i], b, sizeof(b), 0) == 2;
		close(c[i]);
	}
	return n;
}

int main(void)
{
	int one = 1, got[LISTENERS], other, i;
	uint16_t port = 0;
	union sa a;
	socklen_t al = sa_self(&a, AF_INET, 0);

	for (i = 0; i < LISTENERS; i++) {
		l[i] = socket(AF_INET, SOCK_STREAM, 0);
		NEED(l[i] >= 0);
		SHOW(setsockopt(l[i], SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)));
		if (port)
			al = sa_self(&a, AF_INET, port);
		SHOW(bind(l[i], &a.sa, al));
		SHOW(listen(l[i], 64));
		port = local_port(l[i]);
		engine_listens(l[i]);
	}
	other = socket(AF_INET, SOCK_STREAM, 0);
	al = sa_self(&a, AF_INET, port);
	SHOW(bind(other, &a.sa, al));
	close(other);
	connect_all(&a, al);
	say("accepted %d of %d", accept_all(0, got), CONNS);
	for (i = 0; i < LISTENERS; i++)
		say("listener %d got some: %s", i, YN(got[i] > 0));
	say("clients answered: %d", answered());
	close(l[0]);
	connect_all(&a, al);
	say("after one closed: accepted %d of %d", accept_all(1, got), CONNS);
	say("clients answered: %d", answered());
	return 0;
}
