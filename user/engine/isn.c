/* SPDX-License-Identifier: GPL-2.0 */
/*
 * RFC 6528 initial sequence numbers and per-connection timestamp offsets:
 * SipHash-2-4 of the 4-tuple under the host's secret, plus a 4 us clock
 * for the ISN (as Linux's secure_tcp_seq()).
 */
#include "internal.h"

#define ROTL(x, b) (((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                        \
	do {                                                            \
		v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32); \
		v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                  \
		v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                  \
		v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32); \
	} while (0)

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

uint64_t siphash24(const uint8_t key[16], const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t k0 = le64(key), k1 = le64(key + 8);
	uint64_t v0 = 0x736f6d6570736575ull ^ k0, v1 = 0x646f72616e646f6dull ^ k1;
	uint64_t v2 = 0x6c7967656e657261ull ^ k0, v3 = 0x7465646279746573ull ^ k1;
	uint64_t b = (uint64_t)len << 56, m;
	size_t i, tail = len & 7;

	for (i = 0; i + 8 <= len; i += 8) {
		m = le64(p + i);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (size_t j = 0; j < tail; j++)
		b |= (uint64_t)p[i + j] << (8 * j);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

static uint64_t tuple_hash(struct vtcp_stack *st, const struct tcb *tp, uint8_t salt)
{
	uint8_t buf[16 + 16 + 2 + 2 + 1];

	memcpy(buf, tp->laddr.a, 16);
	memcpy(buf + 16, tp->raddr.a, 16);
	memcpy(buf + 32, &tp->lport, 2);
	memcpy(buf + 34, &tp->rport, 2);
	buf[36] = salt;
	return siphash24(st->cfg.isn_secret, buf, sizeof(buf));
}

uint32_t isn_generate(struct vtcp_stack *st, const struct tcb *tp)
{
	return (uint32_t)tuple_hash(st, tp, 0) + (uint32_t)(st->now / 4000);
}

uint32_t ts_offset_generate(struct vtcp_stack *st, const struct tcb *tp)
{
	return (uint32_t)tuple_hash(st, tp, 1);
}
