// SPDX-License-Identifier: GPL-2.0
/*
 * AF_XDP backend checksums (user/xdp/csum.c), no privileges needed:
 * CHECKSUM_PARTIAL frames are completed, complete ones are left alone.
 */
#include "engine/internal.h"
#include "xdp_lib.h"

static const uint8_t payload[] = "0123456789abcdefghijklmnopqrstuvwxyz!";

static size_t frame_of(int family, uint8_t *p, uint8_t option_words)
{
	struct seg s = { .family = family, .from = PEER, .sport = 40000, .dport = 80,
			 .flags = TH_ACK, .seq = 0xdeadbeef, .payload = payload,
			 .payload_len = sizeof(payload), .ip_option_words = option_words };

	return build_seg(p, &s);
}

/* What a kernel sender leaves for the offload: the folded pseudo-header sum. */
static void make_partial(uint8_t *p, size_t len)
{
	uint8_t *tcp = (uint8_t *)tcp_of(p, len);
	uint32_t tcp_len = (uint32_t)(len - (size_t)(tcp - p));
	/* the same words as the IPv6 form (length, zeros, next header) */
	uint8_t tail[4] = { 0, 6, (uint8_t)(tcp_len >> 8), (uint8_t)tcp_len };
	uint32_t sum = p[12] == 0x08 ? csum_add(0, p + 14 + 12, 8)
				     : csum_add(0, p + 14 + 8, 32);
	uint16_t partial = (uint16_t)~csum_fold(csum_add(sum, tail, sizeof(tail)));

	tcp[16] = (uint8_t)(partial >> 8);
	tcp[17] = (uint8_t)partial;
}

static int partial_completed(int family, uint8_t option_words)
{
	uint8_t p[256], want[256];
	size_t len = frame_of(family, p, option_words);

	memcpy(want, p, len);
	make_partial(p, len);
	KTAP_EXPECT(!tcp_csum_ok(p, len));
	velo_csum_rx_complete_partial(p, len);
	KTAP_EXPECT(tcp_csum_ok(p, len));
	KTAP_EXPECT(!memcmp(p, want, len));
	return KTAP_PASS;
}

static int complete_left_alone(int family)
{
	uint8_t p[256], want[256];
	size_t len = frame_of(family, p, 0);

	memcpy(want, p, len);
	velo_csum_rx_complete_partial(p, len);
	KTAP_EXPECT(!memcmp(p, want, len));
	/* a wrong sum stays wrong */
	p[len - 1] ^= 0x40;
	memcpy(want, p, len);
	velo_csum_rx_complete_partial(p, len);
	KTAP_EXPECT(!memcmp(p, want, len) && !tcp_csum_ok(p, len));
	/* truncated or not TCP: untouched, no overread */
	velo_csum_rx_complete_partial(p, 30);
	KTAP_EXPECT(velo_csum_tx_fill(p, 30) == -EINVAL);
	return KTAP_PASS;
}

static int ipv4_header_sum_filled(void)
{
	uint8_t p[256];
	size_t len = frame_of(AF_INET, p, 2);

	KTAP_EXPECT(csum_fold(csum_add(0, p + 14, 28)) == 0);
	p[14 + 10] ^= 0xff;
	KTAP_EXPECT(velo_csum_tx_fill(p, len) == 0);
	KTAP_EXPECT(csum_fold(csum_add(0, p + 14, 28)) == 0);
	return KTAP_PASS;
}

static int partial_v4(void) { return partial_completed(AF_INET, 0); }
static int partial_v4_options(void) { return partial_completed(AF_INET, 3); }
static int partial_v6(void) { return partial_completed(AF_INET6, 0); }
static int complete_v4(void) { return complete_left_alone(AF_INET); }
static int complete_v6(void) { return complete_left_alone(AF_INET6); }

static const struct ktap_case cases[] = {
	{ "partial_ipv4_completed", partial_v4, 0 },
	{ "partial_ipv4_with_options_completed", partial_v4_options, 0 },
	{ "partial_ipv6_completed", partial_v6, 0 },
	{ "complete_ipv4_left_alone", complete_v4, 0 },
	{ "complete_ipv6_left_alone", complete_v6, 0 },
	{ "ipv4_header_sum_filled", ipv4_header_sum_filled, 0 },
};

KTAP_MAIN(cases)
