/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * velo: the one contract between velo.ko and user space (libvelo, veloctl).
 * Everything user space writes through these structures is untrusted.
 *
 * A stack is created on /dev/velo (VELO_IOC_STACK_CREATE), which returns a
 * new file descriptor for it. One mmap(MAP_SHARED) of that fd, offset 0,
 * length mmap_size, maps every region of the stack; each region's offset
 * and size is in struct velo_stack_create on return. The stack lives until
 * its last fd and its last mapping are gone (mappings survive fork).
 *
 * The queues use the mlx5 PRM formats (include/linux/mlx5/{qp,device,cq}.h,
 * <infiniband/mlx5dv.h>), all fields big-endian:
 *
 * Send queue: 2^log_sq_size WQE basic blocks (WQEBB, 64 bytes), cyclic. A
 * WQE is ctrl + eth + data segments (16 bytes each), 1 to 16 WQEBBs, and
 * may wrap around the ring end:
 *   ctrl.opmod_idx_opcode = producer counter << 8 | MLX5_OPCODE_SEND (or
 *        MLX5_OPCODE_NOP); ctrl.qpn_ds = sqn << 8 | number of segments;
 *        ctrl.fm_ce_se: MLX5_WQE_CTRL_CQ_UPDATE asks for a completion.
 *   eth.cs_flags: MLX5_ETH_WQE_L3_CSUM / _L4_CSUM (IPv4 header, TCP sums
 *        computed by the provider); eth.inline_hdr.sz: 0..256 bytes of the
 *        frame's start inline from inline_hdr.start on (then padded to 16).
 *   data segments: byte_count, lkey (from create), addr = byte offset in
 *        the "buf" region; up to 60, the frame at most 65535 bytes.
 * Then user space writes the producer counter (in WQEBBs) to the QP
 * doorbell record's MLX5_SND_DBR word and rings the doorbell. Soft
 * provider: VELO_IOC_KICK (or armed doorbell polling, VELO_DBR_SQ_POLL).
 * mlx5 provider: after the doorbell record is visible (a store fence), a
 * 64-bit write of the last WQE's first 8 bytes (opmod_idx_opcode, qpn_ds)
 * at uar_db_offset in the UAR page (mapped on its own, at uar.offset,
 * write-combining: fence again after it); VELO_IOC_KICK fails with
 * EOPNOTSUPP there. The first min_inline bytes of each frame must be
 * inline. Soft provider: a frame must be Ethernet + IPv4/IPv6 + TCP from
 * the device's MAC address, with the local address and port of one of the
 * stack's filters; anything else is dropped, counted, and completed with
 * an error CQE. (The mlx5 NIC reads the WQEs itself: it checks none of
 * that.)
 *
 * Receive queue: 2^log_rq_size WQEs of one data segment (byte_count = room,
 * lkey, addr in "buf"); user space posts them and writes its producer
 * counter to MLX5_RCV_DBR. Each frame of the stack's filters is copied,
 * link-layer header included, into the next WQE (GRO/GSO-merged frames are
 * split back into wire frames first).
 *
 * Completion queues (receive, send): 2^log_cq_size 64-byte struct
 * mlx5_cqe64, initialised invalid (op_own 0xf1). A CQE at index i is valid
 * when (op_own & 1) == ((i >> log_cq_size) & 1) and op_own >> 4 is not
 * MLX5_CQE_INVALID. Filled fields: op_own (MLX5_CQE_RESP_SEND /
 * MLX5_CQE_REQ, or MLX5_CQE_RESP_ERR / MLX5_CQE_REQ_ERR with the error
 * CQE's syndrome), wqe_counter (the WQE's counter), byte_cnt, sop_drop_qpn
 * (sqn/rqn); receive also hds_ip_ext (CQE_L3_OK | CQE_L4_OK when the
 * kernel verified the checksums) and l4_l3_hdr_type[3:2] (1: IPv6, 2:
 * IPv4). User space writes its consumer index to the CQ doorbell record;
 * a full CQ (by that index) stops sends and drops received frames.
 */
