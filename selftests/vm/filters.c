// SPDX-License-Identifier: GPL-2.0
/*
 * RFS filter semantics: EEXIST on duplicates, handle-owned filters so that
 * a socket being torn down never blocks or removes the filter of a new
 * socket reusing its fd number or tuple (XLIO known issue 3440429), and
 * refusal of filters a stack has no right to.
 */
#include "velo_test.h"

#define BUF (256 * 1024)

/* The frame of a peer SYN to @u (local side first) reaches stack @t. */
static int steered_to(struct vt_stack *t, const struct vt_tuple *u)
{
	struct vt_tuple r = { .family = u->family, .sport = u->dport, .dport = u->sport };
	uint8_t frame[128];
	unsigned int len;
	int fd, ok;

	memcpy(r.saddr, u->daddr, 16);
	memcpy(r.daddr, u->saddr, 16);
	len = vt_tcp_frame(frame, vt_mac1, vt_mac0, &r, 1, 0, VT_SYN, NULL, 0);
	if (fork() == 0) {
		struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_halen = 6 };

		if (vt_enter_peer())
			_exit(1);
		fd = socket(AF_PACKET, SOCK_RAW, 0);
		sll.sll_ifindex = if_nametoindex("v1");
		_exit(sendto(fd, frame, len, 0, (void *)&sll, sizeof(sll)) != (ssize_t)len);
	}
	wait(NULL);
	ok = vt_cq_wait(t, &t->rcq, 1000) != NULL;
	return ok;
}

static int duplicates_eexist(void)
{
	struct vt_stack a, b;
	struct vt_tuple l, c;

	KTAP_EXPECT(vt_setup() == 0);
	KTAP_EXPECT(vt_stack_open(&a, "v0", BUF) == 0);
	KTAP_EXPECT(vt_stack_open(&b, "v0", BUF) == 0);
	vt_tuple4(&l, "10.9.0.1", 8000, "0.0.0.0", 0);
	vt_tuple4(&c, "10.9.0.1", 8000, "10.9.0.2", 9000);
	KTAP_EXPECT(vt_filter(&a, &l, VELO_FILTER_F_LISTEN, NULL) == 0);
	KTAP_EXPECT(vt_filter(&a, &l, VELO_FILTER_F_LISTEN, NULL) == -1 && errno == EEXIST);
	KTAP_EXPECT(vt_filter(&b, &l, VELO_FILTER_F_LISTEN, NULL) == -1 && errno == EEXIST);
	/* Another stack cannot take a tuple over either. */
	KTAP_EXPECT(vt_filter(&b, &l, VELO_FILTER_F_LISTEN | VELO_FILTER_F_TAKEOVER, NULL) == -1 &&
		    errno == EEXIST);
	KTAP_EXPECT(vt_filter(&a, &c, 0, NULL) == 0);
	KTAP_EXPECT(vt_filter(&b, &c, 0, NULL) == -1 && errno == EEXIST);
	/* The same tuple over IPv6 or on the wildcard address is another key. */
	vt_tuple4(&l, "0.0.0.0", 8000, "0.0.0.0", 0);
	KTAP_EXPECT(vt_filter(&b, &l, VELO_FILTER_F_LISTEN, NULL) == 0);
	vt_tuple6(&l, "fd09::1", 8000, "::", 0);
	KTAP_EXPECT(vt_filter(&b, &l, VELO_FILTER_F_LISTEN, NULL) == 0);
	KTAP_EXPECT(vt_stack_cnt(&a, "filters") == 2 && vt_stack_cnt(&b, "filters") == 2);
	vt_stack_close(&a);
	vt_stack_close(&b);
	return KTAP_PASS;
}

/*
 * Socket A (fd N) is closing while its filter is still installed; socket B
 * gets the same fd number N and the same tuple. B's add succeeds (takeover),
 * A's late teardown removes nothing of B's, and B's frames still arrive.
 */
