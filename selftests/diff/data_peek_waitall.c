// SPDX-License-Identifier: GPL-2.0
/*
 * recv(MSG_PEEK | MSG_WAITALL): Linux's tcp_recvmsg() peeks on until the
 * whole length is queued, taking nothing; it returns what is there at EOF,
 * at SO_RCVTIMEO, after a signal, and at once on a non-blocking socket.
 * Into two pieces too. Under libvelo the peek returned what was queued at
 * once, on loopback and on the wire (5 of 8 bytes, the rest 200 ms away).
 * Also a plain MSG_PEEK (and MSG_PEEK | MSG_TRUNC) into several pieces,
 * which fills them in turn: on the wire it stopped after the first piece.
 */
#include "diff.h"

#include <sys/uio.h>

static int c, s;

static void *send_later(void *arg)
{
	msleep(200);
	NEED(send(s, arg, strlen(arg), 0) == (ssize_t)strlen(arg));
	return NULL;
}

static void on_alarm(int sig)
{
	(void)sig;
}

static const char *how_soon(long t0)
{
	long ms = now_ms() - t0;

	return ms < 100 ? "at once" : ms < 2000 ? "after a wait" : "too late";
}

/* A peek of 8 with 5 bytes queued; then a read of all that is there. */
static void peek8(const char *what, int flags)
{
	char b[16];
	long t0 = now_ms();
	ssize_t r = recv(c, b, 8, MSG_PEEK | MSG_WAITALL | flags);

	say("%s: peek = %zd, %s", what, r, how_soon(t0));
}

static void take_all(void)
{
	char b[64];

	msleep(50);
	SHOW(recv(c, b, sizeof(b), MSG_DONTWAIT));
}

static void peek_pieces(void)
{
	char b1[4] = "", b2[4] = "", b3[64];
	struct iovec iov[3] = { { b1, 4 }, { b2, 4 }, { b3, sizeof(b3) } };
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = 3 };

	tcp_pair(&c, &s);
	NEED(send(s, "123456", 6, 0) == 6);
	msleep(50);
	SHOW(recvmsg(c, &m, MSG_PEEK));
	say("\"%.4s\" \"%.4s\"", b1, b2);
	m.msg_iovlen = 2;
	SHOW(recvmsg(c, &m, MSG_PEEK | MSG_TRUNC));
	SHOW(readv(c, iov, 2));
	say("\"%.4s\" \"%.4s\"", b1, b2);
	close(c);
	close(s);
}

int main(void)
{
	struct timeval tv = { 0, 300000 };
	char b1[4], b2[4];
	struct iovec iov[2] = { { b1, 4 }, { b2, 4 } };
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2 };
	pthread_t t;
	ssize_t r;
	long t0;

	tcp_pair(&c, &s);
	NEED(send(s, "12345", 5, 0) == 5);
	msleep(50);
	NEED(pthread_create(&t, NULL, send_later, "678") == 0);
	peek8("the rest comes", 0);
	pthread_join(t, NULL);
	take_all();

	NEED(send(s, "12345", 5, 0) == 5);
	msleep(50);
	NEED(pthread_create(&t, NULL, send_later, "678") == 0);
	t0 = now_ms();
	r = recvmsg(c, &m, MSG_PEEK | MSG_WAITALL);
	say("two pieces: peek = %zd, %s, \"%.4s%.4s\"", r, how_soon(t0), b1, b2);
	pthread_join(t, NULL);
	take_all();

	NEED(send(s, "12345", 5, 0) == 5);
	msleep(50);
	peek8("non-blocking", MSG_DONTWAIT);
	take_all();

	NEED(send(s, "12345", 5, 0) == 5);
	msleep(50);
	NEED(setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0);
	peek8("SO_RCVTIMEO 300 ms", 0);
	tv.tv_usec = 0;
	NEED(setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0);

	NEED(sig_install(SIGALRM, on_alarm, 0) == 0);
	ualarm(300000, 0);
	peek8("a signal at 300 ms", 0);
	take_all();

	NEED(send(s, "12345", 5, 0) == 5);
	NEED(shutdown(s, SHUT_WR) == 0);
	msleep(50);
	peek8("EOF after 5", 0);
	take_all();
	SHOW(recv(c, b1, 4, MSG_PEEK | MSG_WAITALL));
	close(c);
	close(s);
	peek_pieces();
	return 0;
}
