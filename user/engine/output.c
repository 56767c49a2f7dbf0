/* SPDX-License-Identifier: GPL-2.0 */
/*
 * TCP output: segment construction, window advertisement, and the send
 * decision (retransmissions first, then new data under the peer's window,
 * cwnd, Nagle/cork/MSG_MORE, sender SWS avoidance, FIN, pure ACKs).
 */
#include "internal.h"

#define ECT0 0x02

static unsigned int ip_tcp_overhead(const struct tcb *tp)
{
	return (tp->raddr.fam == 6 ? IP6_HLEN : IP4_HLEN) + TCP_HLEN;
}

void tcp_set_mss(struct tcb *tp, uint16_t peer_mss)
{
	uint32_t m = tp->pmtu - ip_tcp_overhead(tp);

	tp->adv_mss = (uint16_t)(tp->user_mss ? MIN(m, tp->user_mss) : m);
	m = MIN(m, peer_mss);
	if (tp->user_mss)
		m = MIN(m, tp->user_mss);
	if (tp->ts_ok)
		m -= 12; /* the timestamp option rides on every segment */
	tp->mss = (uint16_t)MAX(m, 64u);
	tp->rcv_mss = MIN(tp->adv_mss, (uint16_t)TCP_MSS_DEFAULT);
}

/*
 * As Linux's tcp_v4_mtu_reduced() + tcp_simple_retransmit(): the MSS follows
 * the new path MTU, segments in flight that no longer fit are resent (cut to
 * size as they go), and cwnd stays: the data in flight did not grow, only
 * its units shrank. The path MTU only ever falls here.
 */
void tcp_mtu_reduced(struct vtcp_stack *st, struct tcb *tp, uint32_t mtu)
{
	uint32_t mss;

	(void)st;
	if (mtu >= tp->pmtu)
		return;
	tp->pmtu = mtu;
	mss = mtu - ip_tcp_overhead(tp) - (tp->ts_ok ? 12 : 0);
	tp->mss = (uint16_t)MIN(tp->mss, MAX(mss, 64u));
	for (uint32_t i = 0; i < tp->seg_cnt; i++) {
		struct txseg *s = sb_seg(tp, i);

		if (s->end - s->seq - !!(s->flags & SEG_FIN) > tp->mss)
			sb_set_lost(tp, s);
	}
	if (!tp->lost_out)
		return;
	if (tp->ca_state < CA_CWR)
		tp->ssthresh = MAX(tp->ssthresh, tp->cwnd / 2 + tp->cwnd / 4);
	if (tp->ca_state != CA_LOSS) {
		tp->ca_state = CA_LOSS;
		tp->recover = tp->snd_nxt;
	}
	tp->want_tx = true;
}

/* The MSS left for payload beside the SACK blocks we owe (tcp_current_mss()). */
uint32_t tcp_current_mss(const struct tcb *tp)
{
	unsigned int blocks = tp->nooo + tp->dsack;

	if (!tp->sack_ok || !blocks)
		return tp->mss;
	return tp->mss - (4 + 8 * MIN(blocks, tp->ts_ok ? 3u : 4u));
}

/*
 * The largest window the connection may offer: TCP_WINDOW_CLAMP, else
 * what the receive buffer and the window scale allow (0 before it
 * connects), as Linux's tp->window_clamp.
 */
uint32_t tcp_window_clamp(const struct tcb *tp)
{
	if (tp->window_clamp)
		return tp->window_clamp;
	if (tp->state == VTCP_CLOSE || tp->state == VTCP_LISTEN)
		return 0;
	return (uint32_t)MIN((uint64_t)tp->rcvbuf, 65535ull << tp->rcv_wscale);
}

/*
 * What the receive buffer can still take beyond rcv_nxt: SO_RCVBUF's
 * doubled value, or the autotuned buffer (twice rcv_wnd_cap, from
 * tcp_rmem[1]). The engine counts payload where Linux counts memory, as a
 * Linux receiver whose segments carry little overhead.
 */
static uint32_t rcv_room(const struct tcb *tp)
{
	uint64_t limit = 2ull * (tp->rcvbuf_locked ? tp->rcvbuf : tp->rcv_wnd_cap);

	limit = MIN(limit, (uint64_t)tp->rcvq.cap);
	return tp->rcvq.len >= limit ? 0 : (uint32_t)limit - tp->rcvq.len;
}

