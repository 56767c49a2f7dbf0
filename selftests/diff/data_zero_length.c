// SPDX-License-Identifier: GPL-2.0
/*
 * Reads and writes of nothing. A receive of zero bytes (recv with length
 * 0, recvmsg with no iovec) is no shortcut on Linux: it fails with EAGAIN
 * when non-blocking and nothing is there, and a blocking one sleeps until
 * data, the peer's FIN or an error comes, then returns 0 and leaves the
 * data queued. A send of zero bytes returns 0; IOV_MAX pieces and no more.
 */
#include "diff.h"
#include <limits.h>
#include <stdbool.h>
#include <sys/uio.h>

static int c, s;

static void *send_later(void *arg)
{
	(void)arg;
	msleep(200);
	NEED(send(s, "x", 1, 0) == 1);
	return NULL;
}

static void *fin_later(void *arg)
{
	(void)arg;
	msleep(200);
	NEED(shutdown(s, SHUT_WR) == 0);
	return NULL;
}

/* A blocking receive of nothing while @wake comes 200 ms later. */
static void sleeper(void *(*wake)(void *), const char *what, bool by_recvmsg)
{
	struct msghdr m = { 0 };
	pthread_t t;
	char b[4];
	long t0;

	NEED(pthread_create(&t, NULL, wake, NULL) == 0);
	t0 = now_ms();
	if (by_recvmsg)
		SHOW(recvmsg(c, &m, 0));
	else
		SHOW(recv(c, b, 0, 0));
	say("it waited for %s: %s", what, YN(now_ms() - t0 >= 150));
	pthread_join(t, NULL);
}

int main(void)
{
	struct msghdr m = { 0 };
	struct iovec iov[IOV_MAX + 1];
	char b[4];

	tcp_pair(&c, &s);
	SHOW(recv(c, b, 0, MSG_DONTWAIT));
	SHOW(recv(c, NULL, 0, MSG_DONTWAIT));
	SHOW(recvmsg(c, &m, MSG_DONTWAIT));
	sleeper(send_later, "the data", false);
	SHOW(recv(c, NULL, 0, 0));
	SHOW(recvmsg(c, &m, 0));
	SHOW(recv(c, b, sizeof(b), 0));

	SHOW(send(c, NULL, 0, 0));
	SHOW(send(c, b, 0, MSG_DONTWAIT));
	SHOW(sendmsg(c, &m, 0));
	for (int i = 0; i <= IOV_MAX; i++) {
		iov[i].iov_base = b;
		iov[i].iov_len = 1;
	}
	SHOW(writev(c, iov, IOV_MAX + 1));
	SHOW(writev(c, iov, IOV_MAX));
	SHOW(writev(c, iov, 0));
	SHOW(read_full(s, (char[IOV_MAX]){ 0 }, IOV_MAX));
	SHOW(readv(s, iov, IOV_MAX + 1));

	sleeper(fin_later, "the FIN", true);
	SHOW(recv(c, b, 0, MSG_DONTWAIT));
	SHOW(recv(c, b, sizeof(b), 0));
	close(c);
	close(s);
	return 0;
}
