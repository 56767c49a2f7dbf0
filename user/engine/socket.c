/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The socket API: handles, bind/listen/accept/connect, send/recv (copying
 * and peek/consume), shutdown/close/abort, options, TCP_INFO and readiness,
 * each returning what Linux would for the same call on a non-blocking socket.
 */
#include <netinet/in.h>
#include <sys/socket.h>

#include "internal.h"

#define TW_REUSE_NS NS_PER_S /* net.ipv4.tcp_tw_reuse: 1 s after entering TIME_WAIT */

/* Handle @s's control block in use, an orphan's too with @orphans (not a moved one). */
struct tcb *tcb_at(struct vtcp_stack *st, int s, bool orphans)
{
	struct tcb *tp;

	if (s < 0 || (unsigned int)s >= st->ntcb)
		return NULL;
	tp = &st->tcbs[s];
	if (!tp->used || tp->moved || (tp->orphan && !orphans))
		return NULL;
	/* a call may change what the socket sends, its timers or its readiness */
	sched_touch(st, tp);
	return tp;
}

struct tcb *sock_get(struct vtcp_stack *st, int s)
{
	return tcb_at(st, s, false);
}

int vtcp_socket(struct vtcp_stack *st, int family)
{
	struct tcb *tp;

	if (family != AF_INET && family != AF_INET6)
		return -EAFNOSUPPORT;
	tp = tcb_alloc(st);
	if (!tp)
		return -ENOBUFS;
	tp->laddr.fam = family == AF_INET ? 4 : 6;
	tp->v6only = family == AF_INET6 && !st->cfg.ipv6_dual_stack;
	tp->rcv_wnd_cap = MIN(65535u, tp->rcvbuf);
	sched_touch(st, tp);
	return tcb_index(st, tp);
}

static int check_family(const struct tcb *tp, const struct sockaddr *a, socklen_t len)
{
	if (!a)
		return -EFAULT;
	if (tp->laddr.fam == 4 && (a->sa_family != AF_INET || len < sizeof(struct sockaddr_in)))
		return -EAFNOSUPPORT;
	if (tp->laddr.fam == 6 && (a->sa_family != AF_INET6 || len < sizeof(struct sockaddr_in6)))
		return -EAFNOSUPPORT;
	return 0;
}

/*
 * Linux's rule: a port is shared only when both set SO_REUSEADDR and
 * neither listens, or both set SO_REUSEPORT (one process: one owner).
 */
static bool bind_conflict(struct vtcp_stack *st, const struct tcb *tp, const struct vaddr *v,
			  uint16_t port)
{
	for (int j = st->port_head[port]; j >= 0; j = st->tcbs[j].pnext) {
		const struct tcb *o = &st->tcbs[j];

		if (o == tp || !bind_overlap(o, v, tp->v6only))
			continue;
		if (!(tp->reuseaddr && o->reuseaddr && o->state != VTCP_LISTEN) &&
		    !(tp->reuseport && o->reuseport))
			return true;
	}
	return false;
}

int vtcp_bind(struct vtcp_stack *st, int s, const struct sockaddr *a, socklen_t len)
{
	struct tcb *tp = sock_get(st, s);
	static const uint8_t zero[16];
	struct vaddr v;
	uint16_t port;
	int err;

	if (!tp)
		return -EBADF;
	if ((err = check_family(tp, a, len)))
		return err;
	if (tp->bound || tp->state != VTCP_CLOSE)
		return -EINVAL;
	vaddr_from_sa(&v, &port, a);
	if (v.fam == 6 && v.a[0] == 0xfe && (v.a[1] & 0xc0) == 0x80) {
		if (!v.scope)
			return -EINVAL; /* link-local needs its interface */
		if (v.scope != st->cfg.ifindex)
			return -ENODEV;
	}
	if (memcmp(v.a, zero, 16) && !addr_is_local(st, &v))
		return -EADDRNOTAVAIL;
	if (!port)
		port = port_ephemeral(st, &v, NULL, 0);
	else if (bind_conflict(st, tp, &v, port))
		return -EADDRINUSE;
	if (!port)
		return -EADDRINUSE;
	tp->laddr = v;
	tcb_bind_port(st, tp, port);
	return 0;
}

int vtcp_listen(struct vtcp_stack *st, int s, int backlog)
{
	struct tcb *tp = sock_get(st, s);

	if (!tp)
		return -EBADF;
	if (tp->state != VTCP_CLOSE && tp->state != VTCP_LISTEN)
		return -EINVAL;
	if (!tp->bound) {
		struct vaddr any = { .fam = tp->laddr.fam };
		uint16_t port = port_ephemeral(st, &any, NULL, 0);

		if (!port)
			return -EADDRINUSE;
		tp->laddr = any;
		tcb_bind_port(st, tp, port);
	}
	tp->backlog = backlog < 1 ? 1 : MIN(backlog, 4096);
	tcb_listen(st, tp);
	return 0;
}

