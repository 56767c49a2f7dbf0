/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Congestion control framework: the algorithm registry, the state changes
 * every algorithm shares (recovery, RTO loss, ECN reduction), and the
 * slow start / additive increase both NewReno and CUBIC build on.
 * cwnd and ssthresh count segments, as Linux's do.
 */
#include "internal.h"

const struct cc_ops *cc_find(const char *name)
{
	static const struct cc_ops *const all[] = { &cc_cubic, &cc_newreno };

	for (unsigned int i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (strcmp(all[i]->name, name) == 0)
			return all[i];
	return NULL;
}

uint32_t cc_slow_start(struct tcb *tp, uint32_t acked)
{
	uint32_t cwnd = MIN(tp->cwnd + acked, tp->ssthresh);

	acked -= cwnd - tp->cwnd;
	tp->cwnd = cwnd;
	return acked;
}

void cc_ai(struct tcb *tp, uint32_t w, uint32_t acked)
{
	if (tp->cwnd_cnt >= w) {
		tp->cwnd_cnt = 0;
		tp->cwnd++;
	}
	tp->cwnd_cnt += acked;
	if (tp->cwnd_cnt >= w) {
		uint32_t delta = tp->cwnd_cnt / w;

		tp->cwnd_cnt -= delta * w;
		tp->cwnd += delta;
	}
}

/* RFC 6675 / 6582 entry into fast recovery. */
void cc_enter_recovery(struct tcb *tp, uint64_t now)
{
	tp->prior_cwnd = tp->cwnd;
	tp->ssthresh = tp->cc->ssthresh(tp, now);
	tp->cwnd_cnt = 0;
	tp->prr_delivered = tp->prr_out = 0;
	tp->ca_state = CA_RECOVERY;
	tp->recover = tp->snd_nxt;
}

/*
 * RFC 6937: send in proportion to what is delivered while the flight is
 * above ssthresh, then slow-start back up to it (PRR-SSRB), so the ACK
 * clock keeps running through recovery instead of stalling.
 */
void cc_prr(struct tcb *tp, uint32_t delivered)
{
	uint32_t pipe = sb_in_flight(tp), sndcnt;

	tp->prr_delivered += delivered;
	if (pipe > tp->ssthresh) {
		uint64_t want = ((uint64_t)tp->prr_delivered * tp->ssthresh +
				 MAX(tp->prior_cwnd, 1u) - 1) / MAX(tp->prior_cwnd, 1u);

		sndcnt = want > tp->prr_out ? (uint32_t)(want - tp->prr_out) : 0;
	} else {
		uint32_t limit = MAX(tp->prr_delivered > tp->prr_out ?
					     tp->prr_delivered - tp->prr_out : 0, delivered) + 1;

		sndcnt = MIN(tp->ssthresh - pipe, limit);
	}
	/* a retransmission must be able to leave on the first ACK */
	if (!sndcnt && !tp->prr_out)
		sndcnt = 1;
	tp->cwnd = pipe + sndcnt;
}

void cc_end_recovery(struct tcb *tp)
{
	if (tp->ca_state == CA_RECOVERY || tp->ca_state == CA_CWR)
		tp->cwnd = MAX(tp->ssthresh, 2u);
	tp->ca_state = CA_OPEN;
}

/* RTO: everything outstanding is presumed lost, cwnd restarts at one. */
void cc_enter_loss(struct tcb *tp, uint64_t now)
{
	if (tp->ca_state < CA_RECOVERY)
		tp->ssthresh = tp->cc->ssthresh(tp, now);
	tp->cc->on_rto(tp);
	tp->cwnd = 1;
	tp->cwnd_cnt = 0;
	tp->ca_state = CA_LOSS;
	tp->recover = tp->snd_nxt;
	tp->reno_sacked = 0;
	/* the peer sits on a segment it SACKed: it reneged, forget every SACK */
	if (tp->seg_cnt && (sb_seg(tp, 0)->flags & SEG_SACKED)) {
		for (uint32_t i = 0; i < tp->seg_cnt; i++)
			sb_seg(tp, i)->flags &= (uint8_t)~SEG_SACKED;
		tp->sacked_out = 0;
	}
	for (uint32_t i = 0; i < tp->seg_cnt; i++)
		sb_set_lost(tp, sb_seg(tp, i));
}

/* RFC 3168 6.1.2: at most one reduction per window of data. */
void cc_ecn_reduce(struct tcb *tp, uint64_t now)
{
	tp->ssthresh = tp->cc->ssthresh(tp, now);
	tp->cwnd = MAX(tp->ssthresh, 2u);
	tp->cwnd_cnt = 0;
	tp->ca_state = CA_CWR;
	tp->recover = tp->snd_nxt;
	tp->cwr_pending = true;
}

/*
 * Linux's tcp_is_cwnd_limited(): the flight filled cwnd in this window of
 * data, or in slow start it reached more than half of cwnd.
 */
bool tcp_cwnd_limited(const struct tcb *tp)
{
	return tp->cwnd_limited || (tp->cwnd < tp->ssthresh && tp->cwnd < 2 * tp->max_packets_out);
}

void cc_on_ack(struct tcb *tp, uint32_t acked, uint64_t now)
{
	if (tp->ca_state == CA_RECOVERY || tp->ca_state == CA_CWR)
		return;
	/* grow only a window that is used (RFC 7661 spirit) */
	if (!tcp_cwnd_limited(tp))
		return;
	tp->cc->cong_avoid(tp, acked, now);
	tp->cwnd = MIN(tp->cwnd, 1u << 20);
}
