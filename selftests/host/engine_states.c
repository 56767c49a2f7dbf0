// SPDX-License-Identifier: GPL-2.0
/*
 * Scripted segment-level tests of the TCP engine's state machine:
 * handshakes with and without options, simultaneous open/close,
 * half-close, TIME_WAIT, RST both ways, challenge ACKs, PAWS, closed ports,
 * urgent data refused for a move (VTCP_REFUSE_URGENT).
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "engine_script.h"
#include "ktap.h"

static struct es E;

static int do_listen(struct es *es)
{
	struct sockaddr_storage ss;

	es->lsock = vtcp_socket(es->st, es->v6 ? AF_INET6 : AF_INET);
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

static int no_accept(struct es *es)
{
	return vtcp_accept(es->st, es->lsock, NULL, NULL) != -EAGAIN;
}

/* An active open; @val: option @opt set before (0: none). */
static int open_active(struct es *es, enum vtcp_opt opt, int val)
{
	struct sockaddr_storage ss;
	int err;

	es->sock = vtcp_socket(es->st, es->v6 ? AF_INET6 : AF_INET);
	es_local_addr(es, &ss, es->lport);
	if ((val && vtcp_setopt(es->st, es->sock, opt, val)) ||
	    vtcp_bind(es->st, es->sock, (struct sockaddr *)&ss, sizeof(ss)))
		return -1;
	es_peer_addr(es, &ss, es->pport);
	err = vtcp_connect(es->st, es->sock, (struct sockaddr *)&ss, sizeof(ss));
	return err != -EINPROGRESS;
}

static int do_connect(struct es *es)
{
	return open_active(es, VTCP_NODELAY, 0);
}

static int state_is(struct es *es, int state)
{
	struct vtcp_info ti;

	if (vtcp_get_info(es->st, es->sock, &ti))
		return -1;
	if (ti.tcpi_state != state)
		ktap_diag("state %d, expected %d", ti.tcpi_state, state);
	return ti.tcpi_state != state;
}

#define STATE_FN(name, st)                          \
	static int name(struct es *es)              \
	{                                           \
		return state_is(es, st);            \
	}
STATE_FN(is_established, VTCP_ESTABLISHED)
STATE_FN(is_synrecv, VTCP_SYN_RECV)
STATE_FN(is_close_wait, VTCP_CLOSE_WAIT)
STATE_FN(is_last_ack, VTCP_LAST_ACK)
STATE_FN(is_fin_wait1, VTCP_FIN_WAIT1)
STATE_FN(is_fin_wait2, VTCP_FIN_WAIT2)
STATE_FN(is_time_wait, VTCP_TIME_WAIT)
STATE_FN(is_closing, VTCP_CLOSING)
STATE_FN(is_closed, VTCP_CLOSE)

static int recv_100(struct es *es)
{
	char buf[200];
	ssize_t n = vtcp_recv(es->st, es->sock, buf, sizeof(buf), 0);

	if (n != 100)
		ktap_diag("recv %zd", n);
	return n != 100;
}

static int send_50(struct es *es)
{
	char buf[50];

	memset(buf, 'x', sizeof(buf));
	return vtcp_send(es->st, es->sock, buf, sizeof(buf), 0) != 50;
}

static int do_shut_wr(struct es *es)
{
	return vtcp_shutdown(es->st, es->sock, SHUT_WR);
}

static int do_close(struct es *es)
{
	return vtcp_close(es->st, es->sock);
}

static int recv_eof(struct es *es)
{
	char b[8];

	return vtcp_recv(es->st, es->sock, b, sizeof(b), 0) != 0 ||
	       !(vtcp_events(es->st, es->sock) & VTCP_EV_RDHUP);
}

static int err_refused(struct es *es)
{
	return vtcp_sock_error(es->st, es->sock) != ECONNREFUSED;
}

static int err_reset(struct es *es)
{
	char b[8];

	return vtcp_recv(es->st, es->sock, b, sizeof(b), 0) != -ECONNRESET ||
	       vtcp_send(es->st, es->sock, b, 1, 0) != -EPIPE;
}

static int opts_all(struct es *es)
{
	struct vtcp_info ti;

	vtcp_get_info(es->st, es->sock, &ti);
	return ti.tcpi_options != (VTCP_OPT_TIMESTAMPS | VTCP_OPT_SACK | VTCP_OPT_WSCALE) ||
	       ti.tcpi_snd_wscale != 7 || ti.tcpi_rcv_wscale != 1 || ti.tcpi_snd_mss != 1448;
}

static int opts_none(struct es *es)
{
	struct vtcp_info ti;

	vtcp_get_info(es->st, es->sock, &ti);
	return ti.tcpi_options != 0 || ti.tcpi_snd_mss != 536;
}

static int run(const struct es_step *steps, bool v6)
{
	int r;

	if (es_init(&E, NULL, v6))
		return KTAP_FAIL;
	r = es_run(&E, steps);
	es_fini(&E);
	return r;
}

/* Linux-like SYN with every option; data both ways; peer closes first. */
static int passive_all_options(void)
{
	static const struct es_step s[] = {
		CALL(0, do_listen),
		IN(0, F_SYN, 0, 0, 64240, 0, "mss=1460,sackok,ts=100:0,ws=7"),
		OUT(0, F_SYN | F_ACK, 0, 1, 65160, 0, "mss=1460,sackok,ts,ws=1"),
		CALL(0, no_accept),
		IN(10, F_ACK, 1, 1, 502, 0, "ts=101"),
		CALL(10, do_accept),
		CALL(10, is_established),
		CALL(10, opts_all),
		IN(20, F_PSH | F_ACK, 1, 1, 502, 100, "ts=102"),
		OUT(20, F_ACK, 1, 101, ANY, 0, "ts"), /* quick ACK at start */
		CALL(20, recv_100),
		CALL(20, send_50),
		OUT(20, F_PSH | F_ACK, 1, 101, ANY, 50, "ts"),
		IN(30, F_ACK, 101, 51, 502, 0, "ts=103"),
		IN(40, F_FIN | F_ACK, 101, 51, 502, 0, "ts=104"),
		OUT(40, F_ACK, 51, 102, ANY, 0, NULL),
		CALL(40, is_close_wait),
		CALL(40, recv_eof),
		CALL(50, do_shut_wr),
		OUT(50, F_FIN | F_ACK, 51, 102, ANY, 0, NULL),
		CALL(50, is_last_ack),
		IN(60, F_ACK, 102, 52, 502, 0, "ts=105"),
		CALL(60, is_closed),
		NONE(70),
		END,
	};

	return run(s, false);
}

/*
 * A Linux-like peer connects with every option and sends 100 bytes; the
 * engine accepts and acknowledges them at once (quick ACK), by 20 ms.
 */
#define ACCEPTED_100_IN                                                        \
	CALL(0, do_listen),                                                    \
	IN(0, F_SYN, 0, 0, 64240, 0, "mss=1460,sackok,ts=100:0,ws=7"),          \
	OUT(0, F_SYN | F_ACK, 0, 1, 65160, 0, "mss=1460,sackok,ts,ws=1"),       \
	IN(10, F_ACK, 1, 1, 502, 0, "ts=101"), CALL(10, do_accept),             \
	IN(20, F_PSH | F_ACK, 1, 1, 502, 100, "ts=102"), OUT(20, F_ACK, 1, 101, ANY, 0, "ts")

/*
 * tcp_info's counters after the exchange below, as Linux 6.x reports them
 * on the accepting side (tcp_create_openreq_child()): the SYN counts in,
 * the SYN-ACK is the request's (not out, not acked bytes, but delivered),
 * and the handshake is the last "data" time until data moves.
 */
static int counters_as_linux(struct es *es)
{
	struct vtcp_info ti;

	vtcp_get_info(es->st, es->sock, &ti);
	if (ti.tcpi_segs_in != 4 || ti.tcpi_segs_out != 2 || ti.tcpi_data_segs_in != 1 ||
	    ti.tcpi_data_segs_out != 1 || ti.tcpi_bytes_received != 100 ||
	    ti.tcpi_bytes_acked != 50 || ti.tcpi_bytes_sent != 50 || ti.tcpi_delivered != 2 ||
	    ti.tcpi_bytes_retrans || ti.tcpi_rcv_ooopack || ti.tcpi_notsent_bytes ||
	    ti.tcpi_snd_wnd != 502u << 7 || !ti.tcpi_rcv_wnd || ti.tcpi_min_rtt == ~0u ||
	    !ti.tcpi_pacing_rate || ti.tcpi_max_pacing_rate != ~0ull ||
	    ti.tcpi_last_data_recv != 10 || ti.tcpi_last_data_sent != 10) {
		ktap_diag("segs in %u out %u, data in %u out %u, bytes rcvd %llu acked %llu "
			  "sent %llu, delivered %u, snd_wnd %u, last data recv %u sent %u ms",
			  ti.tcpi_segs_in, ti.tcpi_segs_out, ti.tcpi_data_segs_in,
			  ti.tcpi_data_segs_out, (unsigned long long)ti.tcpi_bytes_received,
			  (unsigned long long)ti.tcpi_bytes_acked,
			  (unsigned long long)ti.tcpi_bytes_sent, ti.tcpi_delivered, ti.tcpi_snd_wnd,
			  ti.tcpi_last_data_recv, ti.tcpi_last_data_sent);
		return 1;
	}
	return 0;
}

