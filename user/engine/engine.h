/* SPDX-License-Identifier: GPL-2.0 */
/*
 * velo TCP/IP engine: public API (sans-I/O).
 *
 * The engine never performs I/O and never reads a clock. A host drives it:
 *
 *   st = vtcp_stack_create(&cfg);           all memory is allocated here
 *   vtcp_addr_add(st, &my_ip, plen);         addresses/neighbours/routes come
 *   vtcp_neigh_set(st, &gw_ip, mac);         from the kernel, via the host
 *   for (;;) {
 *       vtcp_input(st, frame, len, now);    for every received Ethernet frame
 *       vtcp_poll(st, now, tx, ctx);         emits frames through tx(), runs
 *                                            timers, reports readiness changes
 *       sleep until vtcp_next_deadline(st) or the next frame
 *   }
 *
 * Socket calls (vtcp_connect, vtcp_send, ...) act at the time last passed to
 * vtcp_input()/vtcp_poll(); their output leaves at the next vtcp_poll().
 * Sockets are small integers (handles); errors are negative errno values,
 * the same ones Linux returns for the equivalent socket call.
 */
#ifndef VELO_ENGINE_H
#define VELO_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#define VTCP_API __attribute__((visibility("default")))

struct vtcp_stack;

/* A route as the host's routing table gives it for one destination. */
struct vtcp_route {
	struct sockaddr_storage nexthop; /* AF_UNSPEC: destination is on-link */
	struct sockaddr_storage src;	 /* AF_UNSPEC: engine picks a local address */
	uint32_t mtu;			 /* 0: the link MTU */
};

/* Returns 0 and fills *rt, or -ENETUNREACH / -EHOSTUNREACH. */
typedef int (*vtcp_route_fn)(void *ctx, const struct sockaddr *dst,
			     struct vtcp_route *rt);
/* Receives one frame to put on the wire; the buffer is only valid during the call. */
typedef void (*vtcp_tx_fn)(void *ctx, const void *frame, size_t len);
/* A socket's readiness (VTCP_EV_*) changed; called from vtcp_poll(). */
typedef void (*vtcp_event_fn)(void *ctx, int sock, unsigned int events);

struct vtcp_config {
	unsigned int max_sockets;  /* control blocks, incl. TIME_WAIT and embryonic */
	uint32_t sndbuf_max;	   /* per-socket send buffer pool, bytes */
	uint32_t rcvbuf_max;	   /* per-socket receive buffer pool, bytes */
	/*
	 * The receive window the window scale is chosen for, as Linux's
	 * max(net.ipv4.tcp_rmem[2], net.core.rmem_max); 0: rcvbuf_max.
	 */
	uint32_t wscale_space;
	/*
	 * net.ipv4.tcp_rmem[1], a socket's receive buffer unless SO_RCVBUF:
	 * Linux's SYN offers half of it, in whole segments, at most 65535.
	 * 0: 131072.
	 */
	uint32_t rmem_default;
	/*
	 * net.ipv4.tcp_wmem[1], a socket's send buffer until it connects
	 * unless SO_SNDBUF: then it grows with cwnd (VTCP_SNDBUF). 0: 16384.
	 */
	uint32_t wmem_default;
	uint8_t mac[6];		   /* the link's address */
	uint32_t ifindex;	   /* the link's index: scope id of link-local addresses */
	uint32_t mtu;		   /* the link MTU (IP bytes) */
	uint8_t isn_secret[16];	   /* RFC 6528 key, from the host's random source */
	/* Linux sysctl equivalents; 0 takes Linux's default. */
	uint32_t keepalive_time_s;   /* net.ipv4.tcp_keepalive_time (7200) */
	uint32_t keepalive_intvl_s;  /* net.ipv4.tcp_keepalive_intvl (75) */
	uint32_t keepalive_probes;   /* net.ipv4.tcp_keepalive_probes (9) */
	uint32_t syn_retries;	     /* net.ipv4.tcp_syn_retries (6) */
	uint32_t synack_retries;     /* net.ipv4.tcp_synack_retries (5) */
	uint32_t retries2;	     /* net.ipv4.tcp_retries2 (15) */
	uint32_t fin_timeout_s;	     /* net.ipv4.tcp_fin_timeout (60) */
	uint32_t ip_ttl;	     /* net.ipv4.ip_default_ttl (64) */
	uint32_t ipv6_hop_limit;     /* net.ipv6.conf.all.hop_limit (64) */
	int no_sack;		     /* !net.ipv4.tcp_sack */
	int no_timestamps;	     /* !net.ipv4.tcp_timestamps */
	int no_window_scaling;	     /* !net.ipv4.tcp_window_scaling */
	int ecn;		     /* net.ipv4.tcp_ecn: 1 request+accept, 2 accept (Linux's default), 0 never */
	const char *congestion_control; /* "cubic" (default) or "reno" */
	vtcp_route_fn route;	     /* NULL: every destination on-link */
	void *route_ctx;
	vtcp_event_fn on_event;	     /* optional */
	void *event_ctx;
	/*
	 * !net.ipv6.bindv6only: 1 makes new AF_INET6 sockets dual-stack, as
	 * Linux's default. 0 (hosts written before this field) keeps them
	 * IPv6-only; VTCP_V6ONLY sets either per socket.
	 */
	int ipv6_dual_stack;
	uint32_t orphan_retries;     /* net.ipv4.tcp_orphan_retries (0: 8, as Linux) */
	uint32_t notsent_lowat;	     /* net.ipv4.tcp_notsent_lowat (0: no mark, as Linux's UINT_MAX) */
};

