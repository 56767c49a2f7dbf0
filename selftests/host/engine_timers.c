// SPDX-License-Identifier: GPL-2.0
/*
 * Scripted tests of the engine's timers and send/ACK policies in exact
 * virtual time: RTO backoff, TLP, fast retransmit with and without SACK,
 * SACK/DSACK generation, zero-window probes, keepalive (per socket and
 * stack defaults), TCP_USER_TIMEOUT, SO_LINGER {1,0}, Nagle, TCP_CORK,
 * MSG_MORE, delayed ACK, window scaling, ECN and MSS clamping.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "engine_script.h"
#include "ktap.h"

static struct es E;
static struct vtcp_config C;

static int do_listen(struct es *es)
{
	struct sockaddr_storage ss;

	es->lsock = vtcp_socket(es->st, AF_INET);
	es_local_addr(es, &ss, es->lport);
	if (vtcp_bind(es->st, es->lsock, (struct sockaddr *)&ss, sizeof(ss)))
		return -1;
	return vtcp_listen(es->st, es->lsock, 8);
}

static int do_accept(struct es *es)
{
	es->sock = vtcp_accept(es->st, es->lsock, NULL, NULL);
	return es->sock < 0;
}

static int send_n(struct es *es, size_t n, unsigned int flags)
{
	static char buf[65536];

	memset(buf, 'z', n);
	return vtcp_send(es->st, es->sock, buf, n, flags) != (ssize_t)n;
}

#define SENDER(name, n, fl)                      \
	static int name(struct es *es)           \
	{                                        \
		return send_n(es, n, fl);        \
	}
SENDER(send_100, 100, 0)
SENDER(send_10, 10, 0)
SENDER(send_2000, 2000, 0)
SENDER(send_5000, 5000, 0)
SENDER(send_20000, 20000, 0)
SENDER(send_10_more, 10, VTCP_MSG_MORE)

#define SETOPT(name, opt, val)                                       \
	static int name(struct es *es)                               \
	{                                                            \
		return vtcp_setopt(es->st, es->sock, opt, val);      \
	}
SETOPT(nodelay_on, VTCP_NODELAY, 1)
SETOPT(cork_on, VTCP_CORK, 1)
SETOPT(cork_off, VTCP_CORK, 0)
SETOPT(quickack_off, VTCP_QUICKACK, 0)
SETOPT(keepalive_on, VTCP_KEEPALIVE, 1)
SETOPT(keepidle_10, VTCP_KEEPIDLE, 10)
SETOPT(keepintvl_2, VTCP_KEEPINTVL, 2)
SETOPT(keepcnt_3, VTCP_KEEPCNT, 3)
SETOPT(user_timeout_1s, VTCP_USER_TIMEOUT, 1000)

static int err_is(struct es *es, int e)
{
	int got = vtcp_sock_error(es->st, es->sock);

	if (got != e)
		ktap_diag("SO_ERROR %d, expected %d", got, e);
	return got != e;
}

static int err_timedout(struct es *es)
{
	return err_is(es, ETIMEDOUT);
}

static int no_error(struct es *es)
{
	return err_is(es, 0);
}

static int linger_0_close(struct es *es)
{
	return vtcp_set_linger(es->st, es->sock, 1, 0) || vtcp_close(es->st, es->sock);
}

static int do_close(struct es *es)
{
	return vtcp_close(es->st, es->sock);
}

static int run(const struct es_step *steps, const struct vtcp_config *cfg)
{
	int r;

	if (es_init(&E, cfg, false))
		return KTAP_FAIL;
	r = es_run(&E, steps);
	es_fini(&E);
	return r;
}

/* Handshake at t=0 (RTT ~0, so RTO = 200 ms): mss 1000, options o. */
#define ESTABLISH(o) ESTABLISH_WIN(o, 65535)
/* The window is set by the ACK that completes the handshake (w, unscaled). */
#define ESTABLISH_WIN(o, w)                                      \
	CALL(0, do_listen),                                      \
	IN(0, F_SYN, 0, 0, 65535, 0, o),                         \
	OUT(0, F_SYN | F_ACK, 0, 1, ANY, 0, NULL),               \
	IN(0, F_ACK, 1, 1, w, 0, NULL),                          \
	CALL(0, do_accept)

