/* SPDX-License-Identifier: GPL-2.0 */
/*
 * TCP input: the RFC 9293 segment-arrival rules for every state, with
 * RFC 5961 (challenge ACKs), RFC 7323 (PAWS, RTTM), SACK/DSACK processing,
 * loss detection, ECN feedback, reassembly and the delayed-ACK policy.
 */
#include "internal.h"

#define CE 0x03
#define CHALLENGE_PER_SEC 1000 /* net.ipv4.tcp_challenge_ack_limit */

struct seg {
	uint32_t seq, ack, end; /* end: seq + data + SYN + FIN */
	uint32_t wnd;
	uint8_t flags;
	const uint8_t *data;
	uint32_t len;
	struct tcp_opts o;
	bool ce;
};

static void challenge_ack(struct vtcp_stack *st, struct tcb *tp)
{
	uint64_t sec = st->now / NS_PER_S;

	if (sec != st->challenge_sec) {
		st->challenge_sec = sec;
		st->challenge_count = 0;
	}
	if (st->challenge_count++ < CHALLENGE_PER_SEC)
		tp->ack_now = true;
}

/* Options a SYN or SYN-ACK settles for the connection. */
static void negotiate(struct vtcp_stack *st, struct tcb *tp, const struct seg *sg)
{
	tp->ws_ok = sg->o.ws_ok && !st->cfg.no_window_scaling;
	tp->snd_wscale = tp->ws_ok ? sg->o.ws : 0;
	tp->rcv_wscale = tp->ws_ok ? tcp_rcv_wscale(st, tp) : 0;
	tp->ts_ok = sg->o.ts_ok && !st->cfg.no_timestamps;
	if (tp->ts_ok) {
		tp->ts_recent = sg->o.tsval;
		tp->ts_recent_ns = st->now;
	}
	tp->sack_ok = sg->o.sack_ok && !st->cfg.no_sack;
	tcp_set_mss(tp, sg->o.mss_ok ? sg->o.mss :
			(tp->raddr.fam == 6 ? TCP_MSS6_DEFAULT : TCP_MSS_DEFAULT));
	tp->irs = sg->seq;
	tp->rcv_nxt = sg->seq + 1;
	tp->rcv_adv = tp->rcv_nxt;
	tp->snd_wl1 = sg->seq;
	tp->cwnd = TCP_INIT_CWND;
	tp->ssthresh = UINT32_MAX >> 1;
	tp->quick = TCP_QUICKACKS;
	tp->cc->init(tp);
}

static void become_established(struct vtcp_stack *st, struct tcb *tp,
			       const struct seg *sg)
{
	tp->state = VTCP_ESTABLISHED;
	tp->synced = true;
	/*
	 * Our SYN is delivered. A listener's child is Linux's socket made
	 * from a request: the SYN-ACK was the request's, acked before the
	 * socket existed, and the SYN it answered is the child's first
	 * segment in.
	 */
	tp->cnt.delivered++;
	if (tp->parent < 0)
		tp->cnt.bytes_acked += sg->ack - tp->snd_una;
	else
		tp->cnt.segs_in++;
	tp->snd_una = sg->ack;
	tp->sndq_seq = sg->ack;
	/* RFC 7323 2.2: a SYN's window is never scaled (the SYN-ACK's, for us) */
	tp->snd_wnd = sg->flags & TH_SYN ? sg->wnd : sg->wnd << tp->snd_wscale;
	tp->max_snd_wnd = tp->snd_wnd;
	tp->snd_wl1 = sg->seq;
	tp->snd_wl2 = sg->ack;
	tp->recover = sg->ack;
	tp->snd_sml = sg->ack;
	tp->t_rtx = NO_DEADLINE;
	/* the handshake RTT, unless the SYN was retransmitted (Karn) */
	if (!tp->retransmits)
		tcp_rtt_sample(tp, (uint32_t)((st->now - tp->retrans_stamp) / NS_PER_US));
	tp->retransmits = tp->backoff = 0;
	tp->retrans_stamp = 0;
	/* as Linux's lrcvtime, lsndtime and rcv_tstamp: the handshake counts */
	tp->last_rcv_ns = tp->last_data_rcv_ns = tp->last_data_snd_ns = st->now;
	tcp_arm_keepalive(st, tp);
	tcp_sndbuf_expand(st, tp);
	tp->want_tx = true;
}

