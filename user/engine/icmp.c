/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ICMP and ICMPv6 errors about our TCP segments, with Linux's semantics
 * (tcp_v4_err, tcp_v6_err): "fragmentation needed" / "packet too big"
 * lower the path MTU and resend what no longer fits (RFC 1191, 8201); an
 * unreachable destination fails a connection still opening, with the errno
 * Linux gives, and is only remembered (a soft error, reported if the
 * connection later times out) once it is established (RFC 1122 4.2.3.9).
 * An error must quote a sequence number we have in flight (RFC 5927 4.1),
 * so a forged one cannot kill a connection without knowing its window.
 */
#include "internal.h"

#define ICMP_DEST_UNREACH   3
#define ICMP_TIME_EXCEEDED  11
#define ICMP_PARAMETERPROB  12
#define ICMP_FRAG_NEEDED    4
#define ICMP6_DEST_UNREACH  1
#define ICMP6_PKT_TOOBIG    2
#define ICMP6_TIME_EXCEED   3
#define ICMP6_PARAMPROB     4
#define IP4_MIN_PMTU	    552	 /* Linux's net.ipv4.route.min_pmtu */
#define IP6_MIN_MTU	    1280 /* RFC 8200 */

/* What an error means for the connection it names. */
struct icmp_err {
	int err;       /* errno */
	bool fatal;    /* also ends a connection not yet accepted (Linux's tcp_req_err) */
	uint32_t mtu;  /* nonzero: a path MTU report, nothing else */
};

/* Linux's icmp_err_convert[] errnos, by ICMP "destination unreachable" code. */
static const uint8_t unreach4[] = {
	ENETUNREACH,  /* net unreachable */
	EHOSTUNREACH, /* host unreachable */
	ENOPROTOOPT,  /* protocol unreachable */
	ECONNREFUSED, /* port unreachable */
	EMSGSIZE,     /* fragmentation needed (handled as PMTU) */
	EOPNOTSUPP,   /* source route failed */
	ENETUNREACH,  /* net unknown */
	EHOSTDOWN,    /* host unknown */
	ENONET,	      /* host isolated */
	ENETUNREACH,  /* net administratively prohibited */
	EHOSTUNREACH, /* host administratively prohibited */
	ENETUNREACH,  /* net unreachable for TOS */
	EHOSTUNREACH, /* host unreachable for TOS */
	EHOSTUNREACH, /* communication administratively prohibited */
	EHOSTUNREACH, /* host precedence violation */
	EHOSTUNREACH, /* precedence cutoff */
};

static const struct {
	uint8_t err;
	bool fatal;
} unreach6[] = {
	/* Linux's tab_unreach[], by ICMPv6 "destination unreachable" code */
	{ ENETUNREACH, false },	 /* no route */
	{ EACCES, true },	 /* administratively prohibited */
	{ EHOSTUNREACH, false }, /* beyond the source's scope */
	{ EHOSTUNREACH, false }, /* address unreachable */
	{ ECONNREFUSED, true },	 /* port unreachable */
	{ EACCES, true },	 /* source address failed policy */
	{ EACCES, true },	 /* reject route */
};

/* The destination cannot be reached, by the segment at @seq. */
static void tcp_unreachable(struct vtcp_stack *st, struct tcb *tp, uint32_t seq,
			    const struct icmp_err *e)
{
	sched_touch(st, tp);
	switch (tp->state) {
	case VTCP_SYN_RECV:
		if (tp->parent >= 0) {
			/* not yet accepted: nobody to tell, the SYN-ACK it answers is dropped */
			if (e->fatal && seq == tp->iss)
				tcp_done(st, tp, 0);
			return;
		}
		/* simultaneous open: as SYN_SENT */
		/* fall through */
	case VTCP_SYN_SENT:
		tcp_done(st, tp, e->err);
		return;
	default:
		tp->soft_err = e->err;
		return;
	}
}

/* The quoted TCP header's first 8 bytes: ports and sequence number. */
static void tcp_icmp_error(struct vtcp_stack *st, const struct vaddr *local,
			   const struct vaddr *remote, const uint8_t *th,
			   const struct icmp_err *e)
{
	uint16_t lport = (uint16_t)(th[0] << 8 | th[1]);
	uint16_t rport = (uint16_t)(th[2] << 8 | th[3]);
	uint32_t seq = (uint32_t)th[4] << 24 | (uint32_t)th[5] << 16 |
		       (uint32_t)th[6] << 8 | th[7];
	struct tcb *tp = tcb_lookup(st, local, lport, remote, rport);

	/* only a connection, not a listener or one already over */
	if (!tp || tp->rport != rport || !vaddr_eq(&tp->raddr, remote) ||
	    tp->state == VTCP_LISTEN || tp->state == VTCP_CLOSE ||
	    tp->state == VTCP_TIME_WAIT)
		return;
	if (SEQ_LT(seq, tp->snd_una) || SEQ_GT(seq, tp->snd_nxt))
		return; /* not a segment we have in flight: stale or forged */
	if (e->mtu) {
		sched_touch(st, tp);
		tcp_mtu_reduced(st, tp, e->mtu);
		return;
	}
	tcp_unreachable(st, tp, seq, e);
}