/* The n-th 1000-byte segment (from 0) at t ms, not pushed. */
#define SEGMENT(t, n) OUT(t, F_ACK, 1 + 1000 * (n), 1, ANY, 1000, NULL)
/* The same, ending a GSO packet: Linux marks those PSH. */
#define SEGMENT_PSH(t, n) OUT(t, F_PSH | F_ACK, 1 + 1000 * (n), 1, ANY, 1000, NULL)
/*
 * Six 1000-byte segments at t ms, the first at relative sequence 1, into
 * a window of about 6000: Linux's GSO packets are half the window, three
 * segments (tcp_xmit_size_goal()), each ending in PSH.
 */
#define SIX_SEGMENTS(t) \
	SEGMENT(t, 0), SEGMENT(t, 1), SEGMENT_PSH(t, 2), SEGMENT(t, 3), SEGMENT(t, 4), \
	SEGMENT_PSH(t, 5)

/* RFC 6298: RTO 200 ms floor, doubling: 200, 600, 1400, 3000 ms. */
static int rto_backoff(void)
{
	static const struct es_step s[] = {
		ESTABLISH("mss=1000"),
		CALL(0, send_100),
		OUT(0, F_PSH | F_ACK, 1, 1, ANY, 100, NULL),
		NONE(200),
		OUT(201, F_PSH | F_ACK, 1, 1, ANY, 100, NULL),
		NONE(600),
		OUT(601, F_PSH | F_ACK, 1, 1, ANY, 100, NULL),
		NONE(1400),
		OUT(1401, F_PSH | F_ACK, 1, 1, ANY, 100, NULL),
		NONE(3000),
		OUT(3001, F_PSH | F_ACK, 1, 1, ANY, 100, NULL),
		/* the ACK resets backoff: new data gets a fresh 200 ms RTO */
		IN(3100, F_ACK, 1, 101, 65535, 0, NULL),
		CALL(3100, send_100),
		OUT(3100, F_PSH | F_ACK, 101, 1, ANY, 100, NULL),
		NONE(3300),
		OUT(3310, F_PSH | F_ACK, 101, 1, ANY, 100, NULL),
		END,
	};

	return run(s, NULL);
}

/* RFC 8985 TLP: the probe resends the last segment, before the RTO. */
static int tlp_probe(void)
{
	static const struct es_step s[] = {
		ESTABLISH("mss=1000,sackok"),
		CALL(0, nodelay_on),
		CALL(0, send_2000),
		OUT(0, F_ACK, 1, 1, ANY, 1000, NULL),
		OUT(0, F_PSH | F_ACK, 1001, 1, ANY, 1000, NULL),
		NONE(1),
		OUT(3, F_PSH | F_ACK, 1001, 1, ANY, 1000, NULL), /* PTO = 2*SRTT + 2 ms, not RTO */
		/* the probe's ACK SACKs it: RACK repairs the first segment at once */
		IN(20, F_ACK, 1, 1, 65535, 0, "sack=1001-2001"),
		OUT(20, F_ACK, 1, 1, ANY, 1000, NULL),
		IN(30, F_ACK, 1, 2001, 65535, 0, NULL),
		NONE(2000),
		END,
	};

	return run(s, NULL);
}

/* Ten 1000-byte segments at t ms from relative sequence 1, none pushed. */
/* The initial cwnd into a 64 KB window: one GSO packet, its end pushed. */
#define TEN_SEGMENTS(t)                                                                 \
	SEGMENT(t, 0), SEGMENT(t, 1), SEGMENT(t, 2), SEGMENT(t, 3), SEGMENT(t, 4),       \
	SEGMENT(t, 5), SEGMENT(t, 6), SEGMENT(t, 7), SEGMENT(t, 8), SEGMENT_PSH(t, 9)

/*
 * RFC 8985 7.3: with unsent data the probe is the next new segment, and it
 * carries PSH, so that a delayed-ACK receiver (Linux: ICSK_ACK_PUSHED)
 * acknowledges it once read instead of after its 40 ms timer. Segments
 * that are neither probes nor the end of the queued data carry none.
 */