/*
 * TCP_DEFER_ACCEPT (tcp_check_req()): a listener's handshake completes on
 * data, not on a bare ACK, until its SYN-ACK timed out that many times;
 * the child stays a request meanwhile, and accept() does not see it.
 */
static bool defer_accept_drops(struct vtcp_stack *st, struct tcb *tp, const struct seg *sg)
{
	if (tp->parent < 0 || sg->len || (sg->flags & TH_FIN) ||
	    tp->retransmits >= st->tcbs[tp->parent].defer_accept)
		return false;
	tp->defer_acked = true;
	return true;
}

static void listen_input(struct vtcp_stack *st, struct tcb *lp,
			 const struct ip_meta *m, uint16_t sport, uint16_t dport,
			 const struct seg *sg)
{
	struct tcb *tp;

	if (sg->flags & TH_RST)
		return;
	if (sg->flags & TH_ACK) {
		tcp_reply_rst(st, m, sport, dport, sg->ack, 0, TH_RST);
		return;
	}
	if (!(sg->flags & TH_SYN) || lp->nchild >= lp->backlog)
		return; /* a full queue drops the SYN, as Linux: the peer retries */
	tp = tcb_alloc(st);
	if (!tp)
		return;
	tp->laddr = m->dst;
	tp->raddr = m->src;
	tp->v4mapped = lp->laddr.fam == 6 && m->dst.fam == 4;
	tp->v6only = lp->v6only;
	tp->rport = sport;
	tcb_bind_port(st, tp, dport);
	sched_touch(st, tp);
	tp->orphan = true; /* nobody holds it until accept() */
	tp->parent = tcb_index(st, lp);
	if (route_lookup(st, &tp->raddr, &tp->nexthop, NULL, &tp->pmtu)) {
		tcb_free(st, tp);
		return;
	}
	/* inherited socket options */
	tp->nodelay = lp->nodelay;
	tp->reuseaddr = lp->reuseaddr;
	tp->reuseport = lp->reuseport;
	tp->keepalive = lp->keepalive;
	tp->keepidle_s = lp->keepidle_s;
	tp->keepintvl_s = lp->keepintvl_s;
	tp->keepcnt = lp->keepcnt;
	tp->syn_retries = lp->syn_retries;
	tp->tos = lp->tos;
	tp->ttl = lp->ttl;
	tp->linger2_s = lp->linger2_s;
	tp->user_timeout_ms = lp->user_timeout_ms;
	tp->user_mss = lp->user_mss;
	tp->sndbuf = lp->sndbuf;
	tp->sndbuf_locked = lp->sndbuf_locked;
	tp->rcvbuf = lp->rcvbuf;
	tp->rcvbuf_locked = lp->rcvbuf_locked;
	tp->notsent_lowat = lp->notsent_lowat;
	tp->window_clamp = lp->window_clamp;
	tp->pacing = lp->pacing;
	tp->max_pacing_rate = lp->max_pacing_rate;
	tp->cc = lp->cc;
	/* tcp_ecn 1 and 2 both answer a peer's ECN-setup SYN */
	tp->ecn_want = lp->ecn_set ? lp->ecn_want : st->cfg.ecn != 0;
	tp->linger_on = lp->linger_on;
	tp->linger_s = lp->linger_s;
	tp->flowlabel = lp->flowlabel;
	tp->rcv_wnd_cap = lp->rcv_wnd_cap;
	if (tp->raddr.fam == 6 && !tp->flowlabel)
		tp->flowlabel = (uint32_t)siphash24(st->cfg.isn_secret, &tp->lport, 4) & 0xfffff;
	negotiate(st, tp, sg);
	tp->ecn_ok = tp->ecn_want && (sg->flags & (TH_ECE | TH_CWR)) == (TH_ECE | TH_CWR);
	tp->snd_wnd = sg->wnd;
	tp->iss = isn_generate(st, tp);
	tp->ts_offset = ts_offset_generate(st, tp);
	tp->snd_una = tp->snd_nxt = tp->iss;
	tp->pushed_seq = tp->iss + 1;
	tp->state = VTCP_SYN_RECV;
	tp->last_rcv_ns = st->now;
	tcb_hash(st, tp);
	lp->nchild++;
	tp->want_tx = true;
}