/* Readiness, as poll(2) would see it. */
#define VTCP_EV_READABLE 0x01u /* data, EOF or a connection to accept */
#define VTCP_EV_WRITABLE 0x02u
#define VTCP_EV_RDHUP	 0x04u /* peer sent FIN */
#define VTCP_EV_HUP	 0x08u /* both directions closed or reset */
#define VTCP_EV_ERR	 0x10u /* vtcp_sock_error() has an error */
/*
 * Urgent data came and was refused (VTCP_REFUSE_URGENT): the socket asks to
 * be moved to a TCP stack that has urgent data. Set until the move, or
 * until the option is cleared.
 */
#define VTCP_EV_URGENT	 0x20u

/* Linux's TCP state numbers (as in tcp_info.tcpi_state). */
enum vtcp_state {
	VTCP_ESTABLISHED = 1,
	VTCP_SYN_SENT,
	VTCP_SYN_RECV,
	VTCP_FIN_WAIT1,
	VTCP_FIN_WAIT2,
	VTCP_TIME_WAIT,
	VTCP_CLOSE,
	VTCP_CLOSE_WAIT,
	VTCP_LAST_ACK,
	VTCP_LISTEN,
	VTCP_CLOSING,
};

/* Integer socket options; values as setsockopt(2) takes them. */
enum vtcp_opt {
	VTCP_NODELAY,	   /* TCP_NODELAY */
	VTCP_CORK,	   /* TCP_CORK */
	VTCP_KEEPALIVE,	   /* SO_KEEPALIVE */
	VTCP_KEEPIDLE,	   /* TCP_KEEPIDLE, seconds */
	VTCP_KEEPINTVL,	   /* TCP_KEEPINTVL, seconds */
	VTCP_KEEPCNT,	   /* TCP_KEEPCNT */
	VTCP_USER_TIMEOUT, /* TCP_USER_TIMEOUT, milliseconds */
	VTCP_RCVBUF,	   /* SO_RCVBUF (doubled and clamped, as Linux does) */
	VTCP_SNDBUF,	   /* SO_SNDBUF (likewise); unset, it reads the size Linux
			    * would have grown it to, which bounds what is queued */
	VTCP_MAXSEG,	   /* TCP_MAXSEG, before connect/listen */
	VTCP_ECN,	   /* 1: negotiate ECN on this socket */
	VTCP_FLOWLABEL,	   /* IPv6 flow label (20 bits); 0: derived from the flow */
	VTCP_QUICKACK,	   /* TCP_QUICKACK */
	VTCP_REUSEADDR,	   /* SO_REUSEADDR (inherited by accepted sockets) */
	VTCP_V6ONLY,	   /* IPV6_V6ONLY, before bind: 0 lets an AF_INET6 socket
			    * bound to :: take IPv4 too, as ::ffff:a.b.c.d */
	VTCP_REFUSE_URGENT, /* 1: urgent data is refused, see vtcp_input(); 0 (the
			     * default) takes it inline and ends a refusal */
	VTCP_NOTSENT_LOWAT, /* TCP_NOTSENT_LOWAT, bytes (as unsigned); 0: the
			     * stack's notsent_lowat */
	VTCP_WINDOW_CLAMP, /* TCP_WINDOW_CLAMP: the largest window offered, bytes;
			    * 0 (unconnected only): none */
	VTCP_SYNCNT,	   /* TCP_SYNCNT, 1..127: SYN retransmissions, and a
			    * listener's SYN-ACK ones; unset: the stack's */
	VTCP_LINGER2,	   /* TCP_LINGER2, seconds (at most 120) an orphan waits
			    * in FIN_WAIT2; 0: fin_timeout; < 0: none, it aborts */
	VTCP_DEFER_ACCEPT, /* TCP_DEFER_ACCEPT, seconds a listener's handshake
			    * waits for data; reads as the SYN-ACK schedule
			    * rounds it up (1, 3, 7, ... s); 0: none */
	VTCP_TOS,	   /* IP_TOS / IPV6_TCLASS: the DSCP of every segment
			    * (the ECN bits stay the stack's) */
	VTCP_TTL,	   /* IP_TTL / IPV6_UNICAST_HOPS, 1..255; < 1: the stack's */
	VTCP_REUSEPORT,	   /* SO_REUSEPORT: listeners that all set it share a
			    * port, each SYN going to one by its 4-tuple's hash */
};