int vtcp_accept(struct vtcp_stack *st, int s, struct sockaddr *peer, socklen_t *len)
{
	struct tcb *lp = sock_get(st, s), *tp;

	if (!lp)
		return -EBADF;
	if (lp->state != VTCP_LISTEN)
		return -EINVAL;
	if (lp->aq_head < 0)
		return -EAGAIN;
	tp = &st->tcbs[lp->aq_head];
	lp->aq_head = tp->aq_next;
	if (lp->aq_head < 0)
		lp->aq_tail = -1;
	lp->naq--;
	lp->nchild--;
	tp->parent = -1;
	tp->aq_next = -1;
	tp->orphan = false;
	sched_touch(st, tp); /* its readiness is reported from now on */
	if (peer && len)
		*len = vaddr_to_sa_mapped(&tp->raddr, tp->rport, tp->v4mapped, peer, *len);
	return tcb_index(st, tp);
}

/* A 4-tuple held by TIME_WAIT may be taken over when timestamps protect it. */
static int reuse_timewait(struct vtcp_stack *st, struct tcb *tp)
{
	struct tcb *tw = tcb_lookup(st, &tp->laddr, tp->lport, &tp->raddr, tp->rport);

	if (!tw || tw->state == VTCP_LISTEN || tw == tp)
		return 0;
	if (tw->moved) { /* not a TIME_WAIT: the kernel has the old connection */
		tcp_done(st, tw, 0);
		return 0;
	}
	if (tw->state != VTCP_TIME_WAIT || !tw->ts_ok || st->cfg.no_timestamps ||
	    st->now - tw->tw_start_ns < TW_REUSE_NS)
		return -EADDRNOTAVAIL;
	tcp_done(st, tw, 0);
	return 0;
}

int vtcp_connect(struct vtcp_stack *st, int s, const struct sockaddr *a, socklen_t len)
{
	struct tcb *tp = sock_get(st, s);
	struct vaddr src, ra;
	uint16_t rport;
	int err;

	if (!tp)
		return -EBADF;
	if (tp->connect_unseen && tp->state != VTCP_SYN_SENT) {
		/*
		 * As Linux's socket leaving SS_CONNECTING: the first connect()
		 * after the handshake ended (non-blocking, or interrupted by a
		 * signal) reports it, 0 or its error; later ones say EISCONN.
		 */
		tp->connect_unseen = false;
		if (tp->state != VTCP_CLOSE)
			return 0;
		err = tp->err;
		tp->err = 0;
		return err ? -err : -ECONNABORTED;
	}
	switch (tp->state) {
	case VTCP_SYN_SENT:
		return -EALREADY;
	case VTCP_CLOSE:
		/* a handle connects once; after a failed attempt the host may use a new one */
		if (tp->rport)
			return tp->synced ? -EISCONN : -ENOTCONN;
		break;
	case VTCP_LISTEN:
		return -EINVAL;
	default:
		return -EISCONN;
	}
	if ((err = check_family(tp, a, len)))
		return err;
	vaddr_from_sa(&ra, &rport, a);
	if (vaddr_unmap_v4(&ra)) {
		/* an AF_INET6 socket reaches IPv4 through ::ffff:a.b.c.d, as Linux's
		 * tcp_v6_connect; an IPv6 source address cannot carry it */
		if (tp->v6only || !vaddr_any(&tp->laddr))
			return -ENETUNREACH;
		tp->laddr.fam = 4;
		tp->v4mapped = true;
	}
	if (!rport)
		return -ECONNREFUSED;
	if (ra.fam == 6 && ra.a[0] == 0xfe && (ra.a[1] & 0xc0) == 0x80 && !ra.scope)
		ra.scope = tp->laddr.scope ? tp->laddr.scope : st->cfg.ifindex;
	err = route_lookup(st, &ra, &tp->nexthop, &src, &tp->pmtu);
	if (err)
		return err;
	tp->raddr = ra;
	tp->rport = rport;
	if (!tp->bound || !memcmp(tp->laddr.a, (uint8_t[16]){ 0 }, 16)) {
		uint16_t lport = tp->lport;

		tp->laddr = src;
		if (!tp->bound)
			lport = port_ephemeral(st, &src, &tp->raddr, tp->rport);
		if (!lport)
			return -EADDRNOTAVAIL;
		tcb_bind_port(st, tp, lport);
	}
	if ((err = reuse_timewait(st, tp)))
		return err;
	if (tp->raddr.fam == 6 && !tp->flowlabel)
		tp->flowlabel = (uint32_t)siphash24(st->cfg.isn_secret, &tp->lport, 4) & 0xfffff;
	tp->iss = isn_generate(st, tp);
	tp->ts_offset = ts_offset_generate(st, tp);
	tp->snd_una = tp->snd_nxt = tp->iss;
	tp->pushed_seq = tp->iss + 1; /* Linux's tcp_connect(): write_seq after the SYN */
	/* offer what the stack allows; the SYN-ACK settles it */
	tp->ws_ok = !st->cfg.no_window_scaling;
	tp->rcv_wscale = tp->ws_ok ? tcp_rcv_wscale(st, tp) : 0;
	tp->sack_ok = !st->cfg.no_sack;
	tp->ts_ok = !st->cfg.no_timestamps;
	if (!tp->ecn_set)
		tp->ecn_want = st->cfg.ecn == 1;
	tcp_set_mss(tp, 65535);
	tp->state = VTCP_SYN_SENT;
	tcb_hash(st, tp);
	tp->want_tx = true;
	tp->connect_unseen = true;
	return -EINPROGRESS;
}