static void synsent_input(struct vtcp_stack *st, struct tcb *tp, const struct seg *sg)
{
	if ((sg->flags & TH_ACK) &&
	    (SEQ_LEQ(sg->ack, tp->iss) || SEQ_GT(sg->ack, tp->snd_nxt))) {
		if (!(sg->flags & TH_RST))
			tcp_send_ctl(st, tp, TH_RST, sg->ack);
		return;
	}
	if (sg->flags & TH_RST) {
		if (sg->flags & TH_ACK)
			tcp_done(st, tp, ECONNREFUSED);
		return;
	}
	if (!(sg->flags & TH_SYN))
		return;
	negotiate(st, tp, sg);
	if (sg->flags & TH_ACK) {
		tp->ecn_ok = tp->ecn_want && (sg->flags & (TH_ECE | TH_CWR)) == TH_ECE;
		become_established(st, tp, sg);
		/*
		 * tcp_rcv_synsent_state_process(): with TCP_DEFER_ACCEPT the
		 * handshake's ACK waits for the first data, which carries it,
		 * or for the longest delayed ACK
		 */
		if (tp->defer_accept)
			tp->t_delack = st->now + TCP_DELACK_MAX_NS;
		else
			tp->ack_now = true;
		return;
	}
	/* simultaneous open: answer with SYN-ACK on the same ISS */
	tp->ecn_ok = tp->ecn_want && (sg->flags & (TH_ECE | TH_CWR)) == (TH_ECE | TH_CWR);
	tp->state = VTCP_SYN_RECV;
	tp->snd_wnd = sg->wnd;
	tp->snd_nxt = tp->iss;
	tp->want_tx = true;
}

/* Returns true when a new SYN may reuse this TIME_WAIT tuple. */
static bool timewait_input(struct vtcp_stack *st, struct tcb *tp, const struct seg *sg)
{
	if (sg->flags & TH_RST) {
		if (sg->seq == tp->rcv_nxt)
			tcp_done(st, tp, 0);
		return false;
	}
	if ((sg->flags & (TH_SYN | TH_ACK)) == TH_SYN) {
		/* RFC 6191 / Linux: a SYN clearly newer than the old connection */
		if ((tp->ts_ok && sg->o.ts_ok && (int32_t)(sg->o.tsval - tp->ts_recent) > 0) ||
		    (!(tp->ts_ok && sg->o.ts_ok) && SEQ_GT(sg->seq, tp->rcv_nxt))) {
			tcp_done(st, tp, 0);
			return true;
		}
	}
	/* a retransmitted FIN: our last ACK was lost; ACK again, restart 2MSL */
	if (sg->flags & TH_FIN)
		tp->t_keep = st->now + TCP_TW_NS;
	tp->ack_now = true;
	return false;
}

static bool seq_acceptable(const struct tcb *tp, const struct seg *sg)
{
	uint32_t wnd = SEQ_GT(tp->rcv_adv, tp->rcv_nxt) ? tp->rcv_adv - tp->rcv_nxt : 0;
	uint32_t seglen = sg->end - sg->seq;

	if (!seglen)
		return wnd ? SEQ_LEQ(tp->rcv_nxt, sg->seq) && SEQ_LT(sg->seq, tp->rcv_nxt + wnd)
			   : sg->seq == tp->rcv_nxt;
	if (!wnd)
		return false;
	return (SEQ_LEQ(tp->rcv_nxt, sg->seq) && SEQ_LT(sg->seq, tp->rcv_nxt + wnd)) ||
	       (SEQ_LT(tp->rcv_nxt, sg->end) && SEQ_LEQ(sg->end, tp->rcv_nxt + wnd));
}

static void rst_input(struct vtcp_stack *st, struct tcb *tp, const struct seg *sg)
{
	int err = ECONNRESET;

	if (sg->seq != tp->rcv_nxt) {
		challenge_ack(st, tp); /* RFC 5961 3.2 */
		return;
	}
	if (tp->state == VTCP_CLOSE_WAIT)
		err = EPIPE;
	else if (tp->state == VTCP_SYN_RECV && tp->parent >= 0)
		err = 0; /* an embryonic child just goes away */
	tcp_done(st, tp, err);
}

