// SPDX-License-Identifier: GPL-2.0
/*
 * Handing an engine connection to the kernel: the application's own kernel
 * socket (the file behind its fd, unconnected until now) becomes the
 * connection, with Linux's TCP_REPAIR (as CRIU restores one). Its fd
 * number, flags, options and every dup of it stay what they were; only the
 * data path moves. The interposer does this where the engine cannot follow
 * the file: fork (both processes hold it), exec, SCM_RIGHTS, and where the
 * kernel has what the engine has not: urgent data.
 *
 * What the kernel gets: the 4-tuple, the sequence numbers, the negotiated
 * options, the windows, the timestamp clock, the unread data (as its
 * receive queue), the sent and unacknowledged data (as sent, so the
 * peer's ACKs find it), then the data not sent yet and our FIN through the
 * normal path. What the kernel cannot be told of in repair mode is given
 * to it as segments from the peer over a raw socket (libsoccr's way): a FIN
 * the peer sent, and the segments the engine refused for urgent data (the
 * urgent one and all that followed it, VTCP_REFUSE_URGENT), as they came.
 * Out-of-order data the engine held is dropped: the peer sends it again.
 * Repair needs CAP_NET_ADMIN: without it nothing changes.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/log.h"
#include "wire/priv.h"
#include "xdp/csum.h"

#ifndef TCP_REPAIR_ON
#define TCP_REPAIR_ON 1
#define TCP_REPAIR_OFF_NO_WP -1
#endif

/*
 * The application's socket calls are libvelo's own (it is preloaded): the
 * kernel socket is worked on with system calls, past the interposer.
 */
static int sys_setsockopt(int fd, int level, int name, const void *v, socklen_t l)
{
	return syscall(SYS_setsockopt, fd, level, name, v, l) ? -errno : 0;
}

static int set_int(int fd, int level, int name, int v)
{
	return sys_setsockopt(fd, level, name, &v, sizeof(v));
}

static int sys_shutdown(int fd, int how)
{
	return syscall(SYS_shutdown, fd, how) ? -errno : 0;
}

/* Writes @len bytes from the two spans into the queue repair mode selected. */
static int write_spans(int fd, const void *const p[2], const uint32_t len[2], uint32_t skip,
		       uint32_t n, int flags)
{
	for (int i = 0; i < 2 && n; i++) {
		const uint8_t *b = p[i];
		uint32_t l = len[i];

		if (skip >= l) {
			skip -= l;
			continue;
		}
		b += skip;
		l -= skip;
		skip = 0;
		if (l > n)
			l = n;
		n -= l;
		for (int stalls = 0; l;) {
			ssize_t w = syscall(SYS_sendto, fd, b, l, flags | MSG_NOSIGNAL, NULL, 0);

			/* the buffers were sized for it (fit_buffers): never wait long */
			if (w < 0 && errno == EAGAIN && ++stalls < 20) {
				struct pollfd pfd = { .fd = fd, .events = POLLOUT };

				syscall(SYS_poll, &pfd, 1, 100);
				continue;
			}
			if (w <= 0)
				return w < 0 ? -errno : -EIO;
			b += w;
			l -= (uint32_t)w;
		}
	}
	return 0;
}

/* The negotiated options, as the kernel's handshake would have set them. */
static int set_options(int fd, const struct vtcp_export *x)
{
	struct tcp_repair_opt o[4];
	unsigned int n = 0;
	int err;

	o[n++] = (struct tcp_repair_opt){ TCPOPT_MAXSEG, x->mss };
	if (x->ws_ok)
		o[n++] = (struct tcp_repair_opt){ TCPOPT_WINDOW,
						  x->snd_wscale | ((uint32_t)x->rcv_wscale << 16) };
	if (x->sack_ok)
		o[n++] = (struct tcp_repair_opt){ TCPOPT_SACK_PERMITTED, 0 };
	if (x->ts_ok)
		o[n++] = (struct tcp_repair_opt){ TCPOPT_TIMESTAMP, 0 };
	err = sys_setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_OPTIONS, o, (socklen_t)(n * sizeof(o[0])));
	if (err)
		return err;
	return x->ts_ok ? set_int(fd, IPPROTO_TCP, TCP_TIMESTAMP, (int)x->tsval) : 0;
}

static int set_window(int fd, const struct vtcp_export *x, uint32_t rcv_nxt)
{
	struct tcp_repair_window w = {
		.snd_wl1 = x->snd_wl1,
		.snd_wnd = x->snd_wnd,
		.max_window = x->max_window,
		.rcv_wnd = x->rcv_wnd,
		.rcv_wup = rcv_nxt,
	};

	return sys_setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_WINDOW, &w, sizeof(w));
}

