// SPDX-License-Identifier: GPL-2.0
/*
 * Untrusted rings: garbage WQEs, doorbell values, receive WQEs and CQ
 * consumer indices are survived, counted and never turn into a frame sent
 * from memory the stack does not own; and memory limits are enforced.
 */
#include <sys/resource.h>

#include "velo_test.h"

#define BUF (256 * 1024)

static uint64_t rnd_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

static long long drops(void)
{
	static const char *const names[] = { "tx_drop_bad_wqe", "tx_drop_bad_data",
		"tx_drop_bad_index", "tx_drop_bad_frame", "tx_drop_spoof" };
	long long n = 0;
	unsigned int i;

	for (i = 0; i < 5; i++)
		n += vt_sysfs_u64("/sys/kernel/velo/stats/%s", names[i]);
	return n;
}

static long long stat_of(const char *name)
{
	return vt_sysfs_u64("/sys/kernel/velo/stats/%s", name);
}

/*
 * Fresh stacks (so the kernel's consumer counter is known: 0) with random
 * rings, doorbells mostly within the ring, random CQ consumer indices.
 */
static int garbage_send_queue(void)
{
	long long idx0 = stat_of("tx_drop_bad_index"), wqe0 = stat_of("tx_drop_bad_wqe");
	long long all0 = drops(), tx0 = stat_of("tx_frames");
	struct vt_stack t;
	unsigned int i, j;

	KTAP_EXPECT(vt_setup() == 0);
	for (i = 0; i < 100; i++) {
		KTAP_EXPECT(vt_stack_open(&t, "v0", BUF) == 0);
		for (j = 0; j < t.c.sq.size / 8; j++)
			((uint64_t *)t.sq)[j] = rnd();
		/* Sometimes plausible ctrl segments (SEND) with garbage behind. */
		if (i & 1)
			for (j = 0; j < 64; j++)
				t.sq[j * 64 + 3] = VT_OPCODE_SEND;
		t.qp_dbr[1] = i % 4 ? htobe32(rnd() % 65) : (uint32_t)rnd();
		t.scq.dbr[0] = i % 3 ? (uint32_t)rnd() : 0;
		ioctl(t.fd, VELO_IOC_KICK);
		ioctl(t.fd, VELO_IOC_KICK);
		vt_stack_close(&t);
	}
	ktap_diag("bad_index %+lld bad_wqe %+lld all drops %+lld",
		  stat_of("tx_drop_bad_index") - idx0, stat_of("tx_drop_bad_wqe") - wqe0,
		  drops() - all0);
	KTAP_EXPECT(stat_of("tx_drop_bad_index") > idx0);
	KTAP_EXPECT(stat_of("tx_drop_bad_wqe") > wqe0);
	KTAP_EXPECT(drops() - all0 > 200);
	/* Nothing left: no garbage WQE passes as a frame of a filtered flow. */
	KTAP_EXPECT(stat_of("tx_frames") == tx0);
	return KTAP_PASS;
}

/* A data segment pointing just past the buffer area, or with a wrong lkey. */
static int out_of_area_segments(void)
{
	uint8_t wqe[64] = { 0 };
	struct vt_stack t;
	struct vt_dseg *d = (void *)(wqe + 32);
	unsigned int i;

	KTAP_EXPECT(vt_setup() == 0);
	KTAP_EXPECT(vt_stack_open(&t, "v0", BUF) == 0);
	wqe[3] = VT_OPCODE_SEND;
	wqe[7] = 3;
	for (i = 0; i < 4; i++) {
		uint64_t addr[] = { BUF - 10, BUF, UINT64_MAX - 5, 0 };

		d->byte_count = htobe32(64);
		d->lkey = htobe32(i == 3 ? t.c.lkey + 1 : t.c.lkey);
		d->addr = htobe64(addr[i]);
		memcpy(t.sq + (t.sq_pc & 63) * 64, wqe, 64);
		t.sq_pc++;
		t.qp_dbr[1] = htobe32(t.sq_pc);
		KTAP_EXPECT(ioctl(t.fd, VELO_IOC_KICK) == 0);
		KTAP_EXPECT(vt_cq_wait(&t, &t.scq, 100) != NULL);
	}
	KTAP_EXPECT(vt_stack_cnt(&t, "tx_drop_bad_data") == 4);
	vt_stack_close(&t);
	return KTAP_PASS;
}

