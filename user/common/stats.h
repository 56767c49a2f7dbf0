/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per-process statistics of libvelo in shared memory,
 * /dev/shm/velo-stats.<pid>, written by the process, read by veloctl.
 */
#ifndef VELO_COMMON_STATS_H
#define VELO_COMMON_STATS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define VELO_STATS_MAGIC 0x53544154534c4556ULL /* "VELSTATS" */
#define VELO_STATS_VERSION 6
#define VELO_STATS_SLOTS 1024

#define VELO_STAT_LIST(X)                                                      \
	X(SOCKETS, "sockets", "TCP sockets created or adopted")                \
	X(LOOP_ATTACHED, "loop_attached", "connections attached to a shared-memory channel") \
	X(LOOP_SWITCHED, "loop_switched", "directions switched to the shared-memory ring") \
	X(LOOP_NO_PEER, "loop_no_peer", "connections left on the kernel path (peer not local or not velo)") \
	X(RULE_PASSTHROUGH, "rule_passthrough", "connections passed to the kernel by configuration") \
	X(TX_RING_BYTES, "tx_ring_bytes", "bytes sent through shared memory")  \
	X(RX_RING_BYTES, "rx_ring_bytes", "bytes received through shared memory") \
	X(TX_KERNEL_BYTES, "tx_kernel_bytes", "bytes of accelerable sockets sent through the kernel") \
	X(RX_KERNEL_BYTES, "rx_kernel_bytes", "bytes of accelerable sockets received through the kernel") \
	X(DOORBELLS, "doorbells", "wake-ups of a sleeping peer (system calls)") \
	X(SLEEPS, "sleeps", "waits that went to sleep in the kernel")         \
	X(CHAN_CORRUPT, "chan_corrupt", "channels broken by inconsistent shared indexes") \
	X(EPOLL_STALE_CLOSED, "epoll_stale_closed", "epoll events dropped: fd closed") \
	X(EPOLL_STALE_REOPEN_SAME, "epoll_stale_reopen_same", "epoll events dropped: fd reopened by the same thread") \
	X(EPOLL_STALE_REOPEN_OTHER, "epoll_stale_reopen_other", "epoll events dropped: fd reopened by another thread") \
	X(WIRE_CONNECTS, "wire_connects", "connections made by the engine on the wire path") \
	X(WIRE_ACCEPTS, "wire_accepts", "connections accepted from the engine on the wire path") \
	X(WIRE_STACKS_KO, "wire_stacks_ko", "wire stacks made on velo.ko's rings") \
	X(WIRE_STACKS_XDP, "wire_stacks_xdp", "wire stacks made on AF_XDP") \
	X(WIRE_MOVED, "wire_moved", "wire connections handed to the kernel's TCP (fork, exec, SCM_RIGHTS)") \
	X(ACCEL_ENDED, "accel_ended", "1: the process uses io_uring, so every socket went to the kernel")

enum velo_stat {
#define X(e, n, d) VELO_STAT_##e,
	VELO_STAT_LIST(X)
#undef X
	VELO_STAT_MAX
};

enum velo_sock_state {
	VELO_SS_FREE,
	VELO_SS_KERNEL,   /* passthrough */
	VELO_SS_PENDING,  /* TCP, not connected yet */
	VELO_SS_LISTEN,
	VELO_SS_LOOP,     /* attached to a loopback channel */
	VELO_SS_WIRE,     /* connected by the engine on the wire path */
};

struct velo_stats_sock {
	_Atomic uint32_t state; /* enum velo_sock_state; FREE = unused slot */
	int32_t fd;
	uint64_t ino;
	char local[56];
	char peer[56];
	_Atomic uint64_t tx_ring, rx_ring, tx_kernel, rx_kernel;
};

struct velo_stats {
	uint64_t magic;
	uint32_t version;
	int32_t pid;
	char comm[32];
	uint32_t nslots;
	uint32_t pad;
	_Atomic uint64_t ctr[VELO_STAT_MAX];
	struct velo_stats_sock sock[VELO_STATS_SLOTS];
};

/* Create (or, in a forked child, re-create) this process's stats file. */
struct velo_stats *velo_stats_create(pid_t pid, const char *comm,
				     const struct velo_stats *copy_from);
void velo_stats_remove(pid_t pid);
/* Remove the stats files of processes that no longer exist (killed ones). */
void velo_stats_gc(void);

/* Print the statistics of process pid (text or JSON). 0, or -errno. */
int velo_stats_print(pid_t pid, bool json, FILE *out);
/* Map a process's stats read-only (for veloctl); NULL with errno set. */
const struct velo_stats *velo_stats_map(pid_t pid);
void velo_stats_unmap(const struct velo_stats *st);
const char *velo_stat_name(enum velo_stat s);
const char *velo_sock_state_name(uint32_t st);

#endif /* VELO_COMMON_STATS_H */