static int send_error(struct tcb *tp)
{
	if (tp->err) {
		int e = tp->err;

		tp->err = 0;
		return -e;
	}
	if (tp->shut_wr || tp->reset)
		return -EPIPE;
	switch (tp->state) {
	case VTCP_ESTABLISHED:
	case VTCP_CLOSE_WAIT:
		return 0;
	case VTCP_SYN_SENT:
	case VTCP_SYN_RECV:
		return -EAGAIN;
	default:
		return -EPIPE;
	}
}

/* TCP_NOTSENT_LOWAT: the socket's mark, else the stack's (the sysctl's). */
static uint32_t notsent_mark(const struct vtcp_stack *st, const struct tcb *tp)
{
	return tp->notsent_lowat ? tp->notsent_lowat : st->cfg.notsent_lowat;
}

/*
 * What a write may add under the mark: Linux's sendmsg stops once the
 * unsent bytes reach it (sk_stream_memory_free()).
 */
static uint32_t notsent_room(const struct vtcp_stack *st, const struct tcb *tp)
{
	uint32_t mark = notsent_mark(st, tp), unsent = unsent_bytes(tp);

	return unsent < mark ? mark - unsent : 0;
}

/*
 * What a write may queue. Linux's tcp_sendmsg() looks at the send buffer
 * as it starts an skb, which then takes up to a size goal: below the
 * limit, a write passes it by up to that much, so that small writes are
 * not split there (two threads' records then do not interleave).
 */
static uint32_t send_room(const struct tcb *tp, size_t len)
{
	uint32_t limit = MIN(tp->sndbuf, tp->sndq.cap), room;

	if (tp->sndq.len >= limit)
		return 0;
	room = limit - tp->sndq.len;
	if (len <= room)
		return room; /* it fits: no size goal to work out */
	return MIN(room + tcp_write_goal(tp), tp->sndq.cap - tp->sndq.len);
}

ssize_t vtcp_send(struct vtcp_stack *st, int s, const void *buf, size_t len,
		  unsigned int flags)
{
	struct tcb *tp = sock_get(st, s);
	uint32_t room, n;
	int err;

	if (!tp)
		return -EBADF;
	if ((err = send_error(tp)))
		return err;
	room = send_room(tp, len);
	if (len > room)
		tp->nospace = true;
	room = MIN(room, notsent_room(st, tp));
	if (!room)
		return len ? -EAGAIN : 0;
	n = (uint32_t)MIN(len, (size_t)room);
	ring_write_at(&tp->sndq, tp->sndq.len, buf, n);
	tcp_push_marks_write(tp, n, flags & VTCP_MSG_MORE);
	tp->sndq.len += n;
	tp->more = flags & VTCP_MSG_MORE;
	tp->want_tx = true;
	return n;
}

/* After the application took data: open the window when it matters. */
static void rcv_consumed(struct vtcp_stack *st, struct tcb *tp, uint32_t n)
{
	uint32_t cur = SEQ_GT(tp->rcv_adv, tp->rcv_nxt) ? tp->rcv_adv - tp->rcv_nxt : 0;

	ring_pop(&tp->rcvq, n);
	if (tp->state == VTCP_CLOSE || tp->state == VTCP_SYN_SENT)
		return;
	tcp_rcv_autotune(st, tp, n);
	/* as tcp_cleanup_rbuf(): a window that at least doubles is announced now */
	if (tcp_rcv_window(tp) >= 2 * cur && tcp_rcv_window(tp) - cur >= tp->rcv_mss)
		tp->ack_now = true;
	/*
	 * and a pushed segment read to the end is acknowledged now unless an
	 * answer will carry the ACK: a Nagle sender of small writes would
	 * otherwise wait out our delayed ACK for each one
	 */
	if (!tp->rcvq.len && tp->ack_pushed && !tp->pingpong && tp->t_delack != NO_DEADLINE)
		tp->ack_now = true;
}

static ssize_t recv_empty(struct tcb *tp)
{
	/*
	 * After the peer's FIN a read is EOF, as Linux's SOCK_DONE: a reset
	 * that came later (EPIPE in CLOSE_WAIT) stays for SO_ERROR and send.
	 */
	if (tp->fin_rcvd)
		return 0;
	if (tp->err) {
		int e = tp->err;

		tp->err = 0;
		return -e;
	}
	if (tp->shut_rd || tp->reset)
		return 0;
	if (tp->state == VTCP_CLOSE || tp->state == VTCP_LISTEN)
		return -ENOTCONN;
	return -EAGAIN;
}

ssize_t vtcp_recv(struct vtcp_stack *st, int s, void *buf, size_t len, unsigned int flags)
{
	struct tcb *tp = sock_get(st, s);
	uint32_t n;

	if (!tp)
		return -EBADF;
	if (!tp->rcvq.len)
		return recv_empty(tp);
	n = (uint32_t)MIN(len, (size_t)tp->rcvq.len);
	ring_read_at(&tp->rcvq, 0, buf, n);
	if (!(flags & VTCP_MSG_PEEK))
		rcv_consumed(st, tp, n);
	return n;
}

ssize_t vtcp_recv_peek(struct vtcp_stack *st, int s, const void **p1, size_t *l1,
		       const void **p2, size_t *l2)
{
	struct tcb *tp = sock_get(st, s);
	const uint8_t *a, *b;
	uint32_t la, lb;

	if (!tp)
		return -EBADF;
	if (!tp->rcvq.len)
		return recv_empty(tp);
	ring_spans(&tp->rcvq, 0, tp->rcvq.len, &a, &la, &b, &lb);
	*p1 = a;
	*l1 = la;
	*p2 = b;
	*l2 = lb;
	return tp->rcvq.len;
}