static int garbage_receive_queue(void)
{
	struct vt_stack t;
	struct vt_tuple u;
	unsigned int i;
	pid_t pid;

	KTAP_EXPECT(vt_setup() == 0);
	KTAP_EXPECT(vt_stack_open(&t, "v0", BUF) == 0);
	vt_tuple4(&u, "10.9.0.1", 8500, "0.0.0.0", 0);
	KTAP_EXPECT(vt_filter(&t, &u, VELO_FILTER_F_LISTEN, NULL) == 0);
	for (i = 0; i < 64; i++) {
		t.rq[i].byte_count = (uint32_t)rnd();
		t.rq[i].lkey = i & 1 ? htobe32(t.c.lkey) : (uint32_t)rnd();
		t.rq[i].addr = i & 2 ? htobe64(BUF - 16) : rnd();
	}
	t.qp_dbr[0] = htobe32(40000);	/* beyond the ring */
	pid = fork();
	if (pid == 0) {
		struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(8500) };
		int fd;

		if (vt_enter_peer())
			_exit(1);
		inet_pton(AF_INET, "10.9.0.1", &sin.sin_addr);
		fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		connect(fd, (void *)&sin, sizeof(sin));
		usleep(1200000);
		_exit(0);
	}
	usleep(300000);
	t.qp_dbr[0] = htobe32(8);	/* eight garbage WQEs posted */
	waitpid(pid, NULL, 0);
	ktap_diag("rx bad_wqe %lld no_wqe %lld frames %lld", vt_stack_cnt(&t, "rx_drop_bad_wqe"),
		  vt_stack_cnt(&t, "rx_drop_no_wqe"), vt_stack_cnt(&t, "rx_frames"));
	KTAP_EXPECT(vt_stack_cnt(&t, "rx_drop_bad_wqe") >= 2);
	KTAP_EXPECT(vt_stack_cnt(&t, "rx_frames") == 0);
	/* The garbage WQE consumed by the retransmitted SYN: an error CQE. */
	KTAP_EXPECT(vt_cq_next(&t.rcq) && (t.rcq.cqes[0].op_own >> 4) == VT_CQE_RESP_ERR);
	vt_stack_close(&t);
	return KTAP_PASS;
}

static int bad_create_args(void)
{
	struct velo_stack_create c;
	int dev = open(VELO_DEVICE_PATH, O_RDWR);

	KTAP_EXPECT(dev >= 0);
	KTAP_EXPECT(vt_setup() == 0);
	memset(&c, 0, sizeof(c));
	c.ifindex = if_nametoindex("v0");
	c.buf_size = BUF;
	c.log_sq_size = c.log_rq_size = c.log_cq_size = 6;
	/* Out fields: what the caller left there is ignored; soft has no UAR. */
	memset(&c.uar, 0xee, sizeof(c) - VELO_STACK_CREATE_SIZE_V1);
	KTAP_EXPECT(ioctl(dev, VELO_IOC_STACK_CREATE, &c) == 0 && c.fd >= 0);
	KTAP_EXPECT(c.provider == VELO_PROVIDER_SOFT && !c.uar.offset && !c.uar.size &&
		    !c.uar_db_offset && !c.min_inline);
	KTAP_EXPECT(ioctl(c.fd, VELO_IOC_KICK) == 0);
	close(c.fd);
	/* User space built before the uar fields: 176 bytes in, 176 bytes out. */
	memset(&c.uar, 0xee, sizeof(c) - VELO_STACK_CREATE_SIZE_V1);
	KTAP_EXPECT(ioctl(dev, VELO_IOC_STACK_CREATE_V1, &c) == 0 && c.fd >= 0);
	KTAP_EXPECT(c.provider == VELO_PROVIDER_SOFT && c.min_inline == 0xeeeeeeee);
	close(c.fd);
	c.buf_size = 4095;
	KTAP_EXPECT(ioctl(dev, VELO_IOC_STACK_CREATE, &c) == -1 && errno == EINVAL);
	c.buf_size = BUF;
	c.log_sq_size = 30;
	KTAP_EXPECT(ioctl(dev, VELO_IOC_STACK_CREATE, &c) == -1 && errno == EINVAL);
	c.log_sq_size = 6;
	c.flags = 1;
	KTAP_EXPECT(ioctl(dev, VELO_IOC_STACK_CREATE, &c) == -1 && errno == EINVAL);
	c.flags = 0;
	c.queue = 1000;
	KTAP_EXPECT(ioctl(dev, VELO_IOC_STACK_CREATE, &c) == -1 && errno == EINVAL);
	c.queue = 0;
	c.ifindex = 99999;
	KTAP_EXPECT(ioctl(dev, VELO_IOC_STACK_CREATE, &c) == -1 && errno == ENODEV);
	/* An L3-only device: the rings carry Ethernet frames. */
	KTAP_EXPECT(vt_sh("/sbin/modprobe tun && /usr/bin/ip tuntap add mode tun dev vtun0 && "
			  "/usr/bin/ip link set vtun0 up") == 0);
	c.ifindex = if_nametoindex("vtun0");
	KTAP_EXPECT(ioctl(dev, VELO_IOC_STACK_CREATE, &c) == -1 && errno == EOPNOTSUPP);
	vt_sh("/usr/bin/ip link del vtun0");
	close(dev);
	return KTAP_PASS;
}

