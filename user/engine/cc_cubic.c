/* SPDX-License-Identifier: GPL-2.0 */
/*
 * CUBIC (RFC 9438): window growth as a cubic function of the time since
 * the last reduction, with fast convergence and the Reno-friendly region.
 */
#include "internal.h"

#define CUBIC_C	   0.4
#define CUBIC_BETA 0.7

/* Newton's method: libvelo links no libm. */
static double cube_root(double x)
{
	double r = x > 1 ? x / 3 : 1;

	if (x <= 0)
		return 0;
	for (int i = 0; i < 60; i++) {
		double next = r - (r * r * r - x) / (3 * r * r);

		if (next == r)
			break;
		r = next;
	}
	return r;
}

static void cubic_reset(struct tcb *tp)
{
	tp->cubic.epoch_ns = 0;
}

static void cubic_init(struct tcb *tp)
{
	memset(&tp->cubic, 0, sizeof(tp->cubic));
}

static uint32_t cubic_ssthresh(struct tcb *tp, uint64_t now)
{
	struct cubic_state *c = &tp->cubic;

	(void)now;
	/* fast convergence: yield to newer flows when shrinking */
	if (tp->cwnd < c->last_max_cwnd)
		c->w_max = tp->cwnd * (1.0 + CUBIC_BETA) / 2.0;
	else
		c->w_max = tp->cwnd;
	c->last_max_cwnd = tp->cwnd;
	cubic_reset(tp);
	return MAX((uint32_t)(tp->cwnd * CUBIC_BETA), 2u);
}

static void cubic_cong_avoid(struct tcb *tp, uint32_t acked, uint64_t now)
{
	struct cubic_state *c = &tp->cubic;
	double t, target, rtt;
	uint32_t cnt;

	if (tp->cwnd < tp->ssthresh) {
		acked = cc_slow_start(tp, acked);
		if (!acked)
			return;
	}
	rtt = (tp->min_rtt_us ? tp->min_rtt_us : 100000) / 1e6;
	if (!c->epoch_ns) {
		c->epoch_ns = now ? now : 1;
		if (c->w_max <= tp->cwnd) {
			c->k = 0;
			c->origin = tp->cwnd;
		} else {
			c->k = cube_root((c->w_max - tp->cwnd) / CUBIC_C);
			c->origin = c->w_max;
		}
		c->w_est = tp->cwnd;
	}
	/* W_cubic one RTT ahead, as RFC 9438 4.2 and Linux */
	t = (now - c->epoch_ns) / 1e9 + rtt;
	target = c->origin + CUBIC_C * (t - c->k) * (t - c->k) * (t - c->k);
	/* whole segments ahead, as Linux's integer target: a fraction of one
	 * would make the count unrepresentably large */
	if (target >= tp->cwnd + 1.0)
		cnt = (uint32_t)(tp->cwnd / (target - tp->cwnd));
	else
		cnt = 100 * tp->cwnd;
	/* Reno-friendly region (RFC 9438 4.3) */
	c->w_est += 3.0 * (1 - CUBIC_BETA) / (1 + CUBIC_BETA) * acked / tp->cwnd;
	if (c->w_est >= tp->cwnd + 1.0) {
		uint32_t reno_cnt = (uint32_t)(tp->cwnd / (c->w_est - tp->cwnd));

		cnt = MIN(cnt, reno_cnt);
	}
	cc_ai(tp, MAX(cnt, 2u), acked);
}

const struct cc_ops cc_cubic = {
	.name = "cubic",
	.init = cubic_init,
	.ssthresh = cubic_ssthresh,
	.cong_avoid = cubic_cong_avoid,
	.on_rto = cubic_reset,
};
