// SPDX-License-Identifier: GPL-2.0
/*
 * A bounded random-argument fuzz of every ioctl (on /dev/velo and on stack
 * fds) and every netlink command, plus random ring contents and doorbells.
 * The VM runs with panic_on_warn=1 oops=panic: surviving is the test (the
 * harness also checks the kernel log afterwards). The seed is printed;
 * VELO_FUZZ_SEED reproduces a run.
 */
#include <linux/genetlink.h>

#include "velo_test.h"
#include "veloctl/genl.h"

#define IOCTLS		4000
#define NETLINK_MSGS	1500

static uint64_t rs;

static uint64_t rnd(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return rs;
}

static void fill(void *p, size_t n)
{
	uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		b[i] = (uint8_t)rnd();
}

static const unsigned long known_cmds[] = {
	VELO_IOC_VERSION, VELO_IOC_STACK_CREATE, VELO_IOC_KICK, VELO_IOC_FILTER_ADD,
	VELO_IOC_FILTER_DEL, VELO_IOC_WAIT,
};

static unsigned long random_cmd(void)
{
	switch (rnd() % 4) {
	case 0:
		return _IOC(rnd() % 4, VELO_IOC_MAGIC, rnd() % 32, rnd() % 512);
	case 1:
		return (uint32_t)rnd();
	default:
		return known_cmds[rnd() % (sizeof(known_cmds) / sizeof(known_cmds[0]))];
	}
}

/*
 * An argument: a random buffer (sometimes made plausible), a buffer ending
 * at an inaccessible page, or a wild pointer.
 */
static void *random_arg(uint8_t *page, uint8_t *edge, unsigned long cmd, int ifindex)
{
	struct velo_stack_create *c = (void *)page;
	struct velo_filter *f = (void *)page;
	struct velo_wait *w = (void *)page;
	void *arg = page;

	fill(page, 4096);
	switch (rnd() % (cmd == VELO_IOC_STACK_CREATE ? 5 : 8)) {
	case 0:
		return (void *)(uintptr_t)rnd();
	case 1:
		return NULL;
	case 2:
		arg = edge - rnd() % 64;
		break;
	case 3:	/* plausible create */
		c->ifindex = rnd() % 3 ? (uint32_t)ifindex : rnd() % 8;
		c->queue = rnd() % 8 == 0;
		c->flags = 0;
		c->buf_size = (1 + rnd() % 64) * 4096;
		c->log_sq_size = 4 + rnd() % (rnd() % 8 ? 10 : 12);
		c->log_rq_size = 4 + rnd() % 10;
		c->log_cq_size = 4 + rnd() % 10;
		c->nr_conns = rnd() % 300;
		break;
	case 4:	/* plausible filter */
		f->family = rnd() % 2 ? AF_INET : AF_INET6;
		f->protocol = IPPROTO_TCP;
		f->flags = rnd() % 4;
		f->reserved = 0;
		f->reserved2 = 0;
		if (rnd() % 2)
			inet_pton(f->family, f->family == AF_INET ? "10.9.0.1" : "fd09::1", f->laddr);
		break;
	default:
		break;
	}
	/* Never block: a wait always has a deadline in the next millisecond. */
	if (cmd == VELO_IOC_WAIT && arg != NULL) {
		w = arg;
		if ((uint8_t *)w + sizeof(*w) <= edge) {
			w->deadline_ns = vt_now_ns() + 1000000;
			w->reserved = 0;
		}
	}
	return arg;
}

static int fuzz_ioctls(void)
{
	uint8_t *pages = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int dev = open(VELO_DEVICE_PATH, O_RDWR), stacks[8] = { -1, -1, -1, -1, -1, -1, -1, -1 };
	int ifindex = if_nametoindex("v0"), i, fd, ok = 0;
	struct vt_stack t;

	KTAP_EXPECT(pages != MAP_FAILED && dev >= 0);
	KTAP_EXPECT(mprotect(pages + 2 * 4096, 4096, PROT_NONE) == 0);
	KTAP_EXPECT(vt_stack_create(&t, dev, "v0", 256 * 1024) == 0);
	for (i = 0; i < IOCTLS; i++) {
		unsigned long cmd = random_cmd();
		int slot = rnd() % 8;
		void *arg;

		fd = rnd() % 3 == 0 ? dev : rnd() % 2 ? t.fd : stacks[slot];
		arg = random_arg(pages + 4096, pages + 2 * 4096, cmd, ifindex);
		if (ioctl(fd, cmd, arg) == 0 && cmd == VELO_IOC_STACK_CREATE &&
		    (uint8_t *)arg == pages + 4096) {
			ok++;
			close(stacks[slot]);
			stacks[slot] = ((struct velo_stack_create *)arg)->fd;
		}
		/* Random ring contents and doorbells on the mapped stack. */
		if (i % 16 == 0) {
			fill(t.sq, t.c.sq.size);
			fill(t.rq, t.c.rq.size);
			fill(t.map + t.c.dbr.offset, 256);
			fill(t.conns, t.c.conns.size);
		}
	}
	for (i = 0; i < 8; i++)
		close(stacks[i]);
	ktap_diag("%d ioctls, %d stacks created", IOCTLS, ok);
	/* Random records and filters at teardown. */
	vt_stack_close(&t);
	return KTAP_PASS;
}

