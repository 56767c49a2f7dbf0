/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Timers: RTT estimation and RTO (RFC 6298, Linux's 200 ms floor), SYN and
 * data retransmission with exponential backoff and Linux's give-up rules
 * (tcp_syn_retries, tcp_retries2, TCP_USER_TIMEOUT), persist (zero-window
 * probes), delayed ACK, keepalive, FIN_WAIT_2 and TIME_WAIT.
 */
#include "internal.h"

void tcp_rtt_sample(struct tcb *tp, uint32_t rtt_us)
{
	if (!rtt_us)
		rtt_us = 1;
	if (!tp->min_rtt_us || rtt_us < tp->min_rtt_us)
		tp->min_rtt_us = rtt_us;
	if (!tp->srtt_us) {
		tp->srtt_us = rtt_us;
		tp->rttvar_us = rtt_us / 2;
	} else {
		uint32_t err = rtt_us > tp->srtt_us ? rtt_us - tp->srtt_us
						    : tp->srtt_us - rtt_us;

		tp->rttvar_us = (3 * tp->rttvar_us + err) / 4;
		tp->srtt_us = (7 * tp->srtt_us + rtt_us) / 8;
	}
	/* RTO = SRTT + max(4*RTTVAR, rto_min): Linux keeps the variance term >= 200 ms */
	tp->rto_ns = (uint64_t)tp->srtt_us * NS_PER_US +
		     MAX((uint64_t)4 * tp->rttvar_us * NS_PER_US, TCP_RTO_MIN_NS);
	tp->rto_ns = MIN(tp->rto_ns, TCP_RTO_MAX_NS);
}

/* Linux's tcp_model_timeout(): total time of `boundary` backed-off RTOs. */
static uint64_t backoff_timeout(uint32_t boundary, uint64_t base)
{
	uint32_t thresh = 0;

	while ((base << (thresh + 1)) <= TCP_RTO_MAX_NS)
		thresh++;
	if (boundary <= thresh)
		return ((2ull << boundary) - 1) * base;
	return ((2ull << thresh) - 1) * base + (boundary - thresh) * TCP_RTO_MAX_NS;
}

/* Linux's tcp_write_err(): an ICMP error heard meanwhile explains the timeout */
static int timeout_err(const struct tcb *tp)
{
	return tp->soft_err ? tp->soft_err : ETIMEDOUT;
}

static uint64_t user_timeout_ns(const struct tcb *tp)
{
	return (uint64_t)tp->user_timeout_ms * NS_PER_MS;
}

void tcp_arm_rtx(struct vtcp_stack *st, struct tcb *tp)
{
	uint64_t rto;

	if (!tp->packets_out) {
		bool blocked = tp->sndq.len > tp->snd_nxt - tp->sndq_seq && !tp->fin_sent;

		if (!blocked) {
			tp->t_rtx = NO_DEADLINE;
			return;
		}
		/* persist: window too small for the data waiting */
		if (tp->rtx_kind != RTX_PERSIST || tp->t_rtx == NO_DEADLINE) {
			tp->rtx_kind = RTX_PERSIST;
			rto = MIN(tp->rto_ns << tp->backoff, TCP_RTO_MAX_NS);
			tp->t_rtx = st->now + MAX(rto, TCP_RTO_MIN_NS);
		}
		return;
	}
	if (tp->sack_ok && tp->ca_state == CA_OPEN && !tp->tlp_out && tp->srtt_us) {
		tlp_arm(st, tp);
		return;
	}
	rto = MIN(tp->rto_ns << tp->backoff, TCP_RTO_MAX_NS);
	tp->rtx_kind = RTX_RTO;
	tp->t_rtx = st->now + rto;
	/* never sleep past the user timeout (Linux's tcp_clamp_rto_to_user_timeout) */
	if (tp->user_timeout_ms && tp->retrans_stamp &&
	    tp->retrans_stamp + user_timeout_ns(tp) > st->now)
		tp->t_rtx = MIN(tp->t_rtx, tp->retrans_stamp + user_timeout_ns(tp));
}

void tcp_arm_keepalive(struct vtcp_stack *st, struct tcb *tp)
{
	if (!tp->keepalive || tp->state == VTCP_LISTEN || tp->state == VTCP_CLOSE ||
	    tp->state == VTCP_TIME_WAIT || tp->state == VTCP_SYN_SENT) {
		if (tp->state != VTCP_TIME_WAIT && !(tp->orphan && tp->state == VTCP_FIN_WAIT2))
			tp->t_keep = NO_DEADLINE;
		return;
	}
	tp->t_keep = tp->last_rcv_ns + (uint64_t)tp->keepidle_s * NS_PER_S;
	if (tp->t_keep <= st->now)
		tp->t_keep = st->now + (uint64_t)tp->keepidle_s * NS_PER_S;
}

void tcp_enter_timewait(struct vtcp_stack *st, struct tcb *tp)
{
	tp->state = VTCP_TIME_WAIT;
	tp->t_rtx = tp->t_delack = tp->t_rack = tp->t_pace = NO_DEADLINE;
	tp->t_keep = st->now + TCP_TW_NS;
	tp->tw_start_ns = st->now;
	/* a minute with nothing to send, and nothing more to receive */
	ring_release(&tp->sndq);
	if (!tp->rcvq.len)
		ring_release(&tp->rcvq);
}

uint64_t tcp_deadline(const struct tcb *tp)
{
	return MIN(MIN(MIN(tp->t_rtx, tp->t_delack), MIN(tp->t_keep, tp->t_rack)), tp->t_pace);
}

static void unlink_child(struct vtcp_stack *st, struct tcb *tp)
{
	struct tcb *lp = &st->tcbs[tp->parent];
	int me = tcb_index(st, tp), *link = &lp->aq_head, prev = -1;

	lp->nchild--;
	sched_touch(st, lp);
	while (*link >= 0) {
		if (*link == me) {
			*link = tp->aq_next;
			if (lp->aq_tail == me)
				lp->aq_tail = prev;
			lp->naq--;
			break;
		}
		prev = *link;
		link = &st->tcbs[*link].aq_next;
	}
	tp->parent = -1;
}

/* The connection is over: report err (0: none) and release what nobody holds. */
void tcp_done(struct vtcp_stack *st, struct tcb *tp, int err)
{
	bool queued = tp->parent >= 0 && tp->state != VTCP_SYN_RECV;

	if (tp->hashed)
		tcb_unhash(st, tp);
	sched_touch(st, tp);
	tp->state = VTCP_CLOSE;
	tp->t_rtx = tp->t_delack = tp->t_keep = tp->t_rack = tp->t_pace = NO_DEADLINE;
	tp->ack_now = tp->want_tx = false;
	if (err) {
		tp->err = err;
		tp->reset = true;
	}
	if (queued && err)
		return; /* Linux keeps it in the accept queue: accept() returns it, reset */
	if (tp->parent >= 0) {
		unlink_child(st, tp);
		tcb_free(st, tp);
	} else if (tp->orphan) {
		tcb_free(st, tp);
	}
}

/*
 * Linux's tcp_fin_time(): how long an orphan waits in FIN_WAIT2 for the
 * peer's FIN, TCP_LINGER2 or tcp_fin_timeout, at least 3.5 RTOs.
 */
uint64_t tcp_fin_wait2_ns(const struct vtcp_stack *st, const struct tcb *tp)
{
	uint32_t s = tp->linger2_s > 0 ? (uint32_t)tp->linger2_s : st->cfg.fin_timeout_s;

	return MAX((uint64_t)s * NS_PER_S, (tp->rto_ns << 2) - (tp->rto_ns >> 1));
}

static void syn_timeout(struct vtcp_stack *st, struct tcb *tp)
{
	/* TCP_SYNCNT bounds a listener's SYN-ACKs too (reqsk_timer_handler()) */
	uint32_t limit = tp->syn_retries ? tp->syn_retries :
			 tp->state == VTCP_SYN_SENT ? st->cfg.syn_retries : st->cfg.synack_retries;
	/*
	 * syn_ack_recalc(): a request whose bare ACK TCP_DEFER_ACCEPT dropped
	 * lives out the deferral, silent but for its last SYN-ACK, which asks
	 * the client's ACK again to complete it then
	 */
	uint32_t defer = tp->defer_acked ? st->tcbs[tp->parent].defer_accept : 0;
	bool resend = !tp->defer_acked || (uint32_t)tp->retransmits + 1 >= defer;

	if ((tp->retransmits >= limit && tp->retransmits >= defer) ||
	    (tp->user_timeout_ms && st->now - tp->retrans_stamp >= user_timeout_ns(tp))) {
		tcp_done(st, tp, timeout_err(tp));
		return;
	}
	tp->retransmits++;
	tp->backoff++;
	tp->t_rtx = st->now + MIN(TCP_RTO_INIT_NS << tp->backoff, TCP_RTO_MAX_NS);
	if (!resend)
		return;
	tp->total_retrans++;
	tp->total_rto++;
	tp->snd_nxt = tp->iss;
	/* a retransmitted SYN gives no RTT sample (Karn) and no ECN (RFC 3168 6.1.1.1) */
	tp->ecn_want = false;
	tp->ecn_ok = false;
	tcp_send_syn(st, tp);
}

/*
 * Linux's tcp_orphan_retries(): a closed socket nobody will read an error
 * from gets fewer retransmissions than tcp_retries2; none more once an ICMP
 * error came and the backoff reached its ceiling.
 */
static uint32_t orphan_retries(const struct vtcp_stack *st, const struct tcb *tp)
{
	bool alive = (tp->rto_ns << tp->backoff) < TCP_RTO_MAX_NS;

	if (tp->soft_err && !alive)
		return 0;
	if (!st->cfg.orphan_retries && alive)
		return 8;
	return st->cfg.orphan_retries;
}

static bool write_timed_out(struct vtcp_stack *st, struct tcb *tp)
{
	bool closed = tp->orphan && tp->parent < 0; /* not one awaiting accept() */
	uint32_t retries = closed ? orphan_retries(st, tp) : st->cfg.retries2;
	uint64_t limit;

	if (!tp->retrans_stamp)
		return false;
	limit = tp->user_timeout_ms ? user_timeout_ns(tp)
				    : backoff_timeout(retries, TCP_RTO_MIN_NS);
	return st->now - tp->retrans_stamp >= limit;
}

static void rto_fire(struct vtcp_stack *st, struct tcb *tp)
{
	if (write_timed_out(st, tp)) {
		tcp_done(st, tp, timeout_err(tp));
		return;
	}
	cc_enter_loss(tp, st->now);
	tp->total_rto++;
	tp->backoff = (uint8_t)MIN(tp->backoff + 1, 30);
	tp->retransmits++;
	tp->tlp_out = false;
	tcp_output(st, tp);
	tcp_arm_rtx(st, tp); /* CA_LOSS: a plain, backed-off RTO */
}

static void persist_fire(struct vtcp_stack *st, struct tcb *tp)
{
	uint32_t room = SEQ_GT(tp->snd_una + tp->snd_wnd, tp->snd_nxt) ?
				tp->snd_una + tp->snd_wnd - tp->snd_nxt : 0;
	if (!tp->retrans_stamp)
		tp->retrans_stamp = st->now; /* probing since */
	/* probes_out is reset by any ACK: only a silent peer runs out of probes */
	if (tp->probes_out >= st->cfg.retries2 ||
	    (tp->user_timeout_ms && st->now - tp->retrans_stamp >= user_timeout_ns(tp))) {
		tcp_done(st, tp, timeout_err(tp));
		return;
	}
	tp->t_rtx = NO_DEADLINE;
	if (room) {
		/*
		 * Part of a segment fits: send it rather than a bare probe,
		 * with PSH as Linux's tcp_write_wakeup()
		 */
		uint32_t unsent = tp->sndq.len - (tp->snd_nxt - tp->sndq_seq);
		uint32_t len = MIN(MIN(room, unsent), (uint32_t)tp->mss);

		sb_append(tp, tp->snd_nxt, tp->snd_nxt + len, st->now);
		tcp_send_range(st, tp, tp->snd_nxt, tp->snd_nxt + len, SEND_PUSH);
		tp->snd_nxt += len;
		tcp_arm_rtx(st, tp);
		return;
	}
	/* a zero-window probe is an old sequence number: it elicits an ACK */
	tcp_send_ctl(st, tp, TH_ACK, tp->snd_una - 1);
	tp->probes_out++;
	tp->backoff = (uint8_t)MIN(tp->backoff + 1, 30);
	tp->rtx_kind = RTX_PERSIST;
	tp->t_rtx = st->now + MIN(MAX(tp->rto_ns, TCP_RTO_MIN_NS) << tp->backoff,
				  TCP_RTO_MAX_NS);
}

static void keepalive_fire(struct vtcp_stack *st, struct tcb *tp)
{
	uint64_t idle = st->now - tp->last_rcv_ns;
	uint64_t keepidle = (uint64_t)tp->keepidle_s * NS_PER_S;

	tp->t_keep = NO_DEADLINE;
	if (tp->state == VTCP_TIME_WAIT || (tp->orphan && tp->state == VTCP_FIN_WAIT2)) {
		tcp_done(st, tp, 0);
		return;
	}
	if (!tp->keepalive)
		return;
	/* data in flight: the retransmission timer watches the peer */
	if (tp->packets_out || tp->sndq.len > tp->snd_nxt - tp->sndq_seq) {
		tp->t_keep = st->now + keepidle;
		return;
	}
	if (idle < keepidle) {
		tp->t_keep = tp->last_rcv_ns + keepidle;
		return;
	}
	if ((tp->user_timeout_ms && idle >= user_timeout_ns(tp) && tp->probes_out) ||
	    (!tp->user_timeout_ms && tp->probes_out >= tp->keepcnt)) {
		tcp_send_ctl(st, tp, TH_RST | TH_ACK, tcp_acceptable_seq(tp));
		tcp_done(st, tp, timeout_err(tp));
		return;
	}
	tcp_send_ctl(st, tp, TH_ACK, tp->snd_una - 1);
	tp->probes_out++;
	tp->t_keep = st->now + (uint64_t)tp->keepintvl_s * NS_PER_S;
}

void tcp_timers(struct vtcp_stack *st, struct tcb *tp)
{
	uint64_t now = st->now;

	if (tp->t_delack <= now) {
		tp->t_delack = NO_DEADLINE;
		tp->ack_now = true;
		tp->pingpong = false; /* the answer did not come: ACK on reads again */
	}
	if (tp->t_pace <= now) {
		tp->t_pace = NO_DEADLINE;
		tp->want_tx = true;
	}
	if (tp->t_rack <= now) {
		rack_detect(st, tp);
		if (tp->lost_out && tp->ca_state < CA_RECOVERY) {
			cc_enter_recovery(tp, now);
			cc_prr(tp, 0);
		}
		tp->want_tx = true;
	}
	if (tp->t_rtx <= now) {
		uint8_t kind = tp->rtx_kind;

		tp->t_rtx = NO_DEADLINE;
		if (kind == RTX_SYN)
			syn_timeout(st, tp);
		else if (kind == RTX_PERSIST)
			persist_fire(st, tp);
		else if (kind == RTX_TLP)
			tlp_fire(st, tp);
		else
			rto_fire(st, tp);
		if (!tp->used || tp->state == VTCP_CLOSE)
			return;
	}
	if (tp->t_keep <= now)
		keepalive_fire(st, tp);
}
