/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The XDP steering program of one interface, shared by every velo process
 * using that interface (internal to user/xdp).
 *
 * Sharing: the program is attached once per interface, by whichever velo
 * process comes first, and found again by the next ones through the
 * interface's attached program id (its name says it is velo's and which
 * layout it has) and the ids of its maps; nothing is pinned, so no bpffs is
 * needed. A process registers itself as an owner (its first XSK's socket
 * cookie, with its pid and start time); flows and queues are tagged with the
 * owner, so stacks never see each other's frames. The last owner to leave
 * detaches the program. Owners that died without leaving (SIGKILL) are
 * garbage-collected by the next process that joins or leaves: their XSKs
 * are gone with them, so until then their flows fall to the kernel.
 */
#ifndef VELO_XDP_STEER_H
#define VELO_XDP_STEER_H

#include <stdbool.h>
#include <stdint.h>

#include "../../bpf/velo_xdp.h"

struct velo_steer {
	int ifindex;
	bool force_generic;
	uint32_t mode_flags;	/* XDP_FLAGS_DRV_MODE or XDP_FLAGS_SKB_MODE */
	uint32_t prog_id;
	int prog_fd, flows_fd, xsks_fd, qowner_fd, owners_fd, stats_fd;
};

/* Finds the interface's velo program or loads and attaches one. */
int velo_steer_attach(struct velo_steer *s, int ifindex, bool force_generic);
/* Registers a live owner (after collecting dead ones). */
int velo_steer_join(struct velo_steer *s, uint64_t owner);
/* Removes the owner's flows and record (0: none); detaches if no owner is left. */
void velo_steer_leave(struct velo_steer *s, uint64_t owner);
void velo_steer_close(struct velo_steer *s);

int velo_steer_bind_queue(struct velo_steer *s, uint32_t queue, uint64_t owner,
			  int xsk_fd);
void velo_steer_unbind_queue(struct velo_steer *s, uint32_t queue, uint64_t owner);

int velo_steer_flow_add(struct velo_steer *s, const struct velo_flow_key *key,
			const struct velo_flow_val *val);
int velo_steer_flow_remove(struct velo_steer *s, const struct velo_flow_key *key,
			   const struct velo_flow_val *val);

void velo_steer_counters(struct velo_steer *s, uint64_t out[VELO_XDP_NR_COUNTERS]);

#endif /* VELO_XDP_STEER_H */
