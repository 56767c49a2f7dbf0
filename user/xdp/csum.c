// SPDX-License-Identifier: GPL-2.0
/* Checksums for the AF_XDP backend: see csum.h for the partial-sum rule. */
/* the engine's RFC 1071 sums: csum_add(), csum_fold() */
#include "engine/internal.h"
#include "xdp/csum.h"

#define ETH_HLEN 14
#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define IPV6_HLEN 40
#define TCP_HLEN 20
#define TCP_CSUM_OFF 16
#define PROTO_TCP 6

/* Where a TCP segment of a frame lies, and its pseudo-header sum. */
struct tcp_span {
	uint8_t *ip;	/* IPv4 header, for its own checksum; NULL for IPv6 */
	uint8_t *tcp;
	uint32_t tcp_len;
	uint32_t pseudo;
};

/* The folded sum, not complemented: what a partial checksum field holds. */
static uint16_t fold(uint32_t sum)
{
	return (uint16_t)~csum_fold(sum);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static int span_ipv4(uint8_t *ip, size_t room, struct tcp_span *s)
{
	uint32_t ihl = (ip[0] & 0xfu) * 4u, total;
	uint8_t tail[4] = { 0, PROTO_TCP };

	if (room < 20 || ip[0] >> 4 != 4 || ihl < 20 || ip[9] != PROTO_TCP)
		return -EINVAL;
	total = get16(ip + 2);
	/* a fragment's checksum covers the reassembled segment */
	if (total > room || total < ihl + TCP_HLEN || (get16(ip + 6) & 0x3fff))
		return -EINVAL;
	s->ip = ip;
	s->tcp = ip + ihl;
	s->tcp_len = total - ihl;
	put16(tail + 2, (uint16_t)s->tcp_len);
	s->pseudo = csum_add(csum_add(0, ip + 12, 8), tail, sizeof(tail));
	return 0;
}

static int span_ipv6(uint8_t *ip, size_t room, struct tcp_span *s)
{
	uint8_t tail[8] = { 0, 0, 0, 0, 0, 0, 0, PROTO_TCP };

	if (room < IPV6_HLEN || ip[0] >> 4 != 6 || ip[6] != PROTO_TCP)
		return -EINVAL;
	s->tcp_len = get16(ip + 4);
	if (s->tcp_len > room - IPV6_HLEN || s->tcp_len < TCP_HLEN)
		return -EINVAL;
	s->ip = NULL;
	s->tcp = ip + IPV6_HLEN;
	put16(tail + 2, (uint16_t)s->tcp_len);
	s->pseudo = csum_add(csum_add(0, ip + 8, 32), tail, sizeof(tail));
	return 0;
}

static int find_tcp(void *frame, size_t len, struct tcp_span *s)
{
	uint8_t *eth = frame;

	if (len < ETH_HLEN)
		return -EINVAL;
	switch (get16(eth + 12)) {
	case ETHERTYPE_IPV4:
		return span_ipv4(eth + ETH_HLEN, len - ETH_HLEN, s);
	case ETHERTYPE_IPV6:
		return span_ipv6(eth + ETH_HLEN, len - ETH_HLEN, s);
	default:
		return -EINVAL;
	}
}

static void fill_tcp_sum(const struct tcp_span *s)
{
	put16(s->tcp + TCP_CSUM_OFF, 0);
	put16(s->tcp + TCP_CSUM_OFF,
	      csum_fold(csum_add(s->pseudo, s->tcp, s->tcp_len)));
}

void velo_csum_rx_complete_partial(void *frame, size_t len)
{
	struct tcp_span s;

	/*
	 * Only the pseudo-header sum is computed for frames that are not
	 * partial. Recomputing a complete, correct sum that happens to equal
	 * the partial one gives it back unchanged, so there is no ambiguity.
	 */
	if (find_tcp(frame, len, &s) == 0 && get16(s.tcp + TCP_CSUM_OFF) == fold(s.pseudo))
		fill_tcp_sum(&s);
}

int velo_csum_tx_fill(void *frame, size_t len)
{
	struct tcp_span s;
	int err = find_tcp(frame, len, &s);

	if (err)
		return err;
	if (s.ip) {
		put16(s.ip + 10, 0);
		put16(s.ip + 10, csum_fold(csum_add(0, s.ip, (s.ip[0] & 0xfu) * 4u)));
	}
	fill_tcp_sum(&s);
	return 0;
}