static int tlp_new_data_probe_pushed(void)
{
	static const struct es_step s[] = {
		ESTABLISH("mss=1000,sackok"),
		CALL(0, send_20000),
		TEN_SEGMENTS(0), /* initial cwnd: 10 */
		NONE(1),
		OUT(3, F_PSH | F_ACK, 10001, 1, ANY, 1000, NULL),
		/* the probe's ACK covers everything: the window opens, no PSH */
		IN(4, F_ACK, 1, 11001, 65535, 0, NULL),
		OUT(4, F_ACK, 11001, 1, ANY, 1000, NULL),
		END,
	};

	return run(s, NULL);
}

/* SACK recovery: three segments SACKed above a hole -> fast retransmit. */
static int sack_fast_retransmit(void)
{
	static const struct es_step s[] = {
		ESTABLISH("mss=1000,sackok"),
		CALL(0, send_5000),
		OUT(0, F_ACK, 1, 1, ANY, 1000, NULL),
		OUT(0, F_ACK, 1001, 1, ANY, 1000, NULL),
		OUT(0, F_ACK, 2001, 1, ANY, 1000, NULL),
		OUT(0, F_ACK, 3001, 1, ANY, 1000, NULL),
		OUT(0, F_PSH | F_ACK, 4001, 1, ANY, 1000, NULL),
		IN(1, F_ACK, 1, 1, 65535, 0, "sack=1001-2001"),
		IN(1, F_ACK, 1, 1, 65535, 0, "sack=1001-3001"),
		NONE(1),
		IN(1, F_ACK, 1, 1, 65535, 0, "sack=1001-4001"),
		OUT(1, F_ACK, 1, 1, ANY, 1000, NULL),
		IN(2, F_ACK, 1, 4001, 65535, 0, "sack=4001-5001"),
		IN(2, F_ACK, 1, 5001, 65535, 0, NULL),
		NONE(1000),
		END,
	};

	return run(s, NULL);
}

/* No SACK: NewReno's three duplicate ACKs. */
static int dupack_fast_retransmit(void)
{
	static const struct es_step s[] = {
		ESTABLISH("mss=1000"),
		CALL(0, send_5000),
		OUT(0, F_ACK, 1, 1, ANY, 1000, NULL),
		OUT(0, F_ACK, 1001, 1, ANY, 1000, NULL),
		OUT(0, F_ACK, 2001, 1, ANY, 1000, NULL),
		OUT(0, F_ACK, 3001, 1, ANY, 1000, NULL),
		OUT(0, F_PSH | F_ACK, 4001, 1, ANY, 1000, NULL),
		IN(1, F_ACK, 1, 1, 65535, 0, NULL),
		IN(1, F_ACK, 1, 1, 65535, 0, NULL),
		NONE(1),
		IN(1, F_ACK, 1, 1, 65535, 0, NULL),
		OUT(1, F_ACK, 1, 1, ANY, 1000, NULL),
		/* partial ACK: the next hole goes at once (RFC 6582) */
		IN(2, F_ACK, 1, 2001, 65535, 0, NULL),
		OUT(2, F_ACK, 2001, 1, ANY, 1000, NULL),
		IN(3, F_ACK, 1, 5001, 65535, 0, NULL),
		NONE(1000),
		END,
	};

	return run(s, NULL);
}

/* Receiver: SACK blocks for out-of-order data, DSACK for duplicates. */
static int sack_dsack_generation(void)
{
	static const struct es_step s[] = {
		ESTABLISH("mss=1000,sackok"),
		IN(1, F_ACK, 1001, 1, 65535, 1000, NULL),
		OUT(1, F_ACK, 1, 1, ANY, 0, "sack=1001-2001"),
		IN(2, F_ACK, 3001, 1, 65535, 1000, NULL),
		OUT(2, F_ACK, 1, 1, ANY, 0, "sack=3001-4001,sack=1001-2001"),
		IN(3, F_ACK, 1, 1, 65535, 1000, NULL),
		OUT(3, F_ACK, 1, 2001, ANY, 0, "sack=3001-4001"),
		/* a duplicate of delivered data */
		IN(4, F_ACK, 1, 1, 65535, 1000, NULL),
		OUT(4, F_ACK, 1, 2001, ANY, 0, "sack=1-1001,sack=3001-4001"),
		IN(5, F_ACK, 2001, 1, 65535, 1000, NULL),
		OUT(5, F_ACK, 1, 4001, ANY, 0, "nosack"),
		END,
	};

	return run(s, NULL);
}