static int info_counters(void)
{
	static const struct es_step s[] = {
		ACCEPTED_100_IN,
		CALL(20, recv_100),
		CALL(20, send_50),
		OUT(20, F_PSH | F_ACK, 1, 101, ANY, 50, "ts"),
		IN(30, F_ACK, 101, 51, 502, 0, "ts=103"),
		CALL(30, counters_as_linux),
		END,
	};

	return run(s, false);
}

/* A sysctl changed after the stack was made applies to the next connect(). */
static int no_sack_from_now(struct es *es)
{
	struct vtcp_config c = es->cfg;

	c.no_sack = 1;
	c.no_timestamps = 1;
	vtcp_set_sysctls(es->st, &c);
	return 0;
}

static int sysctls_at_connect(void)
{
	static const struct es_step s[] = {
		CALL(0, no_sack_from_now),
		CALL(0, do_connect),
		OUT(0, F_SYN, 0, ANY, 64240, 0, "mss=1460,ws=1"),
		END,
	};

	return run(s, false);
}

/*
 * What vtcp_export() gives the kernel: in CLOSE_WAIT with 100 bytes unread
 * and 50 sent and unacknowledged, 30 not yet sent (the window is closed).
 */
static int export_close_wait(struct es *es)
{
	struct vtcp_export x;
	uint32_t rcv_len, snd_len;

	if (vtcp_export(es->st, es->sock, &x))
		return -1;
	rcv_len = x.rcv_len[0] + x.rcv_len[1];
	snd_len = x.snd_len[0] + x.snd_len[1];
	ktap_diag("state %u fin_rcvd %d rcv %u snd %u sent %u mss %u ws %u/%u ts %d sack %d",
		  x.state, x.fin_rcvd, rcv_len, snd_len, x.snd_sent, x.mss, x.snd_wscale,
		  x.rcv_wscale, x.ts_ok, x.sack_ok);
	return x.state != VTCP_CLOSE_WAIT || !x.fin_rcvd || x.fin_sent || x.shut_wr ||
	       x.rcv_seq != es->peer_isn + 1 || rcv_len != 100 || x.snd_seq != es->iss + 1 ||
	       x.snd_una != es->iss + 1 || snd_len != 80 || x.snd_sent != 50 || x.mss != 1460 ||
	       !x.ts_ok || !x.sack_ok || !x.ws_ok || x.snd_wscale != 7 || x.rcv_wscale != 1 ||
	       x.ts_recent != 104;
}

static int send_30(struct es *es)
{
	char buf[30];

	memset(buf, 'y', sizeof(buf));
	return vtcp_send(es->st, es->sock, buf, sizeof(buf), 0) != 30;
}

/* ... and its port is free at once for a new socket (the kernel's socket has it). */
static int release_moved(struct es *es)
{
	struct sockaddr_storage ss;
	int s2;

	if (vtcp_release_moved(es->st, es->sock) ||
	    vtcp_get_info(es->st, es->sock, &(struct vtcp_info){ 0 }) != -EBADF)
		return -1;
	vtcp_close(es->st, es->lsock);
	s2 = vtcp_socket(es->st, es->v6 ? AF_INET6 : AF_INET);
	es_local_addr(es, &ss, es->lport);
	return vtcp_bind(es->st, s2, (struct sockaddr *)&ss, sizeof(ss)) ||
	       vtcp_close(es->st, s2);
}

/*
 * A connection handed to another stack: exported with its queues, then
 * released without a segment; the peer's later segments on its 4-tuple
 * get neither an ACK nor a RST, and its timers are gone.
 */
static int export_and_release(void)
{
	static const struct es_step s[] = {
		ACCEPTED_100_IN,
		CALL(20, send_50),
		OUT(20, F_PSH | F_ACK, 1, 101, ANY, 50, "ts"),
		IN(30, F_ACK, 101, 1, 0, 0, "ts=103"), /* acknowledges nothing, closes the window */
		CALL(30, send_30),
		IN(40, F_FIN | F_ACK, 101, 1, 0, 0, "ts=104"),
		OUT(40, F_ACK, 51, 102, ANY, 0, NULL),
		CALL(40, is_close_wait),
		CALL(40, export_close_wait),
		CALL(40, release_moved),
		IN(50, F_ACK, 102, 51, 502, 0, "ts=105"),
		IN(60, F_PSH | F_ACK, 102, 51, 502, 10, "ts=106"),
		NONE(10000),
		END,
	};

	return run(s, false);
}

static int err_refused_then_retry(struct es *es)
{
	struct sockaddr_storage ss;

	es_peer_addr(es, &ss, es->pport);
	/* SO_ERROR took the error: the first connect() after says ECONNABORTED, as Linux */
	return vtcp_sock_error(es->st, es->sock) != ECONNREFUSED ||
	       vtcp_connect(es->st, es->sock, (struct sockaddr *)&ss, sizeof(ss)) != -ECONNABORTED ||
	       vtcp_connect(es->st, es->sock, (struct sockaddr *)&ss, sizeof(ss)) != -ENOTCONN;
}

/* A refused handle reports it, then -ENOTCONN: the host connects again on a new one. */
static int connect_refused_then_again(void)
{
	static const struct es_step s[] = {
		CALL(0, do_connect),
		OUT(0, F_SYN, 0, ANY, ANY, 0, NULL),
		IN(5, F_RST | F_ACK, 0, 1, 0, 0, NULL),
		CALL(5, err_refused_then_retry),
		END,
	};

	return run(s, false);
}

/* A connection accepted at 10 ms from a SYN with only an MSS. */
#define PASSIVE_PLAIN                                           \
	CALL(0, do_listen),                                     \
	IN(0, F_SYN, 0, 0, 64240, 0, "mss=1460"),               \
	OUT(0, F_SYN | F_ACK, 0, 1, ANY, 0, NULL),              \
	IN(10, F_ACK, 1, 1, 64240, 0, NULL),                    \
	CALL(10, do_accept)

/* The closed connection is the one orphan listed; it exports with its unsent data. */
static int orphan_listed_and_exported(struct es *es)
{
	struct vtcp_export x;

	if (vtcp_orphan_next(es->st, -1) != es->sock || vtcp_orphan_next(es->st, es->sock) != -1 ||
	    vtcp_export(es->st, es->sock, &x))
		return -1;
	return x.state != VTCP_FIN_WAIT1 || !x.shut_wr || x.fin_sent ||
	       x.snd_len[0] + x.snd_len[1] != 50 || x.snd_sent != 0;
}

static int orphan_released(struct es *es)
{
	return vtcp_release_moved(es->st, es->sock) || vtcp_orphan_next(es->st, -1) != -1;
}

/*
 * Closed with data the peer's window kept unsent: an orphan a host can
 * hand over (at its exit); once released, its segments get no answer.
 */
static int orphan_handed_over(void)
{
	static const struct es_step s[] = {
		PASSIVE_PLAIN,
		IN(20, F_ACK, 1, 1, 0, 0, NULL), /* the window closes */
		CALL(20, send_50),
		CALL(20, do_close),
		CALL(20, orphan_listed_and_exported),
		CALL(20, orphan_released),
		IN(30, F_ACK, 1, 1, 64240, 0, NULL),
		NONE(10000),
		END,
	};

	return run(s, false);
}

/* Linux's tcp_poll: HUP once both directions are shut, by us alone too. */
static int shut_rdwr_hup(struct es *es)
{
	return vtcp_shutdown(es->st, es->sock, SHUT_WR) ||
	       (vtcp_events(es->st, es->sock) & VTCP_EV_HUP) ||
	       vtcp_shutdown(es->st, es->sock, SHUT_RD) ||
	       !(vtcp_events(es->st, es->sock) & VTCP_EV_HUP);
}

/* RFC 1122 4.2.2.13 as Linux: reset, ECONNRESET, and no peer to name */
static int reset_no_peer(struct es *es)
{
	struct sockaddr_storage a;
	socklen_t l = sizeof(a);

	return vtcp_sock_error(es->st, es->sock) != ECONNRESET ||
	       vtcp_getpeername(es->st, es->sock, (struct sockaddr *)&a, &l) != -ENOTCONN;
}

/*
 * Reset while it waits in the accept queue: Linux keeps it there, and
 * accept() returns it with the reset to report.
 */
static int reset_in_accept_queue(void)
{
	static const struct es_step s[] = {
		CALL(0, do_listen),
		IN(0, F_SYN, 0, 0, 64240, 0, "mss=1460"),
		OUT(0, F_SYN | F_ACK, 0, 1, ANY, 0, NULL),
		IN(10, F_ACK, 1, 1, 64240, 0, NULL),
		IN(20, F_RST, 1, 0, 0, 0, NULL),
		CALL(30, do_accept),
		CALL(30, reset_no_peer),
		CALL(30, no_accept),
		END,
	};

	return run(s, false);
}

/* Shut both ways by us, then new data from the peer: it is reset. */
static int hup_after_own_shutdowns(void)
{
	static const struct es_step s[] = {
		PASSIVE_PLAIN,
		CALL(10, shut_rdwr_hup),
		OUT(10, F_FIN | F_ACK, 1, 1, ANY, 0, NULL),
		IN(20, F_ACK | F_PSH, 1, 2, 64240, 10, NULL),
		OUT(20, F_RST | F_ACK, 2, 1, ANY, 0, NULL),
		CALL(20, reset_no_peer),
		END,
	};

	return run(s, false);
}

