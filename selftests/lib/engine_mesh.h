/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Many connections between two engine stacks in memory: side 0 connects,
 * side 1 listens and accepts. Frames go straight from one stack's vtcp_poll()
 * into the other's vtcp_input(), lossless and in virtual time, so tens of
 * thousands of connections cost no buffering. Used by the scaling test and
 * the engine microbenchmark.
 */
#ifndef VELO_ENGINE_MESH_H
#define VELO_ENGINE_MESH_H

#include <stdint.h>

#include "engine/engine.h"

#define EM_PER_LISTENER 25000 /* connections per server port: fits the ephemeral range */

struct em {
	struct vtcp_stack *st[2];
	uint64_t now;
	unsigned int n;	   /* connections */
	int *cli, *srv;	   /* [n]: the two ends of connection i */
	int lsock[8];
	unsigned int nlisten;
	uint64_t frames;   /* delivered, both ways */
	uint64_t sent[2];  /* frames sent by each side */
	uint64_t polls;	   /* vtcp_poll() calls */
	/* readiness callbacks per side, and the last socket reported */
	uint64_t events[2];
	int last_event_sock[2];
	void (*on_event)(struct em *em, int side, int sock, unsigned int ev);
};

/* Sets up n established connections, all at virtual time 1 s; 0 on success. */
int em_init(struct em *em, unsigned int n);
void em_fini(struct em *em);
/* Polls both stacks until neither has a frame to send; returns frames moved. */
uint64_t em_pump(struct em *em);

#endif /* VELO_ENGINE_MESH_H */
