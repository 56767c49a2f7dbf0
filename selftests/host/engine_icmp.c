// SPDX-License-Identifier: GPL-2.0
/*
 * ICMP and ICMPv6 errors about the engine's segments, scripted: errnos for
 * a connection still opening (as Linux's tcp_v4_err/tcp_v6_err), soft
 * errors once established (SO_ERROR only when the connection times out),
 * path MTU reports shrinking the MSS and resending what no longer fits, and
 * errors quoting a sequence number not in flight ignored (RFC 5927).
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "engine_script.h"
#include "ktap.h"

static struct es E;

static int do_connect(struct es *es)
{
	struct sockaddr_storage ss;

	es->sock = vtcp_socket(es->st, es->v6 ? AF_INET6 : AF_INET);
	es_local_addr(es, &ss, es->lport);
	if (vtcp_bind(es->st, es->sock, (struct sockaddr *)&ss, sizeof(ss)))
		return -1;
	es_peer_addr(es, &ss, es->pport);
	return vtcp_connect(es->st, es->sock, (struct sockaddr *)&ss, sizeof(ss)) != -EINPROGRESS;
}

static int expect_state(struct es *es, int state)
{
	struct vtcp_info ti;

	if (vtcp_get_info(es->st, es->sock, &ti) || ti.tcpi_state != state) {
		ktap_diag("state %d, expected %d", ti.tcpi_state, state);
		return -1;
	}
	return 0;
}

static int expect_err(struct es *es, int err)
{
	int got = vtcp_sock_error(es->st, es->sock);

	if (got != err)
		ktap_diag("SO_ERROR %d, expected %d", got, err);
	return got != err;
}

#define CHECK(name, expr)                   \
	static int name(struct es *es)      \
	{                                   \
		return expr;                \
	}
CHECK(established, expect_state(es, VTCP_ESTABLISHED))
CHECK(failed_refused, expect_state(es, VTCP_CLOSE) || expect_err(es, ECONNREFUSED))
CHECK(failed_hostunreach, expect_state(es, VTCP_CLOSE) || expect_err(es, EHOSTUNREACH))
CHECK(failed_netunreach, expect_state(es, VTCP_CLOSE) || expect_err(es, ENETUNREACH))
CHECK(failed_eacces, expect_state(es, VTCP_CLOSE) || expect_err(es, EACCES))
CHECK(no_error, expect_err(es, 0))
CHECK(timed_out_hostunreach, expect_state(es, VTCP_CLOSE) || expect_err(es, EHOSTUNREACH))
CHECK(timed_out_plain, expect_state(es, VTCP_CLOSE) || expect_err(es, ETIMEDOUT))

static int send_n(struct es *es, size_t n)
{
	static char buf[8192];

	memset(buf, 'd', n);
	return vtcp_send(es->st, es->sock, buf, n, 0) != (ssize_t)n;
}
CHECK(send_3000, send_n(es, 3000))
CHECK(send_100, send_n(es, 100))

static int mss_is(struct es *es, uint32_t pmtu, uint32_t mss)
{
	struct vtcp_info ti;

	vtcp_get_info(es->st, es->sock, &ti);
	if (ti.tcpi_pmtu != pmtu || ti.tcpi_snd_mss != mss)
		ktap_diag("pmtu %u mss %u, expected %u %u", ti.tcpi_pmtu, ti.tcpi_snd_mss, pmtu, mss);
	return ti.tcpi_pmtu != pmtu || ti.tcpi_snd_mss != mss;
}
CHECK(mss_1228, mss_is(es, 1280, 1228))
CHECK(mss_500, mss_is(es, 552, 500))
CHECK(mss6_1208, mss_is(es, 1280, 1208))

static int run(const struct es_step *steps, bool v6, uint32_t retries2)
{
	struct vtcp_config c;
	int r;

	memset(&c, 0, sizeof(c));
	c.max_sockets = 8;
	c.sndbuf_max = c.rcvbuf_max = 65536;
	c.retries2 = retries2;
	if (es_init(&E, &c, v6))
		return KTAP_FAIL;
	r = es_run(&E, steps);
	es_fini(&E);
	return r;
}

#define SYN_OUT OUT(0, F_SYN, 0, ANY, ANY, 0, NULL)
#define HANDSHAKE                                                          \
	CALL(0, do_connect), SYN_OUT,                                      \
	IN(1, F_SYN | F_ACK, 0, 1, 65160, 0, "mss=1460,sackok,ts=500,ws=7"), \
	OUT(1, F_ACK, 1, 1, ANY, 0, NULL), CALL(1, established)

/* ICMP types and codes */
#define UNREACH 3
#define FRAG_NEEDED 4
#define UNREACH6 1
#define TOOBIG6 2