int vtcp_recv_consume(struct vtcp_stack *st, int s, size_t n)
{
	struct tcb *tp = sock_get(st, s);

	if (!tp)
		return -EBADF;
	if (n > tp->rcvq.len)
		return -EINVAL;
	rcv_consumed(st, tp, (uint32_t)n);
	return 0;
}

static void send_fin(struct tcb *tp)
{
	if (tp->fin_queued)
		return;
	tp->fin_queued = true;
	tp->want_tx = true;
	if (tp->state == VTCP_ESTABLISHED || tp->state == VTCP_SYN_RECV)
		tp->state = VTCP_FIN_WAIT1;
	else if (tp->state == VTCP_CLOSE_WAIT)
		tp->state = VTCP_LAST_ACK;
}

int vtcp_shutdown(struct vtcp_stack *st, int s, int how)
{
	struct tcb *tp = sock_get(st, s);

	if (!tp)
		return -EBADF;
	if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR)
		return -EINVAL;
	/* TIME_WAIT is a closed socket to its application, as on Linux */
	if (tp->state == VTCP_CLOSE || tp->state == VTCP_TIME_WAIT || tp->state == VTCP_LISTEN)
		return -ENOTCONN;
	if (how != SHUT_WR)
		tp->shut_rd = true;
	if (how != SHUT_RD) {
		tp->shut_wr = true;
		if (tp->state == VTCP_SYN_SENT)
			tcp_done(st, tp, 0);
		else
			send_fin(tp);
	}
	return 0;
}

static void reset_conn(struct vtcp_stack *st, struct tcb *tp)
{
	switch (tp->state) {
	case VTCP_ESTABLISHED:
	case VTCP_CLOSE_WAIT:
	case VTCP_FIN_WAIT1:
	case VTCP_FIN_WAIT2:
	case VTCP_SYN_RECV:
	case VTCP_CLOSING:
	case VTCP_LAST_ACK:
		tcp_send_ctl(st, tp, TH_RST | TH_ACK, tcp_acceptable_seq(tp));
		break;
	default:
		break;
	}
	tcp_done(st, tp, 0);
}

static void close_listener(struct vtcp_stack *st, struct tcb *lp)
{
	int me = tcb_index(st, lp);

	for (unsigned int i = 0; i < st->ntcb; i++) {
		struct tcb *tp = &st->tcbs[i];

		if (tp->used && tp->parent == me)
			reset_conn(st, tp);
	}
	tcb_free(st, lp);
}

int vtcp_close(struct vtcp_stack *st, int s)
{
	struct tcb *tp = sock_get(st, s);

	if (!tp)
		return -EBADF;
	tp->orphan = true;
	if (tp->state == VTCP_LISTEN) {
		close_listener(st, tp);
		return 0;
	}
	/* unread data or SO_LINGER {1, 0}: abortive close, as Linux */
	if (tp->rcvq.len || (tp->linger_on && !tp->linger_s)) {
		reset_conn(st, tp);
		return 0;
	}
	switch (tp->state) {
	case VTCP_CLOSE:
	case VTCP_SYN_SENT:
		tcp_done(st, tp, 0);
		break;
	case VTCP_FIN_WAIT2:
		/* TCP_LINGER2 < 0: no waiting for the peer's FIN, a reset (tcp_close()) */
		if (tp->linger2_s < 0)
			reset_conn(st, tp);
		else
			tp->t_keep = st->now + tcp_fin_wait2_ns(st, tp);
		break;
	default:
		tp->shut_rd = tp->shut_wr = true;
		send_fin(tp);
		break;
	}
	return 0;
}

int vtcp_abort(struct vtcp_stack *st, int s)
{
	struct tcb *tp = sock_get(st, s);

	if (!tp)
		return -EBADF;
	tp->orphan = true;
	if (tp->state == VTCP_LISTEN)
		close_listener(st, tp);
	else
		reset_conn(st, tp);
	return 0;
}

/*
 * TCP_DEFER_ACCEPT counts SYN-ACK timeouts (1 s, doubling up to 120 s):
 * as Linux's secs_to_retrans(), the fewest whose sum reaches @secs...
 */
static uint8_t defer_secs_to_timeouts(int secs)
{
	uint64_t timeout = 1, period = 1;
	uint8_t n = 1;

	if (secs <= 0)
		return 0;
	while ((uint64_t)secs > period && n < UINT8_MAX) {
		n++;
		timeout = MIN(timeout * 2, (uint64_t)TCP_RTO_MAX_NS / NS_PER_S);
		period += timeout;
	}
	return n;
}

/* ... and retrans_to_secs(): their sum, what the option reads. */
static int defer_timeouts_to_secs(uint8_t n)
{
	uint64_t timeout = 1, period = n ? 1 : 0;

	while (n-- > 1) {
		timeout = MIN(timeout * 2, (uint64_t)TCP_RTO_MAX_NS / NS_PER_S);
		period += timeout;
	}
	return (int)period;
}