static void fin_input(struct vtcp_stack *st, struct tcb *tp)
{
	tp->rcv_nxt++;
	tp->fin_rcvd = true;
	tp->ooo_fin = false;
	tp->ack_now = true;
	switch (tp->state) {
	case VTCP_SYN_RECV:
	case VTCP_ESTABLISHED:
		tp->state = VTCP_CLOSE_WAIT;
		break;
	case VTCP_FIN_WAIT1:
		/* our FIN not yet acknowledged: simultaneous close */
		tp->state = VTCP_CLOSING;
		break;
	case VTCP_FIN_WAIT2:
		tcp_enter_timewait(st, tp);
		break;
	default:
		break;
	}
}

static void data_input(struct vtcp_stack *st, struct tcb *tp, const struct seg *sg)
{
	uint32_t seq = sg->seq, len = sg->len, off, space;
	const uint8_t *data = sg->data;
	bool fin = sg->flags & TH_FIN, in_order, had_ooo = tp->nooo > 0;

	if (SEQ_LT(seq, tp->rcv_nxt)) {
		uint32_t dup = MIN(tp->rcv_nxt - seq, len);

		if (dup && tp->sack_ok) {
			/* RFC 2883: report the duplicate */
			tp->dsack = true;
			tp->dsack_start = seq;
			tp->dsack_end = seq + dup;
			tp->ack_now = true;
		}
		data += dup;
		len -= dup;
		seq += dup;
	}
	off = seq - tp->rcv_nxt;
	space = tp->rcvq.cap - tp->rcvq.len;
	if (off > space || (off == space && len)) {
		tp->ack_now = true;
		return;
	}
	if (len > space - off) {
		len = space - off;
		fin = false;
	}
	in_order = off == 0;
	if (len) {
		ring_write_at(&tp->rcvq, tp->rcvq.len + off, data, len);
		tp->last_data_rcv_ns = st->now;
		if (len > tp->rcv_mss)
			tp->rcv_mss = (uint16_t)MIN(len, (uint32_t)tp->adv_mss);
		if (in_order) {
			uint32_t rcv_nxt = tp->rcv_nxt;

			tp->rcv_nxt += len;
			tp->rcvq.len += len;
			tcp_grow_window(tp, len);
			ooo_advance(tp);
			tp->cnt.bytes_received += tp->rcv_nxt - rcv_nxt;
			if (had_ooo)
				tp->ack_now = true; /* a hole filled: tell the sender now */
		} else {
			tp->cnt.rcv_ooopack++;
			if (!ooo_add(tp, seq, seq + len))
				fin = false;
			tp->ack_now = true; /* duplicate ACK with SACK blocks */
		}
	}
	if (fin) {
		tp->ooo_fin = true;
		tp->ooo_fin_seq = seq + len;
	}
	if (tp->ooo_fin && tp->ooo_fin_seq == tp->rcv_nxt)
		fin_input(st, tp);
	if (!len || !in_order)
		return;
	/* delayed ACK: quick ACKs at start, then every second full segment or 40 ms */
	if (len >= tp->rcv_mss)
		tp->segs_unacked++;
	if (tp->quick) {
		tp->quick--;
		tp->ack_now = true;
	} else if (tp->segs_unacked >= 2) {
		tp->ack_now = true;
	} else if (tp->t_delack == NO_DEADLINE) {
		tp->t_delack = st->now + TCP_DELACK_NS;
	}
	if (!tp->ack_now && (sg->flags & TH_PSH))
		tp->ack_pushed = true; /* ICSK_ACK_PUSHED: the ACK may go when it is read */
}

/* RFC 2883: a first block below the ACK or inside the second is a DSACK. */
static bool first_block_is_dsack(const struct seg *sg)
{
	const uint32_t(*b)[2] = sg->o.sack;

	return sg->o.nsack && SEQ_LT(b[0][0], b[0][1]) &&
	       (SEQ_LEQ(b[0][1], sg->ack) ||
		(sg->o.nsack > 1 && SEQ_GEQ(b[0][0], b[1][0]) && SEQ_LEQ(b[0][1], b[1][1])));
}