/* send/recv flags */
#define VTCP_MSG_MORE 0x1u /* MSG_MORE */
#define VTCP_MSG_PEEK 0x2u /* MSG_PEEK */

/*
 * Same layout and units as the head of Linux's struct tcp_info (through
 * tcpi_total_retrans), so a host can hand it to getsockopt(TCP_INFO) callers.
 */
struct vtcp_info {
	uint8_t tcpi_state;
	uint8_t tcpi_ca_state;
	uint8_t tcpi_retransmits;
	uint8_t tcpi_probes;
	uint8_t tcpi_backoff;
	uint8_t tcpi_options;
	uint8_t tcpi_snd_wscale : 4, tcpi_rcv_wscale : 4;
	uint8_t tcpi_delivery_rate_app_limited : 1, tcpi_fastopen_client_fail : 2;
	uint32_t tcpi_rto;	/* us */
	uint32_t tcpi_ato;	/* us */
	uint32_t tcpi_snd_mss;
	uint32_t tcpi_rcv_mss;
	uint32_t tcpi_unacked;	/* segments */
	uint32_t tcpi_sacked;
	uint32_t tcpi_lost;
	uint32_t tcpi_retrans;
	uint32_t tcpi_fackets;
	uint32_t tcpi_last_data_sent; /* ms ago */
	uint32_t tcpi_last_ack_sent;
	uint32_t tcpi_last_data_recv;
	uint32_t tcpi_last_ack_recv;
	uint32_t tcpi_pmtu;
	uint32_t tcpi_rcv_ssthresh;
	uint32_t tcpi_rtt;	/* us */
	uint32_t tcpi_rttvar;	/* us */
	uint32_t tcpi_snd_ssthresh;
	uint32_t tcpi_snd_cwnd;	/* segments */
	uint32_t tcpi_advmss;
	uint32_t tcpi_reordering;
	uint32_t tcpi_rcv_rtt;
	uint32_t tcpi_rcv_space;
	uint32_t tcpi_total_retrans;
	/* Linux 4.1 to 6.7's additions, same names and units */
	uint64_t tcpi_pacing_rate;     /* bytes/s */
	uint64_t tcpi_max_pacing_rate; /* ~0: none */
	uint64_t tcpi_bytes_acked;
	uint64_t tcpi_bytes_received;
	uint32_t tcpi_segs_out;
	uint32_t tcpi_segs_in;
	uint32_t tcpi_notsent_bytes;
	uint32_t tcpi_min_rtt;	       /* us; ~0: none yet */
	uint32_t tcpi_data_segs_in;
	uint32_t tcpi_data_segs_out;
	uint64_t tcpi_delivery_rate;   /* not measured: 0 */
	uint64_t tcpi_busy_time;       /* us with data to send */
	uint64_t tcpi_rwnd_limited;    /* us of it held by the peer's window */
	uint64_t tcpi_sndbuf_limited;  /* us of it held by the send buffer */
	uint32_t tcpi_delivered;
	uint32_t tcpi_delivered_ce;
	uint64_t tcpi_bytes_sent;
	uint64_t tcpi_bytes_retrans;
	uint32_t tcpi_dsack_dups;
	uint32_t tcpi_reord_seen;
	uint32_t tcpi_rcv_ooopack;
	uint32_t tcpi_snd_wnd;
	uint32_t tcpi_rcv_wnd;
	uint32_t tcpi_rehash;
	uint16_t tcpi_total_rto;
	uint16_t tcpi_total_rto_recoveries;
	uint32_t tcpi_total_rto_time;  /* not measured: 0 */
};

