/* SPDX-License-Identifier: GPL-2.0 */
/*
 * IPv6: header parsing (skipping the extension headers a TCP segment may
 * carry), link-local scope, flow labels; ICMPv6 goes to neighbour discovery.
 */
#include "internal.h"

enum { NH_HOPOPTS = 0, NH_TCP = 6, NH_ROUTING = 43, NH_FRAG = 44,
       NH_ICMP6 = 58, NH_DSTOPTS = 60 };

static bool is_linklocal(const uint8_t *a)
{
	return a[0] == 0xfe && (a[1] & 0xc0) == 0x80;
}

void ip6_input(struct vtcp_stack *st, const uint8_t *p, size_t len)
{
	struct ip_meta m;
	unsigned int plen, off = IP6_HLEN;
	uint8_t nh;

	if (len < IP6_HLEN || (p[0] >> 4) != 6)
		return;
	plen = (unsigned int)(p[4] << 8 | p[5]);
	if (IP6_HLEN + plen > len)
		return;
	len = IP6_HLEN + plen;
	nh = p[6];
	memset(&m, 0, sizeof(m));
	m.src.fam = m.dst.fam = 6;
	memcpy(m.src.a, p + 8, 16);
	memcpy(m.dst.a, p + 24, 16);
	m.tos = (uint8_t)((p[0] & 0xf) << 4 | p[1] >> 4);
	if (is_linklocal(m.src.a))
		m.src.scope = st->cfg.ifindex;
	if (is_linklocal(m.dst.a))
		m.dst.scope = st->cfg.ifindex;
	while (nh == NH_HOPOPTS || nh == NH_DSTOPTS || nh == NH_ROUTING) {
		unsigned int hl;

		if (off + 8 > len)
			return;
		/* a routing header still to be processed is not for us */
		if (nh == NH_ROUTING && p[off + 3] != 0)
			return;
		hl = (p[off + 1] + 1u) * 8;
		nh = p[off];
		off += hl;
	}
	if (off > len)
		return;
	if (nh == NH_ICMP6) {
		/* types below 128 are errors (RFC 4443), about our segments */
		if (off < len && p[off] < 128 && addr_is_local(st, &m.dst))
			icmp6_input(st, &m, p + off, len - off);
		else
			nd_input(st, &m, p + off, len - off);
		return;
	}
	if (nh != NH_TCP || !addr_is_local(st, &m.dst))
		return;
	tcp_input(st, &m, p + off, len - off);
}

unsigned int ip6_header(uint8_t *p, const struct vaddr *src,
			const struct vaddr *dst, uint32_t tcplen, uint8_t tclass,
			uint32_t flowlabel, uint8_t hops)
{
	p[0] = (uint8_t)(0x60 | tclass >> 4);
	p[1] = (uint8_t)((tclass & 0xf) << 4 | ((flowlabel >> 16) & 0xf));
	p[2] = (uint8_t)(flowlabel >> 8);
	p[3] = (uint8_t)flowlabel;
	p[4] = (uint8_t)(tcplen >> 8);
	p[5] = (uint8_t)tcplen;
	p[6] = NH_TCP;
	p[7] = hops;
	memcpy(p + 8, src->a, 16);
	memcpy(p + 24, dst->a, 16);
	return IP6_HLEN;
}
