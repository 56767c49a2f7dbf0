// SPDX-License-Identifier: GPL-2.0
/*
 * Many concurrent connections: 8 threads each open 250 connections to one
 * listener (backlog 4096) while the main thread accepts them with epoll;
 * each client sends its 4-byte id and reads it back echoed; every
 * accepted socket's peer port matches exactly one client's local port.
 * Then all are closed from the client side and the server sees 2000 EOFs.
 */
#include "diff.h"

#define THREADS 8
#define PER 250
#define TOTAL (THREADS * PER)

static uint16_t g_port;
static int cfds[TOTAL];
static uint16_t cports[TOTAL];
static int ok_echo[THREADS];

static void *client(void *arg)
{
	int t = (int)(long)arg, i, ok = 1;

	for (i = 0; i < PER; i++) {
		int k = t * PER + i, fd = tcp_connect(g_port);
		uint32_t id = k, back = 0;

		NEED(fd >= 0);
		cfds[k] = fd;
		cports[k] = local_port(fd);
		ok &= send(fd, &id, 4, 0) == 4;
		ok &= recv(fd, &back, 4, MSG_WAITALL) == 4 && back == id;
	}
	ok_echo[t] = ok;
	return NULL;
}

static int cmp16(const void *a, const void *b)
{
	return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

int main(void)
{
	pthread_t th[THREADS];
	static uint16_t sports[TOTAL];
	static int sfds[TOTAL];
	int l, ep, accepted = 0, echoed = 0, eofs = 0, i, okall = 1;
	struct epoll_event ev, evs[64];

	need_nofile(4200);
	l = tcp_listener_fam(AF_INET, 4096, &g_port);
	set_nonblock(l, 1);
	ep = epoll_create1(0);
	ev.events = EPOLLIN;
	ev.data.u64 = (uint64_t)-1;
	NEED(epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev) == 0);
	for (i = 0; i < THREADS; i++)
		NEED(pthread_create(&th[i], NULL, client, (void *)(long)i) == 0);
	while (echoed < TOTAL) {
		int n = epoll_wait(ep, evs, 64, 10000), j;

		NEED(n > 0);
		for (j = 0; j < n; j++) {
			if (evs[j].data.u64 == (uint64_t)-1) {
				int a;

				while ((a = accept4(l, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
					NEED(accepted < TOTAL);
					sfds[accepted] = a;
					sports[accepted] = peer_port(a);
					ev.events = EPOLLIN;
					ev.data.u64 = accepted++;
					NEED(epoll_ctl(ep, EPOLL_CTL_ADD, a, &ev) == 0);
				}
				NEED(errno == EAGAIN);
			} else {
				int k = (int)evs[j].data.u64;
				uint32_t id;
				ssize_t r = recv(sfds[k], &id, 4, 0);

				if (r == 4) {
					NEED(send(sfds[k], &id, 4, 0) == 4);
					echoed++;
				}
			}
		}
	}
	for (i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		okall &= ok_echo[i];
	}
	say("accepted %d, echoed %d, all clients got their id back: %s", accepted, echoed, YN(okall));
	qsort(cports, TOTAL, sizeof(cports[0]), cmp16);
	qsort(sports, TOTAL, sizeof(sports[0]), cmp16);
	say("accepted peer ports == client local ports (as sets): %s",
	    YN(!memcmp(cports, sports, sizeof(cports))));
	for (i = 1; i < TOTAL; i++)
		if (cports[i] == cports[i - 1])
			break;
	say("client ports distinct: %s", YN(i == TOTAL));
	for (i = 0; i < TOTAL; i++)
		close(cfds[i]);
	while (eofs < TOTAL) {
		int n = epoll_wait(ep, evs, 64, 10000), j;

		NEED(n > 0);
		for (j = 0; j < n; j++) {
			int k = (int)evs[j].data.u64;
			char b[8];

			if (k < 0 || k >= TOTAL)
				continue;
			if (recv(sfds[k], b, sizeof(b), 0) == 0) {
				eofs++;
				NEED(epoll_ctl(ep, EPOLL_CTL_DEL, sfds[k], NULL) == 0);
				close(sfds[k]);
			}
		}
	}
	say("server saw %d EOFs", eofs);
	close(ep);
	close(l);
	return 0;
}