static int no_quickack(struct es *es)
{
	return vtcp_setopt(es->st, es->sock, VTCP_QUICKACK, 0);
}

static int read_10(struct es *es)
{
	char b[32];

	return vtcp_recv(es->st, es->sock, b, sizeof(b), 0) != 10;
}

/*
 * Linux's tcp_cleanup_rbuf(): a pushed segment waits for its delayed ACK
 * only until the application has read it all (a Nagle sender of small
 * writes would wait 40 ms for each).
 */
static int ack_when_pushed_data_read(void)
{
	static const struct es_step s[] = {
		PASSIVE_PLAIN,
		CALL(10, no_quickack),
		IN(20, F_PSH | F_ACK, 1, 1, 64240, 10, NULL),
		NONE(25),
		CALL(25, read_10),
		OUT(25, F_ACK, 1, 11, ANY, 0, NULL),
		END,
	};

	return run(s, false);
}

/* No options at all: MSS falls back to 536, no TS, no scaling. */
static int passive_no_options(void)
{
	static const struct es_step s[] = {
		CALL(0, do_listen),
		IN(0, F_SYN, 0, 0, 8192, 0, NULL),
		OUT(0, F_SYN | F_ACK, 0, 1, 64240, 0, "mss=1460,nots,nosackok,nows"),
		IN(10, F_ACK, 1, 1, 8192, 0, NULL),
		CALL(10, do_accept),
		CALL(10, opts_none),
		END,
	};

	return run(s, false);
}

static int active_handshake(void)
{
	static const struct es_step s[] = {
		CALL(0, do_connect),
		OUT(0, F_SYN, 0, ANY, 64240, 0, "mss=1460,sackok,ts,ws=1"),
		IN(10, F_SYN | F_ACK, 0, 1, 65160, 0, "mss=1460,sackok,ts=500,ws=7"),
		OUT(10, F_ACK, 1, 1, ANY, 0, "ts"),
		CALL(10, is_established),
		END,
	};

	return run(s, false);
}

static int connect_clamped(struct es *es)
{
	return open_active(es, VTCP_WINDOW_CLAMP, 5000);
}

/* Connected: the clamp reads back, may change, not go (EINVAL); at least 1152 bytes. */
static int clamp_changes(struct es *es)
{
	int v = 0;

	return vtcp_getopt(es->st, es->sock, VTCP_WINDOW_CLAMP, &v) || v != 5000 ||
	       vtcp_setopt(es->st, es->sock, VTCP_WINDOW_CLAMP, 0) != -EINVAL ||
	       vtcp_setopt(es->st, es->sock, VTCP_WINDOW_CLAMP, 1) ||
	       vtcp_getopt(es->st, es->sock, VTCP_WINDOW_CLAMP, &v) || v != 1152;
}

/*
 * TCP_WINDOW_CLAMP, as tcp_select_initial_window(): the SYN offers no more
 * (in whole segments) and scales for no more (wscale 0).
 */
static int window_clamp(void)
{
	static const struct es_step s[] = {
		CALL(0, connect_clamped),
		OUT(0, F_SYN, 0, ANY, 4380, 0, "mss=1460,sackok,ts,ws=0"),
		IN(10, F_SYN | F_ACK, 0, 1, 65160, 0, "mss=1460,sackok,ts=500,ws=7"),
		OUT(10, F_ACK, 1, 1, ANY, 0, "ts"),
		CALL(10, clamp_changes),
		END,
	};

	return run(s, false);
}

static int send_3000(struct es *es)
{
	static char buf[3000];

	return vtcp_send(es->st, es->sock, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf);
}

/* An active open to a peer offering 2000 bytes (MSS 1000, wscale 7) */
#define ACTIVE_SYNACK_2000                                                      \
	CALL(0, do_connect),                                                    \
	OUT(0, F_SYN, 0, ANY, 64240, 0, "mss=1460,sackok,ts,ws=1"),             \
	IN(10, F_SYN | F_ACK, 0, 1, 2000, 0, "mss=1000,sackok,ts=500,ws=7"),    \
	OUT(10, F_ACK, 1, 1, ANY, 0, "ts")

/* ... and the 2000 bytes sent at 10 ms: two segments, the GSO packet's PSH */
#define WINDOW_2000_SENT                                                        \
	OUT(10, F_ACK, 1, 1, ANY, 988, "ts"),                                   \
	OUT(10, F_PSH | F_ACK, 989, 1, ANY, 988, "ts")

/*
 * RFC 7323 2.2: the SYN-ACK's window is not scaled: 2000 bytes here, two
 * segments, not 2000 << 7 (the engine sent what the peer never offered).
 */
static int synack_window_unscaled(void)
{
	static const struct es_step s[] = {
		ACTIVE_SYNACK_2000,
		CALL(10, send_3000),
		WINDOW_2000_SENT,
		NONE(20),
		END,
	};

	return run(s, false);
}

static int active_v6(void)
{
	static const struct es_step s[] = {
		CALL(0, do_connect),
		OUT(0, F_SYN, 0, ANY, 64800, 0, "mss=1440,sackok,ts,ws=1"),
		IN(10, F_SYN | F_ACK, 0, 1, 65160, 0, "mss=1440,sackok,ts=500,ws=7"),
		OUT(10, F_ACK, 1, 1, ANY, 0, "ts"),
		CALL(10, is_established),
		END,
	};

	return run(s, true);
}

static int connect_refused(void)
{
	static const struct es_step s[] = {
		CALL(0, do_connect),
		OUT(0, F_SYN, 0, ANY, ANY, 0, NULL),
		IN(5, F_RST | F_ACK, 0, 1, 0, 0, NULL),
		CALL(5, err_refused),
		CALL(5, is_closed),
		END,
	};

	return run(s, false);
}

static int is_syn_sent(struct es *es)
{
	struct vtcp_info ti;

	vtcp_get_info(es->st, es->sock, &ti);
	return ti.tcpi_state != VTCP_SYN_SENT;
}

/* SYN retransmits at 1, 3, 7, 15, 31, 63 s, ETIMEDOUT at 127 s (Linux). */
static int err_timedout(struct es *es)
{
	return vtcp_sock_error(es->st, es->sock) != ETIMEDOUT;
}

static int syn_retries(void)
{
	static const struct es_step s[] = {
		CALL(0, do_connect),
		OUT(0, F_SYN, 0, ANY, ANY, 0, NULL),
		NONE(999),
		OUT(1000, F_SYN, 0, ANY, ANY, 0, NULL),
		NONE(2999),
		OUT(3000, F_SYN, 0, ANY, ANY, 0, NULL),
		OUT(7000, F_SYN, 0, ANY, ANY, 0, NULL),
		OUT(15000, F_SYN, 0, ANY, ANY, 0, NULL),
		OUT(31000, F_SYN, 0, ANY, ANY, 0, NULL),
		OUT(63000, F_SYN, 0, ANY, ANY, 0, NULL),
		NONE(126999),
		CALL(126999, is_syn_sent),
		CALL(127000, err_timedout),
		NONE(200000),
		END,
	};

	return run(s, false);
}

static int connect_syncnt_1(struct es *es)
{
	int v;

	if (open_active(es, VTCP_SYNCNT, 1) || vtcp_getopt(es->st, es->sock, VTCP_SYNCNT, &v))
		return -1;
	return v != 1 || vtcp_setopt(es->st, es->sock, VTCP_SYNCNT, 0) != -EINVAL ||
	       vtcp_setopt(es->st, es->sock, VTCP_SYNCNT, 128) != -EINVAL;
}

/* TCP_SYNCNT 1: one retransmission, at 1 s, and ETIMEDOUT at 3 s. */
static int syncnt_bounds_syn_retries(void)
{
	static const struct es_step s[] = {
		CALL(0, connect_syncnt_1),
		OUT(0, F_SYN, 0, ANY, ANY, 0, NULL),
		OUT(1000, F_SYN, 0, ANY, ANY, 0, NULL),
		NONE(2999),
		CALL(2999, is_syn_sent),
		CALL(3000, err_timedout),
		NONE(10000),
		END,
	};

	return run(s, false);
}

static int connect_defer_accept(struct es *es)
{
	return open_active(es, VTCP_DEFER_ACCEPT, 1);
}

/*
 * A client's TCP_DEFER_ACCEPT (tcp_rcv_synsent_state_process()): connected
 * at the SYN-ACK, it sends the handshake's ACK with its first data, or
 * alone after 200 ms.
 */
static int defer_accept_client_ack_with_data(void)
{
	static const struct es_step s[] = {
		CALL(0, connect_defer_accept),
		OUT(0, F_SYN, 0, ANY, ANY, 0, NULL),
		IN(10, F_SYN | F_ACK, 0, 1, 65535, 0, "mss=1460"),
		CALL(10, is_established),
		NONE(50),
		CALL(50, send_50),
		OUT(50, F_ACK | F_PSH, 1, 1, ANY, 50, NULL),
		END,
	};

	return run(s, false);
}

static int defer_accept_client_ack_alone(void)
{
	static const struct es_step s[] = {
		CALL(0, connect_defer_accept),
		OUT(0, F_SYN, 0, ANY, ANY, 0, NULL),
		IN(10, F_SYN | F_ACK, 0, 1, 65535, 0, "mss=1460"),
		NONE(209),
		OUT(210, F_ACK, 1, 1, ANY, 0, NULL),
		NONE(1000),
		END,
	};

	return run(s, false);
}

#define PACE_RATE 1460000 /* a 1460-byte segment per millisecond */

