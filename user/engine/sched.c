/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Poll scheduling: which sockets vtcp_poll() has to visit, so that its cost
 * follows the sockets with work rather than the sockets that exist.
 *
 * Two structures, both sized at stack creation:
 *  - a binary min-heap of socket deadlines (the earliest of a socket's
 *    timers), so the next deadline is the heap's top and due timers are
 *    found in O(log n) each;
 *  - a FIFO of sockets touched since the last poll (by a frame, a socket
 *    call or another socket's state change): their output, readiness and
 *    deadline may have changed and are settled by the next poll.
 *
 * Invariant: a live socket not on the FIFO has its heap key equal to
 * tcp_deadline(). Code that changes a socket's timers, output or readiness
 * outside of that socket's own processing calls sched_touch() on it.
 */
#include "internal.h"

#define WORK_NONE (-1) /* end of the FIFO */
#define WORK_OFF  (-2) /* not on the FIFO */
#define HEAP_OFF  UINT32_MAX

void sched_init(struct vtcp_stack *st)
{
	for (unsigned int i = 0; i < st->ntcb; i++) {
		st->work_next[i] = WORK_OFF;
		st->heap_pos[i] = HEAP_OFF;
	}
	st->work_head = st->work_tail = WORK_NONE;
	st->nheap = 0;
}

void sched_touch(struct vtcp_stack *st, struct tcb *tp)
{
	int i = tcb_index(st, tp);

	if (tp == st->polling || st->work_next[i] != WORK_OFF)
		return;
	st->work_next[i] = WORK_NONE;
	if (st->work_tail >= 0)
		st->work_next[st->work_tail] = i;
	else
		st->work_head = i;
	st->work_tail = i;
}

struct tcb *sched_next_work(struct vtcp_stack *st)
{
	int i = st->work_head;

	if (i < 0)
		return NULL;
	st->work_head = st->work_next[i];
	if (st->work_head < 0)
		st->work_tail = WORK_NONE;
	st->work_next[i] = WORK_OFF;
	return &st->tcbs[i];
}

static uint64_t heap_key(const struct vtcp_stack *st, uint32_t pos)
{
	return st->heap_key[st->heap[pos]];
}

static void heap_place(struct vtcp_stack *st, uint32_t pos, int i)
{
	st->heap[pos] = i;
	st->heap_pos[i] = pos;
}

static void heap_up(struct vtcp_stack *st, uint32_t pos)
{
	int i = st->heap[pos];

	while (pos) {
		uint32_t parent = (pos - 1) / 2;

		if (heap_key(st, parent) <= st->heap_key[i])
			break;
		heap_place(st, pos, st->heap[parent]);
		pos = parent;
	}
	heap_place(st, pos, i);
}

static void heap_down(struct vtcp_stack *st, uint32_t pos)
{
	int i = st->heap[pos];

	for (;;) {
		uint32_t c = 2 * pos + 1;

		if (c >= st->nheap)
			break;
		if (c + 1 < st->nheap && heap_key(st, c + 1) < heap_key(st, c))
			c++;
		if (st->heap_key[i] <= heap_key(st, c))
			break;
		heap_place(st, pos, st->heap[c]);
		pos = c;
	}
	heap_place(st, pos, i);
}

void sched_forget(struct vtcp_stack *st, struct tcb *tp)
{
	int i = tcb_index(st, tp), moved;
	uint32_t pos = st->heap_pos[i];

	if (pos == HEAP_OFF)
		return;
	st->heap_pos[i] = HEAP_OFF;
	if (--st->nheap == pos)
		return;
	/* the last entry fills the hole and moves whichever way its key says */
	moved = st->heap[st->nheap];
	heap_place(st, pos, moved);
	heap_up(st, pos);
	heap_down(st, st->heap_pos[moved]);
}

void sched_rekey(struct vtcp_stack *st, struct tcb *tp)
{
	int i = tcb_index(st, tp);
	uint64_t key = tp->used ? tcp_deadline(tp) : NO_DEADLINE;
	uint32_t pos = st->heap_pos[i];

	if (key == NO_DEADLINE) {
		sched_forget(st, tp);
		return;
	}
	if (pos == HEAP_OFF) {
		st->heap_key[i] = key;
		st->heap[st->nheap] = i;
		heap_up(st, st->nheap++);
		return;
	}
	if (key == st->heap_key[i])
		return;
	st->heap_key[i] = key;
	heap_up(st, pos);
	heap_down(st, st->heap_pos[i]);
}

void sched_collect_due(struct vtcp_stack *st, uint64_t now)
{
	while (st->nheap && heap_key(st, 0) <= now) {
		struct tcb *tp = &st->tcbs[st->heap[0]];

		sched_forget(st, tp);
		sched_touch(st, tp);
	}
}

uint64_t sched_deadline(const struct vtcp_stack *st)
{
	uint64_t d = st->nheap ? heap_key(st, 0) : NO_DEADLINE;

	for (int i = st->work_head; i >= 0; i = st->work_next[i]) {
		const struct tcb *tp = &st->tcbs[i];

		if (!tp->used)
			continue;
		if (tp->want_tx || tp->ack_now)
			return st->now;
		d = MIN(d, tcp_deadline(tp));
	}
	return d;
}
