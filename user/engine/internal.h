/* SPDX-License-Identifier: GPL-2.0 */
/* velo TCP/IP engine: structures and helpers shared by the engine's files. */
#ifndef VELO_ENGINE_INTERNAL_H
#define VELO_ENGINE_INTERNAL_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "engine/engine.h"

#define NS_PER_MS 1000000ull
#define NS_PER_US 1000ull
#define NS_PER_S  1000000000ull
#define NO_DEADLINE UINT64_MAX

#define SEQ_LT(a, b) ((int32_t)((a) - (b)) < 0)
#define SEQ_LEQ(a, b) ((int32_t)((a) - (b)) <= 0)
#define SEQ_GT(a, b) SEQ_LT(b, a)
#define SEQ_GEQ(a, b) SEQ_LEQ(b, a)

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* Linux constants the peer expects us to share. */
#define TCP_RTO_MIN_NS	 (200 * NS_PER_MS)
#define TCP_RTO_MAX_NS	 (120 * NS_PER_S)
#define TCP_RTO_INIT_NS	 (1 * NS_PER_S)
#define TCP_DELACK_NS	 (40 * NS_PER_MS)
#define TCP_DELACK_MAX_NS (200 * NS_PER_MS)
#define TCP_TW_NS	 (60 * NS_PER_S) /* TCP_TIMEWAIT_LEN: 2MSL as Linux */
#define TCP_INIT_CWND	 10
#define TCP_QUICKACKS	 16
#define TCP_MSS_DEFAULT	 536
#define TCP_MIN_WINDOW_CLAMP 1152 /* Linux's SOCK_MIN_RCVBUF / 2 */
#define TCP_MAX_SYNCNT 127	   /* Linux's MAX_TCP_SYNCNT */
#define TCP_FIN_TIMEOUT_MAX_S 120  /* Linux's TCP_FIN_TIMEOUT_MAX */
#define TCP_MSS6_DEFAULT 1220
#define TCP_MAX_WSCALE	 14
#define TCP_PAWS_24DAYS_NS (24ull * 86400 * NS_PER_S)
#define TCP_OOO_MAX	 32 /* receive-side out-of-order ranges (and SACK blocks) */
#define TCP_REORDERING	 3   /* net.ipv4.tcp_reordering */
#define TCP_MAX_REORDERING 300 /* net.ipv4.tcp_max_reordering */

#define ETH_HLEN 14
#define IP4_HLEN 20
#define IP6_HLEN 40
#define TCP_HLEN 20
#define TCP_OPT_MAX 40
#define CTL_FRAME_MAX 128 /* largest control frame: eth + ip6 + tcp + options */
#define CTL_QUEUE 64

/* TCP header flags */
#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_PSH 0x08
#define TH_ACK 0x10
#define TH_URG 0x20
#define TH_ECE 0x40
#define TH_CWR 0x80

/* An IP address: v4 in a[0..3]. */
struct vaddr {
	uint8_t fam; /* 4 or 6; 0 = unspecified */
	uint8_t a[16];
	uint32_t scope;
};

/* Byte ring: a socket's send or receive buffer. */
struct ring {
	uint8_t *buf;
	uint32_t cap;
	uint32_t head; /* index of the first byte */
	uint32_t len;  /* bytes held from head */
	uint32_t hiwat; /* bytes from buf ever written since ring_init */
};

void ring_init(struct ring *r, uint8_t *mem, uint32_t cap);
uint32_t ring_write_at(struct ring *r, uint32_t off, const void *src, uint32_t n);
void ring_read_at(const struct ring *r, uint32_t off, void *dst, uint32_t n);
void ring_pop(struct ring *r, uint32_t n);
void ring_release(struct ring *r);
/* Spans covering [off, off+n) without copying. */
void ring_spans(const struct ring *r, uint32_t off, uint32_t n,
		const uint8_t **p1, uint32_t *l1, const uint8_t **p2, uint32_t *l2);

/* Parsed TCP options. */
struct tcp_opts {
	bool mss_ok, ws_ok, sack_ok, ts_ok;
	uint16_t mss;
	uint8_t ws;
	uint32_t tsval, tsecr;
	uint8_t nsack;
	uint32_t sack[4][2];
};
bool tcp_opts_parse(const uint8_t *p, unsigned int len, bool syn,
		    struct tcp_opts *o);