static int connect_paced(struct es *es)
{
	return do_connect(es) || vtcp_set_max_pacing_rate(es->st, es->sock, PACE_RATE);
}

/* 20 segments' worth; cwnd (10) sends the first half at once. */
static int send_20_segs(struct es *es)
{
	static char buf[20 * 1460];
	struct vtcp_info ti;

	if (vtcp_send(es->st, es->sock, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf) ||
	    vtcp_get_info(es->st, es->sock, &ti) || ti.tcpi_max_pacing_rate != PACE_RATE ||
	    ti.tcpi_pacing_rate > PACE_RATE)
		return -1;
	es->head = es->nout;
	return 0;
}

/* @n data segments came out since the last look. */
static int data_segs_since(struct es *es, unsigned int n)
{
	unsigned int got = 0;

	for (; es->head != es->nout; es->head++)
		got += es->out[es->head].len > 0;
	if (got != n)
		ktap_diag("%u data segments, expected %u", got, n);
	return got != n;
}

static int none_yet(struct es *es)
{
	return data_segs_since(es, 0);
}

static int ten_data_segs(struct es *es)
{
	return data_segs_since(es, 10);
}

/*
 * SO_MAX_PACING_RATE (Linux's internal pacing): past the first ten data
 * segments, a packet of two segments (tcp_tso_autosize() of the rate)
 * every 2 ms at a segment per millisecond, however much cwnd allows.
 */
static int max_pacing_rate_spaces_packets(void)
{
	static const struct es_step s[] = {
		CALL(0, connect_paced),
		OUT(0, F_SYN, 0, ANY, ANY, 0, NULL),
		IN(10, F_SYN | F_ACK, 0, 1, 65535, 0, "mss=1460"),
		OUT(10, F_ACK, 1, 1, ANY, 0, NULL),
		CALL(10, send_20_segs),
		CALL(10, ten_data_segs),
		IN(11, F_ACK, 1, 1 + 10 * 1460, 65535, 0, NULL),
		CALL(11, none_yet),
		CALL(20, ten_data_segs),
		END,
	};

	return run(s, false);
}

/* Both sides send SYN: SYN-RECEIVED, then ESTABLISHED. */
static int simultaneous_open(void)
{
	static const struct es_step s[] = {
		CALL(0, do_connect),
		OUT(0, F_SYN, 0, ANY, ANY, 0, NULL),
		IN(5, F_SYN, 0, 0, 65535, 0, "mss=1460"),
		OUT(5, F_SYN | F_ACK, 0, 1, ANY, 0, "mss=1460"),
		CALL(5, is_synrecv),
		IN(10, F_SYN | F_ACK, 0, 1, 65535, 0, "mss=1460"),
		/* the peer's SYN-ACK is a retransmitted SYN here: challenge/ACK */
		IN(10, F_ACK, 1, 1, 65535, 0, NULL),
		CALL(10, is_established),
		END,
	};

	return run(s, false);
}

#define HANDSHAKE_PASSIVE(o)                                      \
	CALL(0, do_listen),                                       \
	IN(0, F_SYN, 0, 0, 65535, 0, o),                          \
	OUT(0, F_SYN | F_ACK, 0, 1, ANY, 0, NULL),                \
	IN(1, F_ACK, 1, 1, 65535, 0, NULL),                        \
	CALL(1, do_accept)

static int listen_syncnt_1(struct es *es)
{
	return do_listen(es) || vtcp_setopt(es->st, es->lsock, VTCP_SYNCNT, 1);
}

/*
 * A listener's TCP_SYNCNT bounds its SYN-ACKs (reqsk_timer_handler()): one
 * retransmission at 1 s, the request gone at 3 s; the handshake's ACK then
 * finds no request (a reset), and accept() nothing.
 */
static int syncnt_bounds_synack_retries(void)
{
	static const struct es_step s[] = {
		CALL(0, listen_syncnt_1),
		IN(0, F_SYN, 0, 0, 65535, 0, "mss=1460"),
		OUT(0, F_SYN | F_ACK, 0, 1, ANY, 0, NULL),
		OUT(1000, F_SYN | F_ACK, 0, 1, ANY, 0, NULL),
		NONE(3500),
		IN(3500, F_ACK, 1, 1, 65535, 0, NULL),
		OUT(3500, F_RST, 1, ANY, 0, 0, NULL),
		CALL(3500, no_accept),
		END,
	};

	return run(s, false);
}

/* TCP_DEFER_ACCEPT reads as the SYN-ACK schedule rounds it: 5 s is 1 + 2 + 4. */
static int listen_defer_1s(struct es *es)
{
	int five, one;

	if (do_listen(es) || vtcp_setopt(es->st, es->lsock, VTCP_DEFER_ACCEPT, 5) ||
	    vtcp_getopt(es->st, es->lsock, VTCP_DEFER_ACCEPT, &five) ||
	    vtcp_setopt(es->st, es->lsock, VTCP_DEFER_ACCEPT, 1) ||
	    vtcp_getopt(es->st, es->lsock, VTCP_DEFER_ACCEPT, &one))
		return -1;
	return five != 7 || one != 1;
}

static int accept_reads_5(struct es *es)
{
	char b[8];

	return do_accept(es) || vtcp_recv(es->st, es->sock, b, sizeof(b), 0) != 5;
}

#define HANDSHAKE_DEFERRED                                        \
	CALL(0, listen_defer_1s),                                 \
	IN(0, F_SYN, 0, 0, 65535, 0, "mss=1460"),                 \
	OUT(0, F_SYN | F_ACK, 0, 1, ANY, 0, NULL),                \
	IN(10, F_ACK, 1, 1, 65535, 0, NULL),                       \
	NONE(10),                                                 \
	CALL(10, no_accept)

/* TCP_DEFER_ACCEPT: the handshake's bare ACK does not complete it, data does. */
static int defer_accept_data_completes(void)
{
	static const struct es_step s[] = {
		HANDSHAKE_DEFERRED,
		NONE(500),
		CALL(500, no_accept),
		IN(500, F_PSH | F_ACK, 1, 1, 65535, 5, NULL),
		CALL(500, accept_reads_5),
		END,
	};

	return run(s, false);
}

/*
 * ... and without data, no SYN-ACK until the deferral's last timeout (1 s),
 * whose SYN-ACK asks the client's ACK again: that one completes it.
 */
static int defer_accept_last_synack(void)
{
	static const struct es_step s[] = {
		HANDSHAKE_DEFERRED,
		NONE(999),
		OUT(1000, F_SYN | F_ACK, 0, 1, ANY, 0, NULL),
		CALL(1000, no_accept),
		IN(1001, F_ACK, 1, 1, 65535, 0, NULL),
		CALL(1001, do_accept),
		CALL(1001, is_established),
		END,
	};

	return run(s, false);
}

/* A listener's DSCP and TTL (IP_TOS 0x29: the ECN bits are TCP's), for its SYN-ACKs. */
static int listen_dscp_ttl(struct es *es)
{
	return do_listen(es) || vtcp_setopt(es->st, es->lsock, VTCP_TOS, 0x29) ||
	       vtcp_setopt(es->st, es->lsock, VTCP_TTL, 9);
}

static int last_dscp_ttl(struct es *es, uint8_t tos, uint8_t ttl)
{
	if (es->last.tos == tos && es->last.ttl == ttl)
		return 0;
	ktap_diag("tos 0x%x ttl %u, expected 0x%x %u", es->last.tos, es->last.ttl, tos, ttl);
	return -1;
}

static int synack_dscp_ttl(struct es *es)
{
	return last_dscp_ttl(es, 0x28, 9);
}

/* The child inherits them; changed, the next segment carries the new ones. */
static int accept_change_dscp_ttl(struct es *es)
{
	int tos, ttl;

	if (do_accept(es) || vtcp_getopt(es->st, es->sock, VTCP_TOS, &tos) ||
	    vtcp_getopt(es->st, es->sock, VTCP_TTL, &ttl) || tos != 0x28 || ttl != 9)
		return -1;
	if (vtcp_setopt(es->st, es->sock, VTCP_TOS, 0xb8) ||
	    vtcp_setopt(es->st, es->sock, VTCP_TTL, 7) ||
	    vtcp_setopt(es->st, es->sock, VTCP_TTL, 256) != -EINVAL)
		return -1;
	return send_50(es);
}

static int data_dscp_ttl(struct es *es)
{
	return last_dscp_ttl(es, 0xb8, 7);
}

/* TTL -1 is the stack's again (ip_default_ttl, 64 here). */
static int ttl_default_again(struct es *es)
{
	int ttl;

	return vtcp_setopt(es->st, es->sock, VTCP_TTL, -1) ||
	       vtcp_getopt(es->st, es->sock, VTCP_TTL, &ttl) || ttl != 64 || send_50(es);
}

static int data_ttl_default(struct es *es)
{
	return last_dscp_ttl(es, 0xb8, 64);
}

/*
 * IP_TOS and IP_TTL (and IPv6's TCLASS and UNICAST_HOPS): the DSCP and
 * hop limit of every segment, a listener's SYN-ACKs too; the ECN bits of
 * the TOS stay TCP's.
 */
