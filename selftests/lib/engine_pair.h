/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Two engine stacks wired back to back through an emulated link (rate,
 * delay, queue limit, and netem-like loss, duplication, reordering and
 * corruption), all in virtual time and deterministic for a given seed.
 */
#ifndef VELO_ENGINE_PAIR_H
#define VELO_ENGINE_PAIR_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/engine.h"

struct ep_impair {
	unsigned int loss_ppm, dup_ppm, reorder_ppm, corrupt_ppm;
	uint64_t delay_ns;	/* one way */
	uint64_t rate_bps;	/* 0: unlimited */
	unsigned int queue_pkts; /* bottleneck queue; 0: 1000 */
};

#define EP_MAX_INFLIGHT 4096

struct ep_pkt {
	uint64_t at;
	uint16_t len;
	uint8_t data[1600];
};

struct ep_dir {
	struct ep_impair im;
	struct ep_pkt *q; /* delivery-time ordered ring */
	unsigned int head, n;
	uint64_t busy_until;
	uint64_t sent, dropped;
};

struct ep {
	struct vtcp_stack *st[2];
	struct ep_dir dir[2]; /* dir[i]: frames leaving st[i] */
	uint64_t now;
	uint64_t rng;
	int cur; /* stack being polled */
	bool v6;
};

int ep_init(struct ep *ep, const struct vtcp_config *cfg, bool v6, uint64_t seed);
void ep_fini(struct ep *ep);
/* Runs until done(ctx) or virtual time limit; returns true if done. */
bool ep_run(struct ep *ep, bool (*done)(struct ep *ep, void *ctx), void *ctx,
	    uint64_t limit_ns);
void ep_addr(const struct ep *ep, int side, struct sockaddr_storage *ss, uint16_t port);

/* A bulk transfer from side 0 to side 1 (and back when both), verified. */
struct ep_bulk {
	uint64_t bytes;
	bool both_ways;
	const char *cc;
	uint64_t elapsed_ns; /* out */
	uint64_t retrans;    /* out: sender's total retransmissions */
	uint32_t rcv_space;  /* out: receiver's autotuned window (tcpi_rcv_space) */
	int rcvbuf;          /* out: receiver's SO_RCVBUF (VTCP_RCVBUF) */
};
int ep_bulk(struct ep *ep, struct ep_bulk *b, uint64_t limit_ns);

#endif /* VELO_ENGINE_PAIR_H */
