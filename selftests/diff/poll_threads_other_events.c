// SPDX-License-Identifier: GPL-2.0
/*
 * Two threads asleep in poll() (or select()) on one socket for different
 * events: one for POLLIN, one for POLLOUT on a full send side. Data from
 * the peer wakes the reader at once, whatever the writer waits for; the
 * peer reading wakes the writer. Both orders of going to sleep. Under
 * libvelo a wire socket's readiness fd took the interest of the poll that
 * went to sleep last, so the other slept through its event until its
 * timeout (the reader 4 s after the data came).
 */
#include "diff.h"

#define SLEEP_MS 4000
#define SOON_MS 2000

static int c, s;
static int use_select;

/* Waits for @events on c as poll or select would; reports how and how soon. */
static void *wait_for(void *arg)
{
	short events = (short)(intptr_t)arg;
	long t0 = now_ms();
	const char *what = events == POLLIN ? "reader" : "writer";
	int r;

	if (use_select) {
		struct timeval tv = { SLEEP_MS / 1000, 0 };
		fd_set set;

		FD_ZERO(&set);
		FD_SET(c, &set);
		r = select(c + 1, events == POLLIN ? &set : NULL, events == POLLIN ? NULL : &set,
			   NULL, &tv);
		say("%s: select %d, %s", what, r, now_ms() - t0 < SOON_MS ? "at once" : "late");
	} else {
		struct pollfd p = { .fd = c, .events = events };

		r = poll(&p, 1, SLEEP_MS);
		say("%s: poll %d %s, %s", what, r, pollmask(p.revents),
		    now_ms() - t0 < SOON_MS ? "at once" : "late");
	}
	return NULL;
}

/* First and second go to sleep in that order; then data comes, then room. */
static void round_two(short first, short second)
{
	pthread_t a, b;
	char buf[8];
	int i;

	fill_send(c);
	NEED(pthread_create(&a, NULL, wait_for, (void *)(intptr_t)first) == 0);
	msleep(100);
	NEED(pthread_create(&b, NULL, wait_for, (void *)(intptr_t)second) == 0);
	msleep(100);
	NEED(send(s, "x", 1, 0) == 1);
	pthread_join(first == POLLIN ? a : b, NULL);
	SHOW(recv(c, buf, sizeof(buf), 0));
	for (i = 0; i < 20; i++) { /* until the writer has room again */
		drain_recv(s);
		msleep(20);
	}
	pthread_join(first == POLLIN ? b : a, NULL);
	drain_recv(s);
}

int main(void)
{
	tcp_pair(&c, &s);
	say("poll, reader first:");
	round_two(POLLIN, POLLOUT);
	say("poll, writer first:");
	round_two(POLLOUT, POLLIN);
	use_select = 1;
	say("select, reader first:");
	round_two(POLLIN, POLLOUT);
	say("select, writer first:");
	round_two(POLLOUT, POLLIN);
	close(c);
	close(s);
	return 0;
}