static int dscp_ttl_follow_options(void)
{
	static const struct es_step s[] = {
		CALL(0, listen_dscp_ttl),
		IN(0, F_SYN, 0, 0, 65535, 0, "mss=1460"),
		OUT(0, F_SYN | F_ACK, 0, 1, ANY, 0, NULL),
		CALL(0, synack_dscp_ttl),
		IN(1, F_ACK, 1, 1, 65535, 0, NULL),
		CALL(2, accept_change_dscp_ttl),
		OUT(2, F_PSH | F_ACK, 1, 1, ANY, 50, NULL),
		CALL(2, data_dscp_ttl),
		IN(3, F_ACK, 1, 51, 65535, 0, NULL),
		CALL(3, ttl_default_again),
		OUT(3, F_PSH | F_ACK, 51, 1, ANY, 50, NULL),
		CALL(3, data_ttl_default),
		END,
	};

	return run(s, false);
}

/*
 * TCP_CONGESTION per socket: the listener's is the child's; one the engine
 * lacks is refused (ENOENT) and the socket keeps its own.
 */
static int listen_reno(struct es *es)
{
	return do_listen(es) || vtcp_set_cc(es->st, es->lsock, "reno") ||
	       strcmp(vtcp_congestion(es->st, es->lsock), "reno");
}

static int accept_reno_then_cubic(struct es *es)
{
	if (do_accept(es) || strcmp(vtcp_congestion(es->st, es->sock), "reno") ||
	    vtcp_set_cc(es->st, es->sock, "bbr") != -ENOENT ||
	    strcmp(vtcp_congestion(es->st, es->sock), "reno"))
		return -1;
	return vtcp_set_cc(es->st, es->sock, "cubic") ||
	       strcmp(vtcp_congestion(es->st, es->sock), "cubic");
}

static int congestion_per_socket(void)
{
	static const struct es_step s[] = {
		CALL(0, listen_reno),
		IN(0, F_SYN, 0, 0, 65535, 0, "mss=1460"),
		OUT(0, F_SYN | F_ACK, 0, 1, ANY, 0, NULL),
		IN(1, F_ACK, 1, 1, 65535, 0, NULL),
		CALL(1, accept_reno_then_cubic),
		END,
	};

	return run(s, false);
}

static int close_linger2(struct es *es, int seconds)
{
	int v;

	if (vtcp_setopt(es->st, es->sock, VTCP_LINGER2, seconds) ||
	    vtcp_getopt(es->st, es->sock, VTCP_LINGER2, &v) || v != seconds)
		return -1;
	return vtcp_close(es->st, es->sock);
}

static int close_linger2_2s(struct es *es)
{
	return close_linger2(es, 2);
}

static int close_linger2_none(struct es *es)
{
	return close_linger2(es, -1);
}

/* Unset, TCP_LINGER2 reads tcp_fin_timeout; more than 120 s is 120 s. */
static int linger2_reads(struct es *es)
{
	int unset, big;

	if (vtcp_getopt(es->st, es->sock, VTCP_LINGER2, &unset) ||
	    vtcp_setopt(es->st, es->sock, VTCP_LINGER2, 1000) ||
	    vtcp_getopt(es->st, es->sock, VTCP_LINGER2, &big))
		return -1;
	return unset != 60 || big != 120 || vtcp_setopt(es->st, es->sock, VTCP_LINGER2, 0);
}

/*
 * TCP_LINGER2 2: the closed socket waits 2 s in FIN_WAIT2 (not
 * tcp_fin_timeout), then goes: the peer's late FIN is answered by a reset.
 */
static int linger2_orphan_timeout(void)
{
	static const struct es_step s[] = {
		HANDSHAKE_PASSIVE("mss=1460"),
		CALL(10, linger2_reads),
		CALL(10, close_linger2_2s),
		OUT(10, F_FIN | F_ACK, 1, 1, ANY, 0, NULL),
		IN(11, F_ACK, 1, 2, 65535, 0, NULL),
		NONE(2020),
		IN(2020, F_FIN | F_ACK, 1, 2, 65535, 0, NULL),
		OUT(2020, F_RST, 2, ANY, 0, 0, NULL),
		END,
	};

	return run(s, false);
}

/* TCP_LINGER2 < 0: a closed socket leaves as its FIN is acked. */
static int linger2_none_orphan(void)
{
	static const struct es_step s[] = {
		HANDSHAKE_PASSIVE("mss=1460"),
		CALL(10, close_linger2_none),
		OUT(10, F_FIN | F_ACK, 1, 1, ANY, 0, NULL),
		IN(11, F_ACK, 1, 2, 65535, 0, NULL),
		IN(12, F_FIN | F_ACK, 1, 2, 65535, 0, NULL),
		OUT(12, F_RST, 2, ANY, 0, 0, NULL),
		END,
	};

	return run(s, false);
}

/* ... and closed in FIN_WAIT2 (after shutdown), it resets at once (tcp_close()). */
static int linger2_none_close_in_fin_wait2(void)
{
	static const struct es_step s[] = {
		HANDSHAKE_PASSIVE("mss=1460"),
		CALL(10, do_shut_wr),
		OUT(10, F_FIN | F_ACK, 1, 1, ANY, 0, NULL),
		IN(11, F_ACK, 1, 2, 65535, 0, NULL),
		CALL(12, is_fin_wait2),
		CALL(12, close_linger2_none),
		OUT(12, F_RST | F_ACK, 2, 1, ANY, 0, NULL),
		END,
	};

	return run(s, false);
}

/* Simultaneous close: FIN_WAIT_1 -> CLOSING -> TIME_WAIT, then 60 s. */
static int simultaneous_close(void)
{
	static const struct es_step s[] = {
		HANDSHAKE_PASSIVE("mss=1460"),
		CALL(10, do_shut_wr),
		OUT(10, F_FIN | F_ACK, 1, 1, ANY, 0, NULL),
		CALL(10, is_fin_wait1),
		IN(11, F_FIN | F_ACK, 1, 1, 65535, 0, NULL),
		OUT(11, F_ACK, 2, 2, ANY, 0, NULL),
		CALL(11, is_closing),
		IN(12, F_ACK, 2, 2, 65535, 0, NULL),
		CALL(12, is_time_wait),
		NONE(100),
		END,
	};

	return run(s, false);
}

/* The state of the connection's 4-tuple as the engine reports it (orphans too). */
static int tuple_state(struct es *es)
{
	struct sockaddr_storage l, r;

	es_local_addr(es, &l, es->lport);
	es_peer_addr(es, &r, es->pport);
	return vtcp_conn_state(es->st, (struct sockaddr *)&l, (struct sockaddr *)&r);
}

static int tuple_is(struct es *es, int state)
{
	int got = tuple_state(es);

	if (got != state)
		ktap_diag("tuple state %d, expected %d", got, state);
	return got != state;
}

#define TUPLE_FN(name, st)                          \
	static int name(struct es *es)              \
	{                                           \
		return tuple_is(es, st);            \
	}
TUPLE_FN(tuple_established, VTCP_ESTABLISHED)
TUPLE_FN(tuple_fin_wait1, VTCP_FIN_WAIT1)
TUPLE_FN(tuple_fin_wait2, VTCP_FIN_WAIT2)
TUPLE_FN(tuple_time_wait, VTCP_TIME_WAIT)
TUPLE_FN(tuple_none, -ENOENT)

/* A listener's tuple is not a connection; nor is another peer port's. */
static int tuple_listener_or_other_none(struct es *es)
{
	struct sockaddr_storage l, r;

	es_local_addr(es, &l, es->lport);
	es_peer_addr(es, &r, es->pport + 1);
	return vtcp_conn_state(es->st, (struct sockaddr *)&l, (struct sockaddr *)&r) != -ENOENT ||
	       tuple_none(es);
}

/*
 * vtcp_conn_state() follows a connection by its tuple through an orphaned
 * close to TIME_WAIT and its end (velo.ko's connection records are
 * released by it).
 */
static int conn_state_by_tuple(void)
{
	static const struct es_step s[] = {
		CALL(0, do_listen),
		CALL(0, tuple_listener_or_other_none),
		IN(0, F_SYN, 0, 0, 65535, 0, "mss=1460"),
		OUT(0, F_SYN | F_ACK, 0, 1, ANY, 0, NULL),
		IN(1, F_ACK, 1, 1, 65535, 0, NULL),
		CALL(1, do_accept),
		CALL(1, tuple_established),
		CALL(10, do_close),
		OUT(10, F_FIN | F_ACK, 1, 1, ANY, 0, NULL),
		CALL(10, tuple_fin_wait1),
		IN(11, F_ACK, 1, 2, 65535, 0, NULL),
		CALL(11, tuple_fin_wait2),
		IN(12, F_FIN | F_ACK, 1, 2, 65535, 0, NULL),
		OUT(12, F_ACK, 2, 2, ANY, 0, NULL),
		CALL(12, tuple_time_wait),
		NONE(61000),
		CALL(61000, tuple_none),
		END,
	};

	return run(s, false);
}

static int do_shut_and_check(struct es *es)
{
	return do_shut_wr(es) || is_fin_wait1(es);
}

static int send_50_ok_in_fw2(struct es *es)
{
	char buf[100];

	/* half-closed: we still receive */
	return is_fin_wait2(es) || vtcp_recv(es->st, es->sock, buf, sizeof(buf), 0) != 100;
}

