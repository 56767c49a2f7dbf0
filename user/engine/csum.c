/* SPDX-License-Identifier: GPL-2.0 */
/* Internet checksum (RFC 1071) and the TCP pseudo-header sums for v4/v6. */
#include "internal.h"

uint32_t csum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t acc = sum;

	/*
	 * Big-endian 32-bit words: 2^16 = 1 (mod 0xffff), so their sum folds
	 * to the same one's complement sum as 16-bit words, at half the adds.
	 */
	while (len >= 4) {
		uint32_t w;

		memcpy(&w, p, 4);
		acc += __builtin_bswap32(w);
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		acc += (uint32_t)(p[0] << 8 | p[1]);
		p += 2;
		len -= 2;
	}
	if (len)
		acc += (uint32_t)p[0] << 8;
	while (acc >> 32)
		acc = (acc & 0xffffffff) + (acc >> 32);
	return (uint32_t)acc;
}

uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

uint32_t csum_pseudo(const struct vaddr *src, const struct vaddr *dst,
		     uint8_t proto, uint32_t len)
{
	unsigned int alen = src->fam == 6 ? 16 : 4;
	uint32_t sum = csum_add(0, src->a, alen);

	sum = csum_add(sum, dst->a, alen);
	if (src->fam == 6) {
		uint8_t tail[8] = { len >> 24, len >> 16, len >> 8, len, 0, 0, 0, proto };

		return csum_add(sum, tail, sizeof(tail));
	}
	uint8_t tail[4] = { 0, proto, len >> 8, len };

	return csum_add(sum, tail, sizeof(tail));
}