/*
 * Returns how many segments the blocks newly SACKed. The blocks are taken
 * lowest first, as Linux sorts them: a receiver lists the newest first, so
 * when the ACK that reported a lower block was lost, taking them as listed
 * would count the lower block's segments as reordered below the higher one.
 */
static uint32_t sack_input(struct vtcp_stack *st, struct tcb *tp, const struct seg *sg)
{
	uint32_t n = 0, blk[4][2];
	unsigned int nblk = 0, first = 0;

	if (first_block_is_dsack(sg)) {
		tp->cnt.dsack_dups++;
		/* our retransmission was spurious: allow more reordering */
		tp->rack_reo_mult = (uint32_t)MIN(tp->rack_reo_mult + 1, 16u);
		first = 1;
	}
	for (unsigned int i = first; i < sg->o.nsack; i++) {
		uint32_t start = sg->o.sack[i][0], end = sg->o.sack[i][1];
		unsigned int j = nblk;

		if (!SEQ_LT(start, end) || SEQ_LT(start, tp->snd_una) || SEQ_GT(end, tp->snd_nxt))
			continue;
		nblk++;
		for (; j && SEQ_GT(blk[j - 1][0], start); j--) {
			blk[j][0] = blk[j - 1][0];
			blk[j][1] = blk[j - 1][1];
		}
		blk[j][0] = start;
		blk[j][1] = end;
	}
	for (unsigned int i = 0; i < nblk; i++)
		n += sb_mark_sacked(tp, blk[i][0], blk[i][1], st->now);
	return n;
}