/* Zero window: probes with backoff (seq = SND.UNA - 1), data on reopening. */
static int zero_window_probe(void)
{
	static const struct es_step s[] = {
		ESTABLISH("mss=1000"),
		CALL(0, send_2000),
		OUT(0, F_ACK, 1, 1, ANY, 1000, NULL),
		OUT(0, F_PSH | F_ACK, 1001, 1, ANY, 1000, NULL),
		IN(1, F_ACK, 1, 2001, 0, 0, NULL),
		CALL(1, send_2000),
		NONE(200),
		OUT(202, F_ACK, 2000, 1, ANY, 0, NULL),
		IN(203, F_ACK, 1, 2001, 0, 0, NULL),
		NONE(600),
		OUT(603, F_ACK, 2000, 1, ANY, 0, NULL),
		/* the window opens: data flows at once */
		IN(700, F_ACK, 1, 2001, 65535, 0, NULL),
		OUT(700, F_ACK, 2001, 1, ANY, 1000, NULL),
		OUT(700, F_PSH | F_ACK, 3001, 1, ANY, 1000, NULL),
		CALL(700, no_error),
		END,
	};

	return run(s, NULL);
}

/* Keepalive per socket: idle 10 s, interval 2 s, 3 probes, then RST. */
static int keepalive_per_socket(void)
{
	static const struct es_step s[] = {
		ESTABLISH("mss=1000"),
		CALL(0, keepidle_10),
		CALL(0, keepintvl_2),
		CALL(0, keepcnt_3),
		CALL(0, keepalive_on),
		NONE(9999),
		OUT(10000, F_ACK, 0, 1, ANY, 0, NULL),
		/* answered: the connection is alive, idle time restarts */
		IN(10001, F_ACK, 1, 1, 65535, 0, NULL),
		NONE(20000),
		OUT(20001, F_ACK, 0, 1, ANY, 0, NULL),
		NONE(22000),
		OUT(22001, F_ACK, 0, 1, ANY, 0, NULL),
		OUT(24001, F_ACK, 0, 1, ANY, 0, NULL),
		NONE(26000),
		OUT(26001, F_RST | F_ACK, 1, 1, ANY, 0, NULL),
		CALL(26001, err_timedout),
		END,
	};

	return run(s, NULL);
}

/* Keepalive defaults from the stack (the host's sysctl values). */
static int keepalive_defaults(void)
{
	static const struct es_step s[] = {
		ESTABLISH("mss=1000"),
		CALL(0, keepalive_on),
		NONE(29999),
		OUT(30000, F_ACK, 0, 1, ANY, 0, NULL),
		NONE(34999),
		OUT(35000, F_ACK, 0, 1, ANY, 0, NULL),
		NONE(39999),
		OUT(40000, F_RST | F_ACK, 1, 1, ANY, 0, NULL),
		CALL(40000, err_timedout),
		END,
	};

	memset(&C, 0, sizeof(C));
	C.max_sockets = 8;
	C.sndbuf_max = C.rcvbuf_max = 65536;
	C.keepalive_time_s = 30;
	C.keepalive_intvl_s = 5;
	C.keepalive_probes = 2;
	return run(s, &C);
}

/* TCP_USER_TIMEOUT: RTOs at 200 and 600 ms, abort at 1000 ms exactly. */
static int user_timeout(void)
{
	static const struct es_step s[] = {
		ESTABLISH("mss=1000"),
		CALL(0, user_timeout_1s),
		CALL(0, send_100),
		OUT(0, F_PSH | F_ACK, 1, 1, ANY, 100, NULL),
		OUT(201, F_PSH | F_ACK, 1, 1, ANY, 100, NULL),
		OUT(601, F_PSH | F_ACK, 1, 1, ANY, 100, NULL),
		NONE(999),
		CALL(999, no_error),
		CALL(1000, err_timedout),
		NONE(5000),
		END,
	};

	return run(s, NULL);
}

static int linger_zero(void)
{
	static const struct es_step s[] = {
		ESTABLISH("mss=1000"),
		CALL(1, linger_0_close),
		OUT(1, F_RST | F_ACK, 1, 1, 0, 0, NULL),
		NONE(100000),
		END,
	};

	return run(s, NULL);
}