static int v4_port_unreachable_in_syn_sent(void)
{
	static const struct es_step s[] = {
		CALL(0, do_connect), SYN_OUT,
		ICMP(5, UNREACH, 3, 0, 0),
		CALL(5, failed_refused),
		NONE(5000), /* no SYN retransmission */
		END,
	};

	return run(s, false, 0);
}

static int v4_host_and_net_unreachable_in_syn_sent(void)
{
	static const struct es_step host[] = {
		CALL(0, do_connect), SYN_OUT,
		ICMP(5, UNREACH, 1, 0, 0),
		CALL(5, failed_hostunreach),
		END,
	}, net[] = {
		CALL(0, do_connect), SYN_OUT,
		ICMP(5, UNREACH, 0, 0, 0),
		CALL(5, failed_netunreach),
		END,
	};

	return run(host, false, 0) || run(net, false, 0) ? KTAP_FAIL : KTAP_PASS;
}

static int v6_unreachable_in_syn_sent(void)
{
	static const struct es_step port[] = {
		CALL(0, do_connect), SYN_OUT,
		ICMP(5, UNREACH6, 4, 0, 0),
		CALL(5, failed_refused),
		END,
	}, noroute[] = {
		CALL(0, do_connect), SYN_OUT,
		ICMP(5, UNREACH6, 0, 0, 0),
		CALL(5, failed_netunreach),
		END,
	}, prohibited[] = {
		CALL(0, do_connect), SYN_OUT,
		ICMP(5, UNREACH6, 1, 0, 0),
		CALL(5, failed_eacces),
		END,
	};

	return run(port, true, 0) || run(noroute, true, 0) || run(prohibited, true, 0) ?
		       KTAP_FAIL : KTAP_PASS;
}

/* Forged errors: a sequence number outside snd_una..snd_nxt changes nothing. */
static int out_of_window_ignored(void)
{
	static const struct es_step s[] = {
		CALL(0, do_connect), SYN_OUT,
		ICMP(1, UNREACH, 3, 0, 12345),
		ICMP(1, UNREACH, 3, 0, (uint32_t)-1),
		IN(2, F_SYN | F_ACK, 0, 1, 65160, 0, "mss=1460,sackok,ts=500,ws=7"),
		OUT(2, F_ACK, 1, 1, ANY, 0, NULL),
		CALL(2, established),
		CALL(10, send_100),
		OUT(10, F_PSH | F_ACK, 1, 1, ANY, 100, NULL),
		ICMP(11, UNREACH, 3, 0, 0),   /* acknowledged already */
		ICMP(11, UNREACH, 3, 0, 102), /* beyond snd_nxt */
		CALL(11, established),
		CALL(11, no_error),
		IN(12, F_ACK, 1, 101, 502, 0, "ts=501"),
		END,
	};

	return run(s, false, 0);
}

/*
 * Established: "host unreachable" is a soft error, the transfer goes on;
 * if it then times out, SO_ERROR says EHOSTUNREACH rather than ETIMEDOUT.
 * An acknowledgment in between forgets the soft error.
 */
static int soft_error_reported_on_timeout(void)
{
	static const struct es_step s[] = {
		HANDSHAKE,
		CALL(10, send_100),
		OUT(10, F_PSH | F_ACK, 1, 1, ANY, 100, NULL),
		ICMP(11, UNREACH, 1, 0, 1),
		CALL(11, established),
		CALL(11, no_error),
		/* retries2 = 2: the peer stays silent through the backoff */
		CALL(5000, timed_out_hostunreach),
		END,
	}, forgotten[] = {
		HANDSHAKE,
		CALL(10, send_100),
		OUT(10, F_PSH | F_ACK, 1, 1, ANY, 100, NULL),
		ICMP(11, UNREACH, 1, 0, 1),
		IN(12, F_ACK, 1, 101, 502, 0, "ts=501"),
		CALL(20, send_100),
		OUT(20, F_PSH | F_ACK, 101, 1, ANY, 100, NULL),
		CALL(5000, timed_out_plain),
		END,
	};

	return run(s, false, 2) || run(forgotten, false, 2) ? KTAP_FAIL : KTAP_PASS;
}

/* The host could not resolve the peer (its next hop), as the kernel reports. */
static int neigh_failed(struct es *es)
{
	struct sockaddr_storage ss;

	es_peer_addr(es, &ss, 0);
	return vtcp_neigh_failed(es->st, (struct sockaddr *)&ss);
}

/*
 * A next hop the host could not resolve: a connection opening fails with
 * EHOSTUNREACH (over IPv6 too); an established one with data waiting keeps
 * it as a soft error, an idle one hears nothing.
 */