/* Processes the acknowledgment fields; returns false to drop the segment. */
static bool ack_input(struct vtcp_stack *st, struct tcb *tp, const struct seg *sg)
{
	bool advanced = SEQ_GT(sg->ack, tp->snd_una);
	uint32_t wnd = sg->wnd << tp->snd_wscale, prior_wnd = tp->snd_wnd, delivered = 0;

	if (SEQ_GT(sg->ack, tp->snd_nxt)) {
		tp->ack_now = true; /* acks what we never sent */
		return false;
	}
	if (SEQ_LT(sg->ack, tp->snd_una - tp->max_snd_wnd)) {
		challenge_ack(st, tp); /* RFC 5961 5.2 */
		return false;
	}
	tp->probes_out = 0;
	/*
	 * Linux's tcp_may_update_window(): an ACK that advances snd_una always
	 * carries the window, else the right edge snd_una + snd_wnd would grow
	 * from a stale window when a retransmission (older SEG.SEQ) acks new
	 * data; then a newer segment, or a same-seq one that opens or closes it.
	 */
	if (advanced || SEQ_LT(tp->snd_wl1, sg->seq) ||
	    (tp->snd_wl1 == sg->seq && (wnd > tp->snd_wnd || !wnd))) {
		tp->snd_wnd = wnd;
		tp->snd_wl1 = sg->seq;
		tp->snd_wl2 = sg->ack;
		tp->max_snd_wnd = MAX(tp->max_snd_wnd, wnd);
		if (wnd > prior_wnd) {
			tp->want_tx = true;
			if (tp->rtx_kind == RTX_PERSIST && tp->t_rtx != NO_DEADLINE) {
				tp->t_rtx = NO_DEADLINE;
				tp->backoff = 0;
				if (!tp->packets_out)
					tp->retrans_stamp = 0;
			}
		}
	}
	if (tp->ecn_ok && (sg->flags & TH_ECE) && tp->ca_state <= CA_DISORDER && advanced)
		cc_ecn_reduce(tp, st->now);
	if (tp->sack_ok && sg->o.nsack)
		delivered = sack_input(st, tp, sg);
	if (advanced) {
		uint32_t nsegs, pop;
		uint64_t oldest;
		bool karn_ok;

		nsegs = sb_ack(tp, sg->ack, st->now, &karn_ok, &oldest);
		delivered += nsegs;
		tp->cnt.bytes_acked += sg->ack - tp->snd_una;
		/* our own send times are exact (Karn: never a retransmission); TS
		 * echoes, with their 1 ms clock, only when those are ambiguous */
		if (karn_ok && oldest)
			tcp_rtt_sample(tp, (uint32_t)((st->now - oldest) / NS_PER_US));
		else if (tp->ts_ok && sg->o.ts_ok && sg->o.tsecr)
			tcp_rtt_sample(tp, (tcp_tsval(st, tp) - sg->o.tsecr) * 1000u);
		if (SEQ_GT(sg->ack, tp->sndq_seq)) {
			pop = MIN(sg->ack - tp->sndq_seq, tp->sndq.len);
			ring_pop(&tp->sndq, pop);
			tp->sndq_seq += pop;
		}
		tp->snd_una = sg->ack;
		/* tcp_clean_rtx_queue() and tcp_check_space() */
		if (tp->snd_una == tp->snd_nxt)
			tcp_chrono_stop(tp, st->now, CHRONO_BUSY);
		tp->soft_err = 0; /* something got through: forget ICMP complaints */
		tp->backoff = 0;
		tp->retransmits = 0;
		tp->tlp_out = false;
		tp->retrans_stamp = tp->seg_cnt ? sb_seg(tp, 0)->xmit_ns : 0;
		tp->reno_sacked = nsegs >= tp->reno_sacked ? 0 : tp->reno_sacked - nsegs;
		tp->dupacks = 0;
		if (tp->ca_state >= CA_CWR && SEQ_GEQ(sg->ack, tp->recover)) {
			cc_end_recovery(tp);
		} else if (tp->ca_state == CA_RECOVERY && !tp->sack_ok && tp->seg_cnt) {
			sb_set_lost(tp, sb_seg(tp, 0)); /* RFC 6582 partial ACK */
		}
		if (tp->ca_state != CA_RECOVERY)
			cc_on_ack(tp, nsegs ? nsegs : 1, st->now);
		/* tcp_check_space(): cwnd filled, a bigger buffer would only queue */
		if (sb_in_flight(tp) < tp->cwnd)
			tcp_sndbuf_expand(st, tp);
		if (tp->nospace && tcp_snd_writable(tp)) {
			tp->nospace = false;
			tcp_chrono_stop(tp, st->now, CHRONO_SNDBUF_LIMITED);
		}
		tp->want_tx = true;
		tcp_arm_rtx(st, tp);
	} else if (sg->ack == tp->snd_una && !sg->len && !(sg->flags & (TH_SYN | TH_FIN)) &&
		   tp->packets_out && wnd == prior_wnd && !tp->sack_ok) {
		/* a duplicate ACK without SACK: NewReno counts it as one delivered */
		tp->dupacks++;
		if (tp->reno_sacked + 1 < tp->packets_out)
			tp->reno_sacked++;
		delivered = 1;
		if (tp->dupacks == 3 && tp->ca_state < CA_RECOVERY && tp->seg_cnt &&
		    SEQ_GEQ(tp->snd_una, tp->recover)) {
			sb_set_lost(tp, sb_seg(tp, 0));
			cc_enter_recovery(tp, st->now);
		}
		tp->want_tx = true;
	}
	if (tp->sack_ok && tp->packets_out) {
		sb_detect_dupthresh(tp);
		rack_detect(st, tp);
		if (tp->lost_out && tp->ca_state < CA_RECOVERY)
			cc_enter_recovery(tp, st->now);
		else if (tp->sacked_out && tp->ca_state == CA_OPEN)
			tp->ca_state = CA_DISORDER;
		else if (!tp->sacked_out && tp->ca_state == CA_DISORDER)
			tp->ca_state = CA_OPEN;
		if (tp->lost_out)
			tp->want_tx = true;
	}
	tp->cnt.delivered += delivered;
	if (tp->ca_state == CA_RECOVERY)
		cc_prr(tp, delivered);
	return true;
}

static void fin_acked(struct vtcp_stack *st, struct tcb *tp)
{
	switch (tp->state) {
	case VTCP_FIN_WAIT1:
		tp->state = VTCP_FIN_WAIT2;
		/* TCP_LINGER2 < 0: a closed socket does not wait there at all */
		if (tp->orphan && tp->linger2_s < 0)
			tcp_done(st, tp, 0);
		else if (tp->orphan)
			tp->t_keep = st->now + tcp_fin_wait2_ns(st, tp);
		break;
	case VTCP_CLOSING:
		tcp_enter_timewait(st, tp);
		break;
	case VTCP_LAST_ACK:
		tcp_done(st, tp, 0);
		break;
	default:
		break;
	}
}

