// SPDX-License-Identifier: GPL-2.0
/*
 * An epoll set closed by one thread while another waits in epoll_wait() on
 * it: the wait goes on in the file it holds (epoll sets made meanwhile may
 * take its number), times out empty, or reports a member that becomes
 * ready, as on Linux. Under libvelo the set's memory was freed under the
 * waiter, which crashed.
 */
#include "diff.h"

static int set, result;

static void *waiter(void *arg)
{
	struct epoll_event ev[4];

	(void)arg;
	result = epoll_wait(set, ev, 4, 500);
	return NULL;
}

int main(void)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int c, s, round, k, others[8];
	char b[4];
	pthread_t t;

	tcp_pair(&c, &s);
	for (round = 0; round < 4; round++) {
		set = epoll_create1(0);
		ev.data.fd = s;
		SHOW(epoll_ctl(set, EPOLL_CTL_ADD, s, &ev));
		NEED(pthread_create(&t, NULL, waiter, NULL) == 0);
		msleep(100);
		SHOW(close(set));
		for (k = 0; k < 8; k++)
			others[k] = epoll_create1(0);
		if (round == 2)
			SHOW(write(c, "x", 1));
		NEED(pthread_join(t, NULL) == 0);
		say("round %d: epoll_wait %d", round, result);
		for (k = 0; k < 8; k++)
			close(others[k]);
		if (round == 2)
			SHOW(read(s, b, sizeof(b)));
	}
	close(c);
	close(s);
	return 0;
}
