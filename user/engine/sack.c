/* SPDX-License-Identifier: GPL-2.0 */
/*
 * SACK, both sides. Receiver: out-of-order ranges held in the receive
 * queue, reported as SACK blocks most recent first (RFC 2018) with a
 * leading DSACK block for duplicates (RFC 2883). Sender: the scoreboard,
 * one record per transmitted segment with SACKED/LOST/RETRANS marks and
 * Linux's counters (packets_out, sacked_out, lost_out, retrans_out), and
 * RFC 6675's DupThresh loss rule.
 */
#include "internal.h"

#define DUPTHRESH 3

/* Receiver */

/* Records [start, end) as held; false when there is no room to remember it. */
bool ooo_add(struct tcb *tp, uint32_t start, uint32_t end)
{
	unsigned int i;

	/* merge with every range it touches */
	for (i = 0; i < tp->nooo;) {
		struct seq_range *r = &tp->ooo[i];

		if (SEQ_LEQ(r->start, end) && SEQ_LEQ(start, r->end)) {
			if (SEQ_LT(r->start, start))
				start = r->start;
			if (SEQ_GT(r->end, end))
				end = r->end;
			tp->ooo[i] = tp->ooo[--tp->nooo];
			continue;
		}
		i++;
	}
	/*
	 * A full table refuses the segment rather than forgetting a range:
	 * what was SACKed must stay held (no reneging), the sender resends.
	 */
	if (tp->nooo == TCP_OOO_MAX)
		return false;
	tp->ooo[tp->nooo++] = (struct seq_range){ start, end, ++tp->ooo_stamp };
	return true;
}

/* Pulls ranges that now touch rcv_nxt into the in-order queue. */
void ooo_advance(struct tcb *tp)
{
	bool again = true;

	while (again) {
		again = false;
		for (unsigned int i = 0; i < tp->nooo; i++) {
			struct seq_range *r = &tp->ooo[i];

			if (SEQ_GT(r->start, tp->rcv_nxt))
				continue;
			if (SEQ_GT(r->end, tp->rcv_nxt)) {
				tp->rcvq.len += r->end - tp->rcv_nxt;
				tp->rcv_nxt = r->end;
			}
			tp->ooo[i] = tp->ooo[--tp->nooo];
			again = true;
			break;
		}
	}
}

unsigned int sack_blocks(struct tcb *tp, uint32_t out[4][2], unsigned int max)
{
	unsigned int n = 0;
	uint32_t last = UINT32_MAX;

	if (tp->dsack && max) {
		out[n][0] = tp->dsack_start;
		out[n][1] = tp->dsack_end;
		n++;
	}
	/* most recently changed first, each once */
	while (n < max) {
		int best = -1;

		for (unsigned int i = 0; i < tp->nooo; i++)
			if (tp->ooo[i].stamp < last &&
			    (best < 0 || tp->ooo[i].stamp > tp->ooo[best].stamp))
				best = (int)i;
		if (best < 0)
			break;
		last = tp->ooo[best].stamp;
		out[n][0] = tp->ooo[best].start;
		out[n][1] = tp->ooo[best].end;
		n++;
	}
	return n;
}

/* Sender scoreboard */

struct txseg *sb_seg(struct tcb *tp, uint32_t i)
{
	return &tp->segs[(tp->seg_head + i) % tp->seg_cap];
}

struct txseg *sb_append(struct tcb *tp, uint32_t seq, uint32_t end, uint64_t now)
{
	struct txseg *s = sb_seg(tp, tp->seg_cnt);

	s->seq = seq;
	s->end = end;
	s->xmit_ns = now;
	s->flags = 0;
	tp->seg_cnt++;
	tp->packets_out++;
	return s;
}

uint32_t sb_in_flight(const struct tcb *tp)
{
	uint32_t left = tp->sacked_out + tp->reno_sacked + tp->lost_out;

	return tp->packets_out > left ? tp->packets_out - left + tp->retrans_out
				      : tp->retrans_out;
}

static void sb_forget(struct tcb *tp, struct txseg *s)
{
	if (s->flags & SEG_SACKED)
		tp->sacked_out--;
	if (s->flags & SEG_LOST)
		tp->lost_out--;
	if (s->flags & SEG_RETRANS)
		tp->retrans_out--;
	tp->packets_out--;
}

/*
 * Linux's tcp_check_sack_reordering(): an original transmission (never
 * resent) delivered below the highest SACKed sequence arrived out of order,
 * by the distance between the two; tcpi_reordering keeps the largest seen,
 * in segments, capped as net.ipv4.tcp_max_reordering.
 */