int vtcp_setopt(struct vtcp_stack *st, int s, enum vtcp_opt opt, int val)
{
	struct tcb *tp = sock_get(st, s);

	if (!tp)
		return -EBADF;
	switch (opt) {
	case VTCP_NODELAY:
		tp->nodelay = val != 0;
		tp->want_tx = true;
		break;
	case VTCP_CORK:
		tp->cork = val != 0;
		tp->want_tx = true; /* uncorking pushes what was held */
		break;
	case VTCP_KEEPALIVE:
		tp->keepalive = val != 0;
		tcp_arm_keepalive(st, tp);
		break;
	case VTCP_KEEPIDLE:
		if (val < 1 || val > 32767)
			return -EINVAL;
		tp->keepidle_s = (uint32_t)val;
		tcp_arm_keepalive(st, tp);
		break;
	case VTCP_KEEPINTVL:
		if (val < 1 || val > 32767)
			return -EINVAL;
		tp->keepintvl_s = (uint32_t)val;
		break;
	case VTCP_KEEPCNT:
		if (val < 1 || val > 127)
			return -EINVAL;
		tp->keepcnt = (uint32_t)val;
		break;
	case VTCP_USER_TIMEOUT:
		if (val < 0)
			return -EINVAL;
		tp->user_timeout_ms = (uint32_t)val;
		break;
	case VTCP_RCVBUF:
		if (val < 0)
			return -EINVAL;
		tp->rcvbuf = (uint32_t)MIN(MAX((uint64_t)val, 2304u), (uint64_t)tp->rcvq.cap);
		tp->rcvbuf_locked = true;
		tp->rcv_wnd_cap = MIN(MAX(tp->rcv_wnd_cap, 65535u), tp->rcvbuf);
		break;
	case VTCP_SNDBUF:
		if (val < 0)
			return -EINVAL;
		tp->sndbuf = (uint32_t)MIN(MAX((uint64_t)val, 4608u), (uint64_t)tp->sndq.cap);
		tp->sndbuf_locked = true;
		break;
	case VTCP_MAXSEG:
		if (val < 88 || val > 65535)
			return -EINVAL;
		tp->user_mss = (uint16_t)val;
		break;
	case VTCP_ECN:
		tp->ecn_want = val != 0;
		tp->ecn_set = true;
		break;
	case VTCP_FLOWLABEL:
		tp->flowlabel = (uint32_t)val & 0xfffff;
		break;
	case VTCP_REUSEADDR:
		tp->reuseaddr = val != 0;
		break;
	case VTCP_REUSEPORT:
		tp->reuseport = val != 0;
		break;
	case VTCP_V6ONLY:
		if (tp->laddr.fam != 6 || tp->v4mapped)
			return -ENOPROTOOPT; /* IPPROTO_IPV6 on an IPv4 socket */
		if (tp->bound)
			return -EINVAL;	     /* as Linux: fixed once bound */
		tp->v6only = val != 0;
		break;
	case VTCP_QUICKACK:
		/* 1: ACK every segment for a while, flushing a delayed one; 0: delay now */
		tp->quick = val ? TCP_QUICKACKS : 0;
		if (val && tp->t_delack != NO_DEADLINE)
			tp->ack_now = true;
		break;
	case VTCP_NOTSENT_LOWAT:
		tp->notsent_lowat = (uint32_t)val;
		break;
	case VTCP_WINDOW_CLAMP: /* tcp_set_window_clamp() */
		if (!val && tp->state != VTCP_CLOSE)
			return -EINVAL;
		tp->window_clamp = val ? MAX((uint32_t)MAX(val, 0), (uint32_t)TCP_MIN_WINDOW_CLAMP) : 0;
		break;
	case VTCP_SYNCNT:
		if (val < 1 || val > TCP_MAX_SYNCNT)
			return -EINVAL;
		tp->syn_retries = (uint8_t)val;
		break;
	case VTCP_DEFER_ACCEPT:
		tp->defer_accept = defer_secs_to_timeouts(val);
		break;
	case VTCP_TOS: /* as Linux's for a stream socket: ECN is TCP's own */
		tp->tos = (uint8_t)(val & ~3);
		break;
	case VTCP_TTL:
		if (val > 255)
			return -EINVAL;
		tp->ttl = (uint8_t)(val < 1 ? 0 : val);
		break;
	case VTCP_LINGER2: /* as Linux, a larger value is the maximum */
		tp->linger2_s = val < 0 ? -1 : MIN(val, TCP_FIN_TIMEOUT_MAX_S);
		break;
	case VTCP_REFUSE_URGENT:
		tp->refuse_urgent = val != 0;
		if (!val)
			tp->urgent_refused = false; /* the host gives the frames again */
		break;
	default:
		return -ENOPROTOOPT;
	}
	return 0;
}

const char *vtcp_congestion(struct vtcp_stack *st, int s)
{
	struct tcb *tp = sock_get(st, s);

	return tp ? tp->cc->name : NULL;
}