#ifndef _UAPI_LINUX_VELO_H
#define _UAPI_LINUX_VELO_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define VELO_DEVICE_PATH "/dev/velo"

/* Bumped on any incompatible change of this header. */
#define VELO_ABI_VERSION 2

struct velo_version {
	__u32 abi;		/* VELO_ABI_VERSION of the module */
	__u32 reserved;
	char release[24];	/* module version, NUL-terminated */
};

enum velo_provider {
	VELO_PROVIDER_SOFT = 1,	/* velo.ko plays the NIC on any netdev */
	VELO_PROVIDER_MLX5 = 2,	/* real mlx5 queues (mlx5_core netdevs) */
};

/* A region of the stack mapping: [offset, offset + size). */
struct velo_region {
	__u64 offset;
	__u64 size;
};

/*
 * Doorbell records, inside the "dbr" region, each in its own cache line:
 * QP: __be32[2], [0] (MLX5_RCV_DBR) = RQ producer counter (16 bits),
 *                [1] (MLX5_SND_DBR) = SQ producer counter in WQEBBs (16 bits);
 * CQ: __be32[2], [0] = consumer index (24 bits), [1] = arm (soft: unused;
 *     mlx5: the module's, written when a wait arms the CQ).
 */
#define VELO_DBR_QP	0
#define VELO_DBR_RCQ	64
#define VELO_DBR_SCQ	128
/*
 * Soft provider, doorbell polling (when velo.db_poll_us > 0): a non-zero
 * __u32 here, followed by one VELO_IOC_KICK, makes the module poll the SQ
 * doorbell record every db_poll_us until it reads zero again, so sends
 * need no system call. VELO_IOC_KICK is the doorbell otherwise.
 */
#define VELO_DBR_SQ_POLL 192

#define VELO_LOG_Q_MIN	4	/* queue sizes: 2^4 ... 2^13 entries */
#define VELO_LOG_Q_MAX	13

struct velo_stack_create {
	/* in */
	__u32 ifindex;		/* netdev in the caller's network namespace */
	__u32 queue;		/* device queue (soft provider: any queue) */
	__u32 flags;		/* must be 0 */
	__u32 buf_size;		/* packet-buffer area, bytes, multiple of 4096 */
	__u32 log_sq_size;	/* SQ: 2^n WQEBBs of 64 bytes */
	__u32 log_rq_size;	/* RQ: 2^n WQEs of 16 bytes (one data segment) */
	__u32 log_cq_size;	/* each CQ: 2^n CQEs of 64 bytes */
	__u32 nr_conns;		/* connection records (struct velo_conn) */
	/* out */
	__s32 fd;		/* the stack: mmap, ioctls, poll; O_CLOEXEC */
	__u32 provider;		/* enum velo_provider */
	__u32 stack_id;		/* sysfs /sys/kernel/velo/stacks/<id>, netlink */
	__u32 lkey;		/* data segments: lkey, addr = offset in "buf" */
	__u32 sqn;		/* ctrl segment qpn_ds[31:8]; CQE sop_drop_qpn */
	__u32 rqn;
	__u64 mmap_size;
	struct velo_region buf;		/* packet buffers */
	struct velo_region sq;		/* send WQEs */
	struct velo_region rq;		/* receive WQEs */
	struct velo_region rcq;		/* receive completions */
	struct velo_region scq;		/* send completions */
	struct velo_region dbr;		/* doorbell records (VELO_DBR_*) */
	struct velo_region conns;	/* struct velo_conn[nr_conns] */
	/*
	 * Out, only for callers passing the whole structure (the ioctl's size
	 * says which; VELO_STACK_CREATE_SIZE_V1 callers get the soft provider
	 * only). mlx5: the UAR doorbell page, mapped by its own mmap (offset
	 * uar.offset, length uar.size); size 0: none.
	 */
	struct velo_region uar;
	__u32 uar_db_offset;	/* the SQ doorbell's byte offset in the UAR page */
	__u32 min_inline;	/* bytes of each frame the SQ needs inline (0: none) */
};