/* Writes options (padded to 4 bytes); returns their length. */
unsigned int tcp_opts_build(uint8_t *p, const struct tcp_opts *o, bool syn);

#define PUSH_MARKS 16

/* A segment sent and not yet cumulatively acknowledged. */
struct txseg {
	uint32_t seq, end; /* end includes SYN/FIN */
	uint64_t xmit_ns;  /* last (re)transmission */
	uint8_t flags;
};
#define SEG_SACKED  0x01
#define SEG_LOST    0x02
#define SEG_RETRANS 0x04 /* retransmitted since marked lost */
#define SEG_EVER_RT 0x08 /* ever retransmitted: Karn */
#define SEG_FIN	    0x10
#define SEG_PSH	    0x20 /* sent with PSH: resent so, as Linux's skb keeps the flag */

struct seq_range {
	uint32_t start, end;
	uint32_t stamp; /* recency, for SACK block order */
};

/* Linux's congestion-avoidance states (tcpi_ca_state) */
enum { CA_OPEN, CA_DISORDER, CA_CWR, CA_RECOVERY, CA_LOSS };

struct tcb;
struct cc_ops {
	const char *name;
	void (*init)(struct tcb *tp);
	/* ssthresh on a congestion event */
	uint32_t (*ssthresh)(struct tcb *tp, uint64_t now);
	/* acked: segments newly acked in CA_OPEN/CA_DISORDER */
	void (*cong_avoid)(struct tcb *tp, uint32_t acked, uint64_t now);
	void (*on_rto)(struct tcb *tp);
};
extern const struct cc_ops cc_newreno, cc_cubic;
const struct cc_ops *cc_find(const char *name);
/* Slow start shared by both algorithms; returns segments left over. */
uint32_t cc_slow_start(struct tcb *tp, uint32_t acked);
/* Reno additive increase by acked segments with window w. */
void cc_ai(struct tcb *tp, uint32_t w, uint32_t acked);

struct cubic_state {
	double w_max, k, origin;
	uint64_t epoch_ns;
	uint32_t last_max_cwnd;
	double w_est;
};

struct tcb {
	bool used;
	bool orphan;   /* the application closed its handle */
	bool ack_now;  /* an ACK must go out at the next poll */
	bool want_tx;  /* output may have something to send */
	bool hashed;
	uint8_t state;
	int parent;    /* listener of an unaccepted child, else -1 */
	int aq_next;   /* accept queue / free list link */
	int hnext;     /* hash chain */
	int pnext, pprev; /* chain of bound sockets sharing lport */
	int lnext;     /* list of listeners */
	bool listed;   /* on the listener list */
	int backlog, nchild, aq_head, aq_tail, naq;

	struct vaddr laddr, raddr;
	uint16_t lport, rport;
	bool bound;
	bool v6only;	/* IPV6_V6ONLY of an AF_INET6 socket */
	bool v4mapped;	/* an AF_INET6 socket carrying IPv4: addresses show as ::ffff:a.b.c.d */

	/* route */
	struct vaddr nexthop;
	uint32_t pmtu;
	uint32_t flowlabel;

	/* send sequence space */
	uint32_t iss, snd_una, snd_nxt, snd_wnd, max_snd_wnd, snd_wl1, snd_wl2;
	uint32_t sndq_seq; /* sequence number of sndq's first byte */
	uint32_t snd_sml;  /* end of the last small segment sent (Nagle) */
	bool fin_queued, fin_sent;
	bool connect_unseen; /* the handshake connect() started ended, unreported */
	bool synced;	     /* the handshake completed once */
	uint32_t fin_seq;  /* our FIN's sequence number once sent */
	/* receive sequence space */
	uint32_t irs, rcv_nxt, rcv_adv; /* rcv_adv: right edge last advertised */
	uint32_t rcv_wnd;		/* the window last advertised, bytes */
	bool fin_rcvd;			/* peer's FIN consumed (rcv_nxt past it) */
	bool ooo_fin;
	uint32_t ooo_fin_seq;
	uint32_t rcv_wnd_cap;		/* autotuned: half the receive buffer */
	uint32_t rcv_ssthresh;		/* the window's limit, grown per segment */
	uint32_t rcvq_copied;
	uint64_t rcvq_space_ns;