static int close_unread_rst(void)
{
	static const struct es_step s[] = {
		ESTABLISH("mss=1000"),
		IN(1, F_PSH | F_ACK, 1, 1, 65535, 10, NULL),
		OUT(1, F_ACK, 1, 11, ANY, 0, NULL),
		CALL(2, do_close),
		OUT(2, F_RST | F_ACK, 1, 11, 0, 0, NULL),
		END,
	};

	return run(s, NULL);
}

/* Nagle holds a second small segment until the first is ACKed. */
static int nagle(void)
{
	static const struct es_step s[] = {
		ESTABLISH("mss=1000"),
		CALL(1, send_10),
		OUT(1, F_PSH | F_ACK, 1, 1, ANY, 10, NULL),
		CALL(2, send_10),
		CALL(2, send_10),
		NONE(50),
		IN(60, F_ACK, 1, 11, 65535, 0, NULL),
		OUT(60, F_PSH | F_ACK, 11, 1, ANY, 20, NULL),
		/* TCP_NODELAY: no holding */
		CALL(70, nodelay_on),
		CALL(70, send_10),
		OUT(70, F_PSH | F_ACK, 31, 1, ANY, 10, NULL),
		END,
	};

	return run(s, NULL);
}

static int cork_and_more(void)
{
	static const struct es_step s[] = {
		ESTABLISH("mss=1000"),
		CALL(1, cork_on),
		CALL(1, send_10),
		NONE(100),
		CALL(100, send_2000), /* full segments go even when corked */
		OUT(100, F_ACK, 1, 1, ANY, 1000, NULL),
		OUT(100, F_PSH | F_ACK, 1001, 1, ANY, 1000, NULL), /* a GSO packet's end */
		NONE(150),
		CALL(150, cork_off),
		OUT(150, F_PSH | F_ACK, 2001, 1, ANY, 10, NULL),
		IN(160, F_ACK, 1, 2011, 65535, 0, NULL),
		/* MSG_MORE holds like a cork for that call */
		CALL(170, send_10_more),
		NONE(300),
		CALL(300, send_10),
		OUT(300, F_PSH | F_ACK, 2011, 1, ANY, 20, NULL),
		END,
	};

	return run(s, NULL);
}

/*
 * Corked or MSG_MORE data with nothing in flight is sent by the probe
 * timer after max(RTO, 200 ms) (here about 200 ms), as Linux's
 * tcp_check_probe_timer(): a cork holds a partial segment, not forever.
 */
static int cork_ceiling(void)
{
	static const struct es_step s[] = {
		ESTABLISH("mss=1000"),
		CALL(1, cork_on),
		CALL(1, send_10),
		NONE(199),
		OUT(210, F_PSH | F_ACK, 1, 1, ANY, 10, NULL),
		IN(210, F_ACK, 1, 11, 65535, 0, NULL),
		CALL(300, send_10_more),
		NONE(499),
		OUT(510, F_PSH | F_ACK, 11, 1, ANY, 10, NULL),
		IN(510, F_ACK, 1, 21, 65535, 0, NULL),
		NONE(2000),
		END,
	};

	return run(s, NULL);
}

/* Delayed ACK: 40 ms for one segment, at once for two full ones. */
static int delayed_ack(void)
{
	static const struct es_step s[] = {
		ESTABLISH("mss=1000"),
		CALL(0, quickack_off),
		IN(1, F_ACK, 1, 1, 65535, 500, NULL),
		NONE(40),
		OUT(41, F_ACK, 1, 501, ANY, 0, NULL),
		IN(100, F_ACK, 501, 1, 65535, 1000, NULL),
		NONE(100),
		IN(101, F_ACK, 1501, 1, 65535, 1000, NULL),
		OUT(101, F_ACK, 1, 2501, ANY, 0, NULL),
		/* a reply rides on the pending ACK */
		IN(200, F_ACK, 2501, 1, 65535, 100, NULL),
		CALL(210, send_10),
		OUT(210, F_PSH | F_ACK, 1, 2601, ANY, 10, NULL),
		NONE(300),
		END,
	};

	return run(s, NULL);
}