/* struct velo_stack_create before the uar fields (older user space). */
#define VELO_STACK_CREATE_SIZE_V1	176

/*
 * RFS filter: TCP frames of the stack's netdev in its network namespace.
 * Connected (5-tuple) or, with VELO_FILTER_F_LISTEN, listening: local
 * address (all-zero: any local address) and port only. Addresses are in
 * network order, IPv4 in the first 4 bytes; ports in network order.
 * A filter is owned by the handle returned on add, never by a socket fd.
 */
#define VELO_FILTER_F_LISTEN	(1U << 0)
/*
 * Take the tuple over from a filter of the same stack (a socket closing
 * while a new one reuses its tuple); the old handle becomes stale and
 * removing it later is harmless (ENOENT).
 */
#define VELO_FILTER_F_TAKEOVER	(1U << 1)

struct velo_filter {
	__u64 handle;		/* out on add; in on delete */
	__u16 family;		/* AF_INET or AF_INET6 */
	__u8 protocol;		/* IPPROTO_TCP */
	__u8 reserved;
	__u32 flags;		/* VELO_FILTER_F_* */
	__u8 laddr[16];
	__u8 raddr[16];
	__be16 lport;
	__be16 rport;
	__u32 reserved2;
};

/*
 * Wait: sleeps until a CQ holds a completion past the consumer index in its
 * doorbell record, or until deadline. Returns 0 with events set, -ETIME at
 * the deadline, or is interrupted by a signal (restarted per SA_RESTART).
 * poll()/epoll on the stack fd report EPOLLIN under the same condition.
 */
#define VELO_EV_RX	(1U << 0)	/* receive CQ has completions */
#define VELO_EV_TX	(1U << 1)	/* send CQ has completions */

struct velo_wait {
	__s64 deadline_ns;	/* CLOCK_MONOTONIC absolute; 0: none */
	__u32 events;		/* out: VELO_EV_* */
	__u32 reserved;
};

/*
 * A connection record, in the "conns" region. User space fills one per
 * open TCP connection and keeps snd_nxt/rcv_nxt current; when the stack
 * dies (its last fd and mapping gone) the module sends an RST for every
 * VELO_CONN_OPEN record whose tuple the stack may send on (a connected
 * filter of the stack, or its listening filter on the local port) unless
 * the kernel's TCP has that connection.
 */
#define VELO_CONN_FREE	0
#define VELO_CONN_OPEN	1

struct velo_conn {
	__u32 state;		/* VELO_CONN_* */
	__u16 family;		/* AF_INET or AF_INET6 */
	__u8 peer_mac[6];	/* next hop's MAC address */
	__u8 laddr[16];
	__u8 raddr[16];
	__be16 lport;
	__be16 rport;
	__u32 snd_nxt;		/* host order */
	__u32 rcv_nxt;		/* host order */
	__u32 reserved[2];
};

#define VELO_IOC_MAGIC 0xE7
#define VELO_IOC_VERSION	_IOR(VELO_IOC_MAGIC, 0x00, struct velo_version)
#define VELO_IOC_STACK_CREATE	_IOWR(VELO_IOC_MAGIC, 0x01, struct velo_stack_create)
/* The same call from user space built before the uar fields. */
#define VELO_IOC_STACK_CREATE_V1 \
	_IOC(_IOC_READ | _IOC_WRITE, VELO_IOC_MAGIC, 0x01, VELO_STACK_CREATE_SIZE_V1)
/* On a stack fd: */
#define VELO_IOC_KICK		_IO(VELO_IOC_MAGIC, 0x10)	/* SQ doorbell */
#define VELO_IOC_FILTER_ADD	_IOWR(VELO_IOC_MAGIC, 0x11, struct velo_filter)
#define VELO_IOC_FILTER_DEL	_IOW(VELO_IOC_MAGIC, 0x12, struct velo_filter)
#define VELO_IOC_WAIT		_IOWR(VELO_IOC_MAGIC, 0x13, struct velo_wait)

