// SPDX-License-Identifier: GPL-2.0
/*
 * XLIO 1011005 (select limited to 200 sockets): select() and pselect() over
 * 300 connected TCP pairs (600 sockets) plus sockets moved (dup2) to fd
 * numbers near FD_SETSIZE (1000..1023); data on a fixed subset; exactly
 * those are reported in the read set, all in the write set; a timeout
 * with nothing ready returns 0 with empty sets.
 */
#include "diff.h"

#define PAIRS 300

int main(void)
{
	static int cl[PAIRS + 12], sv[PAIRS + 12];
	int l, i, n, mx = 0, cnt;
	uint16_t port;
	fd_set r, w;
	struct timeval tv;
	long sum;
	char b[4];

	need_nofile(1100);
	l = tcp_listener_fam(AF_INET, 1024, &port);
	for (i = 0; i < PAIRS + 12; i++) {
		cl[i] = tcp_connect(port);
		NEED(cl[i] >= 0);
		sv[i] = accept(l, NULL, NULL);
		NEED(sv[i] >= 0);
	}
	close(l);
	/* the last 12 pairs move to 1000..1023 */
	for (i = 0; i < 12; i++) {
		int k = PAIRS + i;

		NEED(dup2(cl[k], 1000 + 2 * i) == 1000 + 2 * i);
		NEED(dup2(sv[k], 1001 + 2 * i) == 1001 + 2 * i);
		close(cl[k]);
		close(sv[k]);
		cl[k] = 1000 + 2 * i;
		sv[k] = 1001 + 2 * i;
	}
	for (i = 0; i < PAIRS + 12; i++) {
		if (cl[i] > mx)
			mx = cl[i];
		if (sv[i] > mx)
			mx = sv[i];
	}
	say("highest fd == 1023: %s", YN(mx == 1023));
	FD_ZERO(&r);
	for (i = 0; i < PAIRS + 12; i++) {
		FD_SET(cl[i], &r);
		FD_SET(sv[i], &r);
	}
	tv = (struct timeval){ 0, 100000 };
	SHOWL("select idle (100 ms timeout)", select(mx + 1, &r, NULL, NULL, &tv));
	cnt = 0;
	for (i = 0; i <= mx; i++)
		cnt += FD_ISSET(i, &r);
	say("bits left set: %d", cnt);
	for (i = 0; i < PAIRS + 12; i += 7)
		NEED(send(sv[i], "x", 1, 0) == 1);
	NEED(send(cl[PAIRS + 11], "y", 1, 0) == 1);
	for (i = 0; i < PAIRS + 12; i += 7)
		NEED(wait_ev(cl[i], POLLIN, 5000));
	NEED(wait_ev(sv[PAIRS + 11], POLLIN, 5000));
	FD_ZERO(&r);
	FD_ZERO(&w);
	for (i = 0; i < PAIRS + 12; i++) {
		FD_SET(cl[i], &r);
		FD_SET(sv[i], &r);
		FD_SET(cl[i], &w);
		FD_SET(sv[i], &w);
	}
	tv = (struct timeval){ 5, 0 };
	n = select(mx + 1, &r, &w, NULL, &tv);
	say("select = %d", n);
	sum = 0;
	cnt = 0;
	for (i = 0; i < PAIRS + 12; i++) {
		if (FD_ISSET(cl[i], &r))
			sum += 2 * i;
		if (FD_ISSET(sv[i], &r))
			sum += 2 * i + 1;
		cnt += FD_ISSET(cl[i], &w) + FD_ISSET(sv[i], &w);
	}
	say("readable index sum %ld, writable %d", sum, cnt);
	say("high fds readable: 1000=%d 1023=%d 1022=%d", FD_ISSET(1000, &r), FD_ISSET(1023, &r),
	    FD_ISSET(1022, &r));
	{
		struct timespec ts = { 5, 0 };

		FD_ZERO(&r);
		for (i = 0; i < PAIRS + 12; i++)
			FD_SET(cl[i], &r);
		SHOWL("pselect clients", pselect(mx + 1, &r, NULL, NULL, &ts, NULL));
	}
	for (i = 0; i < PAIRS + 12; i += 7)
		NEED(recv(cl[i], b, sizeof(b), 0) == 1);
	NEED(recv(sv[PAIRS + 11], b, sizeof(b), 0) == 1);
	FD_ZERO(&r);
	for (i = 0; i < PAIRS + 12; i++) {
		FD_SET(cl[i], &r);
		FD_SET(sv[i], &r);
	}
	tv = (struct timeval){ 0, 0 };
	SHOWL("select after draining", select(mx + 1, &r, NULL, NULL, &tv));
	return 0;
}
