/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The layout shared by the XDP steering program (velo_xdp.bpf.c) and its
 * user-space loader (user/xdp/steer.c). Changing it changes the maps' value
 * and key sizes, so a running program of another layout is not reused: the
 * loader checks the program name, which carries VELO_XDP_ABI.
 */
#ifndef VELO_BPF_XDP_H
#define VELO_BPF_XDP_H

#include <linux/types.h>

#define VELO_XDP_PROG_NAME "velo_xdp_v2"
#define VELO_XDP_MAX_QUEUES 256
#define VELO_XDP_MAX_FLOWS 65536
#define VELO_XDP_MAX_OWNERS 1024

/*
 * A TCP flow as seen by the receiver: "local" is the destination of an
 * incoming frame. A listening (3-tuple) key has remote_port 0 and a zero
 * remote address; a wildcard listener also has a zero local address.
 * IPv4 addresses sit in the first 4 bytes; the rest is zero.
 */
struct velo_flow_key {
	__u8 family;	/* 4 or 6 */
	__u8 pad;
	__be16 local_port;
	__be16 remote_port;
	__u16 pad2;
	__u8 local_addr[16];
	__u8 remote_addr[16];
};

/* Who registered a flow, and which registration it is (see steer.c). */
struct velo_flow_val {
	__u64 owner;	/* the owner cookie: SO_COOKIE of its first XSK */
	__u64 gen;	/* unique per registration, for safe removal */
};

/* A live registrant, so that the next opener can tell dead ones apart. */
struct velo_owner_val {
	__u32 pid;
	__u32 pad;
	__u64 start_time; /* /proc/PID/stat field 22: pid reuse detector */
	__u64 pidns;	  /* inode of its pid namespace: pid means nothing elsewhere */
};

enum velo_xdp_counter {
	VELO_XDP_REDIRECTED,	/* matched and handed to the queue's XSK */
	VELO_XDP_PASSED,	/* not a steered TCP flow (or the kernel's, on a listener port) */
	VELO_XDP_NO_SOCKET,	/* matched, but no XSK on this queue: to the kernel */
	VELO_XDP_FOREIGN_QUEUE,	/* matched, but this queue's XSK is another owner's */
	VELO_XDP_NR_COUNTERS,
};

#endif /* VELO_BPF_XDP_H */