/* Half-close: we shut down writes, the peer keeps sending, then closes. */
static int half_close(void)
{
	static const struct es_step s[] = {
		HANDSHAKE_PASSIVE("mss=1460"),
		CALL(10, do_shut_and_check),
		OUT(10, F_FIN | F_ACK, 1, 1, ANY, 0, NULL),
		IN(11, F_ACK, 1, 2, 65535, 0, NULL),
		IN(12, F_PSH | F_ACK, 1, 2, 65535, 100, NULL),
		OUT(12, F_ACK, 2, 101, ANY, 0, NULL),
		CALL(12, send_50_ok_in_fw2),
		IN(13, F_FIN | F_ACK, 101, 2, 65535, 0, NULL),
		OUT(13, F_ACK, 2, 102, ANY, 0, NULL),
		CALL(13, is_time_wait),
		/* a retransmitted FIN in TIME_WAIT is ACKed again */
		IN(500, F_FIN | F_ACK, 101, 2, 65535, 0, NULL),
		OUT(500, F_ACK, 2, 102, ANY, 0, NULL),
		CALL(500, is_time_wait),
		CALL(60499, is_time_wait),
		CALL(60500, is_closed),
		END,
	};

	return run(s, false);
}

static int rst_in_window(void)
{
	static const struct es_step s[] = {
		HANDSHAKE_PASSIVE("mss=1460"),
		/* RFC 5961: in-window but not exact -> challenge ACK, connection stays */
		IN(10, F_RST, 100, 0, 0, 0, NULL),
		OUT(10, F_ACK, 1, 1, ANY, 0, NULL),
		CALL(10, is_established),
		/* out of window: ignored silently */
		IN(11, F_RST, 1000000, 0, 0, 0, NULL),
		NONE(20),
		/* exact: reset */
		IN(30, F_RST, 1, 0, 0, 0, NULL),
		CALL(30, err_reset),
		END,
	};

	return run(s, false);
}

static int syn_in_established(void)
{
	static const struct es_step s[] = {
		HANDSHAKE_PASSIVE("mss=1460"),
		IN(10, F_SYN, 500, 0, 65535, 0, "mss=1460"),
		OUT(10, F_ACK, 1, 1, ANY, 0, NULL), /* RFC 5961 4.2 challenge ACK */
		CALL(10, is_established),
		END,
	};

	return run(s, false);
}

static int ack_too_old_or_new(void)
{
	static const struct es_step s[] = {
		HANDSHAKE_PASSIVE("mss=1460"),
		IN(10, F_ACK, 1, 5000, 65535, 0, NULL),	 /* acks unsent data */
		OUT(10, F_ACK, 1, 1, ANY, 0, NULL),
		IN(11, F_ACK | F_PSH, 1, 5000, 65535, 10, NULL), /* and drops it */
		OUT(11, F_ACK, 1, 1, ANY, 0, NULL),
		END,
	};

	return run(s, false);
}

static int abort_sends_rst(struct es *es)
{
	return vtcp_abort(es->st, es->sock);
}

static int rst_outgoing(void)
{
	static const struct es_step s[] = {
		HANDSHAKE_PASSIVE("mss=1460"),
		CALL(10, abort_sends_rst),
		OUT(10, F_RST | F_ACK, 1, 1, 0, 0, NULL),
		NONE(100),
		/* the tuple is gone: a segment now draws a RST from the closed port */
		IN(200, F_ACK, 1, 1, 65535, 0, NULL),
		OUT(200, F_RST, 1, ANY, 0, 0, NULL),
		END,
	};

	return run(s, false);
}

static int closed_port(void)
{
	static const struct es_step s[] = {
		IN(0, F_SYN, 0, 0, 65535, 0, "mss=1460"),
		OUT(0, F_RST | F_ACK, 0, 1, 0, 0, NULL),
		IN(1, F_ACK, 5, 77, 65535, 0, NULL),
		OUT(1, F_RST, 77, ANY, 0, 0, NULL),
		IN(2, F_RST, 5, 0, 0, 0, NULL),
		NONE(10),
		END,
	};

	return run(s, false);
}

static int closed_port_v6(void)
{
	static const struct es_step s[] = {
		IN(0, F_SYN, 0, 0, 65535, 0, "mss=1440"),
		OUT(0, F_RST | F_ACK, 0, 1, 0, 0, NULL),
		END,
	};

	return run(s, true);
}

/* PAWS: an old timestamp is dropped with a duplicate ACK. */
static int paws(void)
{
	static const struct es_step s[] = {
		CALL(0, do_listen),
		IN(0, F_SYN, 0, 0, 65535, 0, "mss=1460,ts=1000:0"),
		OUT(0, F_SYN | F_ACK, 0, 1, ANY, 0, "ts"),
		IN(1, F_ACK, 1, 1, 65535, 0, "ts=1001"),
		CALL(1, do_accept),
		IN(2, F_ACK | F_PSH, 1, 1, 65535, 100, "ts=1002"),
		OUT(2, F_ACK, 1, 101, ANY, 0, NULL),
		IN(3, F_ACK | F_PSH, 101, 1, 65535, 100, "ts=900"),
		OUT(3, F_ACK, 1, 101, ANY, 0, NULL), /* not 201: dropped */
		IN(4, F_ACK | F_PSH, 101, 1, 65535, 100, "ts=1003"),
		OUT(4, F_ACK, 1, 201, ANY, 0, NULL),
		END,
	};

	return run(s, false);
}

/* TIME_WAIT accepts a new SYN with a higher timestamp (safe reuse). */
static int timewait_reuse(void)
{
	static const struct es_step s[] = {
		CALL(0, do_listen),
		IN(0, F_SYN, 0, 0, 65535, 0, "mss=1460,ts=1000:0"),
		OUT(0, F_SYN | F_ACK, 0, 1, ANY, 0, "ts"),
		IN(1, F_ACK, 1, 1, 65535, 0, "ts=1001"),
		CALL(1, do_accept),
		CALL(2, do_close),
		OUT(2, F_FIN | F_ACK, 1, 1, ANY, 0, NULL),
		IN(3, F_FIN | F_ACK, 1, 2, 65535, 0, "ts=1002"),
		OUT(3, F_ACK, 2, 2, ANY, 0, NULL),
		/* old duplicate SYN (older timestamp): just an ACK */
		IN(1000, F_SYN, 5, 0, 65535, 0, "mss=1460,ts=999:0"),
		OUT(1000, F_ACK, 2, 2, ANY, 0, NULL),
		/* new incarnation */
		IN(2000, F_SYN, 100000, 0, 65535, 0, "mss=1460,ts=5000:0"),
		OUT(2000, F_SYN | F_ACK, ANY, 100001, ANY, 0, "ts"),
		END,
	};

	return run(s, false);
}

static int connect_reuse_at(struct es *es, int expect)
{
	struct sockaddr_storage ss;
	int s = vtcp_socket(es->st, AF_INET), err;

	vtcp_setopt(es->st, s, VTCP_REUSEADDR, 1);
	es_local_addr(es, &ss, es->lport);
	if (vtcp_bind(es->st, s, (struct sockaddr *)&ss, sizeof(ss)))
		return -1;
	es_peer_addr(es, &ss, es->pport);
	err = vtcp_connect(es->st, s, (struct sockaddr *)&ss, sizeof(ss));
	if (err != expect)
		ktap_diag("connect: %d, expected %d", err, expect);
	if (err == -EINPROGRESS)
		es->sock = s;
	else
		vtcp_close(es->st, s);
	return err != expect;
}

static int connect_reuse(struct es *es)
{
	return connect_reuse_at(es, -EINPROGRESS);
}

static int connect_reuse_too_soon(struct es *es)
{
	return connect_reuse_at(es, -EADDRNOTAVAIL);
}

/* Active TIME_WAIT reuse (tcp_tw_reuse): timestamps and 1 s in TIME_WAIT. */
static int timewait_active_reuse(void)
{
	static const struct es_step s[] = {
		CALL(0, connect_reuse),
		OUT(0, F_SYN, 0, ANY, ANY, 0, "ts"),
		IN(1, F_SYN | F_ACK, 0, 1, 65535, 0, "mss=1460,ts=100"),
		OUT(1, F_ACK, 1, 1, ANY, 0, NULL),
		CALL(2, do_close),
		OUT(2, F_FIN | F_ACK, 1, 1, ANY, 0, NULL),
		IN(3, F_FIN | F_ACK, 1, 2, 65535, 0, "ts=101"),
		OUT(3, F_ACK, 2, 2, ANY, 0, NULL),
		CALL(500, connect_reuse_too_soon),
		NONE(500),
		CALL(1500, connect_reuse),
		OUT(1500, F_SYN, ANY, ANY, ANY, 0, "ts"),
		END,
	};

	return run(s, false);
}

static int peek_consume_100(struct es *es)
{
	const void *p1, *p2;
	size_t l1, l2;
	char first;

	if (vtcp_recv_peek(es->st, es->sock, &p1, &l1, &p2, &l2) != 100 || l1 + l2 != 100)
		return -1;
	first = *(const char *)p1;
	/* the peer's payload bytes are 'a' + seq % 26 */
	if (first != (char)('a' + (es->peer_isn + 1) % 26))
		return -1;
	return vtcp_recv_consume(es->st, es->sock, 100) ||
	       vtcp_recv_peek(es->st, es->sock, &p1, &l1, &p2, &l2) != -EAGAIN;
}

static int events_after_reset(struct es *es)
{
	unsigned int ev = vtcp_events(es->st, es->sock);
	unsigned int want = VTCP_EV_READABLE | VTCP_EV_RDHUP | VTCP_EV_HUP | VTCP_EV_ERR;

	if ((ev & want) != want)
		ktap_diag("events %#x, expected %#x set", ev, want);
	return (ev & want) != want;
}

