// SPDX-License-Identifier: GPL-2.0
/*
 * Handing a connection to another TCP stack: what it needs to go on where
 * the engine stopped (vtcp_export), and the engine letting go without a
 * segment (vtcp_release_moved). The host uses it to give a connection to
 * the kernel (TCP_REPAIR) when it cannot keep it, e.g. across fork().
 */
#include "engine/internal.h"

/* How long segments of a moved connection are dropped in silence. */
#define MOVED_QUIET_NS (5 * NS_PER_S)

/*
 * Synchronized, or over with both FINs and unread data or EOF still to
 * report (TIME_WAIT, or CLOSED after LAST_ACK); not reset.
 */
static bool exportable(const struct tcb *tp)
{
	switch (tp->state) {
	case VTCP_ESTABLISHED:
	case VTCP_CLOSE_WAIT:
	case VTCP_FIN_WAIT1:
	case VTCP_FIN_WAIT2:
	case VTCP_LAST_ACK:
	case VTCP_CLOSING:
	case VTCP_TIME_WAIT:
		return !tp->reset;
	case VTCP_CLOSE:
		return !tp->reset && tp->fin_rcvd && tp->fin_sent;
	default:
		return false;
	}
}

int vtcp_orphan_next(struct vtcp_stack *st, int after)
{
	for (unsigned int i = after < 0 ? 0 : (unsigned int)after + 1; i < st->ntcb; i++) {
		const struct tcb *tp = &st->tcbs[i];

		if (!tp->used || !tp->orphan || tp->moved || tp->reset)
			continue;
		switch (tp->state) {
		case VTCP_FIN_WAIT1:
		case VTCP_FIN_WAIT2:
		case VTCP_CLOSING:
		case VTCP_LAST_ACK:
			return (int)i;
		default:
			break;
		}
	}
	return -1;
}

static void spans(const struct ring *r, const void *p[2], uint32_t len[2])
{
	const uint8_t *a, *b;

	ring_spans(r, 0, r->len, &a, &len[0], &b, &len[1]);
	p[0] = a;
	p[1] = b;
}

int vtcp_export(struct vtcp_stack *st, int s, struct vtcp_export *x)
{
	struct tcb *tp = tcb_at(st, s, true); /* the host hands orphans over too */
	uint32_t data_nxt, rcv_end;

	if (!tp)
		return -EBADF;
	if (!exportable(tp))
		return -ENOTCONN;
	memset(x, 0, sizeof(*x));
	x->state = tp->state;
	x->fin_rcvd = tp->fin_rcvd;
	x->fin_sent = tp->fin_sent;
	x->shut_wr = tp->fin_queued || tp->fin_sent;
	x->shut_rd = tp->shut_rd;
	x->snd_seq = tp->sndq_seq;
	x->snd_una = tp->snd_una;
	data_nxt = tp->fin_sent ? tp->fin_seq : tp->snd_nxt;
	x->snd_sent = MIN(tp->sndq.len, data_nxt - tp->sndq_seq);
	rcv_end = tp->rcv_nxt - tp->fin_rcvd;
	x->rcv_seq = rcv_end - tp->rcvq.len;
	x->snd_wl1 = tp->snd_wl1;
	x->snd_wnd = tp->snd_wnd;
	x->max_window = MAX(tp->max_snd_wnd, tp->snd_wnd);
	x->rcv_wnd = SEQ_GT(tp->rcv_adv, rcv_end) ? tp->rcv_adv - rcv_end : 0;
	x->mss = (uint16_t)(tp->mss + (tp->ts_ok ? 12 : 0)); /* options come off again */
	x->ws_ok = tp->ws_ok;
	x->sack_ok = tp->sack_ok;
	x->ts_ok = tp->ts_ok;
	x->snd_wscale = tp->snd_wscale;
	x->rcv_wscale = tp->rcv_wscale;
	x->tsval = tcp_tsval(st, tp);
	x->ts_recent = tp->ts_recent;
	spans(&tp->sndq, x->snd, x->snd_len);
	spans(&tp->rcvq, x->rcv, x->rcv_len);
	x->addr_len = vaddr_to_sa_mapped(&tp->laddr, tp->lport, tp->v4mapped,
					 (struct sockaddr *)&x->local, sizeof(x->local));
	vaddr_to_sa_mapped(&tp->raddr, tp->rport, tp->v4mapped, (struct sockaddr *)&x->remote,
			   sizeof(x->remote));
	return 0;
}

int vtcp_release_moved(struct vtcp_stack *st, int s)
{
	struct tcb *tp = tcb_at(st, s, true); /* the host hands orphans over too */

	if (!tp)
		return -EBADF;
	tp->orphan = true;
	tp->moved = true;
	/* the port is the kernel socket's now: new sockets may bind it */
	if (tp->bound)
		port_unlink(st, tp);
	tp->bound = false;
	/* TIME_WAIT's expiry frees it; the input path drops its segments */
	tp->state = VTCP_TIME_WAIT;
	tp->tw_start_ns = st->now;
	tp->t_rtx = tp->t_delack = tp->t_rack = tp->t_pace = NO_DEADLINE;
	tp->t_keep = st->now + MOVED_QUIET_NS;
	tp->ack_now = tp->want_tx = false;
	return 0;
}
