// SPDX-License-Identifier: GPL-2.0
/*
 * close() and pending data:
 *  - data written and then close()d without linger is not lost: the peer,
 *    which starts reading only after the close, gets every byte, then EOF;
 *  - with SO_LINGER {1, 10} close() waits until the peer has taken the
 *    data (a thread starts draining after 300 ms), then returns 0;
 *  - with SO_LINGER {1, 0} close() resets: the peer gets less than was
 *    written, then ECONNRESET;
 *  - closing a listener with connections still in its accept queue resets
 *    them (their clients get ECONNRESET).
 */
#include "diff.h"

static int g_fd;
static size_t g_got;
static uint32_t g_h;
static int g_err;

static void *drain(void *arg)
{
	static char b[65536];
	ssize_t r;

	msleep((int)(long)arg);
	g_got = 0;
	g_h = 0;
	while ((r = recv(g_fd, b, sizeof(b), 0)) > 0) {
		g_h = csum(g_h, b, r);
		g_got += r;
	}
	g_err = r < 0 ? errno : 0;
	return NULL;
}

/* fill the connection (nonblocking) and return the bytes written + checksum */
static size_t fill(int fd, uint32_t *h)
{
	static char b[65536];
	size_t total = 0;
	ssize_t w;

	set_nonblock(fd, 1);
	*h = 0;
	for (;;) {
		pattern(b, sizeof(b), total, 31);
		w = send(fd, b, sizeof(b), 0);
		if (w < 0) {
			NEED(errno == EAGAIN);
			break;
		}
		*h = csum(*h, b, w);
		total += w;
	}
	set_nonblock(fd, 0);
	return total;
}

int main(void)
{
	int c, s, l, i;
	uint16_t port;
	uint32_t h;
	size_t total;
	pthread_t t;
	struct linger lg;
	long t0;

	/* plain close: nothing lost */
	tcp_pair(&c, &s);
	total = fill(c, &h);
	SHOW(close(c));
	g_fd = s;
	drain((void *)0L);
	say("plain close: peer got all %s, checksum equal %s, then %s", YN(g_got == total),
	    YN(g_h == h), g_err ? errname(g_err) : "EOF");
	close(s);

	/* linger 10 s: close waits for the peer to take the data */
	tcp_pair(&c, &s);
	total = fill(c, &h);
	lg = (struct linger){ 1, 10 };
	NEED(setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) == 0);
	g_fd = s;
	NEED(pthread_create(&t, NULL, drain, (void *)300L) == 0);
	t0 = now_ms();
	SHOW(close(c));
	say("linger close waited for the peer (>= 250 ms, < 9 s): %s",
	    YN(now_ms() - t0 >= 250 && now_ms() - t0 < 9000));
	pthread_join(t, NULL);
	say("linger close: peer got all %s, checksum equal %s, then %s", YN(g_got == total),
	    YN(g_h == h), g_err ? errname(g_err) : "EOF");
	close(s);

	/* linger 0: reset */
	tcp_pair(&c, &s);
	total = fill(c, &h);
	lg = (struct linger){ 1, 0 };
	NEED(setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) == 0);
	SHOW(close(c));
	g_fd = s;
	drain((void *)0L);
	say("abortive close: peer got less than written %s, then %s", YN(g_got < total),
	    g_err ? errname(g_err) : "EOF");
	close(s);

	/* a listener closed with 3 connections in its accept queue */
	l = tcp_listener(&port);
	{
		int cs[3];

		for (i = 0; i < 3; i++) {
			cs[i] = tcp_connect(port);
			NEED(cs[i] >= 0);
			NEED(send(cs[i], "hi", 2, 0) == 2);
		}
		/* all three are established in the queue */
		{
			long end = now_ms() + 5000;

			while (now_ms() < end) {
				int n = 0;

				/* accept queue length is not exposed; TCP_INFO of the clients is */
				for (i = 0; i < 3; i++)
					n += tcp_state(cs[i]) == TCP_ESTABLISHED;
				if (n == 3)
					break;
				msleep(2);
			}
		}
		msleep(50);
		SHOW(close(l));
		for (i = 0; i < 3; i++) {
			char b[4];
			ssize_t r;

			NEED(wait_ev(cs[i], POLLIN | POLLERR | POLLHUP, 5000));
			r = recv(cs[i], b, sizeof(b), 0);
			say("queued client %d: recv = %zd %s", i, r, r < 0 ? errname(errno) : "");
			close(cs[i]);
		}
	}
	return 0;
}