	/* negotiated options */
	bool ts_ok, sack_ok, ws_ok, ecn_ok;
	uint8_t snd_wscale, rcv_wscale;
	uint32_t ts_recent, ts_offset;
	uint64_t ts_recent_ns;
	uint16_t mss, adv_mss, rcv_mss, user_mss;

	struct ring sndq, rcvq;
	struct txseg *segs;
	uint32_t seg_cap, seg_head, seg_cnt;
	uint32_t packets_out, sacked_out, lost_out, retrans_out;
	uint32_t high_sacked; /* end of the highest SACKed segment, while sacked_out */
	uint32_t reordering;  /* tcpi_reordering: most reordering seen, in segments */
	struct seq_range ooo[TCP_OOO_MAX];
	uint8_t nooo;
	uint32_t ooo_stamp;
	bool dsack;
	uint32_t dsack_start, dsack_end;

	/* RTT and retransmission */
	uint32_t srtt_us, rttvar_us, min_rtt_us;
	uint64_t rto_ns;
	uint8_t backoff, retransmits, probes_out;
	uint32_t total_retrans;
	uint16_t total_rto;	/* RTOs that fired, tcpi_total_rto */
	uint64_t retrans_stamp; /* first transmission of the oldest unacked data */

	/*
	 * Linux's tcp_chrono for tcp_info: time with data to send (busy),
	 * and within it held back by the peer's window or by our send
	 * buffer; one runs at a time, the later CHRONO_* winning.
	 */
	uint8_t chrono;		  /* CHRONO_*: the one running */
	bool nospace;		  /* a send found the buffer full (SOCK_NOSPACE) */
	uint64_t chrono_start_ns;
	uint64_t chrono_ns[4];	  /* by CHRONO_*; [0] unused */

	/*
	 * Where Linux's sendmsg marks PSH (tcp_mark_push()): the end of each
	 * write without MSG_MORE, and inside a long write each time more
	 * than half the peer's largest window was written since the last
	 * mark (forced_push()). Oldest first; a full list keeps its newest.
	 */
	uint32_t push_mark[PUSH_MARKS];
	uint8_t push_head, push_n;
	uint32_t pushed_seq;

	/* tcp_info's counters (RFC 4898 names), as Linux keeps them */
	struct {
		uint64_t bytes_sent, bytes_retrans, bytes_acked, bytes_received;
		uint32_t segs_out, segs_in, data_segs_out, data_segs_in;
		uint32_t delivered, delivered_ce, dsack_dups, rcv_ooopack;
	} cnt;

	/* congestion control */
	const struct cc_ops *cc;
	uint32_t cwnd, ssthresh, cwnd_cnt, prior_cwnd;
	/* Linux's tcp_cwnd_validate() record: may ACKs grow cwnd? */
	bool cwnd_limited;	    /* the flight filled cwnd in this window */
	uint32_t max_packets_out;   /* else the fullest flight in it */
	uint32_t cwnd_usage_seq;    /* the window ends when this is acked */
	uint8_t ca_state;
	uint32_t recover, dupacks;
	uint32_t reno_sacked; /* dupacks counted as SACKs without SACK */
	uint32_t prr_delivered, prr_out; /* RFC 6937 */
	struct cubic_state cubic;
	bool ece_pending, cwr_pending;

	/* RACK-TLP (RFC 8985) */
	uint64_t rack_xmit_ns;
	uint32_t rack_end_seq, rack_rtt_us, rack_reo_mult;
	bool tlp_out;
	bool tlp_force; /* the probe may exceed cwnd by one segment */

	/* timers: absolute ns, NO_DEADLINE when off */
	uint64_t t_rtx;	    /* retransmission, persist or TLP */
	uint8_t rtx_kind;
	uint64_t t_delack;
	uint64_t t_keep;    /* keepalive, FIN_WAIT_2 or TIME_WAIT */
	uint64_t t_rack;    /* RACK reordering timer */
	uint64_t t_pace;    /* pacing: the next packet may leave */

	/* pacing (SO_MAX_PACING_RATE), Linux's internal TCP pacing */
	bool pacing;		 /* sk_pacing_status: set once a limit was */
	uint64_t max_pacing_rate; /* bytes/s, ~0: none */
	uint64_t pace_ns;	 /* tcp_wstamp_ns: when the next packet may leave */

	/* ACK policy */
	uint8_t quick, segs_unacked;
	bool ack_pushed;	/* a PSH segment waits for its delayed ACK */
	bool pingpong;		/* interactive: our data answers the peer's (ACKs ride on it) */