/*
 * The window to offer: the buffer's room, at most rcv_ssthresh (which
 * starts at the SYN's window and grows with what arrives) and
 * TCP_WINDOW_CLAMP (Linux clamps the window, not what it queues).
 */
uint32_t tcp_rcv_window(const struct tcb *tp)
{
	uint32_t room = rcv_room(tp);

	if (tp->rcv_ssthresh)
		room = MIN(room, tp->rcv_ssthresh);
	return tp->window_clamp ? MIN(room, tp->window_clamp) : room;
}

/*
 * As tcp_grow_window(): an in-order segment widens the window by twice its
 * length, two MSS at least, up to the buffer's room, so that an
 * application that does not read still has its whole buffer filled.
 */
void tcp_grow_window(struct tcb *tp, uint32_t len)
{
	uint32_t room = rcv_room(tp);
	uint64_t grown = (uint64_t)tp->rcv_ssthresh + MAX(2u * tp->adv_mss, 2ull * len);

	if (tp->rcv_ssthresh < room)
		tp->rcv_ssthresh = (uint32_t)MIN(grown, (uint64_t)room);
}

/*
 * As Linux's dynamic right-sizing (tcp_rcv_space_adjust()): once an RTT,
 * the buffer grows to hold twice what the application read in the last
 * one, so that the sender is never held back by a reader that keeps up.
 */
void tcp_rcv_autotune(struct vtcp_stack *st, struct tcb *tp, uint32_t copied)
{
	uint64_t rtt = MAX((uint64_t)tp->srtt_us * NS_PER_US, NS_PER_MS);

	tp->rcvq_copied += copied;
	if (!tp->rcvq_space_ns) {
		tp->rcvq_space_ns = st->now;
		return;
	}
	if (st->now - tp->rcvq_space_ns < rtt)
		return;
	if (!tp->rcvbuf_locked && tp->rcvq_copied * 2 > tp->rcv_wnd_cap / 2)
		tp->rcv_wnd_cap = MIN(MAX(tp->rcv_wnd_cap, tp->rcvq_copied * 4), tp->rcvbuf);
	tp->rcvq_copied = 0;
	tp->rcvq_space_ns = st->now;
}

/*
 * Linux's choice (tcp_select_initial_window): the scale of the largest
 * window the socket may ever offer, the host's maximum unless SO_RCVBUF
 * set one, and no more than TCP_WINDOW_CLAMP.
 */
uint8_t tcp_rcv_wscale(const struct vtcp_stack *st, const struct tcb *tp)
{
	uint32_t space = tp->rcvbuf_locked ? tp->rcvbuf : MAX(st->cfg.wscale_space, tp->rcvq.cap);
	int ws;

	if (tp->window_clamp)
		space = MIN(space, tp->window_clamp);
	ws = 31 - __builtin_clz(space | 1) - 15;

	return (uint8_t)(ws < 0 ? 0 : MIN(ws, TCP_MAX_WSCALE));
}

/*
 * A window in the units of our scale: rounded up, as Linux's
 * __tcp_select_window() (so that it is not scaled away), where the ring
 * can take the difference.
 */
static uint32_t scale_window(const struct tcb *tp, uint32_t win)
{
	uint32_t unit = 1u << tp->rcv_wscale, down = win & ~(unit - 1);
	uint64_t up = (uint64_t)down + (win != down ? unit : 0);

	if (up <= (65535ull << tp->rcv_wscale) && up <= tp->rcvq.cap - tp->rcvq.len)
		return (uint32_t)up;
	return down;
}

/*
 * The window field; the right edge never moves left (RFC 9293 3.8.6). A
 * SYN's is Linux's tcp_select_initial_window(): half the receive buffer
 * (tcp_rmem[1], or SO_RCVBUF's doubled value), in whole segments of the
 * MSS we offer (less the timestamp option in a SYN-ACK that settles it),
 * then at most 65535.
 */