static int fd_reuse_during_teardown(void)
{
	uint64_t ha, hb, hc;
	struct vt_stack t;
	struct vt_tuple u, v;
	int fd_a, fd_b;

	KTAP_EXPECT(vt_setup() == 0);
	KTAP_EXPECT(vt_stack_open(&t, "v0", BUF) == 0);
	vt_post_rx(&t, 16);
	vt_tuple4(&u, "10.9.0.1", 8100, "10.9.0.2", 9100);
	fd_a = dup(0);
	KTAP_EXPECT(vt_filter(&t, &u, 0, &ha) == 0);
	close(fd_a);			/* A closes; its teardown is pending */
	fd_b = dup(0);
	KTAP_EXPECT(fd_b == fd_a);	/* B reuses the fd number */
	KTAP_EXPECT(vt_filter(&t, &u, 0, &hb) == -1 && errno == EEXIST);
	KTAP_EXPECT(vt_filter(&t, &u, VELO_FILTER_F_TAKEOVER, &hb) == 0 && hb != ha);
	/* A's teardown completes: its stale handle removes nothing. */
	KTAP_EXPECT(vt_filter_del(&t, ha) == -1 && errno == ENOENT);
	KTAP_EXPECT(steered_to(&t, &u));
	/* B may also use another tuple under the same fd: independent. */
	vt_tuple4(&v, "10.9.0.1", 8101, "10.9.0.2", 9101);
	KTAP_EXPECT(vt_filter(&t, &v, 0, &hc) == 0);
	KTAP_EXPECT(vt_filter_del(&t, hb) == 0);
	KTAP_EXPECT(vt_filter_del(&t, hb) == -1 && errno == ENOENT);
	KTAP_EXPECT(steered_to(&t, &v));
	KTAP_EXPECT(vt_filter_del(&t, hc) == 0);
	KTAP_EXPECT(vt_stack_cnt(&t, "filters") == 0);
	close(fd_b);
	vt_stack_close(&t);
	return KTAP_PASS;
}

static int filter_raw(struct vt_stack *t, struct velo_filter *f)
{
	return ioctl(t->fd, VELO_IOC_FILTER_ADD, f) ? errno : 0;
}

static int refused_filters(void)
{
	struct velo_filter f;
	struct vt_stack t;

	KTAP_EXPECT(vt_setup() == 0);
	KTAP_EXPECT(vt_stack_open(&t, "v0", BUF) == 0);
	memset(&f, 0, sizeof(f));
	f.family = AF_INET;
	f.protocol = IPPROTO_TCP;
	f.flags = VELO_FILTER_F_LISTEN;
	f.lport = htons(8200);
	inet_pton(AF_INET, "10.9.0.2", f.laddr);	/* the peer's address */
	KTAP_EXPECT(filter_raw(&t, &f) == EADDRNOTAVAIL);
	inet_pton(AF_INET, "10.9.0.1", f.laddr);
	f.protocol = IPPROTO_UDP;
	KTAP_EXPECT(filter_raw(&t, &f) == EINVAL);
	f.protocol = IPPROTO_TCP;
	f.family = AF_UNIX;
	KTAP_EXPECT(filter_raw(&t, &f) == EINVAL);
	f.family = AF_INET;
	f.lport = 0;
	KTAP_EXPECT(filter_raw(&t, &f) == EINVAL);
	f.lport = htons(8200);
	f.flags = 0x80;
	KTAP_EXPECT(filter_raw(&t, &f) == EINVAL);
	f.flags = 0;		/* connected without a remote side */
	KTAP_EXPECT(filter_raw(&t, &f) == EINVAL);
	f.flags = VELO_FILTER_F_LISTEN;
	f.laddr[8] = 1;		/* IPv4 with garbage after the address */
	KTAP_EXPECT(filter_raw(&t, &f) == EINVAL);
	f.laddr[8] = 0;
	KTAP_EXPECT(filter_raw(&t, &f) == 0);
	KTAP_EXPECT(ioctl(t.fd, VELO_IOC_FILTER_ADD, (void *)8) == -1 && errno == EFAULT);
	vt_stack_close(&t);
	return KTAP_PASS;
}