/* tcpi_options bits, as Linux */
#define VTCP_OPT_TIMESTAMPS 1
#define VTCP_OPT_SACK	    2
#define VTCP_OPT_WSCALE	    4
#define VTCP_OPT_ECN	    8

/* Stack */
VTCP_API struct vtcp_stack *vtcp_stack_create(const struct vtcp_config *cfg);
VTCP_API void vtcp_stack_destroy(struct vtcp_stack *st);
/*
 * Takes @cfg's sysctl equivalents (wscale_space, rmem_default, keepalive_time_s
 * through ipv6_dual_stack, orphan_retries) as the stack's from now on: as
 * Linux reads its sysctls when a connection opens or a timer runs, the host
 * calls this when they may have changed.
 */
VTCP_API void vtcp_set_sysctls(struct vtcp_stack *st, const struct vtcp_config *cfg);
VTCP_API int vtcp_addr_add(struct vtcp_stack *st, const struct sockaddr *addr);
VTCP_API int vtcp_addr_del(struct vtcp_stack *st, const struct sockaddr *addr);
/* mac NULL removes the entry. */
VTCP_API int vtcp_neigh_set(struct vtcp_stack *st, const struct sockaddr *ip,
			    const uint8_t *mac);
/*
 * The host could not resolve next hop @ip: connections with a segment
 * waiting for it hear "host unreachable" (those still opening fail).
 */
VTCP_API int vtcp_neigh_failed(struct vtcp_stack *st, const struct sockaddr *ip);

/*
 * Datapath. vtcp_input() returns -1, or the socket that refused the frame:
 * the engine has no urgent data (the URG flag, the urgent pointer), so a
 * socket with VTCP_REFUSE_URGENT set leaves a segment that brings urgent
 * data, and every segment after it that brings new data or a FIN, as if it
 * had never come (no data taken, no ACK, no state change), and reports
 * VTCP_EV_URGENT. The host moves the connection to a stack that has urgent
 * data (vtcp_export(), then vtcp_release_moved()) and gives it the refused
 * frames; or clears the option and gives them to vtcp_input() again, which
 * takes them inline. Only while the application can read (ESTABLISHED,
 * FIN_WAIT1/2, not shut for reading, not closed): urgent data after the
 * peer's FIN cannot be, and a closed socket's goes inline as before.
 */