static uint16_t select_window(const struct vtcp_stack *st, struct tcb *tp, uint8_t flags)
{
	uint32_t win = tcp_rcv_window(tp), cur = 0, seg = tp->adv_mss;
	bool syn = flags & TH_SYN;

	if (syn && (flags & TH_ACK) && tp->ts_ok)
		seg -= 12;

	if (SEQ_GT(tp->rcv_adv, tp->rcv_nxt))
		cur = tp->rcv_adv - tp->rcv_nxt;
	/* receiver SWS avoidance: do not open by less than an MSS */
	if (win < cur || (win - cur < tp->rcv_mss && win < tp->rcvbuf / 2 && cur))
		win = cur;
	if (syn) {
		win = tp->rcvbuf_locked ? tp->rcvbuf : st->cfg.rmem_default / 2;
		if (tp->window_clamp)
			win = MIN(win, tp->window_clamp);
		if (win > seg)
			win -= win % seg;
		win = MIN(win, 65535u);
		tp->rcv_ssthresh = win;
	} else {
		win = scale_window(tp, MIN(win, 65535u << tp->rcv_wscale));
	}
	if (win < cur)
		win = cur; /* rounding must not shrink either */
	tp->rcv_adv = tp->rcv_nxt + win;
	tp->rcv_wnd = win;
	return (uint16_t)MIN(syn ? win : win >> tp->rcv_wscale, 65535u);
}

/* Builds and emits one segment; data come from the send queue at seq. */
static void xmit(struct vtcp_stack *st, struct tcb *tp, uint32_t seq,
		 uint32_t len, uint8_t flags, uint8_t tos)
{
	uint8_t *f = st->frame, *ip = f + ETH_HLEN, *th;
	bool syn = flags & TH_SYN, v6 = tp->raddr.fam == 6;
	struct tcp_opts o;
	unsigned int iphl = v6 ? IP6_HLEN : IP4_HLEN, olen, tlen;
	uint32_t ack = tp->rcv_nxt;
	uint16_t win, c;

	memset(&o, 0, sizeof(o));
	if (syn) {
		o.mss_ok = true;
		o.mss = tp->adv_mss;
		o.ws_ok = tp->ws_ok;
		o.ws = tp->rcv_wscale;
		o.sack_ok = tp->sack_ok;
	}
	if (tp->ts_ok) {
		o.ts_ok = true;
		o.tsval = tcp_tsval(st, tp);
		o.tsecr = tp->ts_recent;
	}
	if (tp->sack_ok && !syn && (flags & TH_ACK)) {
		/* as many blocks as fit beside the payload */
		int room = (int)tp->pmtu - (int)(iphl + TCP_HLEN + len) - (tp->ts_ok ? 12 : 0) - 4;
		unsigned int max = room < 8 ? 0 : (unsigned int)MIN(room / 8, tp->ts_ok ? 3 : 4);

		o.nsack = (uint8_t)sack_blocks(tp, o.sack, max);
	}
	th = ip + iphl;
	olen = tcp_opts_build(th + TCP_HLEN, &o, syn);
	tlen = TCP_HLEN + olen + len;
	if (iphl + tlen > tp->pmtu)
		return;
	if (len) {
		const uint8_t *p1, *p2;
		uint32_t l1, l2;

		ring_spans(&tp->sndq, seq - tp->sndq_seq, len, &p1, &l1, &p2, &l2);
		memcpy(th + TCP_HLEN + olen, p1, l1);
		memcpy(th + TCP_HLEN + olen + l1, p2, l2);
	}
	if (!(flags & TH_ACK))
		ack = 0;
	else if (tp->ece_pending)
		flags |= TH_ECE;
	win = (flags & TH_RST) ? 0 : select_window(st, tp, flags);
	th[0] = (uint8_t)(tp->lport >> 8);
	th[1] = (uint8_t)tp->lport;
	th[2] = (uint8_t)(tp->rport >> 8);
	th[3] = (uint8_t)tp->rport;
	for (int i = 0; i < 4; i++) {
		th[4 + i] = (uint8_t)(seq >> (24 - 8 * i));
		th[8 + i] = (uint8_t)(ack >> (24 - 8 * i));
	}
	th[12] = (uint8_t)(((TCP_HLEN + olen) / 4) << 4);
	th[13] = flags;
	th[14] = (uint8_t)(win >> 8);
	th[15] = (uint8_t)win;
	th[16] = th[17] = th[18] = th[19] = 0;
	c = csum_fold(csum_add(csum_pseudo(&tp->laddr, &tp->raddr, 6, tlen), th, tlen));
	th[16] = (uint8_t)(c >> 8);
	th[17] = (uint8_t)c;
	f[12] = v6 ? 0x86 : 0x08;
	f[13] = v6 ? 0xdd : 0x00;
	/* the socket's DSCP and hop limit (IP_TOS, IP_TTL and their IPv6 twins) */
	if (v6)
		ip6_header(ip, &tp->laddr, &tp->raddr, tlen, tp->tos | tos, tp->flowlabel,
			   (uint8_t)(tp->ttl ? tp->ttl : st->cfg.ipv6_hop_limit));
	else
		ip4_header(st, ip, &tp->laddr, &tp->raddr, tlen, tp->tos | tos,
			   (uint8_t)(tp->ttl ? tp->ttl : st->cfg.ip_ttl));
	if (!syn || tp->parent < 0) /* a child's SYN-ACK is its request's */
		tp->cnt.segs_out++;
	if (len) {
		tp->cnt.data_segs_out++;
		tp->cnt.bytes_sent += len;
	}
	if (flags & TH_ACK) {
		tp->ack_now = false;
		tp->ack_pushed = false;
		tp->segs_unacked = 0;
		tp->t_delack = NO_DEADLINE;
		tp->dsack = false;
	}
	if (st->in_poll)
		neigh_output(st, &tp->nexthop, f, ETH_HLEN + iphl + tlen);
	else
		ctl_queue(st, &tp->nexthop, f, ETH_HLEN + iphl + tlen);
}