	/* options */
	bool nodelay, cork, more, keepalive, ecn_want, reuseaddr, reuseport;
	bool ecn_set;		/* VTCP_ECN chose ecn_want, not net.ipv4.tcp_ecn */
	uint32_t keepidle_s, keepintvl_s, keepcnt;
	uint32_t user_timeout_ms;
	bool linger_on;
	int linger_s;
	uint32_t sndbuf, rcvbuf;
	uint32_t notsent_lowat; /* TCP_NOTSENT_LOWAT; 0: the stack's */
	uint32_t window_clamp;	/* TCP_WINDOW_CLAMP; 0: none */
	uint8_t syn_retries;	/* TCP_SYNCNT; 0: the stack's */
	uint8_t tos;		/* IP_TOS / IPV6_TCLASS, without the ECN bits */
	uint8_t ttl;		/* IP_TTL / IPV6_UNICAST_HOPS; 0: the stack's */
	uint8_t defer_accept;	/* TCP_DEFER_ACCEPT: a listener's in SYN-ACK timeouts; a
				 * client's delays its handshake ACK */
	bool defer_acked;	/* a child's bare ACK was dropped for TCP_DEFER_ACCEPT */
	int linger2_s;		/* TCP_LINGER2; 0: fin_timeout, -1: abort in FIN_WAIT2 */
	bool rcvbuf_locked;	/* SO_RCVBUF set: it sizes the window scale */
	bool sndbuf_locked;	/* SO_SNDBUF set: no growth with cwnd */
	bool shut_rd, shut_wr;
	int err;	/* SO_ERROR pending */
	int soft_err;	/* from ICMP: reported instead of ETIMEDOUT if we time out */
	bool reset;	/* connection was reset or timed out */
	bool moved;	/* handed to another stack: its segments are dropped */
	bool refuse_urgent;  /* VTCP_REFUSE_URGENT */
	bool urgent_refused; /* urgent data came: new segments are refused (vtcp_input) */
	unsigned int ev_last;
	uint32_t rcv_nxt_last; /* rcv_nxt at the last report: new data is news too */

	/* statistics */
	uint64_t last_rcv_ns, last_data_rcv_ns, last_data_snd_ns;
	uint64_t tw_start_ns;
};

enum { RTX_RTO = 1, RTX_PERSIST, RTX_TLP, RTX_SYN };

struct neigh {
	struct vaddr ip;
	uint8_t mac[6];
	bool valid, used;
	uint64_t asked_ns;
	uint16_t held_len; /* one frame waiting for resolution */
	uint8_t *held;
};
#define NEIGH_MAX 32

struct ctl_frame {
	uint16_t len;
	struct vaddr nexthop; /* fam 0: len holds a complete Ethernet frame */
	uint8_t data[CTL_FRAME_MAX];
};

struct local_addr {
	struct vaddr a;
	bool used;
};
#define ADDR_MAX 16

struct vtcp_stack {
	struct vtcp_config cfg;
	const struct cc_ops *default_cc;
	uint64_t now;
	struct tcb *tcbs;
	unsigned int ntcb;
	int free_head;
	int *hash;
	unsigned int hash_mask;
	int *port_head; /* [65536]: bound sockets by local port */
	int listen_head;
	/* poll scheduling (sched.c), per socket index */
	int *work_next;
	int work_head, work_tail;
	uint32_t *heap_pos;
	int *heap;
	uint64_t *heap_key;
	uint32_t nheap;
	struct tcb *polling; /* the socket vtcp_poll() is processing */
	uint16_t next_port;
	uint16_t ip_id;
	struct local_addr addrs[ADDR_MAX];
	struct neigh neigh[NEIGH_MAX];
	unsigned int nheld; /* neighbours holding a frame */
	struct ctl_frame ctl[CTL_QUEUE];
	unsigned int nctl;
	uint8_t *frame; /* scratch for building a frame */
	uint32_t challenge_count;
	uint64_t challenge_sec;
	vtcp_tx_fn tx;
	void *tx_ctx;
	int emitted;
	bool in_poll;
	int refused;	/* the socket that refused the frame in vtcp_input(), or -1 */
	void *mem;
	size_t mem_len;
};

/* csum.c */
uint32_t csum_add(uint32_t sum, const void *data, size_t len);
uint16_t csum_fold(uint32_t sum);
uint32_t csum_pseudo(const struct vaddr *src, const struct vaddr *dst,
		     uint8_t proto, uint32_t len);