int vtcp_getopt(struct vtcp_stack *st, int s, enum vtcp_opt opt, int *val)
{
	struct tcb *tp = sock_get(st, s);

	if (!tp)
		return -EBADF;
	switch (opt) {
	case VTCP_NODELAY: *val = tp->nodelay; break;
	case VTCP_CORK: *val = tp->cork; break;
	case VTCP_KEEPALIVE: *val = tp->keepalive; break;
	case VTCP_KEEPIDLE: *val = (int)tp->keepidle_s; break;
	case VTCP_KEEPINTVL: *val = (int)tp->keepintvl_s; break;
	case VTCP_KEEPCNT: *val = (int)tp->keepcnt; break;
	case VTCP_USER_TIMEOUT: *val = (int)tp->user_timeout_ms; break;
	/*
	 * Linux reports twice the value set (bookkeeping overhead); unset,
	 * what receive autotuning grew it to: from tcp_rmem[1], twice the
	 * window it allows (tcp_adv_win_scale 1).
	 */
	case VTCP_RCVBUF:
		*val = (int)MIN(tp->rcvbuf_locked ? 2ull * tp->rcvbuf :
			       MAX((uint64_t)st->cfg.rmem_default, 2ull * tp->rcv_wnd_cap),
			       (uint64_t)INT32_MAX);
		break;
	case VTCP_SNDBUF:
		*val = (int)MIN((tp->sndbuf_locked ? 2ull : 1ull) * tp->sndbuf, (uint64_t)INT32_MAX);
		break;
	case VTCP_MAXSEG: /* as Linux: the MSS in use, the user's while unconnected */
		*val = tp->user_mss && (tp->state == VTCP_CLOSE || tp->state == VTCP_LISTEN) ?
			       tp->user_mss : tp->mss ? tp->mss : TCP_MSS_DEFAULT;
		break;
	case VTCP_ECN: *val = tp->ecn_ok; break;
	case VTCP_FLOWLABEL: *val = (int)tp->flowlabel; break;
	case VTCP_QUICKACK: *val = tp->quick > 0; break;
	case VTCP_REUSEADDR: *val = tp->reuseaddr; break;
	case VTCP_REUSEPORT: *val = tp->reuseport; break;
	case VTCP_REFUSE_URGENT: *val = tp->refuse_urgent; break;
	case VTCP_NOTSENT_LOWAT: *val = (int)tp->notsent_lowat; break;
	case VTCP_WINDOW_CLAMP: *val = (int)MIN(tcp_window_clamp(tp), (uint32_t)INT32_MAX); break;
	case VTCP_SYNCNT: *val = tp->syn_retries ? tp->syn_retries : (int)st->cfg.syn_retries; break;
	case VTCP_LINGER2:
		*val = tp->linger2_s ? tp->linger2_s : (int)st->cfg.fin_timeout_s;
		break;
	case VTCP_DEFER_ACCEPT: *val = defer_timeouts_to_secs(tp->defer_accept); break;
	case VTCP_TOS: *val = tp->tos; break;
	case VTCP_TTL:
		*val = tp->ttl ? tp->ttl :
		       (int)(tp->laddr.fam == 6 ? st->cfg.ipv6_hop_limit : st->cfg.ip_ttl);
		break;
	case VTCP_V6ONLY:
		if (tp->laddr.fam != 6 && !tp->v4mapped)
			return -ENOPROTOOPT;
		*val = tp->v6only;
		break;
	default: return -ENOPROTOOPT;
	}
	return 0;
}

int vtcp_set_max_pacing_rate(struct vtcp_stack *st, int s, uint64_t rate)
{
	struct tcb *tp = sock_get(st, s);

	if (!tp)
		return -EBADF;
	tp->max_pacing_rate = rate;
	tp->pacing |= rate != ~0ull;
	return 0;
}

int vtcp_set_linger(struct vtcp_stack *st, int s, int onoff, int seconds)
{
	struct tcb *tp = sock_get(st, s);

	if (!tp)
		return -EBADF;
	tp->linger_on = onoff != 0;
	tp->linger_s = seconds < 0 ? 0 : seconds;
	return 0;
}

int vtcp_set_cc(struct vtcp_stack *st, int s, const char *name)
{
	struct tcb *tp = sock_get(st, s);
	const struct cc_ops *cc = name ? cc_find(name) : NULL;

	if (!tp)
		return -EBADF;
	if (!cc)
		return -ENOENT;
	/* as tcp_reinit_congestion_control(): the same one stays as it is */
	if (cc != tp->cc) {
		tp->cc = cc;
		cc->init(tp);
	}
	return 0;
}

static uint32_t ms_ago(const struct vtcp_stack *st, uint64_t t)
{
	return t ? (uint32_t)((st->now - t) / NS_PER_MS) : 0;
}

/* tcp_get_info_chrono_stats(): the running one counts up to now. */
static void chrono_info(const struct vtcp_stack *st, const struct tcb *tp, struct vtcp_info *ti)
{
	uint64_t ns[4];

	memcpy(ns, tp->chrono_ns, sizeof(ns));
	if (tp->chrono)
		ns[tp->chrono] += st->now - tp->chrono_start_ns;
	/* busy: all three, the limited times being parts of it */
	ti->tcpi_busy_time = (ns[CHRONO_BUSY] + ns[CHRONO_RWND_LIMITED] + ns[CHRONO_SNDBUF_LIMITED]) /
			     NS_PER_US;
	ti->tcpi_rwnd_limited = ns[CHRONO_RWND_LIMITED] / NS_PER_US;
	ti->tcpi_sndbuf_limited = ns[CHRONO_SNDBUF_LIMITED] / NS_PER_US;
}