/*
 * Linux's tcp_acceptable_seq(): the sequence number for a bare ACK or RST.
 * snd_nxt may lie beyond the peer's window (it shrank, or data went out on
 * a window that a newer ACK took back); a segment starting there fails the
 * peer's acceptability test and its ACK and window are thrown away, which
 * can leave both ends waiting for each other forever. The window's end is
 * always heard.
 */
uint32_t tcp_acceptable_seq(const struct tcb *tp)
{
	uint32_t wnd_end = tp->snd_una + tp->snd_wnd;

	if (SEQ_GEQ(wnd_end, tp->snd_nxt) || tp->snd_nxt - wnd_end < (1u << tp->snd_wscale))
		return tp->snd_nxt;
	return wnd_end;
}

void tcp_send_ctl(struct vtcp_stack *st, struct tcb *tp, uint8_t flags, uint32_t seq)
{
	xmit(st, tp, seq, 0, flags, 0);
}

void tcp_send_syn(struct vtcp_stack *st, struct tcb *tp)
{
	uint8_t flags = TH_SYN;

	if (tp->state == VTCP_SYN_RECV) {
		flags |= TH_ACK;
		if (tp->ecn_ok)
			flags |= TH_ECE;
	} else if (tp->ecn_want) {
		flags |= TH_ECE | TH_CWR;
	}
	xmit(st, tp, tp->iss, 0, flags, 0);
	tp->snd_nxt = tp->iss + 1;
}

/* Linux's GSO limit, gso_max_size: 64 KB (no BIG TCP). */
#define GSO_MAX_BYTES 65536u

/* Linux's tcp_xmit_size_goal(): what one sendmsg skb holds, whole segments. */
static uint32_t size_goal(const struct tcb *tp, uint32_t mss)
{
	uint32_t half = tp->max_snd_wnd > TCP_MSS_DEFAULT ? tp->max_snd_wnd / 2 : tp->max_snd_wnd;
	uint32_t bytes = MIN(GSO_MAX_BYTES, half ? half : GSO_MAX_BYTES);

	return MAX(bytes / mss, 1u) * mss;
}

static void push_mark(struct tcb *tp, uint32_t seq)
{
	if (tp->push_n == PUSH_MARKS) { /* full: the newest replaces the last */
		tp->push_mark[(tp->push_head + tp->push_n - 1) % PUSH_MARKS] = seq;
	} else {
		tp->push_mark[(tp->push_head + tp->push_n) % PUSH_MARKS] = seq;
		tp->push_n++;
	}
	tp->pushed_seq = seq;
}

uint32_t tcp_write_goal(const struct tcb *tp)
{
	return size_goal(tp, tcp_current_mss(tp));
}