/* Window scaling: a scaled 6400-byte window limits the flight. */
static int window_scaling(void)
{
	static const struct es_step s[] = {
		/* as on Linux, a later same-sequence ACK may open the window
		 * the handshake set, not shrink it */
		ESTABLISH_WIN("mss=1000,ws=7", 50),
		CALL(1, send_20000),
		SIX_SEGMENTS(1),
		NONE(2),
		/* more than the window is queued; segments flow as it opens */
		IN(3, F_ACK, 1, 2001, 50, 0, NULL),
		OUT(3, F_ACK, 6001, 1, ANY, 1000, NULL),
		OUT(3, F_PSH | F_ACK, 7001, 1, ANY, 1000, NULL), /* the window ends a GSO packet */
		NONE(4),
		END,
	};

	return run(s, NULL);
}

/*
 * As Linux's tcp_may_update_window() and tcp_acceptable_seq(): a resent
 * segment (older SEG.SEQ) that acks new data brings its window with it, so
 * the right edge does not run ahead on a stale window; and when the peer
 * takes its window back, a bare ACK starts at the window's end, where the
 * peer will hear it, not at snd_nxt, where it would be dropped unread.
 */
static int window_update_rules(void)
{
	static const struct es_step s[] = {
		ESTABLISH_WIN("mss=1000", 6000),
		CALL(1, send_20000),
		SIX_SEGMENTS(1),
		NONE(2),
		IN(2, F_ACK, 1, 1, 6000, 100, NULL),
		OUT(2, F_ACK, 6001, 101, ANY, 0, NULL),
		IN(3, F_ACK, 101, 1, 6000, 100, NULL),
		OUT(3, F_ACK, 6001, 201, ANY, 0, NULL),
		/* resent from the start with 100 new bytes, acking 3000 with the
		 * same right edge: nothing more may go out */
		IN(4, F_ACK, 1, 3001, 3000, 300, NULL),
		OUT(4, F_ACK, 6001, 301, ANY, 0, NULL),
		NONE(5),
		/* a newer segment shrinks the window to [3001, 4001) */
		IN(6, F_ACK, 301, 3001, 1000, 0, NULL),
		NONE(7),
		IN(8, F_ACK, 301, 3001, 1000, 100, NULL),
		OUT(8, F_ACK, 4001, 401, ANY, 0, NULL),
		END,
	};

	return run(s, NULL);
}

/* tcp_info's chronographs, as Linux's: busy 130 ms, 100 of them on the window. */
static int chrono_times(struct es *es)
{
	struct vtcp_info ti;

	vtcp_get_info(es->st, es->sock, &ti);
	if (ti.tcpi_busy_time != 130000 || ti.tcpi_rwnd_limited != 100000 ||
	    ti.tcpi_sndbuf_limited) {
		ktap_diag("busy %llu rwnd %llu sndbuf %llu us", (unsigned long long)ti.tcpi_busy_time,
			  (unsigned long long)ti.tcpi_rwnd_limited,
			  (unsigned long long)ti.tcpi_sndbuf_limited);
		return 1;
	}
	return 0;
}

static int chrono_rwnd_limited(void)
{
	static const struct es_step s[] = {
		ESTABLISH_WIN("mss=1000", 0),
		CALL(0, send_100),
		NONE(100),
		IN(100, F_ACK, 1, 1, 1000, 0, NULL),
		OUT(100, F_PSH | F_ACK, 1, 1, ANY, 100, NULL),
		IN(130, F_ACK, 1, 101, 1000, 0, NULL),
		NONE(200),
		CALL(200, chrono_times),
		END,
	};

	return run(s, NULL);
}

static int ecn_on(struct es *es)
{
	return vtcp_setopt(es->st, es->sock, VTCP_ECN, 1);
}

static int ecn_listen(struct es *es)
{
	return do_listen(es) || vtcp_setopt(es->st, es->lsock, VTCP_ECN, 1);
}

static int ecn_negotiated(struct es *es)
{
	struct vtcp_info ti;

	vtcp_get_info(es->st, es->sock, &ti);
	return !(ti.tcpi_options & VTCP_OPT_ECN);
}

