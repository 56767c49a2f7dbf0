/* SPDX-License-Identifier: GPL-2.0 */
/* NewReno (RFC 5681, RFC 6582): halve on loss, one segment per RTT after. */
#include "internal.h"

static void reno_init(struct tcb *tp)
{
	(void)tp;
}

static uint32_t reno_ssthresh(struct tcb *tp, uint64_t now)
{
	(void)now;
	return MAX(tp->cwnd / 2, 2u);
}

static void reno_cong_avoid(struct tcb *tp, uint32_t acked, uint64_t now)
{
	(void)now;
	if (tp->cwnd < tp->ssthresh) {
		acked = cc_slow_start(tp, acked);
		if (!acked)
			return;
	}
	cc_ai(tp, tp->cwnd, acked);
}

static void reno_on_rto(struct tcb *tp)
{
	(void)tp;
}

const struct cc_ops cc_newreno = {
	.name = "reno",
	.init = reno_init,
	.ssthresh = reno_ssthresh,
	.cong_avoid = reno_cong_avoid,
	.on_rto = reno_on_rto,
};
