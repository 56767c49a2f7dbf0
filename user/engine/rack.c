/* SPDX-License-Identifier: GPL-2.0 */
/*
 * RACK-TLP (RFC 8985): time-based loss detection from the send time of
 * the most recently delivered segment, and the tail loss probe that lets
 * the last segments of a flight be recovered without an RTO.
 */
#include "internal.h"

#define TLP_WCDELACK_NS (200 * NS_PER_MS)

void rack_update(struct tcb *tp, const struct txseg *s, uint64_t now)
{
	uint64_t rtt = now - s->xmit_ns;

	/* a retransmitted segment acked sooner than min RTT: the original was */
	if ((s->flags & SEG_EVER_RT) && rtt < (uint64_t)tp->min_rtt_us * NS_PER_US)
		return;
	if (s->xmit_ns > tp->rack_xmit_ns ||
	    (s->xmit_ns == tp->rack_xmit_ns && SEQ_GT(s->end, tp->rack_end_seq))) {
		tp->rack_xmit_ns = s->xmit_ns;
		tp->rack_end_seq = s->end;
		tp->rack_rtt_us = (uint32_t)(rtt / NS_PER_US);
	}
}

static uint64_t reo_wnd_ns(const struct tcb *tp)
{
	uint64_t w = (uint64_t)tp->min_rtt_us * NS_PER_US / 4 * tp->rack_reo_mult;

	return MIN(w, (uint64_t)tp->srtt_us * NS_PER_US);
}

void rack_detect(struct vtcp_stack *st, struct tcb *tp)
{
	uint64_t reo = reo_wnd_ns(tp), wait = 0;
	uint64_t rtt = (uint64_t)tp->rack_rtt_us * NS_PER_US;

	tp->t_rack = NO_DEADLINE;
	/* with nothing SACKed or resent, every delivery was in order */
	if (!tp->sack_ok || !tp->rack_xmit_ns || (!tp->sacked_out && !tp->retrans_out))
		return;
	for (uint32_t i = 0; i < tp->seg_cnt; i++) {
		struct txseg *s = sb_seg(tp, i);
		uint64_t deadline;

		if (s->flags & SEG_SACKED)
			continue;
		if ((s->flags & SEG_LOST) && !(s->flags & SEG_RETRANS))
			continue; /* already waiting for retransmission */
		if (s->xmit_ns > tp->rack_xmit_ns ||
		    (s->xmit_ns == tp->rack_xmit_ns && !SEQ_LT(s->end, tp->rack_end_seq))) {
			/* sent once and after it: so was everything above (sequence order) */
			if (!(s->flags & SEG_EVER_RT))
				break;
			continue;
		}
		deadline = s->xmit_ns + rtt + reo;
		if (deadline <= st->now)
			sb_set_lost(tp, s);
		else
			wait = MAX(wait, deadline - st->now);
	}
	if (wait)
		tp->t_rack = st->now + wait;
}

/* Arms the probe timeout instead of the RTO when a probe could help. */
void tlp_arm(struct vtcp_stack *st, struct tcb *tp)
{
	uint64_t pto = 2ull * tp->srtt_us * NS_PER_US;

	if (tp->packets_out == 1)
		pto += TLP_WCDELACK_NS;
	else
		pto += 2 * NS_PER_MS;
	pto = MIN(pto, tp->rto_ns);
	tp->rtx_kind = RTX_TLP;
	tp->t_rtx = st->now + pto;
}

void tlp_fire(struct vtcp_stack *st, struct tcb *tp)
{
	uint32_t unsent = tp->sndq.len - (tp->snd_nxt - tp->sndq_seq);
	uint32_t room = SEQ_GT(tp->snd_una + tp->snd_wnd, tp->snd_nxt) ?
				tp->snd_una + tp->snd_wnd - tp->snd_nxt : 0;

	tp->tlp_out = true;
	if (!tp->fin_sent && unsent && room >= MIN(unsent, (uint32_t)tp->mss)) {
		/* new data is the best probe: let output send one more segment */
		tp->tlp_force = true;
		tp->want_tx = true;
	} else if (tp->seg_cnt) {
		struct txseg *s = sb_seg(tp, tp->seg_cnt - 1);

		tcp_send_range(st, tp, s->seq, s->end, tcp_resend_how(s));
		s->flags |= SEG_EVER_RT;
		s->xmit_ns = st->now;
		tp->total_retrans++;
	}
	tp->rtx_kind = RTX_RTO;
	tp->t_rtx = st->now + MIN(tp->rto_ns << tp->backoff, TCP_RTO_MAX_NS);
}