static int neighbour_failure(void)
{
	static const struct es_step opening[] = {
		CALL(0, do_connect), SYN_OUT,
		CALL(500, neigh_failed),
		CALL(500, failed_hostunreach),
		NONE(5000), /* no SYN retransmission */
		END,
	}, waiting[] = {
		HANDSHAKE,
		CALL(10, neigh_failed),
		CALL(10, no_error),
		CALL(10, send_100),
		OUT(10, F_PSH | F_ACK, 1, 1, ANY, 100, NULL),
		CALL(11, neigh_failed),
		CALL(11, established),
		CALL(11, no_error),
		CALL(5000, timed_out_hostunreach),
		END,
	};

	return run(opening, false, 0) || run(opening, true, 0) || run(waiting, false, 2) ?
		       KTAP_FAIL : KTAP_PASS;
}

/* RFC 1191: MTU 1280 in flight: MSS 1228, the two full segments resent in pieces. */
static int v4_frag_needed_shrinks_mss(void)
{
	static const struct es_step s[] = {
		HANDSHAKE,
		CALL(10, send_3000),
		OUT(10, F_ACK, 1, 1, ANY, 1448, NULL),
		OUT(10, F_ACK, 1449, 1, ANY, 1448, NULL),
		OUT(10, F_PSH | F_ACK, 2897, 1, ANY, 104, NULL),
		ICMP(11, UNREACH, FRAG_NEEDED, 1280, 1),
		CALL(11, mss_1228),
		OUT(11, F_ACK, 1, 1, ANY, 1228, NULL),
		OUT(11, F_ACK, 1229, 1, ANY, 220, NULL),
		OUT(11, F_ACK, 1449, 1, ANY, 1228, NULL),
		OUT(11, F_ACK, 2677, 1, ANY, 220, NULL),
		NONE(11),
		ICMP(12, UNREACH, FRAG_NEEDED, 1400, 1), /* never raises the MTU */
		CALL(12, mss_1228),
		IN(13, F_ACK, 1, 3001, 502, 0, "ts=501"),
		CALL(13, established),
		CALL(20, send_3000),
		OUT(20, F_ACK, 3001, 1, ANY, 1228, NULL),
		OUT(20, F_ACK, 4229, 1, ANY, 1228, NULL),
		OUT(20, F_PSH | F_ACK, 5457, 1, ANY, 544, NULL),
		/* a report below 552 bytes, or of 0 (an old router), is held at 552 */
		ICMP(21, UNREACH, FRAG_NEEDED, 0, 3001),
		CALL(21, mss_500),
		END,
	};

	return run(s, false, 0);
}

/* RFC 8201: "packet too big" 1280 gives MSS 1208; below 1280 it is ignored. */
static int v6_packet_too_big(void)
{
	static const struct es_step s[] = {
		HANDSHAKE,
		CALL(10, send_3000),
		OUT(10, F_ACK, 1, 1, ANY, 1428, NULL),
		OUT(10, F_ACK, 1429, 1, ANY, 1428, NULL),
		OUT(10, F_PSH | F_ACK, 2857, 1, ANY, 144, NULL),
		ICMP(11, TOOBIG6, 0, 1000, 1),
		NONE(11),
		ICMP(11, TOOBIG6, 0, 1280, 1),
		CALL(11, mss6_1208),
		OUT(11, F_ACK, 1, 1, ANY, 1208, NULL),
		OUT(11, F_ACK, 1209, 1, ANY, 220, NULL),
		OUT(11, F_ACK, 1429, 1, ANY, 1208, NULL),
		OUT(11, F_ACK, 2637, 1, ANY, 220, NULL),
		END,
	};

	return run(s, true, 0);
}

static const struct ktap_case cases[] = {
	{ "v4_port_unreachable_syn_sent_econnrefused", v4_port_unreachable_in_syn_sent, 0 },
	{ "v4_host_net_unreachable_syn_sent", v4_host_and_net_unreachable_in_syn_sent, 0 },
	{ "v6_unreachable_syn_sent", v6_unreachable_in_syn_sent, 0 },
	{ "out_of_window_icmp_ignored", out_of_window_ignored, 0 },
	{ "soft_error_reported_on_timeout", soft_error_reported_on_timeout, 0 },
	{ "neighbour_failure_host_unreachable", neighbour_failure, 0 },
	{ "v4_frag_needed_pmtu", v4_frag_needed_shrinks_mss, 0 },
	{ "v6_packet_too_big_pmtu", v6_packet_too_big, 0 },
};

KTAP_MAIN(cases)