/*
 * tcp_sendmsg_locked()'s marks: the data fills skbs of size_goal(); a
 * full one past half the largest window since the last mark is forced
 * out with PSH, and the write's last one gets it unless MSG_MORE. An
 * unsent tail that this write extends carries its mark to the new end.
 */
void tcp_push_marks_write(struct tcb *tp, uint32_t n, bool more)
{
	uint32_t start = tp->sndq_seq + tp->sndq.len, end = start + n;
	uint32_t goal = size_goal(tp, tcp_current_mss(tp));
	uint32_t last = (tp->push_head + tp->push_n - 1) % PUSH_MARKS;

	if (!n)
		return;
	if (tp->push_n && tp->push_mark[last] == start && SEQ_GT(start, tp->snd_nxt)) {
		tp->push_n--; /* moves to this write's end */
		tp->pushed_seq = start;
	}
	for (uint32_t at = start + goal; SEQ_LT(at, end); at += goal)
		if (SEQ_GT(at, tp->pushed_seq + tp->max_snd_wnd / 2))
			push_mark(tp, at);
	if (!more)
		push_mark(tp, end);
}

/* Whether new data ending at @end carries a write's PSH; passes older marks. */
static bool push_marked(struct tcb *tp, uint32_t end)
{
	while (tp->push_n) {
		uint32_t m = tp->push_mark[tp->push_head];

		if (SEQ_GT(m, end))
			return false;
		tp->push_head = (tp->push_head + 1) % PUSH_MARKS;
		tp->push_n--;
		if (m == end)
			return true;
	}
	return false;
}

unsigned int tcp_resend_how(const struct txseg *s)
{
	return SEND_RETRANS | (s->flags & SEG_PSH ? SEND_PUSH : 0);
}

uint8_t tcp_send_range(struct vtcp_stack *st, struct tcb *tp, uint32_t seq,
		       uint32_t end, unsigned int how)
{
	bool retrans = how & SEND_RETRANS;
	uint8_t flags = TH_ACK, tos = 0;
	uint32_t len = end - seq;

	if (tp->fin_sent && end == tp->fin_seq + 1) {
		flags |= TH_FIN;
		len--;
	}
	/* PSH where Linux's sendmsg put it (push marks), or where @how asks */
	if (len && ((how & SEND_PUSH) || (!retrans && push_marked(tp, seq + len))))
		flags |= TH_PSH;
	/* RFC 3168 6.1.5: ECT only on new data; CWR once after a reduction */
	if (tp->ecn_ok && len && !retrans) {
		tos = ECT0;
		if (tp->cwr_pending) {
			flags |= TH_CWR;
			tp->cwr_pending = false;
		}
	}
	xmit(st, tp, seq, len, flags, tos);
	if (retrans)
		tp->cnt.bytes_retrans += len;
	if (len) {
		/* as tcp_event_data_sent(): data soon after the peer's is an answer */
		if (st->now - tp->last_data_rcv_ns < TCP_DELACK_NS)
			tp->pingpong = true;
		tp->last_data_snd_ns = st->now;
	}
	return flags;
}

/*
 * Linux's tcp_update_pacing_rate(): cwnd segments per smoothed RTT, at
 * 200% in slow start and 120% after (tcp_pacing_ss_ratio, _ca_ratio),
 * within the socket's limit.
 */
uint64_t tcp_sk_pacing_rate(const struct tcb *tp)
{
	uint64_t rate = (uint64_t)tp->mss * 10000u * MAX(tp->cwnd, tp->packets_out);

	rate *= tp->cwnd < tp->ssthresh / 2 ? 200u : 120u;
	if (tp->srtt_us)
		rate /= tp->srtt_us;
	return MIN(rate, tp->max_pacing_rate);
}

/*
 * Linux's internal pacing, which SO_MAX_PACING_RATE turns on
 * (tcp_pacing_check()): a packet waits for the time the ones before it
 * left it; the timer sends it then.
 */
static bool pacing_wait(struct vtcp_stack *st, struct tcb *tp)
{
	if (!tp->pacing || tp->pace_ns <= st->now)
		return false;
	tp->t_pace = tp->pace_ns;
	return true;
}

/*
 * A packet of @len bytes left: the next one leaves its time at the pacing
 * rate later, less up to half of it for time the socket left unused
 * (tcp_update_skb_after_send()); the first ten data segments go unpaced.
 */