static int bufs_doubled(struct es *es)
{
	int v = 0;

	vtcp_setopt(es->st, es->sock, VTCP_RCVBUF, 10000);
	vtcp_getopt(es->st, es->sock, VTCP_RCVBUF, &v);
	if (v != 20000)
		return -1;
	vtcp_setopt(es->st, es->sock, VTCP_SNDBUF, 1 << 30); /* clamped to the pool */
	vtcp_getopt(es->st, es->sock, VTCP_SNDBUF, &v);
	return v != 2 * 65536;
}

static unsigned int ev_seen;

static void on_event(void *ctx, int sock, unsigned int events)
{
	(void)ctx;
	(void)sock;
	ev_seen |= events;
}

static int writable_reported(struct es *es)
{
	(void)es;
	return !(ev_seen & VTCP_EV_WRITABLE);
}

static int readable_reported(struct es *es)
{
	(void)es;
	return !(ev_seen & VTCP_EV_READABLE);
}

static int events_and_peek(void)
{
	static const struct es_step s[] = {
		HANDSHAKE_PASSIVE("mss=1460"),
		CALL(2, writable_reported),
		CALL(2, bufs_doubled),
		IN(3, F_PSH | F_ACK, 1, 1, 65535, 100, NULL),
		OUT(3, F_ACK, 1, 101, ANY, 0, NULL),
		CALL(3, readable_reported),
		CALL(3, peek_consume_100),
		IN(4, F_RST, 101, 0, 0, 0, NULL),
		CALL(4, events_after_reset),
		END,
	};
	struct vtcp_config c;
	int r;

	memset(&c, 0, sizeof(c));
	c.max_sockets = 8;
	c.sndbuf_max = c.rcvbuf_max = 65536;
	c.on_event = on_event;
	ev_seen = 0;
	if (es_init(&E, &c, false))
		return KTAP_FAIL;
	r = es_run(&E, s);
	es_fini(&E);
	return r;
}

static int pool_full_recycles_timewait(struct es *es)
{
	int n = 0, s;

	/* 8 blocks: the listener, the TIME_WAIT one, 6 free; the 7th recycles TIME_WAIT */
	while ((s = vtcp_socket(es->st, AF_INET)) >= 0)
		n++;
	return s != -ENOBUFS || n != 7;
}

/* A full pool reuses the oldest TIME_WAIT block rather than failing. */
static int timewait_recycled_when_full(void)
{
	static const struct es_step s[] = {
		HANDSHAKE_PASSIVE("mss=1460"),
		CALL(10, do_close),
		OUT(10, F_FIN | F_ACK, 1, 1, ANY, 0, NULL),
		IN(11, F_FIN | F_ACK, 1, 2, 65535, 0, NULL),
		OUT(11, F_ACK, 2, 2, ANY, 0, NULL),
		CALL(12, pool_full_recycles_timewait),
		/* the old tuple is gone: its segments now draw a RST */
		IN(13, F_FIN | F_ACK, 1, 2, 65535, 0, NULL),
		OUT(13, F_RST, 2, ANY, 0, 0, NULL),
		END,
	};

	return run(s, false);
}

static int writable(struct es *es)
{
	return (vtcp_events(es->st, es->sock) & VTCP_EV_WRITABLE) != 0;
}

static int fill_6000(struct es *es)
{
	static char buf[6000];

	if (vtcp_setopt(es->st, es->sock, VTCP_SNDBUF, 6000) ||
	    vtcp_send(es->st, es->sock, buf, sizeof(buf), 0) != 6000)
		return -1;
	return vtcp_send(es->st, es->sock, buf, 1, 0) != -EAGAIN || writable(es);
}

/* Some room, not a third of the buffer: a send takes it, poll says full. */
static int room_not_writable(struct es *es)
{
	if (writable(es))
		return -1;
	return vtcp_send(es->st, es->sock, "x", 1, 0) != 1 || writable(es);
}

static int not_writable(struct es *es)
{
	return writable(es);
}

static int is_writable(struct es *es)
{
	return !writable(es);
}

/* SO_SNDBUF as set reads doubled, and ACKs do not grow it. */
static int writable_as_set(struct es *es)
{
	int v;

	return is_writable(es) || vtcp_getopt(es->st, es->sock, VTCP_SNDBUF, &v) || v != 12000;
}

/*
 * EPOLLOUT as Linux's sk_stream_is_writeable(): once the send buffer
 * filled, only when the free space is at least half what is queued.
 */
static int writable_a_third_free(void)
{
	static const struct es_step s[] = {
		HANDSHAKE_PASSIVE("mss=1460"),
		CALL(2, fill_6000),
		IN(3, F_ACK, 1, 1461, 65535, 0, NULL),
		CALL(3, room_not_writable), /* 4541 queued, 1459 free */
		IN(4, F_ACK, 1, 2001, 65535, 0, NULL),
		CALL(4, not_writable),	    /* 4001 queued, 1999 free */
		IN(5, F_ACK, 1, 2003, 65535, 0, NULL),
		CALL(5, writable_as_set),   /* 3999 queued, 2001 free */
		END,
	};

	return run(s, false);
}

/*
 * The send buffer the application did not size, in bytes of payload:
 * writes of a byte queue up to it exactly, and SO_SNDBUF reads it
 * undoubled.
 */
static int sndbuf_is(struct es *es, int want, int queued)
{
	struct vtcp_queues q;
	int v;

	if (vtcp_getopt(es->st, es->sock, VTCP_SNDBUF, &v) || v != want) {
		ktap_diag("SO_SNDBUF %d, expected %d", v, want);
		return -1;
	}
	for (v = queued; v < want; v++)
		if (vtcp_send(es->st, es->sock, "x", 1, 0) != 1)
			return -1;
	if (vtcp_get_queues(es->st, es->sock, &q) || q.outq != (uint32_t)want)
		return -1;
	return vtcp_send(es->st, es->sock, "x", 1, 0) != -EAGAIN;
}

/*
 * At the handshake: 10 segments (TCP_INIT_CWND) of 1024 + 256 bytes,
 * twice. A write that starts below the limit passes it whole (as Linux's
 * skb, whose memory is looked at as it starts): 25590 + 100 bytes.
 */
static int sndbuf_init_cwnd(struct es *es)
{
	static char buf[2 * 10 * 1280 - 10];
	int v;

	if (vtcp_getopt(es->st, es->sock, VTCP_SNDBUF, &v) || v != 2 * 10 * 1280 ||
	    vtcp_send(es->st, es->sock, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf))
		return -1;
	return vtcp_send(es->st, es->sock, buf, 100, 0) != 100 ||
	       vtcp_send(es->st, es->sock, buf, 1, 0) != -EAGAIN;
}

/* The first flight (10 x 400 bytes) acked: cwnd 20, and the buffer with it. */
static int sndbuf_cwnd_20(struct es *es)
{
	return sndbuf_is(es, 2 * 20 * 1280, 2 * 10 * 1280 + 90 - 4000);
}

/* The second (20 x 400) acked: cwnd 40 makes 102400, the stack's 64 KB caps it. */
static int sndbuf_capped(struct es *es)
{
	return sndbuf_is(es, 65536, 2 * 20 * 1280 - 8000);
}

/*
 * Linux's tcp_sndbuf_expand(): a send buffer the application did not size
 * starts at twice the memory of TCP_INIT_CWND segments and grows with cwnd
 * as ACKs free space; it bounds what a send queues. A segment's memory:
 * its MSS plus 576 rounded up to a power of two, plus 256.
 */
static int sndbuf_grows_with_cwnd(void)
{
	static const struct es_step s[] = {
		HANDSHAKE_PASSIVE("mss=400"),
		CALL(2, sndbuf_init_cwnd),
		IN(3, F_ACK, 1, 4001, 65535, 0, NULL),
		CALL(3, sndbuf_cwnd_20),
		IN(4, F_ACK, 1, 12001, 65535, 0, NULL),
		CALL(4, sndbuf_capped),
		END,
	};

	return run(s, false);
}

static int lowat_3000_send(struct es *es)
{
	static char buf[10000];

	if (vtcp_setopt(es->st, es->sock, VTCP_NOTSENT_LOWAT, 3000) ||
	    vtcp_send(es->st, es->sock, buf, sizeof(buf), 0) != 3000)
		return -1;
	return writable(es) || vtcp_send(es->st, es->sock, buf, 1, 0) != -EAGAIN;
}

/* 1024 bytes unsent: writable (2 x 1024 < 3000), and a send fills to the mark */
static int lowat_room_left(struct es *es)
{
	static char buf[10000];

	if (!writable(es) || vtcp_send(es->st, es->sock, buf, sizeof(buf), 0) != 1976)
		return -1;
	return writable(es);
}

/*
 * TCP_NOTSENT_LOWAT as Linux's: a write stops where the bytes the peer's
 * window has not taken reach the mark, and poll wants them under half of
 * it, however much room the send buffer has.
 */
static int notsent_lowat_bounds_writes(void)
{
	static const struct es_step s[] = {
		ACTIVE_SYNACK_2000,
		CALL(10, lowat_3000_send),
		WINDOW_2000_SENT,
		NONE(10),
		CALL(10, lowat_room_left),
		END,
	};

	return run(s, false);
}

