// SPDX-License-Identifier: GPL-2.0
/*
 * Another thread's calls on a socket being closed or shut down:
 *  - close(fd) while a thread is blocked in recv(fd): Linux does not wake
 *    it; the blocked call holds the socket, data from the peer still
 *    reaches it, and the peer sees EOF only after that call returned;
 *  - shutdown(fd, SHUT_RD) wakes a blocked recv with 0;
 *  - shutdown(SHUT_RDWR) on a listener wakes a blocked accept (EINVAL);
 *  - shutdown(SHUT_WR) does not wake a blocked recv.
 * Synchronisation: the blocked thread reports through a pipe when it
 * returns; "still blocked" is checked with a generous wait; the close
 * comes 300 ms after the thread is about to make its call.
 */
#include "diff.h"

struct blk {
	int fd;
	int kind; /* 0 recv, 1 accept */
	long ret;
	int err;
	char data[16];
	int done[2];
	volatile int calling;
};

static void *blocker(void *arg)
{
	struct blk *b = arg;

	b->calling = 1;
	if (b->kind == 0)
		b->ret = recv(b->fd, b->data, sizeof(b->data) - 1, 0);
	else
		b->ret = accept(b->fd, NULL, NULL);
	b->err = b->ret < 0 ? errno : 0;
	NEED(write(b->done[1], "d", 1) == 1);
	return NULL;
}

static void start(struct blk *b, int fd, int kind, pthread_t *t)
{
	memset(b, 0, sizeof(*b));
	b->fd = fd;
	b->kind = kind;
	NEED(pipe(b->done) == 0);
	NEED(pthread_create(t, NULL, blocker, b) == 0);
	/* the thread is about to make the call: give it ample time to block */
	while (!b->calling)
		msleep(1);
	msleep(300);
}

static const char *returned(struct blk *b, int ms)
{
	return wait_ev(b->done[0], POLLIN, ms) ? "returned" : "still blocked";
}

static void finish(struct blk *b, pthread_t t, const char *what)
{
	pthread_join(t, NULL);
	say("%s: ret %ld %s \"%s\"", what, b->ret, b->ret < 0 ? errname(b->err) : "", b->data);
	close(b->done[0]);
	close(b->done[1]);
}

int main(void)
{
	int c, s, l;
	uint16_t port;
	struct blk b;
	pthread_t t;
	char buf[16];

	/* close while blocked in recv */
	tcp_pair(&c, &s);
	start(&b, c, 0, &t);
	SHOW(close(c));
	say("after close: %s", returned(&b, 300));
	say("peer sees EOF yet: %s", YN(wait_ev(s, POLLIN | POLLRDHUP, 200)));
	SHOW(send(s, "late", 4, 0));
	say("after peer data: %s", returned(&b, 5000));
	finish(&b, t, "recv blocked across close");
	say("peer sees EOF now: %s", YN(wait_ev(s, POLLIN | POLLRDHUP, 5000)));
	SHOW(recv(s, buf, sizeof(buf), 0));
	close(s);

	/* shutdown(SHUT_WR) does not wake recv, SHUT_RD does */
	tcp_pair(&c, &s);
	start(&b, c, 0, &t);
	SHOW(shutdown(c, SHUT_WR));
	say("after SHUT_WR: %s", returned(&b, 300));
	SHOW(shutdown(c, SHUT_RD));
	say("after SHUT_RD: %s", returned(&b, 5000));
	finish(&b, t, "recv woken by SHUT_RD");
	close(c);
	close(s);

	/* shutdown on a listener wakes accept */
	l = tcp_listener(&port);
	start(&b, l, 1, &t);
	SHOW(shutdown(l, SHUT_RDWR));
	say("after listener shutdown: %s", returned(&b, 5000));
	finish(&b, t, "accept woken by shutdown");
	c = tcp_connect(port);
	say("connect after listener shutdown: %s", c >= 0 ? "ok" : errname(errno));
	if (c >= 0)
		close(c);
	close(l);

	/* close of a listener while blocked in accept: not woken; a connection still comes */
	l = tcp_listener(&port);
	start(&b, l, 1, &t);
	SHOW(close(l));
	say("after listener close: %s", returned(&b, 300));
	c = tcp_connect(port);
	say("connect to closed-but-busy listener: %s", c >= 0 ? "ok" : errname(errno));
	say("then: %s", returned(&b, 5000));
	pthread_join(t, NULL);
	say("accept blocked across close: %s", b.ret >= 0 ? "got a connection" : errname(b.err));
	if (b.ret >= 0)
		close((int)b.ret);
	if (c >= 0)
		close(c);
	return 0;
}
