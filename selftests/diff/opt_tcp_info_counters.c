// SPDX-License-Identifier: GPL-2.0
/*
 * TCP_INFO's counters after a request and its reply (1000 bytes one way,
 * 500 back): bytes sent, acknowledged (the client's counts its SYN) and
 * received, data segments each way, segments delivered, the largest
 * segment received (rcv_mss, from 536 up), nothing unacknowledged or
 * unsent; and the ages of the last data sent and received, after a second
 * of quiet and a new 10-byte message.
 */
#include "diff.h"
#include <netinet/tcp.h>

/* Linux's struct tcp_info through tcpi_bytes_received's neighbours (uapi linux/tcp.h). */
struct tcp_info_ext {
	struct tcp_info base;
	uint64_t pacing_rate, max_pacing_rate, bytes_acked, bytes_received;
	uint32_t segs_out, segs_in, notsent_bytes, min_rtt, data_segs_in, data_segs_out;
	uint64_t delivery_rate, busy_time, rwnd_limited, sndbuf_limited;
	uint32_t delivered, delivered_ce;
	uint64_t bytes_sent, bytes_retrans;
};

static void info(int fd, struct tcp_info_ext *ti)
{
	socklen_t l = sizeof(*ti);

	memset(ti, 0, sizeof(*ti));
	NEED(getsockopt(fd, IPPROTO_TCP, TCP_INFO, ti, &l) == 0 && l == sizeof(*ti));
}

static void counters(const char *who, int fd)
{
	struct tcp_info_ext ti;

	info(fd, &ti);
	say("%s: bytes sent %llu acked %llu received %llu, data segments in %u out %u, "
	    "delivered %u, rcv_mss %u, unacked %u, notsent %u", who,
	    (unsigned long long)ti.bytes_sent, (unsigned long long)ti.bytes_acked,
	    (unsigned long long)ti.bytes_received, ti.data_segs_in, ti.data_segs_out,
	    ti.delivered, ti.base.tcpi_rcv_mss, ti.base.tcpi_unacked, ti.notsent_bytes);
}

static void exchange(int from, int to, size_t n)
{
	static char b[4096];

	NEED(send(from, b, n, 0) == (ssize_t)n);
	NEED(wait_ev(to, POLLIN, 2000));
	NEED(recv(to, b, sizeof(b), 0) == (ssize_t)n);
}

int main(void)
{
	struct tcp_info_ext ti;
	int c, s;

	tcp_pair(&c, &s);
	counters("client, fresh", c);
	counters("server, fresh", s);
	exchange(c, s, 1000);
	exchange(s, c, 500);
	msleep(100); /* the last ACKs */
	counters("client", c);
	counters("server", s);
	sleep(1);
	exchange(c, s, 10);
	info(c, &ti);
	say("client: last data sent under 500 ms ago: %s, received over 900 ms ago: %s",
	    YN(ti.base.tcpi_last_data_sent < 500), YN(ti.base.tcpi_last_data_recv > 900));
	info(s, &ti);
	say("server: last data received under 500 ms ago: %s, sent over 900 ms ago: %s",
	    YN(ti.base.tcpi_last_data_recv < 500), YN(ti.base.tcpi_last_data_sent > 900));
	close(c);
	close(s);
	return 0;
}