/*
 * Counters, per stack and global; their names are in sysfs
 * (/sys/kernel/velo/{stats,stacks/<id>}/) and in netlink (VELO_A_CNT_NAME).
 */
enum velo_counter {
	VELO_CNT_RX_FRAMES,
	VELO_CNT_RX_BYTES,
	VELO_CNT_RX_NO_WQE,	/* no posted receive WQE: dropped */
	VELO_CNT_RX_BAD_WQE,	/* receive WQE with bad lkey/addr/length */
	VELO_CNT_RX_CQ_FULL,	/* receive CQ full: dropped */
	VELO_CNT_RX_GRO_SPLIT,	/* GRO-merged frames split back into wire frames */
	VELO_CNT_RX_SPLIT_FAIL,	/* ... that could not be split: dropped */
	VELO_CNT_TX_FRAMES,
	VELO_CNT_TX_BYTES,
	VELO_CNT_TX_BAD_INDEX,	/* SQ doorbell beyond the ring */
	VELO_CNT_TX_BAD_WQE,	/* bad opcode, segment count or inline size */
	VELO_CNT_TX_BAD_DATA,	/* data segment outside the buffer area */
	VELO_CNT_TX_BAD_FRAME,	/* not an Ethernet/IP/TCP frame velo sends */
	VELO_CNT_TX_SPOOF,	/* source MAC/address/port not the stack's */
	VELO_CNT_TX_DEV_DROP,	/* the device refused the frame */
	VELO_CNT_KICKS,		/* doorbells: VELO_IOC_KICK or a polled doorbell */
	VELO_CNT_WAKEUPS,
	VELO_CNT_RST_SENT,	/* teardown RSTs */
	VELO_CNT_RST_INVALID,	/* connection records refused at teardown */
	VELO_CNT_MAX
};

/* Generic netlink family VELO_GENL_NAME, version VELO_GENL_VERSION. */
#define VELO_GENL_NAME		"velo"
#define VELO_GENL_VERSION	1

enum velo_genl_cmd {
	VELO_CMD_UNSPEC,
	VELO_CMD_GET_STACK,	/* dump: one message per visible stack */
	VELO_CMD_GET_FILTER,	/* dump: one message per visible filter */
	VELO_CMD_GET_STATS,	/* do: global counters */
	VELO_CMD_SET_POLICY,	/* do, CAP_NET_ADMIN: IFINDEX + ACCELERATE */
	VELO_CMD_GET_POLICY,	/* dump: interfaces with a policy */
	__VELO_CMD_MAX
};

enum velo_genl_attr {
	VELO_A_UNSPEC,
	VELO_A_STACK_ID,	/* u32 */
	VELO_A_IFINDEX,		/* u32 */
	VELO_A_QUEUE,		/* u32 */
	VELO_A_PROVIDER,	/* u32 */
	VELO_A_PID,		/* u32, creator's tgid */
	VELO_A_UID,		/* u32 */
	VELO_A_COUNTERS,	/* nest of VELO_A_CNT */
	VELO_A_CNT,		/* nest: VELO_A_CNT_NAME, VELO_A_CNT_VALUE */
	VELO_A_CNT_NAME,	/* string */
	VELO_A_CNT_VALUE,	/* u64 */
	VELO_A_FILTER_HANDLE,	/* u64 */
	VELO_A_FAMILY,		/* u16 */
	VELO_A_FLAGS,		/* u32, VELO_FILTER_F_* */
	VELO_A_LADDR,		/* binary, 4 or 16 bytes */
	VELO_A_RADDR,
	VELO_A_LPORT,		/* u16, host order */
	VELO_A_RPORT,
	VELO_A_ACCELERATE,	/* u8: 0 refuses new stacks on IFINDEX */
	VELO_A_PAD,
	__VELO_A_MAX
};

#define VELO_A_MAX (__VELO_A_MAX - 1)

#endif /* _UAPI_LINUX_VELO_H */