/* Linux: EOF first (SOCK_DONE), the reset's EPIPE for SO_ERROR and send. */
static int eof_then_epipe(struct es *es)
{
	char b[8];

	if (vtcp_recv(es->st, es->sock, b, sizeof(b), 0) != 0 ||
	    vtcp_recv(es->st, es->sock, b, sizeof(b), 0) != 0)
		return -1;
	return vtcp_sock_error(es->st, es->sock) != EPIPE ||
	       vtcp_send(es->st, es->sock, b, 1, 0) != -EPIPE;
}

/* A reset in CLOSE_WAIT: reads still see the FIN's EOF. */
static int rst_after_fin(void)
{
	static const struct es_step s[] = {
		HANDSHAKE_PASSIVE("mss=1460"),
		IN(2, F_FIN | F_ACK, 1, 1, 65535, 0, NULL),
		OUT(2, F_ACK, 1, 2, ANY, 0, NULL),
		CALL(3, is_close_wait),
		IN(4, F_RST, 2, 0, 0, 0, NULL),
		CALL(4, is_closed),
		CALL(4, eof_then_epipe),
		END,
	};

	return run(s, false);
}

static int refuse_urgent(struct es *es)
{
	return vtcp_setopt(es->st, es->sock, VTCP_REFUSE_URGENT, 1);
}

/* The latest segment was refused: nothing taken, and the socket asks to move. */
static int urgent_refused(struct es *es)
{
	char b[32];

	if (es->refused != es->sock)
		ktap_diag("vtcp_input: %d, expected %d", es->refused, es->sock);
	return es->refused != es->sock || !(vtcp_events(es->st, es->sock) & VTCP_EV_URGENT) ||
	       vtcp_recv(es->st, es->sock, b, sizeof(b), 0) != -EAGAIN || is_established(es);
}

static int not_refused(struct es *es)
{
	if (es->refused != -1)
		ktap_diag("vtcp_input: %d, expected -1", es->refused);
	return es->refused != -1;
}

/* Cleared: the refusal ends (the host gives the frames again). */
static int urgent_inline(struct es *es)
{
	int on = -1;

	return vtcp_setopt(es->st, es->sock, VTCP_REFUSE_URGENT, 0) ||
	       vtcp_getopt(es->st, es->sock, VTCP_REFUSE_URGENT, &on) || on ||
	       (vtcp_events(es->st, es->sock) & VTCP_EV_URGENT);
}

static int recv_20(struct es *es)
{
	char b[32];

	return vtcp_recv(es->st, es->sock, b, sizeof(b), 0) != 20;
}

static int read_10_no_urgent(struct es *es)
{
	return read_10(es) || (vtcp_events(es->st, es->sock) & VTCP_EV_URGENT);
}

/*
 * VTCP_REFUSE_URGENT: a segment with urgent data, and the data after it,
 * are refused (no ACK, nothing to read, the state unchanged) and the
 * socket reports VTCP_EV_URGENT; a pure ACK is still taken. With the option
 * cleared, the same segments given again are taken inline.
 */
static int urgent_refused_then_inline(void)
{
	static const struct es_step s[] = {
		PASSIVE_PLAIN,
		CALL(10, refuse_urgent),
		IN(20, F_URG | F_PSH | F_ACK, 1, 1, 64240, 10, NULL),
		CALL(20, urgent_refused),
		IN(21, F_PSH | F_ACK, 11, 1, 64240, 10, NULL),
		CALL(21, urgent_refused),
		IN(22, F_ACK, 21, 1, 64240, 0, NULL),
		CALL(22, not_refused),
		NONE(500),
		CALL(500, urgent_inline),
		IN(500, F_URG | F_PSH | F_ACK, 1, 1, 64240, 10, NULL),
		CALL(500, not_refused),
		OUT(500, F_ACK, 1, 11, ANY, 0, NULL),
		IN(501, F_PSH | F_ACK, 11, 1, 64240, 10, NULL),
		OUT(501, F_ACK, 1, 21, ANY, 0, NULL),
		CALL(501, recv_20),
		END,
	};

	return run(s, false);
}

/* Without the option urgent data is taken inline, as ever. */
static int urgent_inline_by_default(void)
{
	static const struct es_step s[] = {
		PASSIVE_PLAIN,
		IN(20, F_URG | F_PSH | F_ACK, 1, 1, 64240, 10, NULL),
		CALL(20, not_refused),
		OUT(20, F_ACK, 1, 11, ANY, 0, NULL),
		CALL(20, read_10_no_urgent),
		END,
	};

	return run(s, false);
}

/*
 * Nothing to refuse where the application can no longer read: after the
 * peer's FIN, and once the socket is closed (data for a closed socket
 * resets the connection, as before).
 */
static int urgent_not_refused_after_fin_or_close(void)
{
	static const struct es_step s[] = {
		PASSIVE_PLAIN,
		CALL(10, refuse_urgent),
		IN(20, F_FIN | F_ACK, 1, 1, 64240, 0, NULL),
		OUT(20, F_ACK, 1, 2, ANY, 0, NULL),
		IN(21, F_URG | F_PSH | F_ACK, 2, 1, 64240, 10, NULL),
		CALL(21, not_refused),
		CALL(22, is_close_wait),
		END,
	};
	static const struct es_step closed[] = {
		PASSIVE_PLAIN,
		CALL(10, refuse_urgent),
		CALL(10, do_close),
		OUT(10, F_FIN | F_ACK, 1, 1, ANY, 0, NULL),
		IN(20, F_URG | F_PSH | F_ACK, 1, 2, 64240, 10, NULL),
		CALL(20, not_refused),
		OUT(20, F_RST | F_ACK, 2, 1, ANY, 0, NULL),
		END,
	};

	return run(s, false) == KTAP_PASS ? run(closed, false) : KTAP_FAIL;
}

static const struct ktap_case cases[] = {
	{ "export_and_release_moved", export_and_release, 0 },
	{ "orphan_handed_over", orphan_handed_over, 0 },
	{ "hup_after_own_shutdowns", hup_after_own_shutdowns, 0 },
	{ "reset_in_accept_queue", reset_in_accept_queue, 0 },
	{ "ack_when_pushed_data_read", ack_when_pushed_data_read, 0 },
	{ "connect_refused_then_again", connect_refused_then_again, 0 },
	{ "passive_all_options", passive_all_options, 0 },
	{ "info_counters_as_linux", info_counters, 0 },
	{ "sysctls_apply_at_connect", sysctls_at_connect, 0 },
	{ "passive_no_options", passive_no_options, 0 },
	{ "active_handshake", active_handshake, 0 },
	{ "window_clamp_syn", window_clamp, 0 },
	{ "active_v6", active_v6, 0 },
	{ "synack_window_unscaled", synack_window_unscaled, 0 },
	{ "connect_refused", connect_refused, 0 },
	{ "syn_retries", syn_retries, 0 },
	{ "syncnt_bounds_syn_retries", syncnt_bounds_syn_retries, 0 },
	{ "syncnt_bounds_synack_retries", syncnt_bounds_synack_retries, 0 },
	{ "linger2_orphan_timeout", linger2_orphan_timeout, 0 },
	{ "defer_accept_data_completes", defer_accept_data_completes, 0 },
	{ "dscp_ttl_follow_options", dscp_ttl_follow_options, 0 },
	{ "congestion_per_socket", congestion_per_socket, 0 },
	{ "defer_accept_last_synack", defer_accept_last_synack, 0 },
	{ "linger2_none_orphan", linger2_none_orphan, 0 },
	{ "linger2_none_close_in_fin_wait2", linger2_none_close_in_fin_wait2, 0 },
	{ "simultaneous_open", simultaneous_open, 0 },
	{ "max_pacing_rate_spaces_packets", max_pacing_rate_spaces_packets, 0 },
	{ "defer_accept_client_ack_with_data", defer_accept_client_ack_with_data, 0 },
	{ "defer_accept_client_ack_alone", defer_accept_client_ack_alone, 0 },
	{ "simultaneous_close", simultaneous_close, 0 },
	{ "conn_state_by_tuple", conn_state_by_tuple, 0 },
	{ "half_close_time_wait", half_close, 0 },
	{ "rst_in_window_challenge", rst_in_window, 0 },
	{ "syn_in_established_challenge", syn_in_established, 0 },
	{ "ack_unsent_data", ack_too_old_or_new, 0 },
	{ "rst_outgoing_abort", rst_outgoing, 0 },
	{ "closed_port_rst", closed_port, 0 },
	{ "closed_port_rst_v6", closed_port_v6, 0 },
	{ "paws", paws, 0 },
	{ "timewait_reuse", timewait_reuse, 0 },
	{ "timewait_active_reuse", timewait_active_reuse, 0 },
	{ "events_peek_consume_bufs", events_and_peek, 0 },
	{ "timewait_recycled_when_full", timewait_recycled_when_full, 0 },
	{ "writable_a_third_free", writable_a_third_free, 0 },
	{ "sndbuf_grows_with_cwnd", sndbuf_grows_with_cwnd, 0 },
	{ "notsent_lowat_bounds_writes", notsent_lowat_bounds_writes, 0 },
	{ "rst_after_fin_eof_then_epipe", rst_after_fin, 0 },
	{ "urgent_refused_then_inline", urgent_refused_then_inline, 0 },
	{ "urgent_inline_by_default", urgent_inline_by_default, 0 },
	{ "urgent_not_refused_after_fin_or_close", urgent_not_refused_after_fin_or_close, 0 },
};

KTAP_MAIN(cases)