/* isn.c */
uint64_t siphash24(const uint8_t key[16], const void *data, size_t len);
uint32_t isn_generate(struct vtcp_stack *st, const struct tcb *tp);
uint32_t ts_offset_generate(struct vtcp_stack *st, const struct tcb *tp);

/* ipv4.c / ipv6.c: parse an IP packet after the Ethernet header */
struct ip_meta {
	struct vaddr src, dst;
	uint8_t tos;	  /* v4 TOS / v6 traffic class: ECN bits */
};
void ip4_input(struct vtcp_stack *st, const uint8_t *p, size_t len);
void ip6_input(struct vtcp_stack *st, const uint8_t *p, size_t len);
/* Write an IP header for a TCP payload of tcplen bytes; returns its length. */
unsigned int ip4_header(struct vtcp_stack *st, uint8_t *p, const struct vaddr *src,
			const struct vaddr *dst, uint32_t tcplen, uint8_t tos, uint8_t ttl);
unsigned int ip6_header(uint8_t *p, const struct vaddr *src,
			const struct vaddr *dst, uint32_t tcplen, uint8_t tclass,
			uint32_t flowlabel, uint8_t hops);

/* neigh.c */
void arp_input(struct vtcp_stack *st, const uint8_t *p, size_t len);
void nd_input(struct vtcp_stack *st, const struct ip_meta *m,
	      const uint8_t *p, size_t len);
/* Sends an IP packet (at st->frame + ETH_HLEN) to nexthop, resolving it. */
void neigh_output(struct vtcp_stack *st, const struct vaddr *nexthop,
		  uint8_t *frame, size_t len);
struct neigh *neigh_find(struct vtcp_stack *st, const struct vaddr *ip);
void neigh_flush(struct vtcp_stack *st);
void eth_header(uint8_t *p, const uint8_t *dst, const uint8_t *src, uint16_t type);

/* stack.c */
bool addr_is_local(const struct vtcp_stack *st, const struct vaddr *a);
bool addr_pick_src(const struct vtcp_stack *st, const struct vaddr *dst,
		   struct vaddr *src);
int route_lookup(struct vtcp_stack *st, const struct vaddr *dst,
		 struct vaddr *nexthop, struct vaddr *src, uint32_t *mtu);
struct tcb *tcb_lookup(struct vtcp_stack *st, const struct vaddr *laddr,
		       uint16_t lport, const struct vaddr *raddr, uint16_t rport);
struct tcb *tcb_alloc(struct vtcp_stack *st);
/* Takes @tp off its local port's list of bound sockets. */
void port_unlink(struct vtcp_stack *st, struct tcb *tp);
/* The application's live handle @s (touched for scheduling), or NULL. */
struct tcb *sock_get(struct vtcp_stack *st, int s);
struct tcb *tcb_at(struct vtcp_stack *st, int s, bool orphans);
void tcb_free(struct vtcp_stack *st, struct tcb *tp);
void tcb_hash(struct vtcp_stack *st, struct tcb *tp);
/* Binds tp to lport (chains it for port and listener lookups). */
void tcb_bind_port(struct vtcp_stack *st, struct tcb *tp, uint16_t lport);
void tcb_listen(struct vtcp_stack *st, struct tcb *tp);
void tcb_unhash(struct vtcp_stack *st, struct tcb *tp);
int tcb_index(const struct vtcp_stack *st, const struct tcb *tp);
uint16_t port_ephemeral(struct vtcp_stack *st, const struct vaddr *laddr,
			const struct vaddr *raddr, uint16_t rport);
unsigned int sock_events(struct vtcp_stack *st, struct tcb *tp);
bool port_in_use(struct vtcp_stack *st, const struct vaddr *laddr, uint16_t lport,
		 const struct vaddr *raddr, uint16_t rport);
void ctl_queue(struct vtcp_stack *st, const struct vaddr *nexthop,
	       const uint8_t *frame, size_t len);