/*
 * VTCP_REFUSE_URGENT: the first segment that brings urgent data with new
 * bytes is refused, and from then on every segment that brings new
 * sequence space, so that the stack the connection moves to gets them all
 * (the host keeps them): none is acknowledged or SACKed here, as the peer
 * would not send again what we SACKed and the move dropped. Only while the
 * application can read them: urgent data cannot follow the peer's FIN, a
 * closed socket's goes inline, as before, and after shutdown(SHUT_RD) only
 * an established one reads on (past ESTABLISHED new data resets it).
 */
static bool refused_for_urgent(struct vtcp_stack *st, struct tcb *tp, const struct seg *sg)
{
	if (!tp->refuse_urgent || tp->orphan || (tp->shut_rd && tp->state != VTCP_ESTABLISHED) ||
	    sg->end == sg->seq ||
	    !SEQ_GT(sg->end, tp->rcv_nxt) ||
	    (tp->state != VTCP_ESTABLISHED && tp->state != VTCP_FIN_WAIT1 &&
	     tp->state != VTCP_FIN_WAIT2))
		return false;
	if (!tp->urgent_refused &&
	    !((sg->flags & TH_URG) && sg->len && SEQ_GT(sg->seq + sg->len, tp->rcv_nxt)))
		return false;
	tp->urgent_refused = true;
	st->refused = tcb_index(st, tp);
	return true;
}

static void synchronized_input(struct vtcp_stack *st, struct tcb *tp,
			       const struct seg *sg)
{
	/* RFC 7323 5.3: PAWS */
	if (tp->ts_ok && sg->o.ts_ok && !(sg->flags & TH_RST) &&
	    (int32_t)(sg->o.tsval - tp->ts_recent) < 0 &&
	    st->now - tp->ts_recent_ns < TCP_PAWS_24DAYS_NS) {
		tp->ack_now = true;
		return;
	}
	if (!seq_acceptable(tp, sg)) {
		if (!(sg->flags & TH_RST)) {
			if (sg->len && tp->sack_ok && SEQ_LEQ(sg->seq + sg->len, tp->rcv_nxt)) {
				tp->dsack = true;
				tp->dsack_start = sg->seq;
				tp->dsack_end = sg->seq + sg->len;
			}
			tp->ack_now = true;
		}
		return;
	}
	if (sg->flags & TH_RST) {
		rst_input(st, tp, sg);
		return;
	}
	if (sg->flags & TH_SYN) {
		if (tp->state == VTCP_SYN_RECV && sg->seq == tp->irs) {
			tp->snd_nxt = tp->iss; /* our SYN-ACK was lost: resend it */
			tp->want_tx = true;
		} else {
			challenge_ack(st, tp); /* RFC 5961 4.2 */
		}
		return;
	}
	if (!(sg->flags & TH_ACK) || refused_for_urgent(st, tp, sg))
		return;
	tp->last_rcv_ns = st->now;
	if (tp->state == VTCP_SYN_RECV) {
		if (!SEQ_LT(tp->snd_una, sg->ack) || SEQ_GT(sg->ack, tp->snd_nxt)) {
			tcp_send_ctl(st, tp, TH_RST, sg->ack);
			return;
		}
		if (defer_accept_drops(st, tp, sg))
			return;
		become_established(st, tp, sg);
		if (tp->parent >= 0) {
			struct tcb *lp = &st->tcbs[tp->parent];
			int me = tcb_index(st, tp);

			tp->aq_next = -1;
			if (lp->aq_tail >= 0)
				st->tcbs[lp->aq_tail].aq_next = me;
			else
				lp->aq_head = me;
			lp->aq_tail = me;
			lp->naq++;
		}
	} else if (!ack_input(st, tp, sg)) {
		return;
	}
	/* RFC 7323 4.3: TS.Recent from segments at or left of the window */
	if (tp->ts_ok && sg->o.ts_ok && SEQ_LEQ(sg->seq, tp->rcv_nxt) &&
	    (int32_t)(sg->o.tsval - tp->ts_recent) >= 0) {
		tp->ts_recent = sg->o.tsval;
		tp->ts_recent_ns = st->now;
	}
	if (tp->fin_sent && SEQ_GT(tp->snd_una, tp->fin_seq)) {
		fin_acked(st, tp);
		if (!tp->used || tp->state == VTCP_CLOSE)
			return;
	}
	if (sg->ce && tp->ecn_ok)
		tp->ece_pending = true;
	if (tp->ecn_ok && (sg->flags & TH_CWR))
		tp->ece_pending = false;
	if (!sg->len && !(sg->flags & TH_FIN))
		return;
	if (tp->state != VTCP_ESTABLISHED && tp->state != VTCP_FIN_WAIT1 &&
	    tp->state != VTCP_FIN_WAIT2)
		return; /* after the peer's FIN: nothing more to take */
	if (((tp->orphan && tp->parent < 0) || (tp->shut_rd && tp->state != VTCP_ESTABLISHED)) &&
	    sg->len && SEQ_GT(sg->seq + sg->len, tp->rcv_nxt)) {
		/*
		 * New data for a closed socket (not one awaiting accept), or for
		 * one shut both ways: RFC 1122 says reset, and Linux does
		 * (tcp_rcv_state_process(), LINUX_MIB_TCPABORTONDATA)
		 */
		tcp_send_ctl(st, tp, TH_RST | TH_ACK, tcp_acceptable_seq(tp));
		tcp_done(st, tp, ECONNRESET);
		return;
	}
	data_input(st, tp, sg);
}