/* Up to connect(): sequence numbers, the local address, the 4-tuple. */
static int repair_open(int fd, const struct vtcp_export *x, int ifindex)
{
	struct sockaddr_storage local = x->local;
	socklen_t l = sizeof(int);
	int err, user_mss;

	err = set_int(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, TCP_SEND_QUEUE);
	if (!err)
		err = set_int(fd, IPPROTO_TCP, TCP_QUEUE_SEQ, (int)x->snd_seq);
	if (!err)
		err = set_int(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, TCP_RECV_QUEUE);
	if (!err)
		err = set_int(fd, IPPROTO_TCP, TCP_QUEUE_SEQ, (int)x->rcv_seq);
	if (err)
		return err;
	if (local.ss_family == AF_INET6 &&
	    IN6_IS_ADDR_LINKLOCAL(&((struct sockaddr_in6 *)&local)->sin6_addr))
		((struct sockaddr_in6 *)&local)->sin6_scope_id = (uint32_t)ifindex;
	/*
	 * The kernel sizes the send buffer at connect() from the MSS it knows
	 * then, which repair mode only learns after (TCP_REPAIR_OPTIONS): a
	 * TCP_MAXSEG for the connect() gives it the real one, or sends block
	 * early, and two processes' writes interleave where Linux's would not.
	 * The application's own TCP_MAXSEG (536 reads as none) comes back after.
	 */
	if (syscall(SYS_getsockopt, fd, IPPROTO_TCP, TCP_MAXSEG, &user_mss, &l))
		return -errno;
	err = set_int(fd, IPPROTO_TCP, TCP_MAXSEG, x->mss);
	if (err)
		return err;
	/* repair mode binds over the stack's own reservation of the port */
	if (syscall(SYS_bind, fd, &local, x->addr_len) ||
	    syscall(SYS_connect, fd, &x->remote, x->addr_len))
		return -errno;
	return set_int(fd, IPPROTO_TCP, TCP_MAXSEG, user_mss == (int)TCP_MSS_DEFAULT ? 0 : user_mss);
}

/*
 * Room for @bytes in the socket's buffer @name (SO_SNDBUF or SO_RCVBUF; the
 * kernel counts twice what is set). The engine's queues may hold more than
 * a fresh kernel socket takes: the buffer then grows to hold them (locking
 * its size, as a setsockopt would). @force is the _FORCE option: the
 * engine's caps are not net.core's.
 */
static int fit_buffer(int fd, int name, int force, uint32_t bytes)
{
	int cur;
	socklen_t l = sizeof(cur);

	/* an empty queue fits any buffer: the application's size stays */
	if (!bytes)
		return 0;
	if (syscall(SYS_getsockopt, fd, SOL_SOCKET, name, &cur, &l))
		return -errno;
	if ((uint64_t)cur >= 2ull * bytes + 65536)
		return 0;
	return set_int(fd, SOL_SOCKET, force, (int)(bytes + 32768));
}

/* After connect(): options, both queues as they were, windows. */
static int repair_fill(int fd, const struct vtcp_export *x)
{
	uint32_t rcv_len = x->rcv_len[0] + x->rcv_len[1];
	int err = set_options(fd, x);

	if (!err)
		err = fit_buffer(fd, SO_RCVBUF, SO_RCVBUFFORCE, rcv_len);
	if (!err)
		err = fit_buffer(fd, SO_SNDBUF, SO_SNDBUFFORCE, x->snd_len[0] + x->snd_len[1]);

	if (!err && rcv_len)
		err = write_spans(fd, x->rcv, x->rcv_len, 0, rcv_len, 0);
	if (!err)
		err = set_int(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, TCP_SEND_QUEUE);
	if (!err && x->snd_sent)
		err = write_spans(fd, x->snd, x->snd_len, 0, x->snd_sent, 0);
	if (!err && x->fin_sent)
		err = sys_shutdown(fd, SHUT_WR); /* counted as sent, as the data */
	if (!err)
		err = set_window(fd, x, x->rcv_seq + rcv_len);
	/* none selected, as a connection Linux made (TCP_QUEUE_SEQ: EINVAL) */
	if (!err)
		err = set_int(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, TCP_NO_QUEUE);
	return err;
}

/* An endpoint's address bytes (an IPv4-mapped one as IPv4); 4 or 6. */
static int endpoint(const struct sockaddr_storage *ss, uint8_t a[16], uint16_t *port)
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;

	memset(a, 0, 16);
	if (ss->ss_family == AF_INET) {
		memcpy(a, &s4->sin_addr, 4);
		*port = s4->sin_port;
		return 4;
	}
	*port = s6->sin6_port;
	if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		memcpy(a, s6->sin6_addr.s6_addr + 12, 4);
		return 4;
	}
	memcpy(a, &s6->sin6_addr, 16);
	return 6;
}