static void pacing_sent(struct vtcp_stack *st, struct tcb *tp, uint32_t len)
{
	uint64_t rate = tcp_sk_pacing_rate(tp), prior = tp->pace_ns, len_ns;

	if (!tp->pacing)
		return;
	tp->pace_ns = MAX(tp->pace_ns, st->now);
	if (!rate || rate == ~0ull || tp->cnt.data_segs_out < 10)
		return;
	len_ns = (uint64_t)len * NS_PER_S / rate;
	len_ns -= MIN(len_ns / 2, tp->pace_ns - prior);
	tp->pace_ns += len_ns;
}

static void send_retransmissions(struct vtcp_stack *st, struct tcb *tp)
{
	for (uint32_t i = 0; i < tp->seg_cnt && tp->lost_out > tp->retrans_out; i++) {
		struct txseg *s = sb_seg(tp, i);

		if ((s->flags & (SEG_LOST | SEG_RETRANS | SEG_SACKED)) != SEG_LOST)
			continue;
		if (sb_in_flight(tp) >= tp->cwnd || pacing_wait(st, tp))
			break;
		/* a segment sent before the path MTU fell goes out in pieces */
		for (uint32_t seq = s->seq, mss = tcp_current_mss(tp); seq != s->end;) {
			uint32_t end = s->end - seq > mss ? seq + mss : s->end;

			tcp_send_range(st, tp, seq, end, end == s->end ? tcp_resend_how(s) : SEND_RETRANS);
			seq = end;
		}
		sb_mark_retrans(tp, s, st->now);
		pacing_sent(st, tp, s->end - s->seq);
		tp->prr_out++;
	}
}

/*
 * How many segments Linux sends as one GSO packet: tcp_tso_autosize()
 * (a millisecond of the pacing rate, more on short paths:
 * tcp_tso_rtt_log 9; at least tcp_min_tso_segs 2), within
 * tcp_xmit_size_goal()'s half of the largest window the peer offered.
 */
static uint32_t gso_segs(const struct tcb *tp, uint32_t mss)
{
	uint64_t bytes = tcp_sk_pacing_rate(tp) >> 10;
	uint32_t goal = size_goal(tp, mss) / mss;

	if (tp->min_rtt_us && tp->min_rtt_us >> 9 < 32)
		bytes += GSO_MAX_BYTES >> (tp->min_rtt_us >> 9);
	bytes = MIN(bytes, GSO_MAX_BYTES);
	return MIN(MAX((uint32_t)(bytes / mss), 2u), goal);
}

/*
 * New data leaves in Linux's GSO packets: Linux marks every packet of
 * more than one segment PSH (tcp_transmit_skb(), for the receiver's GRO
 * flush), and segmentation leaves the flag on its last segment. Each
 * segment is held until the next one shows whether it ended a packet.
 */
struct gso_batch {
	uint32_t first;	   /* where the packet begins */
	uint32_t seq, end; /* the held segment; seq == end: none */
	uint32_t segs, max;
	bool probe;	   /* the held segment is a loss probe: PSH draws its ACK */
};

static void batch_flush(struct vtcp_stack *st, struct tcb *tp, struct gso_batch *b)
{
	if (b->seq == b->end)
		return;
	/* the held segment is the newest record */
	if (tcp_send_range(st, tp, b->seq, b->end, b->segs > 1 || b->probe ? SEND_PUSH : 0) & TH_PSH)
		sb_seg(tp, tp->seg_cnt - 1)->flags |= SEG_PSH;
	pacing_sent(st, tp, b->end - b->first);
	b->seq = b->end;
	b->segs = 0;
}

static void batch_add(struct vtcp_stack *st, struct tcb *tp, struct gso_batch *b,
		      uint32_t seq, uint32_t end)
{
	if (b->seq != b->end) /* not the last of its packet */
		tcp_send_range(st, tp, b->seq, b->end, 0);
	if (!b->segs)
		b->first = seq;
	b->seq = seq;
	b->end = end;
	/*
	 * A loss probe of new data exists to draw an ACK (RFC 8985 7.3), but a
	 * delayed-ACK receiver holds the ACK of one full segment: Linux's waits
	 * up to 40 ms (its delayed-ACK floor) unless the segment carries PSH,
	 * which makes it ACK as soon as its reader has taken the data
	 * (tcp_measure_rcv_mss(): ICSK_ACK_PUSHED). After a lost ACK with a
	 * small window, that wait stalled the connection.
	 */
	b->probe = tp->tlp_force;
	if (++b->segs == b->max)
		batch_flush(st, tp, b);
}