/* RFC 3168: ECE|CWR SYN, ECE SYN-ACK, ECT(0) data, CE echoed as ECE until CWR. */
static int ecn(void)
{
	static const struct es_step s[] = {
		CALL(0, ecn_listen),
		IN(0, F_SYN | F_ECE | F_CWR, 0, 0, 65535, 0, "mss=1000"),
		OUT(0, F_SYN | F_ACK | F_ECE, 0, 1, ANY, 0, NULL),
		IN(0, F_ACK, 1, 1, 65535, 0, NULL),
		CALL(0, do_accept),
		CALL(0, ecn_negotiated),
		CALL(0, ecn_on),
		CALL(1, send_100),
		{ .t_ms = 1, .kind = ES_OUT, .flags = F_PSH | F_ACK, .seq = 1, .ack = 1, .win = ANY,
		  .len = 100, .tos = 2 },
		{ .t_ms = 2, .kind = ES_IN, .flags = F_ACK | F_PSH, .seq = 1, .ack = 101, .win = 65535,
		  .len = 10, .tos = 3 },
		OUT(2, F_ACK | F_ECE, 101, 11, ANY, 0, NULL),
		IN(3, F_ACK | F_PSH, 11, 101, 65535, 10, NULL),
		OUT(3, F_ACK | F_ECE, 101, 21, ANY, 0, NULL),
		IN(4, F_ACK | F_PSH | F_CWR, 21, 101, 65535, 10, NULL),
		OUT(4, F_ACK, 101, 31, ANY, 0, NULL),
		END,
	};

	return run(s, NULL);
}

static int route_mtu_1400(void *ctx, const struct sockaddr *dst, struct vtcp_route *rt)
{
	(void)ctx;
	(void)dst;
	memset(rt, 0, sizeof(*rt));
	rt->mtu = 1400;
	return 0;
}

/* The route's MTU clamps the MSS we announce and the one we use. */
static int mss_clamp(void)
{
	static const struct es_step s[] = {
		CALL(0, do_listen),
		IN(0, F_SYN, 0, 0, 65535, 0, "mss=1460"),
		OUT(0, F_SYN | F_ACK, 0, 1, ANY, 0, "mss=1360"),
		IN(0, F_ACK, 1, 1, 65535, 0, NULL),
		CALL(0, do_accept),
		CALL(0, send_2000),
		OUT(0, F_ACK, 1, 1, ANY, 1360, NULL),
		END,
	};

	memset(&C, 0, sizeof(C));
	C.max_sockets = 8;
	C.sndbuf_max = C.rcvbuf_max = 65536;
	C.route = route_mtu_1400;
	return run(s, &C);
}

/*
 * tcp_orphan_retries: a closed socket's FIN gets 8 backed-off
 * retransmissions (200 ms .. 51.2 s, giving up at 102.2 s), not retries2's 15.
 */
static int orphan_retries(void)
{
	static const struct es_step s[] = {
		ESTABLISH("mss=1000"),
		CALL(0, do_close),
		OUT(0, F_FIN | F_ACK, 1, 1, ANY, 0, NULL),
		OUT(201, F_FIN | F_ACK, 1, 1, ANY, 0, NULL),
		OUT(601, F_FIN | F_ACK, 1, 1, ANY, 0, NULL),
		OUT(1401, F_FIN | F_ACK, 1, 1, ANY, 0, NULL),
		OUT(3001, F_FIN | F_ACK, 1, 1, ANY, 0, NULL),
		OUT(6201, F_FIN | F_ACK, 1, 1, ANY, 0, NULL),
		OUT(12601, F_FIN | F_ACK, 1, 1, ANY, 0, NULL),
		OUT(25401, F_FIN | F_ACK, 1, 1, ANY, 0, NULL),
		OUT(51001, F_FIN | F_ACK, 1, 1, ANY, 0, NULL),
		NONE(400000),
		/* gone: the peer's next segment meets no connection */
		IN(400000, F_ACK, 1, 2, 65535, 0, NULL),
		OUT(400000, F_RST, 2, 0, 0, 0, NULL),
		END,
	};

	return run(s, NULL);
}

static int reordering_is(struct es *es, uint32_t want, bool resent)
{
	struct vtcp_info ti;
	bool bad;

	vtcp_get_info(es->st, es->sock, &ti);
	bad = ti.tcpi_reordering != want || !ti.tcpi_total_retrans != !resent;
	if (bad)
		ktap_diag("reordering %u, retransmissions %u", ti.tcpi_reordering,
			  ti.tcpi_total_retrans);
	return bad;
}

static int reordering_is_5(struct es *es)
{
	return reordering_is(es, 5, false);
}

static int reordering_is_3_resent(struct es *es)
{
	return reordering_is(es, 3, true);
}

