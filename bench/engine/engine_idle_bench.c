// SPDX-License-Identifier: GPL-2.0
/*
 * Cost of vtcp_poll() with a few active connections among many idle ones:
 * two engines hold CONNS connections (keepalive armed on every client, so
 * every socket has a pending timer), ACTIVE of them exchange 64-byte echoes.
 * Reports wall time per vtcp_poll() call and per echo round, next to the
 * same workload with no idle connections at all.
 *   engine_idle_bench [conns [active [rounds]]]   defaults 50000 100 2000
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "engine_mesh.h"

static uint64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int echo_rounds(struct em *em, unsigned int active, unsigned int rounds)
{
	unsigned int stride = em->n / active;
	char buf[64] = { 'e' };

	for (unsigned int r = 0; r < rounds; r++) {
		em->now += 100000;
		for (unsigned int i = 0; i < em->n; i += stride)
			if (vtcp_send(em->st[0], em->cli[i], buf, sizeof(buf), 0) != sizeof(buf))
				return -1;
		em_pump(em);
		for (unsigned int i = 0; i < em->n; i += stride)
			if (vtcp_recv(em->st[1], em->srv[i], buf, sizeof(buf), 0) != sizeof(buf) ||
			    vtcp_send(em->st[1], em->srv[i], buf, sizeof(buf), 0) != sizeof(buf))
				return -1;
		em_pump(em);
		for (unsigned int i = 0; i < em->n; i += stride)
			if (vtcp_recv(em->st[0], em->cli[i], buf, sizeof(buf), 0) != sizeof(buf))
				return -1;
	}
	return 0;
}

static int run(unsigned int conns, unsigned int active, unsigned int rounds)
{
	struct em em;
	uint64_t t0, t1, polls;

	t0 = wall_ns();
	if (em_init(&em, conns)) {
		fprintf(stderr, "engine_idle_bench: setting up %u connections failed\n", conns);
		return -1;
	}
	for (unsigned int i = 0; i < conns; i++)
		vtcp_setopt(em.st[0], em.cli[i], VTCP_KEEPALIVE, 1);
	em_pump(&em);
	t1 = wall_ns();
	printf("engine_idle_bench: %u connections set up in %.3f s\n", conns,
	       (double)(t1 - t0) / 1e9);
	polls = em.polls;
	t0 = wall_ns();
	if (echo_rounds(&em, active, rounds)) {
		fprintf(stderr, "engine_idle_bench: echo failed\n");
		return -1;
	}
	t1 = wall_ns();
	polls = em.polls - polls;
	printf("engine_idle_bench: %u active among %u idle: %.2f us per vtcp_poll, %.1f us per echo round of %u connections\n",
	       active, conns - active, (double)(t1 - t0) / 1e3 / (double)polls,
	       (double)(t1 - t0) / 1e3 / rounds, active);
	em_fini(&em);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned int conns = argc > 1 ? (unsigned int)atoi(argv[1]) : 50000;
	unsigned int active = argc > 2 ? (unsigned int)atoi(argv[2]) : 100;
	unsigned int rounds = argc > 3 ? (unsigned int)atoi(argv[3]) : 2000;

	if (!active || active > conns)
		return 1;
	if (run(active, active, rounds) || run(conns, active, rounds))
		return 1;
	return 0;
}