static void info_counts(const struct vtcp_stack *st, const struct tcb *tp, struct vtcp_info *ti)
{
	uint32_t sent = tp->snd_nxt - tp->sndq_seq;

	ti->tcpi_pacing_rate = tcp_sk_pacing_rate(tp);
	ti->tcpi_max_pacing_rate = tp->max_pacing_rate;
	ti->tcpi_bytes_acked = tp->cnt.bytes_acked;
	ti->tcpi_bytes_received = tp->cnt.bytes_received;
	ti->tcpi_segs_out = tp->cnt.segs_out;
	ti->tcpi_segs_in = tp->cnt.segs_in;
	if (tp->synced && tp->sndq.len > sent)
		ti->tcpi_notsent_bytes = tp->sndq.len - sent;
	ti->tcpi_min_rtt = tp->min_rtt_us ? tp->min_rtt_us : ~0u;
	ti->tcpi_data_segs_in = tp->cnt.data_segs_in;
	ti->tcpi_data_segs_out = tp->cnt.data_segs_out;
	ti->tcpi_delivered = tp->cnt.delivered;
	ti->tcpi_delivered_ce = tp->cnt.delivered_ce;
	ti->tcpi_bytes_sent = tp->cnt.bytes_sent;
	ti->tcpi_bytes_retrans = tp->cnt.bytes_retrans;
	ti->tcpi_dsack_dups = tp->cnt.dsack_dups;
	ti->tcpi_rcv_ooopack = tp->cnt.rcv_ooopack;
	ti->tcpi_snd_wnd = tp->snd_wnd;
	ti->tcpi_rcv_wnd = tp->rcv_wnd;
	ti->tcpi_total_rto = tp->total_rto;
	chrono_info(st, tp, ti);
}

int vtcp_get_info(struct vtcp_stack *st, int s, struct vtcp_info *ti)
{
	struct tcb *tp = sock_get(st, s);

	if (!tp)
		return -EBADF;
	memset(ti, 0, sizeof(*ti));
	ti->tcpi_state = tp->state;
	ti->tcpi_ca_state = tp->ca_state;
	ti->tcpi_retransmits = tp->retransmits;
	ti->tcpi_probes = tp->probes_out;
	ti->tcpi_backoff = tp->backoff;
	ti->tcpi_options = (uint8_t)((tp->ts_ok ? VTCP_OPT_TIMESTAMPS : 0) |
				     (tp->sack_ok ? VTCP_OPT_SACK : 0) |
				     (tp->ws_ok ? VTCP_OPT_WSCALE : 0) |
				     (tp->ecn_ok ? VTCP_OPT_ECN : 0));
	if (tp->ws_ok) {
		ti->tcpi_snd_wscale = tp->snd_wscale & 0xf;
		ti->tcpi_rcv_wscale = tp->rcv_wscale & 0xf;
	}
	ti->tcpi_rto = (uint32_t)(MIN(tp->rto_ns << tp->backoff, TCP_RTO_MAX_NS) / NS_PER_US);
	ti->tcpi_ato = (uint32_t)(TCP_DELACK_NS / NS_PER_US);
	ti->tcpi_snd_mss = tp->mss;
	ti->tcpi_rcv_mss = tp->rcv_mss;
	ti->tcpi_unacked = tp->packets_out;
	ti->tcpi_sacked = tp->sacked_out;
	ti->tcpi_lost = tp->lost_out;
	ti->tcpi_retrans = tp->retrans_out;
	ti->tcpi_last_data_sent = ms_ago(st, tp->last_data_snd_ns);
	ti->tcpi_last_ack_sent = 0; /* Linux leaves it unset too */
	ti->tcpi_last_data_recv = ms_ago(st, tp->last_data_rcv_ns);
	ti->tcpi_last_ack_recv = ms_ago(st, tp->last_rcv_ns);
	ti->tcpi_pmtu = tp->pmtu;
	ti->tcpi_rcv_ssthresh = tp->rcv_ssthresh;
	ti->tcpi_rtt = tp->srtt_us;
	ti->tcpi_rttvar = tp->rttvar_us;
	ti->tcpi_snd_ssthresh = tp->ssthresh;
	ti->tcpi_snd_cwnd = tp->cwnd;
	ti->tcpi_advmss = tp->adv_mss;
	ti->tcpi_reordering = tp->reordering;
	ti->tcpi_rcv_space = tp->rcv_wnd_cap;
	ti->tcpi_total_retrans = tp->total_retrans;
	info_counts(st, tp, ti);
	return 0;
}

int vtcp_get_queues(struct vtcp_stack *st, int s, struct vtcp_queues *q)
{
	struct tcb *tp = sock_get(st, s);
	uint32_t sent;

	if (!tp)
		return -EBADF;
	if (tp->state == VTCP_LISTEN)
		return -EINVAL;
	memset(q, 0, sizeof(*q));
	if (tp->state == VTCP_SYN_SENT || tp->state == VTCP_SYN_RECV)
		return 0;
	q->inq = tp->rcvq.len;
	q->outq = tp->sndq.len;
	sent = tp->snd_nxt - tp->sndq_seq; /* a FIN sent counts one more */
	q->notsent = tp->sndq.len > sent ? tp->sndq.len - sent : 0;
	return 0;
}

/*
 * Linux's tcp_sndbuf_expand(), at the handshake and as ACKs free space
 * while cwnd is not full: a send buffer the application did not size
 * grows to twice the memory of the segments cwnd allows (at least
 * TCP_INIT_CWND of them), a segment's memory being its MSS with headroom
 * and shared info rounded up to a power of two, plus the sk_buff (576 and
 * 256 bytes on x86-64). It never shrinks. Payload is counted against it,
 * so about three windows fit: ACKs then keep finding data to send, and a
 * writer is woken once about a window of it was acknowledged, as on Linux.
 */