bool vaddr_eq(const struct vaddr *a, const struct vaddr *b);
bool vaddr_any(const struct vaddr *a);
/* ::ffff:a.b.c.d: turned into the IPv4 address a.b.c.d */
bool vaddr_unmap_v4(struct vaddr *v);
/* An AF_INET6 socket bound to :: without IPV6_V6ONLY: it takes IPv4 too. */
bool tcb_dual_stack(const struct tcb *tp);
/* Could bindings o and (v, v6only) receive the same segment? */
bool bind_overlap(const struct tcb *o, const struct vaddr *v, bool v6only);
void vaddr_from_sa(struct vaddr *v, uint16_t *port, const struct sockaddr *sa);
socklen_t vaddr_to_sa(const struct vaddr *v, uint16_t port,
		      struct sockaddr *sa, socklen_t len);
/* As vaddr_to_sa(), an IPv4 address as ::ffff:a.b.c.d when mapped */
socklen_t vaddr_to_sa_mapped(const struct vaddr *v, uint16_t port, bool mapped,
			     struct sockaddr *sa, socklen_t len);

/* icmp.c: errors about our segments (p: the ICMP message) */
void icmp4_input(struct vtcp_stack *st, const struct ip_meta *m,
		 const uint8_t *p, size_t len);
void icmp6_input(struct vtcp_stack *st, const struct ip_meta *m,
		 const uint8_t *p, size_t len);

/* input.c */
void tcp_input(struct vtcp_stack *st, const struct ip_meta *m,
	       const uint8_t *p, size_t len);

/* output.c */
void tcp_output(struct vtcp_stack *st, struct tcb *tp);
/* A segment without data (ACK, RST, probe); queued outside vtcp_poll(). */
uint32_t tcp_acceptable_seq(const struct tcb *tp);
void tcp_send_ctl(struct vtcp_stack *st, struct tcb *tp, uint8_t flags,
		  uint32_t seq);
void tcp_send_syn(struct vtcp_stack *st, struct tcb *tp);
#define SEND_RETRANS 1u /* a retransmission: no ECT, not new data */
#define SEND_PUSH    2u /* PSH: the last segment of a GSO packet, or a loss probe */
/*
 * Sends [seq, end) of the send queue (a FIN when end covers it); how:
 * SEND_*. Returns the TCP flags sent.
 */
uint8_t tcp_send_range(struct vtcp_stack *st, struct tcb *tp, uint32_t seq,
		       uint32_t end, unsigned int how);
/* SEND_RETRANS, with SEND_PUSH when the segment first went with PSH. */
unsigned int tcp_resend_how(const struct txseg *s);
enum { CHRONO_NONE, CHRONO_BUSY, CHRONO_RWND_LIMITED, CHRONO_SNDBUF_LIMITED };
/* Linux's tcp_chrono_start()/_stop() at @now (CHRONO_*). */
void tcp_chrono_start(struct tcb *tp, uint64_t now, uint8_t type);
void tcp_chrono_stop(struct tcb *tp, uint64_t now, uint8_t type);
bool tcp_cwnd_limited(const struct tcb *tp);
uint64_t tcp_fin_wait2_ns(const struct vtcp_stack *st, const struct tcb *tp);
/* What one of Linux's sendmsg skbs holds for this connection now. */
uint32_t tcp_write_goal(const struct tcb *tp);
void tcp_sndbuf_expand(const struct vtcp_stack *st, struct tcb *tp);
/* Room for a writer, as Linux's sk_stream_is_writeable(). */
bool tcp_snd_writable(const struct tcb *tp);

/* Bytes queued but never sent (a FIN sent ends them). */
static inline uint32_t unsent_bytes(const struct tcb *tp)
{
	uint32_t sent = tp->snd_nxt - tp->sndq_seq;

	if (tp->fin_sent)
		return 0;
	return tp->sndq.len > sent ? tp->sndq.len - sent : 0;
}
/* Records the PSH marks of @n bytes written at the send queue's end. */
void tcp_push_marks_write(struct tcb *tp, uint32_t n, bool more);
/*
 * Linux's sk_pacing_rate for the connection, bytes per second: what cwnd
 * and RTT give, within SO_MAX_PACING_RATE.
 */
uint64_t tcp_sk_pacing_rate(const struct tcb *tp);
/* RST (or RST|ACK) for a segment that has no connection. */
void tcp_reply_rst(struct vtcp_stack *st, const struct ip_meta *m,
		   uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
		   uint8_t flags);