/* Ethernet + IP + TCP with a timestamp option */
#define FIN_FRAME_MAX (14 + 40 + 20 + 12)

/* The peer's FIN as an Ethernet frame (for the checksum helper); its length. */
static size_t fin_frame(uint8_t *f, const struct vtcp_export *x, uint32_t seq, uint32_t ack)
{
	uint8_t src[16], dst[16];
	uint16_t sport, dport;
	unsigned int ihl, olen = x->ts_ok ? 12 : 0;
	struct tcphdr *th;
	bool v6;

	memset(f, 0, FIN_FRAME_MAX);
	endpoint(&x->remote, src, &sport);
	v6 = endpoint(&x->local, dst, &dport) == 6;
	ihl = v6 ? 40 : 20;
	if (v6) {
		struct ip6_hdr *ip6 = (struct ip6_hdr *)(f + 14);

		f[12] = 0x86;
		f[13] = 0xdd;
		ip6->ip6_flow = htonl(6u << 28);
		ip6->ip6_plen = htons((uint16_t)(sizeof(*th) + olen));
		ip6->ip6_nxt = IPPROTO_TCP;
		ip6->ip6_hlim = 64;
		memcpy(&ip6->ip6_src, src, 16);
		memcpy(&ip6->ip6_dst, dst, 16);
	} else {
		struct iphdr *ip = (struct iphdr *)(f + 14);

		f[12] = 0x08;
		ip->version = 4;
		ip->ihl = 5;
		ip->tot_len = htons((uint16_t)(ihl + sizeof(*th) + olen));
		ip->ttl = 64;
		ip->protocol = IPPROTO_TCP;
		memcpy(&ip->saddr, src, 4);
		memcpy(&ip->daddr, dst, 4);
	}
	th = (struct tcphdr *)(f + 14 + ihl);
	th->source = sport;
	th->dest = dport;
	th->seq = htonl(seq);
	th->ack_seq = htonl(ack);
	th->doff = (uint8_t)((sizeof(*th) + olen) / 4);
	th->fin = th->ack = 1;
	th->window = htons(0xffff);
	if (olen) {
		uint8_t *o = (uint8_t *)(th + 1);
		uint32_t tsval = htonl(x->ts_recent); /* the peer's latest clock passes PAWS */

		o[0] = o[1] = TCPOPT_NOP;
		o[2] = TCPOPT_TIMESTAMP;
		o[3] = TCPOLEN_TIMESTAMP;
		memcpy(o + 4, &tsval, 4);
	}
	velo_csum_tx_fill(f, 14 + ihl + sizeof(*th) + olen);
	return 14 + ihl + sizeof(*th) + olen;
}

/*
 * Linux's struct tcp_info as far as tcpi_segs_in (glibc's stops before
 * it): how many segments the kernel's socket took in.
 */
struct tcp_info_segs {
	struct tcp_info head;
	uint64_t pacing_rate, max_pacing_rate, bytes_acked, bytes_received;
	uint32_t segs_out, segs_in;
};
_Static_assert(offsetof(struct tcp_info_segs, segs_in) == 140, "Linux's tcpi_segs_in");

static bool segs_in(int fd, uint32_t *n)
{
	struct tcp_info_segs ti;
	socklen_t l = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	if (syscall(SYS_getsockopt, fd, IPPROTO_TCP, TCP_INFO, &ti, &l) || l < sizeof(ti))
		return false;
	*n = ti.segs_in;
	return true;
}

/*
 * Sends the IP packet in Ethernet frame @fr (the engine parsed it: its
 * headers are there) over raw socket @raw to its destination, our own
 * address. Its length is the IP header's: a short frame may carry padding,
 * which the kernel would take as TCP payload.
 */
static int raw_send(int raw, const struct wire_frame *fr, int ifindex)
{
	const uint8_t *p = fr->data + 14;
	struct sockaddr_storage to;
	socklen_t tolen;
	size_t len;

	memset(&to, 0, sizeof(to));
	if ((p[0] >> 4) == 6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&to;

		len = 40 + ((size_t)p[4] << 8 | p[5]);
		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, p + 24, 16);
		if (IN6_IS_ADDR_LINKLOCAL(&s6->sin6_addr))
			s6->sin6_scope_id = (uint32_t)ifindex;
		tolen = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&to;

		len = (size_t)p[2] << 8 | p[3];
		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, p + 16, 4);
		tolen = sizeof(*s4);
	}
	if (len > fr->len - 14u)
		return -EINVAL;
	return syscall(SYS_sendto, raw, p, len, 0, (struct sockaddr *)&to, tolen) < 0 ? -errno : 0;
}