static void chrono_set(struct tcb *tp, uint64_t now, uint8_t type)
{
	if (tp->chrono)
		tp->chrono_ns[tp->chrono] += now - tp->chrono_start_ns;
	tp->chrono_start_ns = now;
	tp->chrono = type;
}

void tcp_chrono_start(struct tcb *tp, uint64_t now, uint8_t type)
{
	if (type > tp->chrono)
		chrono_set(tp, now, type);
}

/* A condition ended: busy again while data waits, else nothing runs. */
void tcp_chrono_stop(struct tcb *tp, uint64_t now, uint8_t type)
{
	if (!tp->sndq.len)
		chrono_set(tp, now, CHRONO_NONE);
	else if (type == tp->chrono)
		chrono_set(tp, now, CHRONO_BUSY);
}

/*
 * Sends new data; returns true when something left. *rwnd_limited: the
 * peer's window held back the next segment.
 */
static bool send_new_data(struct vtcp_stack *st, struct tcb *tp, bool *rwnd_limited)
{
	struct gso_batch batch = { .max = gso_segs(tp, tcp_current_mss(tp)) };
	bool sent = false;

	for (;;) {
		uint32_t unsent = unsent_bytes(tp), room = 0, len, mss_now = tcp_current_mss(tp);
		bool fin = tp->fin_queued && !tp->fin_sent, cut;
		struct txseg *s;

		if (!unsent && !fin)
			break;
		if (SEQ_GT(tp->snd_una + tp->snd_wnd, tp->snd_nxt))
			room = tp->snd_una + tp->snd_wnd - tp->snd_nxt;
		if (unsent && sb_in_flight(tp) >= tp->cwnd + tp->tlp_force)
			break;
		if (tp->seg_cnt == tp->seg_cap)
			break;
		len = MIN(unsent, MIN(mss_now, room));
		*rwnd_limited = len < MIN(unsent, mss_now);
		if (unsent && !len) {
			/* zero window: the persist timer probes it */
			if (!tp->packets_out)
				tcp_arm_rtx(st, tp);
			break;
		}
		/* a forced push ends Linux's skb: its segment ends there */
		cut = tp->push_n && SEQ_GT(tp->push_mark[tp->push_head], tp->snd_nxt) &&
		      SEQ_LT(tp->push_mark[tp->push_head], tp->snd_nxt + len);
		if (cut)
			len = tp->push_mark[tp->push_head] - tp->snd_nxt;
		if (len < unsent && len < mss_now && !cut) {
			/* sender SWS avoidance (RFC 9293 3.8.6.2.1) */
			if (len < tp->max_snd_wnd / 2) {
				if (!tp->packets_out)
					tcp_arm_rtx(st, tp);
				break;
			}
		} else if (len == unsent && len < mss_now && !fin) {
			/*
			 * Nagle, TCP_CORK, MSG_MORE: hold a partial segment; as
			 * Linux's tcp_check_probe_timer(), the persist timer
			 * sends it if nothing else does (the 200 ms cork ceiling)
			 */
			if (tp->cork || tp->more) {
				if (!tp->packets_out)
					tcp_arm_rtx(st, tp);
				break;
			}
			/* Minshall's Nagle, as Linux: only while a small segment is unacked */
			if (!tp->nodelay && SEQ_GT(tp->snd_sml, tp->snd_una))
				break;
		}
		if (!batch.segs && pacing_wait(st, tp))
			break; /* a new packet, not due yet */
		fin = fin && len == unsent;
		if (fin) {
			tp->fin_sent = true;
			tp->fin_seq = tp->snd_nxt + len;
		}
		s = sb_append(tp, tp->snd_nxt, tp->snd_nxt + len + fin, st->now);
		if (fin)
			s->flags |= SEG_FIN;
		if (!tp->retrans_stamp)
			tp->retrans_stamp = st->now;
		batch_add(st, tp, &batch, tp->snd_nxt, tp->snd_nxt + len + fin);
		tp->snd_nxt += len + fin;
		if (len < tp->mss)
			tp->snd_sml = tp->snd_nxt;
		tp->tlp_force = false;
		sent = true;
		/* the probe timeout follows the newest transmission (RFC 8985 7.2) */
		if (tp->t_rtx == NO_DEADLINE || tp->rtx_kind != RTX_RTO)
			tcp_arm_rtx(st, tp);
	}
	batch_flush(st, tp, &batch);
	return sent;
}