static void sb_note_reordering(struct tcb *tp, const struct txseg *s)
{
	uint32_t metric, mss = MAX(tp->mss, (uint16_t)1);

	if ((s->flags & SEG_EVER_RT) || !tp->sacked_out || !SEQ_LT(s->seq, tp->high_sacked))
		return;
	metric = tp->high_sacked - s->seq;
	if (metric > tp->reordering * mss)
		tp->reordering = MIN((metric + mss - 1) / mss, (uint32_t)TCP_MAX_REORDERING);
}

uint32_t sb_ack(struct tcb *tp, uint32_t ack, uint64_t now, bool *karn_ok,
		uint64_t *oldest_xmit)
{
	uint32_t n = 0;

	*karn_ok = true;
	*oldest_xmit = 0;
	while (tp->seg_cnt) {
		struct txseg *s = sb_seg(tp, 0);

		if (SEQ_GT(s->end, ack)) {
			if (SEQ_GT(ack, s->seq))
				s->seq = ack; /* partially acknowledged */
			break;
		}
		/* SACKed segments were timed when SACKed; a retransmission is ambiguous */
		if (s->flags & SEG_EVER_RT)
			*karn_ok = false;
		else if (!*oldest_xmit && !(s->flags & SEG_SACKED))
			*oldest_xmit = s->xmit_ns;
		if (!(s->flags & SEG_SACKED)) {
			rack_update(tp, s, now);
			sb_note_reordering(tp, s);
		}
		sb_forget(tp, s);
		tp->seg_head = (tp->seg_head + 1) % tp->seg_cap;
		tp->seg_cnt--;
		n++;
	}
	return n;
}

void sb_set_lost(struct tcb *tp, struct txseg *s)
{
	if (s->flags & SEG_SACKED)
		return;
	if (!(s->flags & SEG_LOST)) {
		s->flags |= SEG_LOST;
		tp->lost_out++;
	}
	if (s->flags & SEG_RETRANS) {
		s->flags &= (uint8_t)~SEG_RETRANS;
		tp->retrans_out--;
	}
}

void sb_clear_lost(struct tcb *tp, struct txseg *s)
{
	if (s->flags & SEG_LOST) {
		s->flags &= (uint8_t)~SEG_LOST;
		tp->lost_out--;
	}
	if (s->flags & SEG_RETRANS) {
		s->flags &= (uint8_t)~SEG_RETRANS;
		tp->retrans_out--;
	}
}

void sb_mark_retrans(struct tcb *tp, struct txseg *s, uint64_t now)
{
	if (!(s->flags & SEG_RETRANS))
		tp->retrans_out++;
	s->flags |= SEG_RETRANS | SEG_EVER_RT;
	s->xmit_ns = now;
	tp->total_retrans++;
}

/* First record whose end is beyond seq (records are in sequence order). */
static uint32_t sb_search(struct tcb *tp, uint32_t seq)
{
	uint32_t lo = 0, hi = tp->seg_cnt;

	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;

		if (SEQ_LEQ(sb_seg(tp, mid)->end, seq))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

uint32_t sb_mark_sacked(struct tcb *tp, uint32_t start, uint32_t end, uint64_t now)
{
	uint32_t n = 0;

	for (uint32_t i = sb_search(tp, start); i < tp->seg_cnt; i++) {
		struct txseg *s = sb_seg(tp, i);

		if (SEQ_GT(s->end, end))
			break;
		if (SEQ_LT(s->seq, start) || (s->flags & SEG_SACKED))
			continue;
		sb_note_reordering(tp, s);
		sb_clear_lost(tp, s);
		s->flags |= SEG_SACKED;
		if (!tp->sacked_out++ || SEQ_GT(s->end, tp->high_sacked))
			tp->high_sacked = s->end;
		n++;
		rack_update(tp, s, now);
	}
	return n;
}

void sb_detect_dupthresh(struct tcb *tp)
{
	uint32_t above = 0;

	if (tp->sacked_out < DUPTHRESH)
		return;
	for (uint32_t i = tp->seg_cnt; i-- > 0;) {
		struct txseg *s = sb_seg(tp, i);

		if (s->flags & SEG_SACKED)
			above++;
		else if (above >= DUPTHRESH && !(s->flags & (SEG_LOST | SEG_RETRANS)))
			sb_set_lost(tp, s);
	}
}