/* MAP_PRIVATE, larger-than-the-stack and executable mappings are refused. */
static int bad_mappings(void)
{
	struct vt_stack t;

	KTAP_EXPECT(vt_setup() == 0);
	KTAP_EXPECT(vt_stack_open(&t, "v0", BUF) == 0);
	KTAP_EXPECT(mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, t.fd, 0) == MAP_FAILED);
	KTAP_EXPECT(mmap(NULL, t.c.mmap_size + 4096, PROT_READ, MAP_SHARED, t.fd, 0) ==
		    MAP_FAILED);
	KTAP_EXPECT(mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_SHARED, t.fd, 0) == MAP_FAILED);
	vt_stack_close(&t);
	return KTAP_PASS;
}

/* RLIMIT_MEMLOCK (without CAP_IPC_LOCK) and velo.max_mem_mb. */
static int memory_limits(void)
{
	struct rlimit rl = { .rlim_cur = 1 << 20, .rlim_max = 1 << 20 };
	struct vt_stack t;
	int fd, dev;

	KTAP_EXPECT(vt_setup() == 0);
	fd = open("/sys/module/velo/parameters/max_mem_mb", O_WRONLY);
	KTAP_EXPECT(fd >= 0 && write(fd, "1", 1) == 1);
	KTAP_EXPECT(vt_stack_open(&t, "v0", 2 << 20) == -1 && errno == ENOMEM);
	KTAP_EXPECT(write(fd, "1024", 4) == 4);
	close(fd);
	vt_stack_close(&t);
	/* An unprivileged user, with the device open (as its udev group allows). */
	KTAP_EXPECT(setrlimit(RLIMIT_MEMLOCK, &rl) == 0);
	dev = open(VELO_DEVICE_PATH, O_RDWR);
	KTAP_EXPECT(setgid(65534) == 0 && setuid(65534) == 0);
	KTAP_EXPECT(vt_stack_create(&t, dev, "v0", 2 << 20) == -1 && errno == ENOMEM);
	KTAP_EXPECT(vt_stack_create(&t, dev, "v0", 256 << 10) == 0);
	vt_stack_close(&t);
	return KTAP_PASS;
}

static const struct ktap_case cases[] = {
	{ "garbage_send_queue", garbage_send_queue, 0 },
	{ "out_of_area_segments", out_of_area_segments, 0 },
	{ "garbage_receive_queue", garbage_receive_queue, 0 },
	{ "bad_create_args", bad_create_args, 0 },
	{ "bad_mappings", bad_mappings, 0 },
	{ "memory_limits", memory_limits, 0 },
};

KTAP_MAIN(cases)