/* Closing a stack removes its filters: the tuple is free for another. */
static int close_removes_filters(void)
{
	long long before = vt_sysfs_u64("/sys/kernel/velo/stats/filters");
	struct vt_stack a, b;
	struct vt_tuple l;

	KTAP_EXPECT(vt_setup() == 0);
	KTAP_EXPECT(vt_stack_open(&a, "v0", BUF) == 0);
	vt_tuple4(&l, "10.9.0.1", 8300, "0.0.0.0", 0);
	KTAP_EXPECT(vt_filter(&a, &l, VELO_FILTER_F_LISTEN, NULL) == 0);
	KTAP_EXPECT(vt_sysfs_u64("/sys/kernel/velo/stats/filters") == before + 1);
	vt_stack_close(&a);
	KTAP_EXPECT(vt_sysfs_u64("/sys/kernel/velo/stats/filters") == before);
	KTAP_EXPECT(vt_stack_open(&b, "v0", BUF) == 0);
	KTAP_EXPECT(vt_filter(&b, &l, VELO_FILTER_F_LISTEN, NULL) == 0);
	/* Deleting the device detaches the stack and drops its filters. */
	KTAP_EXPECT(vt_sh("/usr/bin/ip link del v0") == 0);
	KTAP_EXPECT(vt_sysfs_u64("/sys/kernel/velo/stats/filters") == before);
	KTAP_EXPECT(ioctl(b.fd, VELO_IOC_KICK) == -1 && errno == ENODEV);
	vt_stack_close(&b);
	return KTAP_PASS;
}

/* velo.max_filters bounds a stack's filters. */
static int filter_limit(void)
{
	int fd = open("/sys/module/velo/parameters/max_filters", O_WRONLY);
	struct vt_stack t;
	struct vt_tuple u;
	int i, r = KTAP_PASS;

	KTAP_EXPECT(fd >= 0 && write(fd, "3", 1) == 1);
	KTAP_EXPECT(vt_setup() == 0);
	KTAP_EXPECT(vt_stack_open(&t, "v0", BUF) == 0);
	for (i = 0; i < 4; i++) {
		vt_tuple4(&u, "10.9.0.1", 8600 + i, "0.0.0.0", 0);
		if ((vt_filter(&t, &u, VELO_FILTER_F_LISTEN, NULL) == 0) != (i < 3) ||
		    (i == 3 && errno != ENOSPC))
			r = KTAP_FAIL;
	}
	KTAP_EXPECT(write(fd, "65536", 5) == 5);
	close(fd);
	vt_stack_close(&t);
	return r;
}

static int kernel_listener(uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	inet_pton(AF_INET, "10.9.0.1", &sin.sin_addr);
	if (fd < 0 || bind(fd, (void *)&sin, sizeof(sin)) || listen(fd, 1))
		return -1;
	return fd;
}

/*
 * A tuple a kernel socket uses is its owner's: another unprivileged user
 * cannot claim it (listening or connected), the owner and root can.
 */
static int kernel_socket_owner(void)
{
	struct vt_stack t;
	struct vt_tuple l, c;
	int dev, st;
	pid_t pid;

	KTAP_EXPECT(vt_setup() == 0);
	KTAP_EXPECT(kernel_listener(8800) >= 0);
	vt_tuple4(&l, "10.9.0.1", 8800, "0.0.0.0", 0);
	vt_tuple4(&c, "10.9.0.1", 8800, "10.9.0.2", 1234);
	pid = fork();
	if (pid == 0) {
		struct vt_tuple m;

		dev = open(VELO_DEVICE_PATH, O_RDWR);
		if (setgid(65534) || setuid(65534) || vt_stack_create(&t, dev, "v0", BUF))
			_exit(1);
		if (vt_filter(&t, &l, VELO_FILTER_F_LISTEN, NULL) != -1 || errno != EADDRINUSE)
			_exit(2);
		if (vt_filter(&t, &c, 0, NULL) != -1 || errno != EADDRINUSE)
			_exit(3);
		vt_tuple4(&m, "10.9.0.1", 8801, "0.0.0.0", 0);
		if (kernel_listener(8801) < 0 || vt_filter(&t, &m, VELO_FILTER_F_LISTEN, NULL))
			_exit(4);
		_exit(0);
	}
	KTAP_EXPECT(waitpid(pid, &st, 0) == pid && WIFEXITED(st));
	if (WEXITSTATUS(st))
		ktap_diag("unprivileged step %d failed", WEXITSTATUS(st));
	KTAP_EXPECT(WEXITSTATUS(st) == 0);
	KTAP_EXPECT(vt_stack_open(&t, "v0", BUF) == 0);
	KTAP_EXPECT(vt_filter(&t, &l, VELO_FILTER_F_LISTEN, NULL) == 0);
	vt_stack_close(&t);
	return KTAP_PASS;
}

/*
 * RCU safety: the peer floods frames at filtered and unfiltered tuples
 * while stacks and filters come and go as fast as they can.
 */
