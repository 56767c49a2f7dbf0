/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Checksums of the frames the AF_XDP backend moves.
 *
 * A kernel peer over veth hands its frames over with CHECKSUM_PARTIAL: the
 * TCP checksum field holds only the folded pseudo-header sum, the rest was
 * left to an offload that never runs. The kernel trusts such frames; the
 * backend completes their sum on receive so that the engine, which verifies
 * every checksum, accepts them too. Sending always uses full checksums.
 */
#ifndef VELO_XDP_CSUM_H
#define VELO_XDP_CSUM_H

#include <stddef.h>
#include <stdint.h>

/*
 * If the Ethernet frame is IPv4/IPv6 TCP whose checksum field holds the
 * partial (pseudo-header only) sum, replaces it by the full checksum.
 * A frame with a complete checksum is left as it is, right or wrong.
 */
void velo_csum_rx_complete_partial(void *frame, size_t len);

/*
 * Computes the IPv4 header checksum (IPv4) and the full TCP checksum of an
 * Ethernet frame. Returns 0, or -EINVAL if it is not a well-formed TCP frame.
 */
int velo_csum_tx_fill(void *frame, size_t len);

#endif /* VELO_XDP_CSUM_H */
