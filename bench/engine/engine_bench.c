// SPDX-License-Identifier: GPL-2.0
/*
 * Engine microbenchmark: client and server engines exchange frames through
 * memory; the client sends 64 bytes, the server echoes them, N times.
 * Reports frames processed (vtcp_input calls) per second of wall time.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/engine.h"

#define MAXQ 256

struct wire {
	unsigned int n;
	uint16_t len[MAXQ];
	uint8_t f[MAXQ][1600];
};

static struct wire w[2]; /* w[i]: frames sent by stack i */
static uint64_t frames;

static void tx(void *ctx, const void *frame, size_t len)
{
	struct wire *q = ctx;

	if (q->n < MAXQ && len <= sizeof(q->f[0])) {
		memcpy(q->f[q->n], frame, len);
		q->len[q->n++] = (uint16_t)len;
	}
}

static uint64_t now_virt = 1000000000ull;

static void pump(struct vtcp_stack *st[2])
{
	for (int round = 0; round < 4; round++) {
		for (int i = 0; i < 2; i++)
			vtcp_poll(st[i], now_virt, tx, &w[i]);
		for (int i = 0; i < 2; i++) {
			for (unsigned int k = 0; k < w[i].n; k++) {
				vtcp_input(st[!i], w[i].f[k], w[i].len[k], now_virt);
				frames++;
			}
			w[i].n = 0;
		}
	}
}

static uint64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	static const uint8_t mac[2][6] = { { 2, 0, 0, 0, 0, 1 }, { 2, 0, 0, 0, 0, 2 } };
	long echoes = argc > 1 ? atol(argv[1]) : 100000;
	struct vtcp_stack *st[2];
	struct sockaddr_in a[2];
	uint8_t buf[64];
	uint64_t t0, t1;
	int l, c, s = -1;

	for (int i = 0; i < 2; i++) {
		struct vtcp_config cfg;

		memset(&cfg, 0, sizeof(cfg));
		cfg.max_sockets = 4;
		cfg.sndbuf_max = cfg.rcvbuf_max = 65536;
		memcpy(cfg.mac, mac[i], 6);
		cfg.mtu = 1500;
		cfg.ifindex = 1;
		st[i] = vtcp_stack_create(&cfg);
		memset(&a[i], 0, sizeof(a[i]));
		a[i].sin_family = AF_INET;
		a[i].sin_addr.s_addr = htonl(0x0a000001 + (uint32_t)i);
		a[i].sin_port = htons(7);
		vtcp_addr_add(st[i], (struct sockaddr *)&a[i]);
	}
	for (int i = 0; i < 2; i++)
		vtcp_neigh_set(st[i], (struct sockaddr *)&a[!i], mac[!i]);
	l = vtcp_socket(st[1], AF_INET);
	vtcp_bind(st[1], l, (struct sockaddr *)&a[1], sizeof(a[1]));
	vtcp_listen(st[1], l, 4);
	c = vtcp_socket(st[0], AF_INET);
	vtcp_setopt(st[0], c, VTCP_NODELAY, 1);
	vtcp_connect(st[0], c, (struct sockaddr *)&a[1], sizeof(a[1]));
	pump(st);
	s = vtcp_accept(st[1], l, NULL, NULL);
	if (s < 0) {
		fprintf(stderr, "no connection\n");
		return 1;
	}
	vtcp_setopt(st[1], s, VTCP_NODELAY, 1);
	memset(buf, 'e', sizeof(buf));
	frames = 0;
	t0 = wall_ns();
	for (long i = 0; i < echoes; i++) {
		now_virt += 10000; /* 10 us per round trip: delayed ACKs never fire */
		if (vtcp_send(st[0], c, buf, sizeof(buf), 0) != 64)
			return 1;
		pump(st);
		if (vtcp_recv(st[1], s, buf, sizeof(buf), 0) != 64 ||
		    vtcp_send(st[1], s, buf, sizeof(buf), 0) != 64)
			return 1;
		pump(st);
		if (vtcp_recv(st[0], c, buf, sizeof(buf), 0) != 64)
			return 1;
	}
	t1 = wall_ns();
	printf("engine_bench: %ld echoes of 64 bytes, %llu frames in %.3f s: %.0f frames/s, %.0f echoes/s\n",
	       echoes, (unsigned long long)frames, (double)(t1 - t0) / 1e9,
	       (double)frames / ((double)(t1 - t0) / 1e9), (double)echoes / ((double)(t1 - t0) / 1e9));
	vtcp_stack_destroy(st[0]);
	vtcp_stack_destroy(st[1]);
	return 0;
}