void tcp_sndbuf_expand(const struct vtcp_stack *st, struct tcb *tp)
{
	uint64_t segs = MAX(MAX(tp->cwnd, (uint32_t)TCP_INIT_CWND), tp->reordering + 1);
	uint64_t per_mss, want;

	/* per ACK: nothing to work out once it reached the pool */
	if (tp->sndbuf_locked || tp->sndbuf >= st->cfg.sndbuf_max)
		return;
	per_mss = 1ull << (32 - __builtin_clz(tp->mss + 575u)); /* the power of 2 >= mss + 576 */
	want = MIN(2 * segs * (per_mss + 256), (uint64_t)st->cfg.sndbuf_max);
	tp->sndbuf = (uint32_t)MAX(want, (uint64_t)tp->sndbuf);
}

/*
 * Room for a writer, as Linux's sk_stream_is_writeable(): free space of at
 * least half what is queued, about a third of the buffer once it filled.
 * A send takes any room at all (send_room()); waking writers for less
 * would have them spin on a few bytes at a time.
 */
bool tcp_snd_writable(const struct tcb *tp)
{
	uint32_t limit = MIN(tp->sndbuf, tp->sndq.cap);
	uint32_t room = tp->sndq.len < limit ? limit - tp->sndq.len : 0;

	return room && room >= tp->sndq.len / 2;
}

unsigned int sock_events(struct vtcp_stack *st, struct tcb *tp)
{
	unsigned int ev = 0;

	if (tp->state == VTCP_LISTEN)
		return tp->aq_head >= 0 ? VTCP_EV_READABLE : 0;
	if (tp->rcvq.len || tp->fin_rcvd || tp->shut_rd || tp->reset)
		ev |= VTCP_EV_READABLE;
	if (tp->fin_rcvd || tp->reset || tp->shut_rd)
		ev |= VTCP_EV_RDHUP; /* RCV_SHUTDOWN, by the peer's FIN or our SHUT_RD */
	if (tp->err)
		ev |= VTCP_EV_ERR;
	if (tp->urgent_refused)
		ev |= VTCP_EV_URGENT;
	/* Linux's tcp_poll: both directions shut (SHUTDOWN_MASK), or CLOSE */
	if (tp->reset || (tp->shut_wr && (tp->fin_rcvd || tp->shut_rd || tp->state == VTCP_CLOSE)) ||
	    (tp->state == VTCP_CLOSE && tp->bound && tp->rport))
		ev |= VTCP_EV_HUP;
	/* poll's side of the mark is twice as strict (tcp_stream_memory_free(), wake) */
	if ((tp->state == VTCP_ESTABLISHED || tp->state == VTCP_CLOSE_WAIT) && !tp->shut_wr &&
	    tcp_snd_writable(tp) && 2ull * unsent_bytes(tp) < notsent_mark(st, tp))
		ev |= VTCP_EV_WRITABLE;
	if (tp->reset || (tp->shut_wr && tp->state != VTCP_SYN_SENT))
		ev |= VTCP_EV_WRITABLE; /* a write would fail at once, as poll(2) shows */
	return ev;
}

unsigned int vtcp_events(struct vtcp_stack *st, int s)
{
	struct tcb *tp = sock_get(st, s);

	return tp ? sock_events(st, tp) : VTCP_EV_ERR | VTCP_EV_HUP;
}

int vtcp_sock_state(struct vtcp_stack *st, int s)
{
	struct tcb *tp = sock_get(st, s);

	return tp ? (int)tp->state : -EBADF;
}

int vtcp_sock_error(struct vtcp_stack *st, int s)
{
	struct tcb *tp = sock_get(st, s);
	int e;

	if (!tp)
		return EBADF;
	e = tp->err;
	tp->err = 0;
	return e;
}

int vtcp_conn_state(struct vtcp_stack *st, const struct sockaddr *local,
		    const struct sockaddr *remote)
{
	struct vaddr la, ra;
	uint16_t lport, rport;
	struct tcb *tp;

	vaddr_from_sa(&la, &lport, local);
	vaddr_from_sa(&ra, &rport, remote);
	tp = tcb_lookup(st, &la, lport, &ra, rport);
	if (!tp || tp->state == VTCP_LISTEN || tp->moved)
		return -ENOENT;
	return tp->state;
}

int vtcp_getsockname(struct vtcp_stack *st, int s, struct sockaddr *a, socklen_t *len)
{
	struct tcb *tp = sock_get(st, s);

	if (!tp)
		return -EBADF;
	*len = vaddr_to_sa_mapped(&tp->laddr, tp->lport, tp->v4mapped, a, *len);
	return 0;
}

int vtcp_getpeername(struct vtcp_stack *st, int s, struct sockaddr *a, socklen_t *len)
{
	struct tcb *tp = sock_get(st, s);

	if (!tp)
		return -EBADF;
	/* inet_getname(): a socket in TIME_WAIT is CLOSE to its holder */
	if (!tp->rport || tp->state == VTCP_LISTEN || tp->state == VTCP_SYN_SENT ||
	    tp->state == VTCP_CLOSE || tp->state == VTCP_TIME_WAIT)
		return -ENOTCONN;
	*len = vaddr_to_sa_mapped(&tp->raddr, tp->rport, tp->v4mapped, a, *len);
	return 0;
}