VTCP_API int vtcp_input(struct vtcp_stack *st, const void *frame, size_t len,
			uint64_t now_ns);
/* Runs due timers and emits every pending frame; returns how many. */
VTCP_API int vtcp_poll(struct vtcp_stack *st, uint64_t now_ns, vtcp_tx_fn tx,
		       void *ctx);
/* Absolute time at which vtcp_poll() has work; UINT64_MAX: none. */
VTCP_API uint64_t vtcp_next_deadline(struct vtcp_stack *st);

/* Sockets */
VTCP_API int vtcp_socket(struct vtcp_stack *st, int family);
VTCP_API int vtcp_bind(struct vtcp_stack *st, int s, const struct sockaddr *a,
		       socklen_t len);
VTCP_API int vtcp_listen(struct vtcp_stack *st, int s, int backlog);
VTCP_API int vtcp_accept(struct vtcp_stack *st, int s, struct sockaddr *peer,
			 socklen_t *len);
/*
 * -ENOTCONN: an attempt on this handle failed and was reported; Linux's
 * socket would try again, which takes a new handle here.
 */
VTCP_API int vtcp_connect(struct vtcp_stack *st, int s,
			  const struct sockaddr *a, socklen_t len);
VTCP_API ssize_t vtcp_send(struct vtcp_stack *st, int s, const void *buf,
			   size_t len, unsigned int flags);
VTCP_API ssize_t vtcp_recv(struct vtcp_stack *st, int s, void *buf, size_t len,
			   unsigned int flags);
/* Zero-copy receive: up to two spans of in-order data, then consume. */
VTCP_API ssize_t vtcp_recv_peek(struct vtcp_stack *st, int s,
				const void **p1, size_t *l1,
				const void **p2, size_t *l2);
VTCP_API int vtcp_recv_consume(struct vtcp_stack *st, int s, size_t n);
VTCP_API int vtcp_shutdown(struct vtcp_stack *st, int s, int how);
/*
 * Graceful close; the handle is freed at once and the connection finishes
 * in the background (FIN, FIN_WAIT_2 timeout, TIME_WAIT). Unread data or
 * SO_LINGER {1,0} make it abortive (RST), as on Linux. A blocking linger
 * {1,t>0} is the host's to implement: poll vtcp_get_info() before closing.
 */
VTCP_API int vtcp_close(struct vtcp_stack *st, int s);
/* Send RST and free the handle. */
VTCP_API int vtcp_abort(struct vtcp_stack *st, int s);

VTCP_API int vtcp_setopt(struct vtcp_stack *st, int s, enum vtcp_opt opt,
			 int val);
/* The name of the socket's congestion control; NULL for a bad handle. */
VTCP_API const char *vtcp_congestion(struct vtcp_stack *st, int s);
VTCP_API int vtcp_getopt(struct vtcp_stack *st, int s, enum vtcp_opt opt,
			 int *val);
/*
 * SO_MAX_PACING_RATE, bytes per second; ~0: no limit. Any other value
 * paces the socket from then on, as Linux's SK_PACING_NEEDED.
 */
VTCP_API int vtcp_set_max_pacing_rate(struct vtcp_stack *st, int s, uint64_t rate);
VTCP_API int vtcp_set_linger(struct vtcp_stack *st, int s, int onoff,
			     int seconds);
/*
 * TCP_CONGESTION: "cubic" or "reno" (another starts afresh, cwnd kept);
 * -ENOENT for a name the engine lacks, and the socket keeps its own.
 */
VTCP_API int vtcp_set_cc(struct vtcp_stack *st, int s, const char *name);
VTCP_API int vtcp_get_info(struct vtcp_stack *st, int s, struct vtcp_info *ti);
/*
 * Queue sizes in bytes, as Linux's SIOCINQ, SIOCOUTQ and SIOCOUTQNSD: to
 * read, written and not yet acknowledged, written and not yet sent. 0 while
 * the handshake is on; -EINVAL for a listener.
 */