uint32_t tcp_rcv_window(const struct tcb *tp);
void tcp_grow_window(struct tcb *tp, uint32_t len);
void tcp_rcv_autotune(struct vtcp_stack *st, struct tcb *tp, uint32_t copied);
uint32_t tcp_window_clamp(const struct tcb *tp);
uint8_t tcp_rcv_wscale(const struct vtcp_stack *st, const struct tcb *tp);
uint32_t tcp_current_mss(const struct tcb *tp);
void tcp_set_mss(struct tcb *tp, uint16_t peer_mss);
/* The path MTU fell to mtu: smaller segments, and resend what no longer fits. */
void tcp_mtu_reduced(struct vtcp_stack *st, struct tcb *tp, uint32_t mtu);

/* timers.c */
void tcp_timers(struct vtcp_stack *st, struct tcb *tp);
void tcp_rtt_sample(struct tcb *tp, uint32_t rtt_us);
void tcp_arm_rtx(struct vtcp_stack *st, struct tcb *tp);
void tcp_arm_keepalive(struct vtcp_stack *st, struct tcb *tp);
void tcp_enter_timewait(struct vtcp_stack *st, struct tcb *tp);
uint64_t tcp_deadline(const struct tcb *tp);
void tcp_done(struct vtcp_stack *st, struct tcb *tp, int err);

/* sched.c: which sockets vtcp_poll() visits */
void sched_init(struct vtcp_stack *st);
/* tp's output, readiness or timers changed: settle it at the next poll. */
void sched_touch(struct vtcp_stack *st, struct tcb *tp);
struct tcb *sched_next_work(struct vtcp_stack *st);
/* Heap key := tcp_deadline(tp) (removed when none or tp is free). */
void sched_rekey(struct vtcp_stack *st, struct tcb *tp);
void sched_forget(struct vtcp_stack *st, struct tcb *tp);
/* Moves sockets whose deadline is due onto the work FIFO. */
void sched_collect_due(struct vtcp_stack *st, uint64_t now);
uint64_t sched_deadline(const struct vtcp_stack *st);

/* sack.c: both scoreboards */
bool ooo_add(struct tcb *tp, uint32_t start, uint32_t end);
void ooo_advance(struct tcb *tp);
unsigned int sack_blocks(struct tcb *tp, uint32_t out[4][2], unsigned int max);
/* Returns how many segments became SACKed. */
uint32_t sb_mark_sacked(struct tcb *tp, uint32_t start, uint32_t end, uint64_t now);
void sb_set_lost(struct tcb *tp, struct txseg *s);
void sb_clear_lost(struct tcb *tp, struct txseg *s);
void sb_mark_retrans(struct tcb *tp, struct txseg *s, uint64_t now);
/* RFC 6675 IsLost(): DupThresh segments SACKed above */
void sb_detect_dupthresh(struct tcb *tp);
uint32_t sb_in_flight(const struct tcb *tp);
struct txseg *sb_seg(struct tcb *tp, uint32_t i);
struct txseg *sb_append(struct tcb *tp, uint32_t seq, uint32_t end, uint64_t now);
/* Drops segments fully acknowledged by ack; returns how many. */
uint32_t sb_ack(struct tcb *tp, uint32_t ack, uint64_t now, bool *karn_ok,
		uint64_t *oldest_xmit);

/* rack.c */
/* A segment was delivered (cumulatively or selectively acknowledged). */
void rack_update(struct tcb *tp, const struct txseg *s, uint64_t now);
void rack_detect(struct vtcp_stack *st, struct tcb *tp);
void tlp_arm(struct vtcp_stack *st, struct tcb *tp);
void tlp_fire(struct vtcp_stack *st, struct tcb *tp);

/* congestion events (cc.c) */
void cc_enter_recovery(struct tcb *tp, uint64_t now);
void cc_enter_loss(struct tcb *tp, uint64_t now);
void cc_on_ack(struct tcb *tp, uint32_t acked, uint64_t now);
/* Proportional rate reduction: cwnd during recovery, per ACK. */
void cc_prr(struct tcb *tp, uint32_t delivered);
void cc_end_recovery(struct tcb *tp);
void cc_ecn_reduce(struct tcb *tp, uint64_t now);

static inline uint64_t tcp_now_ms(const struct vtcp_stack *st)
{
	return st->now / NS_PER_MS;
}
static inline uint32_t tcp_tsval(const struct vtcp_stack *st, const struct tcb *tp)
{
	return (uint32_t)tcp_now_ms(st) + tp->ts_offset;
}

#endif /* VELO_ENGINE_INTERNAL_H */