static int accelerate(struct vgenl *g, const char *dev)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = vgenl_msg(g, buf, VELO_CMD_SET_POLICY, 0);

	mnl_attr_put_u32(nlh, VELO_A_IFINDEX, if_nametoindex(dev));
	mnl_attr_put_u8(nlh, VELO_A_ACCELERATE, 1);
	return vgenl_talk(g, nlh, NULL, NULL);
}

static int fuzz_netlink(void)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	uint8_t payload[128];
	struct vgenl g;
	int i, j, errors = 0;

	KTAP_EXPECT(vgenl_open(&g) == 0);
	for (i = 0; i < NETLINK_MSGS; i++) {
		struct nlmsghdr *nlh = vgenl_msg(&g, buf, rnd() % (__VELO_CMD_MAX + 2), rnd() % 2);
		int nattrs = rnd() % 6;

		if (rnd() % 4 == 0)
			((struct genlmsghdr *)mnl_nlmsg_get_payload(nlh))->version = rnd();
		for (j = 0; j < nattrs; j++) {
			uint16_t type = rnd() % (VELO_A_MAX + 3);
			size_t len = rnd() % 3 ? (size_t[]){ 1, 2, 4, 8, 16 }[rnd() % 5] : rnd() % 100;

			fill(payload, sizeof(payload));
			if (type == VELO_A_IFINDEX && rnd() % 2)
				*(uint32_t *)payload = if_nametoindex("lo");
			if (rnd() % 5 == 0) {
				struct nlattr *nest = mnl_attr_nest_start(nlh, type);

				mnl_attr_put(nlh, rnd() % 12, len, payload);
				mnl_attr_nest_end(nlh, nest);
			} else {
				mnl_attr_put(nlh, type, len, payload);
			}
		}
		if (vgenl_talk(&g, nlh, NULL, NULL))
			errors++;
	}
	ktap_diag("%d netlink messages, %d refused", NETLINK_MSGS, errors);
	/* The family still answers; undo random policies of the tests' devices. */
	KTAP_EXPECT(vgenl_talk(&g, vgenl_msg(&g, buf, VELO_CMD_GET_STACK, 1), NULL, NULL) == 0);
	KTAP_EXPECT(accelerate(&g, "lo") == 0 && accelerate(&g, "v0") == 0);
	vgenl_close(&g);
	return KTAP_PASS;
}

static void seed(void)
{
	const char *s = getenv("VELO_FUZZ_SEED");

	rs = s ? strtoull(s, NULL, 0) : (uint64_t)vt_now_ns() | 1;
	ktap_diag("VELO_FUZZ_SEED=%#llx", (unsigned long long)rs);
}

static int param(const char *name, const char *val)
{
	char path[128];
	int fd, r;

	snprintf(path, sizeof(path), "/sys/module/velo/parameters/%s", name);
	fd = open(path, O_WRONLY);
	r = fd >= 0 && write(fd, val, strlen(val)) == (ssize_t)strlen(val) ? 0 : -1;
	close(fd);
	return r;
}

/* Small memory limit; doorbell polling on, so random arm words start timers. */
static int run_ioctls(void)
{
	int r;

	if (vt_setup() || param("max_mem_mb", "64") || param("db_poll_us", "300"))
		return KTAP_FAIL;
	seed();
	r = fuzz_ioctls();
	if (param("max_mem_mb", "1024") || param("db_poll_us", "0"))
		r = KTAP_FAIL;
	return r;
}

static int run_netlink(void)
{
	seed();
	return fuzz_netlink();
}

static const struct ktap_case cases[] = {
	{ "fuzz_ioctls", run_ioctls, 240 },
	{ "fuzz_netlink", run_netlink, 240 },
};

KTAP_MAIN(cases)