/*
 * Linux's tcp_cwnd_validate(), after each sending pass: whether the flight
 * filled cwnd during the current window of data, or else its fullest
 * flight, decides whether that window's ACKs may grow cwnd.
 */
static void cwnd_validate(struct vtcp_stack *st, struct tcb *tp, bool sent)
{
	bool limited = sb_in_flight(tp) >= tp->cwnd;

	if (!sent && !limited)
		return;
	if (!SEQ_LT(tp->snd_una, tp->cwnd_usage_seq) || limited ||
	    (!tp->cwnd_limited && tp->packets_out > tp->max_packets_out)) {
		tp->cwnd_limited = limited;
		tp->max_packets_out = tp->packets_out;
		tp->cwnd_usage_seq = tp->snd_nxt;
	}
	/* the network starves while everything is sent and the writer waits for room */
	if (!tcp_cwnd_limited(tp) && !unsent_bytes(tp) && tp->nospace &&
	    (tp->state == VTCP_ESTABLISHED || tp->state == VTCP_CLOSE_WAIT))
		tcp_chrono_start(tp, st->now, CHRONO_SNDBUF_LIMITED);
}

/*
 * After a sending pass with data waiting, as tcp_write_xmit(): the
 * window-limited chronograph runs while the peer's window is the limit.
 */
static bool send_data(struct vtcp_stack *st, struct tcb *tp)
{
	bool had_data = unsent_bytes(tp) || (tp->fin_queued && !tp->fin_sent);
	bool rwnd_limited = false, sent;

	if (had_data)
		tcp_chrono_start(tp, st->now, CHRONO_BUSY); /* tcp_add_write_queue_tail() */
	sent = send_new_data(st, tp, &rwnd_limited);
	if (had_data && rwnd_limited)
		tcp_chrono_start(tp, st->now, CHRONO_RWND_LIMITED);
	else if (had_data)
		tcp_chrono_stop(tp, st->now, CHRONO_RWND_LIMITED);
	cwnd_validate(st, tp, sent);
	return sent;
}

void tcp_output(struct vtcp_stack *st, struct tcb *tp)
{
	bool sent = false;

	tp->want_tx = false;
	switch (tp->state) {
	case VTCP_SYN_SENT:
	case VTCP_SYN_RECV:
		if (tp->snd_nxt == tp->iss) {
			tcp_send_syn(st, tp);
			tp->rtx_kind = RTX_SYN;
			tp->t_rtx = st->now + (tp->rto_ns << tp->backoff);
			tp->retrans_stamp = st->now;
			return;
		}
		break;
	case VTCP_ESTABLISHED:
	case VTCP_CLOSE_WAIT:
	case VTCP_FIN_WAIT1:
	case VTCP_CLOSING:
	case VTCP_LAST_ACK:
		send_retransmissions(st, tp);
		sent = send_data(st, tp);
		break;
	default:
		break;
	}
	if (tp->ack_now && !sent && tp->state != VTCP_CLOSE &&
	    tp->state != VTCP_LISTEN && tp->state != VTCP_SYN_SENT)
		tcp_send_ctl(st, tp, TH_ACK, tcp_acceptable_seq(tp));
	tp->ack_now = false;
}

void tcp_reply_rst(struct vtcp_stack *st, const struct ip_meta *m,
		   uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
		   uint8_t flags)
{
	struct tcb t;

	/* a throwaway control block describes the reply */
	memset(&t, 0, sizeof(t));
	t.laddr = m->dst;
	t.raddr = m->src;
	t.lport = dport;
	t.rport = sport;
	t.rcv_nxt = ack;
	if (route_lookup(st, &m->src, &t.nexthop, NULL, &t.pmtu))
		return;
	t.pmtu = MAX(t.pmtu, 576u);
	xmit(st, &t, seq, 0, flags, 0);
}
