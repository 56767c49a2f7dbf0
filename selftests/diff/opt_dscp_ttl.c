// SPDX-License-Identifier: GPL-2.0
/*
 * IP_TOS and IP_TTL (IPv6: IPV6_TCLASS and IPV6_UNICAST_HOPS) mark the
 * connection's segments as the peer receives them (seen with a packet
 * socket where the peer is): set before connect(), the SYN carries them;
 * changed, the FIN; TTL -1 is the host's default (64) again, for the ACK
 * of the peer's FIN. A stream socket's TOS keeps its ECN bits for TCP:
 * 0x29 reads and goes out as 0x28. (Control segments only: under libvelo a
 * loopback connection's data never is a segment.) An AF_INET6 socket's
 * IPv4 connection (accepted by a dual-stack listener, the engine's across
 * namespaces under libvelo) is marked by IP_TOS and IP_TTL, not by
 * IPV6_TCLASS and IPV6_UNICAST_HOPS, and reads back each as set; under
 * libvelo its FIN went out with the IPv6 values.
 */
#include "diff.h"
#include <linux/if_ether.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <linux/if_packet.h>
#include <netinet/tcp.h>

#define ACK_ONLY 0 /* next_marks(): a segment with only ACK set */

/*
 * The DSCP and TTL of the next segment from port @sport to @dport that
 * has @flag set (ACK_ONLY: a pure ACK), or "none" within a second.
 */
static const char *next_marks(int pk, uint16_t sport, uint16_t dport, uint8_t flag)
{
	static char out[32];
	unsigned char b[2048];
	long end = now_ms() + 1000;

	while (now_ms() < end) {
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(pk, b, sizeof(b), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
		unsigned int hl, tos, ttl, tot;
		const uint8_t *th;

		if (n < 0) {
			msleep(1);
			continue;
		}
		if (from.sll_pkttype != PACKET_HOST) /* loopback shows each one twice */
			continue;
		if (n >= 20 && b[0] >> 4 == 4 && b[9] == IPPROTO_TCP) {
			hl = (b[0] & 0xf) * 4u, tos = b[1], ttl = b[8];
			tot = (unsigned int)(b[2] << 8 | b[3]);
		} else if (n >= 40 && b[0] >> 4 == 6 && b[6] == IPPROTO_TCP) {
			hl = 40, tos = (b[0] & 0xfu) << 4 | b[1] >> 4, ttl = b[7];
			tot = 40u + (unsigned int)(b[4] << 8 | b[5]);
		} else {
			continue;
		}
		if ((size_t)n < hl + 20)
			continue;
		th = b + hl;
		if ((th[0] << 8 | th[1]) != sport || (th[2] << 8 | th[3]) != dport)
			continue;
		if (flag ? !(th[13] & flag) : th[13] != TH_ACK || tot != hl + (th[12] >> 4) * 4u)
			continue;
		snprintf(out, sizeof(out), "tos 0x%02x ttl %u", tos, ttl);
		return out;
	}
	return "none";
}

static void set_int(int fd, int level, int name, int v)
{
	NEED(setsockopt(fd, level, name, &v, sizeof(v)) == 0);
}

static void one(int fam)
{
	int lv = fam == AF_INET ? IPPROTO_IP : IPPROTO_IPV6;
	int tos = fam == AF_INET ? IP_TOS : IPV6_TCLASS;
	int ttl = fam == AF_INET ? IP_TTL : IPV6_UNICAST_HOPS;
	int pk = peer_socket_of(AF_PACKET, SOCK_DGRAM, htons(ETH_P_ALL));
	uint16_t port, cp;
	int l = tcp_listener_fam(fam, 8, &port), c = socket(fam, SOCK_STREAM, 0), s;
	union sa a;
	socklen_t al = sa_loop(&a, fam, port);

	NEED(pk >= 0 && c >= 0);
	say("-- %s", fam == AF_INET ? "IPv4" : "IPv6");
	set_int(c, lv, tos, 0x29);
	set_int(c, lv, ttl, 9);
	say("TOS 0x29 reads 0x%02x, TTL %d", int_opt(c, lv, tos), int_opt(c, lv, ttl));
	NEED(connect(c, &a.sa, al) == 0);
	cp = local_port(c);
	say("SYN: %s", next_marks(pk, cp, port, TH_SYN));
	s = accept(l, NULL, NULL);
	NEED(s >= 0);
	set_int(c, lv, tos, 0xb8);
	set_int(c, lv, ttl, 7);
	NEED(shutdown(c, SHUT_WR) == 0);
	say("after TOS 0xb8, TTL 7, the FIN: %s", next_marks(pk, cp, port, TH_FIN));
	set_int(c, lv, ttl, -1);
	say("TTL -1 reads %d", int_opt(c, lv, ttl));
	NEED(shutdown(s, SHUT_WR) == 0);
	say("the ACK of the peer's FIN: %s", next_marks(pk, cp, port, ACK_ONLY));
	close(c);
	close(s);
	close(l);
	close(pk);
}

static void dual_stack_accepted(void)
{
	int pk = peer_socket_of(AF_PACKET, SOCK_DGRAM, htons(ETH_P_ALL));
	int l = socket(AF_INET6, SOCK_STREAM, 0), c, s, zero = 0;
	union sa a;
	socklen_t al;
	uint16_t port;

	say("-- IPv4 client of a dual-stack listener");
	NEED(pk >= 0 && l >= 0);
	NEED(setsockopt(l, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) == 0);
	memset(&a, 0, sizeof(a));
	a.in6.sin6_family = AF_INET6;
	listen_at(l, &a, sizeof(a.in6), 8, &port);
	engine_listens(l);
	c = peer_socket(AF_INET);
	al = sa_self(&a, AF_INET, port);
	NEED(c >= 0 && connect(c, &a.sa, al) == 0);
	s = accept(l, NULL, NULL);
	NEED(s >= 0);
	set_int(s, IPPROTO_IPV6, IPV6_TCLASS, 0x40);
	set_int(s, IPPROTO_IPV6, IPV6_UNICAST_HOPS, 5);
	set_int(s, IPPROTO_IP, IP_TOS, 0xb8);
	set_int(s, IPPROTO_IP, IP_TTL, 7);
	say("IP_TOS reads 0x%02x, IPV6_TCLASS 0x%02x, IP_TTL %d, IPV6_UNICAST_HOPS %d",
	    int_opt(s, IPPROTO_IP, IP_TOS), int_opt(s, IPPROTO_IPV6, IPV6_TCLASS),
	    int_opt(s, IPPROTO_IP, IP_TTL), int_opt(s, IPPROTO_IPV6, IPV6_UNICAST_HOPS));
	NEED(shutdown(s, SHUT_WR) == 0);
	say("its FIN: %s", next_marks(pk, port, local_port(c), TH_FIN));
	close(c);
	close(s);
	close(l);
	close(pk);
}

int main(void)
{
	one(AF_INET);
	one(AF_INET6);
	dual_stack_accepted();
	return 0;
}