void icmp4_input(struct vtcp_stack *st, const struct ip_meta *m,
		 const uint8_t *p, size_t len)
{
	struct icmp_err e = { 0 };
	struct vaddr local = { .fam = 4 }, remote = { .fam = 4 };
	const uint8_t *q = p + 8; /* the quoted IP header */
	unsigned int qhl;

	if (len < 8 + IP4_HLEN + 8 || csum_fold(csum_add(0, p, len)) != 0)
		return;
	switch (p[0]) {
	case ICMP_DEST_UNREACH:
		if (p[1] >= sizeof(unreach4))
			return;
		e.err = unreach4[p[1]];
		/* tcp_v4_err drops an embryonic connection on net/host unreachable */
		e.fatal = p[1] <= 1;
		/* RFC 1191: the next hop's MTU; an old router's 0 falls to the floor */
		if (p[1] == ICMP_FRAG_NEEDED)
			e.mtu = MAX((uint32_t)(p[6] << 8 | p[7]), (uint32_t)IP4_MIN_PMTU);
		break;
	case ICMP_TIME_EXCEEDED:
		e.err = EHOSTUNREACH;
		e.fatal = true;
		break;
	case ICMP_PARAMETERPROB:
		e.err = EPROTO;
		e.fatal = true;
		break;
	default:
		return;
	}
	qhl = (q[0] & 0xf) * 4u;
	if ((q[0] >> 4) != 4 || qhl < IP4_HLEN || q[9] != 6 || 8 + qhl + 8 > len)
		return;
	memcpy(local.a, q + 12, 4);
	memcpy(remote.a, q + 16, 4);
	if (!vaddr_eq(&local, &m->dst))
		return; /* about a packet we did not send */
	tcp_icmp_error(st, &local, &remote, q + qhl, &e);
}

void icmp6_input(struct vtcp_stack *st, const struct ip_meta *m,
		 const uint8_t *p, size_t len)
{
	struct icmp_err e = { 0 };
	struct vaddr local = { .fam = 6 }, remote = { .fam = 6 };
	const uint8_t *q = p + 8;

	/* the quoted packet must show its TCP header right after the IPv6 one */
	if (len < 8 + IP6_HLEN + 8 || q[6] != 6)
		return;
	if (csum_fold(csum_add(csum_pseudo(&m->src, &m->dst, 58, (uint32_t)len), p, len)))
		return;
	switch (p[0]) {
	case ICMP6_DEST_UNREACH:
		e.err = EPROTO;
		e.fatal = true;
		if (p[1] < sizeof(unreach6) / sizeof(unreach6[0])) {
			e.err = unreach6[p[1]].err;
			e.fatal = unreach6[p[1]].fatal;
		}
		break;
	case ICMP6_PKT_TOOBIG:
		e.mtu = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7];
		if (e.mtu < IP6_MIN_MTU)
			return; /* Linux ignores a report below the IPv6 minimum */
		break;
	case ICMP6_TIME_EXCEED:
		e.err = EHOSTUNREACH;
		break;
	case ICMP6_PARAMPROB:
		e.err = EPROTO;
		e.fatal = true;
		break;
	default:
		return;
	}
	memcpy(local.a, q + 8, 16);
	memcpy(remote.a, q + 24, 16);
	if (local.a[0] == 0xfe && (local.a[1] & 0xc0) == 0x80)
		local.scope = st->cfg.ifindex;
	if (remote.a[0] == 0xfe && (remote.a[1] & 0xc0) == 0x80)
		remote.scope = st->cfg.ifindex;
	if (!addr_is_local(st, &local))
		return;
	tcp_icmp_error(st, &local, &remote, q + IP6_HLEN, &e);
}

/*
 * The host's kernel could not resolve a next hop: as its neighbour error
 * report (arp_error_report(), ndisc_error_report()), each connection with a
 * segment waiting for that hop hears "host unreachable", as from an ICMP
 * error of its own host: a connection opening fails, an established one
 * keeps it as its soft error.
 */
int vtcp_neigh_failed(struct vtcp_stack *st, const struct sockaddr *sa)
{
	struct icmp_err e = { .err = EHOSTUNREACH };
	struct vaddr ip;

	vaddr_from_sa(&ip, NULL, sa);
	if (!ip.fam)
		return -EAFNOSUPPORT;
	e.fatal = ip.fam == 4; /* ICMP host unreachable; ICMPv6 address unreachable is not */
	for (unsigned int i = 0; i < st->ntcb; i++) {
		struct tcb *tp = &st->tcbs[i];

		if (tp->used && vaddr_eq(&tp->nexthop, &ip) && tp->snd_nxt != tp->snd_una &&
		    tp->state != VTCP_LISTEN && tp->state != VTCP_CLOSE &&
		    tp->state != VTCP_TIME_WAIT)
			tcp_unreachable(st, tp, tp->snd_una, &e);
	}
	return 0;
}