static int churn_under_traffic(void)
{
	struct vt_tuple l, c, r;
	int64_t end;
	pid_t flood;
	int cycles = 0, st;

	KTAP_EXPECT(vt_setup() == 0);
	flood = fork();
	if (flood == 0) {
		struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_halen = 6 };
		uint8_t frame[128];
		unsigned int len, i = 0;
		int fd;

		if (vt_enter_peer())
			_exit(1);
		fd = socket(AF_PACKET, SOCK_RAW, 0);
		sll.sll_ifindex = if_nametoindex("v1");
		end = vt_now_ns() + 3000000000LL;
		while (vt_now_ns() < end) {
			vt_tuple4(&r, "10.9.0.2", 30000 + i % 4, "10.9.0.1", 8900 + i % 3);
			len = vt_tcp_frame(frame, vt_mac1, vt_mac0, &r, i, 0, VT_SYN, NULL, 0);
			sendto(fd, frame, len, 0, (void *)&sll, sizeof(sll));
			i++;
		}
		_exit(0);
	}
	end = vt_now_ns() + 3000000000LL;
	while (vt_now_ns() < end) {
		struct vt_stack t;
		uint64_t h;
		int i;

		KTAP_EXPECT(vt_stack_open(&t, "v0", BUF) == 0);
		vt_post_rx(&t, 8);
		vt_tuple4(&l, "10.9.0.1", 8900, "0.0.0.0", 0);
		KTAP_EXPECT(vt_filter(&t, &l, VELO_FILTER_F_LISTEN, NULL) == 0);
		for (i = 0; i < 8; i++) {
			vt_tuple4(&c, "10.9.0.1", 8901, "10.9.0.2", 30000 + i % 4);
			if (vt_filter(&t, &c, VELO_FILTER_F_TAKEOVER, &h) == 0 && i % 2)
				vt_filter_del(&t, h);
		}
		vt_stack_close(&t);
		cycles++;
	}
	KTAP_EXPECT(waitpid(flood, &st, 0) == flood && WIFEXITED(st) && !WEXITSTATUS(st));
	ktap_diag("%d stack cycles under traffic; rx_frames %lld, rx_drop_no_wqe %lld", cycles,
		  vt_sysfs_u64("/sys/kernel/velo/stats/rx_frames"),
		  vt_sysfs_u64("/sys/kernel/velo/stats/rx_drop_no_wqe"));
	KTAP_EXPECT(vt_sysfs_u64("/sys/kernel/velo/stats/rx_frames") > 0);
	return KTAP_PASS;
}

/* 20,000 filters on one stack: the table grows, steering still works. */
static int many_filters(void)
{
	long long before = vt_sysfs_u64("/sys/kernel/velo/stats/filters");
	struct vt_stack t;
	struct vt_tuple u;
	int i;

	KTAP_EXPECT(vt_setup() == 0);
	KTAP_EXPECT(vt_stack_open(&t, "v0", BUF) == 0);
	vt_post_rx(&t, 16);
	for (i = 0; i < 20000; i++) {
		vt_tuple4(&u, "10.9.0.1", 9500 + i % 100, "10.9.0.2", 20000 + i / 100);
		KTAP_EXPECT(vt_filter(&t, &u, 0, NULL) == 0);
	}
	KTAP_EXPECT(vt_stack_cnt(&t, "filters") == 20000);
	vt_tuple4(&u, "10.9.0.1", 9577, "10.9.0.2", 20123);
	KTAP_EXPECT(steered_to(&t, &u));
	vt_stack_close(&t);
	KTAP_EXPECT(vt_sysfs_u64("/sys/kernel/velo/stats/filters") == before);
	return KTAP_PASS;
}

static const struct ktap_case cases[] = {
	{ "many_filters", many_filters, 0 },
	{ "churn_under_traffic", churn_under_traffic, 0 },
	{ "kernel_socket_owner", kernel_socket_owner, 0 },
	{ "filter_limit", filter_limit, 0 },
	{ "duplicates_eexist", duplicates_eexist, 0 },
	{ "fd_reuse_during_teardown", fd_reuse_during_teardown, 0 },
	{ "refused_filters", refused_filters, 0 },
	{ "close_removes_filters", close_removes_filters, 0 },
};

KTAP_MAIN(cases)
