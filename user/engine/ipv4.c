/* SPDX-License-Identifier: GPL-2.0 */
/* IPv4: header validation on input, header construction on output. */
#include "internal.h"

void ip4_input(struct vtcp_stack *st, const uint8_t *p, size_t len)
{
	struct ip_meta m;
	unsigned int ihl, tot;

	if (len < IP4_HLEN || (p[0] >> 4) != 4)
		return;
	ihl = (p[0] & 0xf) * 4u;
	tot = (unsigned int)(p[2] << 8 | p[3]);
	if (ihl < IP4_HLEN || tot < ihl || tot > len)
		return;
	if (csum_fold(csum_add(0, p, ihl)) != 0)
		return;
	/* fragments are the kernel's business: a TCP stack with DF never makes them */
	if ((p[6] & 0x3f) || p[7])
		return;
	if (p[9] != 6 && p[9] != 1)
		return;
	memset(&m, 0, sizeof(m));
	m.src.fam = m.dst.fam = 4;
	memcpy(m.src.a, p + 12, 4);
	memcpy(m.dst.a, p + 16, 4);
	m.tos = p[1];
	if (!addr_is_local(st, &m.dst))
		return;
	if (p[9] == 1)
		icmp4_input(st, &m, p + ihl, tot - ihl);
	else
		tcp_input(st, &m, p + ihl, tot - ihl);
}

unsigned int ip4_header(struct vtcp_stack *st, uint8_t *p, const struct vaddr *src,
			const struct vaddr *dst, uint32_t tcplen, uint8_t tos, uint8_t ttl)
{
	uint32_t tot = IP4_HLEN + tcplen;
	uint16_t id = st->ip_id++;
	uint16_t c;

	p[0] = 0x45;
	p[1] = tos;
	p[2] = (uint8_t)(tot >> 8);
	p[3] = (uint8_t)tot;
	p[4] = (uint8_t)(id >> 8);
	p[5] = (uint8_t)id;
	p[6] = 0x40; /* DF: path MTU discovery, as Linux */
	p[7] = 0;
	p[8] = ttl;
	p[9] = 6;
	p[10] = p[11] = 0;
	memcpy(p + 12, src->a, 4);
	memcpy(p + 16, dst->a, 4);
	c = csum_fold(csum_add(0, p, IP4_HLEN));
	p[10] = (uint8_t)(c >> 8);
	p[11] = (uint8_t)c;
	return IP4_HLEN;
}