/*
 * Segments from the peer that repair mode cannot express (the peer's FIN
 * the engine acknowledged, the segments it refused for urgent data), given
 * to the repaired socket @fd as the peer's: sent over a raw socket to our
 * own address, they arrive through loopback. Returns once the kernel took
 * them in (tcpi_segs_in; at most 1 s), so that the application's next
 * call sees them.
 */
static int inject(int fd, const struct wire_frame *frames, int ifindex)
{
	bool v6 = (frames->data[14] >> 4) == 6, counted;
	uint32_t before = 0, now, n = 0;
	int raw, err = 0;

	/* past the interposer, as the repair: the raw socket is none of the application's */
	raw = (int)syscall(SYS_socket, v6 ? AF_INET6 : AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (raw < 0)
		return -errno;
	if (v6)
		err = set_int(raw, IPPROTO_IPV6, IPV6_HDRINCL, 1);
	counted = segs_in(fd, &before);
	for (const struct wire_frame *fr = frames; fr && !err; fr = fr->next, n++)
		err = raw_send(raw, fr, ifindex);
	syscall(SYS_close, raw);
	for (int i = 0; i < 1000 && !err && counted; i++) {
		if (!segs_in(fd, &now) || now - before >= n)
			break;
		usleep(1000);
	}
	return err;
}

/* Out of repair mode: what was never sent, the peer's FIN, our FIN. */
static int repair_finish(int fd, const struct vtcp_export *x)
{
	uint32_t total = x->snd_len[0] + x->snd_len[1];
	/*
	 * The windows are restored (set_window): no window probe, so the move
	 * puts nothing on the wire that Linux's own connection would not send.
	 */
	int err = set_int(fd, IPPROTO_TCP, TCP_REPAIR, TCP_REPAIR_OFF_NO_WP);

	if (!err && total > x->snd_sent)
		err = write_spans(fd, x->snd, x->snd_len, x->snd_sent, total - x->snd_sent,
				  MSG_DONTWAIT);
	return err;
}

int wire_repair_into(int fd, const struct vtcp_export *x, int ifindex,
		     const struct wire_frame *refused)
{
	uint32_t rcv_nxt = x->rcv_seq + x->rcv_len[0] + x->rcv_len[1];
	int err = set_int(fd, IPPROTO_TCP, TCP_REPAIR, TCP_REPAIR_ON);

	if (err)
		return err;
	err = repair_open(fd, x, ifindex);
	if (err) {
		set_int(fd, IPPROTO_TCP, TCP_REPAIR, 0);
		return err;
	}
	/* connected: from here the kernel socket is the connection, come what may */
	err = repair_fill(fd, x);
	if (!err)
		err = repair_finish(fd, x);
	if (!err && x->fin_rcvd) {
		uint8_t f[FIN_FRAME_MAX];
		struct wire_frame fin = { .data = f };

		fin.len = (uint32_t)fin_frame(f, x, rcv_nxt, x->snd_una);
		err = inject(fd, &fin, ifindex);
	}
	/* none when the FIN came: the engine refuses what follows urgent data, FINs too */
	if (!err && refused)
		err = inject(fd, refused, ifindex);
	if (!err && x->shut_wr && !x->fin_sent)
		err = sys_shutdown(fd, SHUT_WR);
	if (!err && x->shut_rd)
		err = sys_shutdown(fd, SHUT_RD);
	if (err)
		velo_warn("wire: handing a connection to the kernel: %s", strerror(-err));
	return 0;
}

/*
 * Most bytes of refused frames kept per socket: what the peer sent past
 * them (or sent again) it sends again after the move, on its timer.
 */
#define REFUSED_MAX (256u << 10)

void wire_keep_refused(struct velo_wire_stack *st, int eng, const void *frame, size_t len)
{
	int s = st->wire_of[eng];
	struct wire_frame *fr;
	struct wire_sock *ws;

	if (s < 0)
		return;
	ws = &st->socks[s];
	if (ws->refused_bytes + len > REFUSED_MAX || !(fr = malloc(sizeof(*fr) + len)))
		return;
	fr->next = NULL;
	fr->len = (uint32_t)len;
	fr->data = (uint8_t *)(fr + 1);
	memcpy(fr->data, frame, len);
	if (ws->refused)
		ws->refused_last->next = fr;
	else
		ws->refused = fr;
	ws->refused_last = fr;
	ws->refused_bytes += (uint32_t)len;
}

void wire_refused_free(struct wire_sock *ws)
{
	while (ws->refused) {
		struct wire_frame *fr = ws->refused;

		ws->refused = fr->next;
		free(fr);
	}
	ws->refused_last = NULL;
	ws->refused_bytes = 0;
}