struct vtcp_queues {
	uint32_t inq, outq, notsent;
};
VTCP_API int vtcp_get_queues(struct vtcp_stack *st, int s, struct vtcp_queues *q);
VTCP_API unsigned int vtcp_events(struct vtcp_stack *st, int s);
/* The socket's state (enum vtcp_state), -EBADF for no socket. */
VTCP_API int vtcp_sock_state(struct vtcp_stack *st, int s);
/* SO_ERROR: returns and clears the pending error (positive errno or 0). */
VTCP_API int vtcp_sock_error(struct vtcp_stack *st, int s);
/*
 * The state (enum vtcp_state) of the connection on that 4-tuple, handles
 * and orphans alike; -ENOENT when the engine has none (never was, freed,
 * or moved to another stack).
 */
VTCP_API int vtcp_conn_state(struct vtcp_stack *st, const struct sockaddr *local,
			     const struct sockaddr *remote);
VTCP_API int vtcp_getsockname(struct vtcp_stack *st, int s, struct sockaddr *a,
			      socklen_t *len);
VTCP_API int vtcp_getpeername(struct vtcp_stack *st, int s, struct sockaddr *a,
			      socklen_t *len);

/*
 * A connection as another TCP stack needs it to take it over (Linux's
 * TCP_REPAIR), read by vtcp_export(). Sequence numbers leave out SYN and
 * FIN. The spans point into the engine and are valid until its next call.
 */
struct vtcp_export {
	uint8_t state;
	bool fin_rcvd;		/* the peer's FIN came: after rcv's data */
	bool fin_sent;		/* ours went: after snd's data */
	bool shut_wr;		/* shutdown(SHUT_WR): our FIN follows snd's data */
	bool shut_rd;		/* shutdown(SHUT_RD) */
	uint32_t snd_seq;	/* snd's first byte: the oldest unacknowledged */
	uint32_t snd_una;	/* what the peer acknowledged (our FIN too) */
	uint32_t snd_sent;	/* bytes of snd sent at least once */
	uint32_t rcv_seq;	/* rcv's first byte: the oldest unread */
	uint32_t snd_wl1, snd_wnd, max_window; /* bytes */
	uint32_t rcv_wnd;	/* bytes advertised past rcv's end */
	uint16_t mss;		/* before the timestamp option, as the peer's MSS */
	bool ws_ok, sack_ok, ts_ok;
	uint8_t snd_wscale, rcv_wscale;
	uint32_t tsval, ts_recent;
	const void *snd[2], *rcv[2];
	uint32_t snd_len[2], rcv_len[2];
	struct sockaddr_storage local, remote;
	socklen_t addr_len;
};
/*
 * -ENOTCONN unless the handshake is over and there was no reset: the
 * synchronized states, TIME_WAIT, and CLOSED after both FINs. @s may also
 * be an orphan's handle (vtcp_orphan_next), as for vtcp_release_moved.
 */
VTCP_API int vtcp_export(struct vtcp_stack *st, int s, struct vtcp_export *x);
/*
 * The next orphan after handle @after (-1: the first), or -1: a
 * connection the application closed that still owes the peer data or a
 * FIN, or an ACK of the peer's (FIN_WAIT1/2, CLOSING, LAST_ACK; not
 * reset). A host that ends while they go on can hand them over.
 */
VTCP_API int vtcp_orphan_next(struct vtcp_stack *st, int after);
/*
 * Frees handle @s without a segment: its connection went to another stack.
 * Segments of its 4-tuple that still reach the engine are dropped, neither
 * answered nor reset, for a few seconds.
 */
VTCP_API int vtcp_release_moved(struct vtcp_stack *st, int s);

#endif /* VELO_ENGINE_H */