/*
 * tcpi_reordering: segments 1-3 (never resent) acknowledged after 4-5 were
 * SACKed arrived 5 segments out of order (Linux: from 3 up to the distance
 * between the lowest such segment and the highest SACKed byte).
 */
static int reordering_tracked(void)
{
	static const struct es_step s[] = {
		CALL(0, do_listen),
		IN(0, F_SYN, 0, 0, 65535, 0, "mss=1000,sackok"),
		OUT(0, F_SYN | F_ACK, 0, 1, ANY, 0, NULL),
		IN(10, F_ACK, 1, 1, 65535, 0, NULL), /* RTT 10 ms: RACK waits 2.5 ms more */
		CALL(10, do_accept),
		CALL(20, send_5000),
		/* GSO packets of two: 1 ms at the pacing rate (tcp_tso_autosize()) */
		OUT(20, F_ACK, 1, 1, ANY, 1000, NULL),
		OUT(20, F_PSH | F_ACK, 1001, 1, ANY, 1000, NULL),
		OUT(20, F_ACK, 2001, 1, ANY, 1000, NULL),
		OUT(20, F_PSH | F_ACK, 3001, 1, ANY, 1000, NULL),
		OUT(20, F_PSH | F_ACK, 4001, 1, ANY, 1000, NULL),
		IN(21, F_ACK, 1, 1, 65535, 0, "sack=3001-5001"),
		NONE(22),
		IN(22, F_ACK, 1, 5001, 65535, 0, NULL),
		CALL(22, reordering_is_5),
		END,
	};

	return run(s, NULL);
}

/*
 * An ACK whose SACK blocks are both new (the one before it was lost), the
 * newest, higher one listed first: the blocks count lowest first, as Linux
 * sorts them, so nothing looks reordered; the holes are repaired.
 */
static int sack_blocks_lowest_first(void)
{
	static const struct es_step s[] = {
		ESTABLISH("mss=1000,sackok"),
		CALL(0, send_5000),
		SEGMENT(0, 0), SEGMENT(0, 1), SEGMENT(0, 2), SEGMENT(0, 3),
		OUT(0, F_PSH | F_ACK, 4001, 1, ANY, 1000, NULL),
		IN(1, F_ACK, 1, 1, 65535, 0, "sack=3001-5001,sack=1001-2001"),
		OUT(1, F_ACK, 1, 1, ANY, 1000, NULL),
		OUT(2, F_ACK, 2001, 1, ANY, 1000, NULL), /* RACK, a reordering window later */
		IN(3, F_ACK, 1, 5001, 65535, 0, NULL),
		CALL(3, reordering_is_3_resent),
		END,
	};

	return run(s, NULL);
}

static const struct ktap_case cases[] = {
	{ "orphan_retries", orphan_retries, 0 },
	{ "reordering_tracked", reordering_tracked, 0 },
	{ "sack_blocks_lowest_first", sack_blocks_lowest_first, 0 },
	{ "rto_backoff", rto_backoff, 0 },
	{ "tlp_probe_then_rack", tlp_probe, 0 },
	{ "tlp_new_data_probe_pushed", tlp_new_data_probe_pushed, 0 },
	{ "sack_fast_retransmit", sack_fast_retransmit, 0 },
	{ "dupack_fast_retransmit_newreno", dupack_fast_retransmit, 0 },
	{ "sack_dsack_generation", sack_dsack_generation, 0 },
	{ "zero_window_probe", zero_window_probe, 0 },
	{ "keepalive_per_socket", keepalive_per_socket, 0 },
	{ "keepalive_stack_defaults", keepalive_defaults, 0 },
	{ "user_timeout", user_timeout, 0 },
	{ "linger_zero_rst", linger_zero, 0 },
	{ "close_with_unread_data_rst", close_unread_rst, 0 },
	{ "nagle_nodelay", nagle, 0 },
	{ "cork_and_msg_more", cork_and_more, 0 },
	{ "cork_ceiling", cork_ceiling, 0 },
	{ "delayed_ack", delayed_ack, 0 },
	{ "window_scaling_flow", window_scaling, 0 },
	{ "chrono_rwnd_limited", chrono_rwnd_limited, 0 },
	{ "window_update_rules", window_update_rules, 0 },
	{ "ecn", ecn, 0 },
	{ "mss_clamp_route_mtu", mss_clamp, 0 },
};

KTAP_MAIN(cases)
