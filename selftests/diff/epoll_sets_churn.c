// SPDX-License-Identifier: GPL-2.0
/*
 * Many epoll sets, one after another, on the same connections: each set
 * is made, watches the receiving ends, reports the data a writer sends
 * (sleeping, then looking without waiting), and is closed. 3,000 sets:
 * every one reports what it should, and what the process keeps mapped
 * does not grow with the sets it has seen.
 */
#include "diff.h"

#define SETS 3000
#define CONNS 4

static int cli[CONNS], srv[CONNS];

static int shm_mappings(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int n = 0;

	NEED(f != NULL);
	while (fgets(line, sizeof(line), f))
		n += strstr(line, "/dev/shm/") != NULL;
	fclose(f);
	return n;
}

static void *writer(void *arg)
{
	int i = (int)(intptr_t)arg;

	msleep(1);
	NEED(send(cli[i % CONNS], "x", 1, 0) == 1);
	return NULL;
}

int main(void)
{
	int k, i, good = 0, base;
	char b[8];

	for (i = 0; i < CONNS; i++)
		tcp_pair(&cli[i], &srv[i]);
	base = shm_mappings();
	for (k = 0; k < SETS; k++) {
		int ep = epoll_create1(0), ok = 1;
		struct epoll_event ev;
		pthread_t t;

		NEED(ep >= 0);
		for (i = 0; i < CONNS; i++) {
			ev.events = EPOLLIN;
			ev.data.u32 = i;
			NEED(epoll_ctl(ep, EPOLL_CTL_ADD, srv[i], &ev) == 0);
		}
		NEED(pthread_create(&t, NULL, writer, (void *)(intptr_t)k) == 0);
		ok &= epoll_wait(ep, &ev, 1, 5000) == 1 && ev.data.u32 == (uint32_t)(k % CONNS);
		pthread_join(t, NULL);
		ok &= epoll_wait(ep, &ev, 1, 0) == 1 && ev.data.u32 == (uint32_t)(k % CONNS);
		ok &= recv(srv[k % CONNS], b, sizeof(b), 0) == 1;
		ok &= epoll_wait(ep, &ev, 1, 0) == 0;
		good += ok;
		close(ep);
	}
	say("sets that reported exactly their data: %d of %d", good, SETS);
	say("shared-memory mappings grew by under 1,100: %s", YN(shm_mappings() - base < 1100));
	for (i = 0; i < CONNS; i++) {
		close(cli[i]);
		close(srv[i]);
	}
	return 0;
}