void tcp_input(struct vtcp_stack *st, const struct ip_meta *m,
	       const uint8_t *p, size_t len)
{
	struct seg sg;
	struct tcb *tp;
	uint16_t sport, dport;
	unsigned int doff;

	if (len < TCP_HLEN)
		return;
	if (csum_fold(csum_add(csum_pseudo(&m->src, &m->dst, 6, (uint32_t)len), p, len)))
		return;
	doff = (p[12] >> 4) * 4u;
	if (doff < TCP_HLEN || doff > len)
		return;
	memset(&sg, 0, sizeof(sg));
	sport = (uint16_t)(p[0] << 8 | p[1]);
	dport = (uint16_t)(p[2] << 8 | p[3]);
	sg.seq = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7];
	sg.ack = (uint32_t)p[8] << 24 | (uint32_t)p[9] << 16 | (uint32_t)p[10] << 8 | p[11];
	sg.flags = p[13];
	sg.wnd = (uint32_t)(p[14] << 8 | p[15]);
	sg.data = p + doff;
	sg.len = (uint32_t)(len - doff);
	sg.end = sg.seq + sg.len + !!(sg.flags & TH_SYN) + !!(sg.flags & TH_FIN);
	sg.ce = (m->tos & CE) == CE;
	if (!tcp_opts_parse(p + TCP_HLEN, doff - TCP_HLEN, sg.flags & TH_SYN, &sg.o))
		return;
	if (!sport || !dport)
		return;

	tp = tcb_lookup(st, &m->dst, dport, &m->src, sport);
	if (tp && tp->moved)
		return; /* another stack has it now */
	if (tp && tp->state == VTCP_TIME_WAIT && timewait_input(st, tp, &sg))
		tp = tcb_lookup(st, &m->dst, dport, &m->src, sport);
	if (tp) {
		sched_touch(st, tp);
		if (tp->parent >= 0) /* its accept queue may change */
			sched_touch(st, &st->tcbs[tp->parent]);
	}
	if (!tp || tp->state == VTCP_CLOSE) {
		/* RFC 9293 3.10.7.1: no connection, answer with RST */
		if (sg.flags & TH_RST)
			return;
		if (sg.flags & TH_ACK)
			tcp_reply_rst(st, m, sport, dport, sg.ack, 0, TH_RST);
		else
			tcp_reply_rst(st, m, sport, dport, 0, sg.end, TH_RST | TH_ACK);
		return;
	}
	if (tp->state == VTCP_TIME_WAIT)
		return;
	tp->cnt.segs_in++;
	if (sg.len)
		tp->cnt.data_segs_in++;
	if (tp->state == VTCP_LISTEN) {
		listen_input(st, tp, m, sport, dport, &sg);
		return;
	}
	if (tp->state == VTCP_SYN_SENT) {
		synsent_input(st, tp, &sg);
		return;
	}
	synchronized_input(st, tp, &sg);
}
