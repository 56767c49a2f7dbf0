// SPDX-License-Identifier: GPL-2.0
/*
 * The "velo" generic netlink family, through veloctl's own client
 * (user/veloctl/genl.c): dumps agree with sysfs, the policy works and
 * needs CAP_NET_ADMIN, and a user sees only their own stacks.
 */
#include "velo_test.h"
#include "veloctl/genl.h"

#define BUF (256 * 1024)

struct seen {
	uint32_t want_id;
	int found, mismatches, count;
	uint32_t ifindex, pid;
	char names[VELO_CNT_MAX + 8][32];
};

static void check_cnt(const char *name, uint64_t value, void *arg)
{
	struct seen *s = arg;
	long long v;

	if (s->want_id)
		v = vt_sysfs_u64("/sys/kernel/velo/stacks/%u/%s", s->want_id, name);
	else
		v = vt_sysfs_u64("/sys/kernel/velo/stats/%s", name);
	if (v != (long long)value) {
		ktap_diag("%s: netlink %llu, sysfs %lld", name, (unsigned long long)value, v);
		s->mismatches++;
	}
	s->count++;
}

static int stack_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[VELO_A_MAX + 1];
	struct seen *s = data;

	vgenl_attrs(nlh, tb);
	s->found++;
	if (!tb[VELO_A_STACK_ID] || mnl_attr_get_u32(tb[VELO_A_STACK_ID]) != s->want_id)
		return MNL_CB_OK;
	s->ifindex = mnl_attr_get_u32(tb[VELO_A_IFINDEX]);
	s->pid = mnl_attr_get_u32(tb[VELO_A_PID]);
	vgenl_counters(tb[VELO_A_COUNTERS], check_cnt, s);
	return MNL_CB_OK;
}

static int filter_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[VELO_A_MAX + 1];
	struct seen *s = data;

	vgenl_attrs(nlh, tb);
	if (tb[VELO_A_STACK_ID] && mnl_attr_get_u32(tb[VELO_A_STACK_ID]) == s->want_id &&
	    mnl_attr_get_u16(tb[VELO_A_LPORT]) >= 9000 && mnl_attr_get_u16(tb[VELO_A_LPORT]) < 9100)
		s->found++;
	return MNL_CB_OK;
}

static int stats_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[VELO_A_MAX + 1];

	vgenl_attrs(nlh, tb);
	vgenl_counters(tb[VELO_A_COUNTERS], check_cnt, data);
	return MNL_CB_OK;
}

static int query(uint8_t cmd, int dump, mnl_cb_t cb, struct seen *s)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct vgenl g;
	int r;

	if (vgenl_open(&g))
		return -1;
	r = vgenl_talk(&g, vgenl_msg(&g, buf, cmd, dump), cb, s);
	vgenl_close(&g);
	return r;
}

/* A stack with traffic and 50 filters (more than one dump message). */
static int busy_stack(struct vt_stack *t)
{
	uint8_t frame[128];
	struct vt_tuple u;
	unsigned int len;
	int i;

	if (vt_setup() || vt_stack_open(t, "v0", BUF))
		return -1;
	for (i = 0; i < 50; i++) {
		vt_tuple4(&u, "10.9.0.1", 9000 + i, "10.9.0.2", 100);
		if (vt_filter(t, &u, 0, NULL))
			return -1;
	}
	vt_tuple4(&u, "10.9.0.1", 9000, "10.9.0.2", 100);
	len = vt_tcp_frame(frame, vt_mac0, vt_mac1, &u, 1, 2, VT_ACK, NULL, 0);
	vt_send(t, frame, len, 0, 0);
	vt_send(t, frame, len - 1, 0, 0);	/* a bad frame, counted */
	return 0;
}

static int dumps_agree_with_sysfs(void)
{
	struct seen s = { 0 };
	struct vt_stack t;

	KTAP_EXPECT(busy_stack(&t) == 0);
	s.want_id = t.c.stack_id;
	KTAP_EXPECT(query(VELO_CMD_GET_STACK, 1, stack_cb, &s) == 0);
	KTAP_EXPECT(s.found >= 1 && s.count == VELO_CNT_MAX && s.mismatches == 0);
	KTAP_EXPECT(s.ifindex == t.c.ifindex && s.pid == (uint32_t)getpid());
	KTAP_EXPECT(vt_stack_cnt(&t, "tx_frames") == 1 && vt_stack_cnt(&t, "tx_drop_bad_frame") == 1);
	memset(&s, 0, sizeof(s));
	s.want_id = t.c.stack_id;
	KTAP_EXPECT(query(VELO_CMD_GET_FILTER, 1, filter_cb, &s) == 0);
	KTAP_EXPECT(s.found == 50 && vt_stack_cnt(&t, "filters") == 50);
	memset(&s, 0, sizeof(s));
	KTAP_EXPECT(query(VELO_CMD_GET_STATS, 0, stats_cb, &s) == 0);
	KTAP_EXPECT(s.count == VELO_CNT_MAX + 3 && s.mismatches == 0);
	vt_stack_close(&t);
	return KTAP_PASS;
}

static int set_policy(const char *dev, int on)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct vgenl g;
	int r;

	if (vgenl_open(&g))
		return -1;
	nlh = vgenl_msg(&g, buf, VELO_CMD_SET_POLICY, 0);
	mnl_attr_put_u32(nlh, VELO_A_IFINDEX, if_nametoindex(dev));
	mnl_attr_put_u8(nlh, VELO_A_ACCELERATE, on);
	r = vgenl_talk(&g, nlh, NULL, NULL);
	vgenl_close(&g);
	return r;
}

static int policy(void)
{
	struct vt_stack t;

	KTAP_EXPECT(vt_setup() == 0);
	KTAP_EXPECT(set_policy("v0", 0) == 0);
	KTAP_EXPECT(vt_stack_open(&t, "v0", BUF) == -1 && errno == EPERM);
	vt_stack_close(&t);
	KTAP_EXPECT(vt_stack_open(&t, "lo", BUF) == 0);
	vt_stack_close(&t);
	KTAP_EXPECT(set_policy("v0", 1) == 0);
	KTAP_EXPECT(vt_stack_open(&t, "v0", BUF) == 0);
	vt_stack_close(&t);
	return KTAP_PASS;
}

/* An unprivileged user: no policy changes, only its own stacks visible. */
static int unprivileged_isolation(void)
{
	struct vt_stack root, mine;
	struct seen s = { 0 };
	struct vt_tuple u;
	int dev;

	KTAP_EXPECT(vt_setup() == 0);
	KTAP_EXPECT(vt_stack_open(&root, "v0", BUF) == 0);
	dev = open(VELO_DEVICE_PATH, O_RDWR);
	KTAP_EXPECT(setgid(65534) == 0 && setuid(65534) == 0);
	KTAP_EXPECT(set_policy("v0", 0) == -1 && errno == EPERM);
	KTAP_EXPECT(vt_stack_create(&mine, dev, "v0", BUF) == 0);
	s.want_id = mine.c.stack_id;
	KTAP_EXPECT(query(VELO_CMD_GET_STACK, 1, stack_cb, &s) == 0);
	KTAP_EXPECT(s.found == 1 && s.count == VELO_CNT_MAX && s.mismatches == 0);
	KTAP_EXPECT(vt_sysfs_u64("/sys/kernel/velo/stacks/%u/tx_frames", root.c.stack_id) == -1 &&
		    errno == EACCES);
	/* Privileged ports need CAP_NET_BIND_SERVICE. */
	vt_tuple4(&u, "10.9.0.1", 80, "0.0.0.0", 0);
	KTAP_EXPECT(vt_filter(&mine, &u, VELO_FILTER_F_LISTEN, NULL) == -1 && errno == EACCES);
	vt_tuple4(&u, "10.9.0.1", 8080, "0.0.0.0", 0);
	KTAP_EXPECT(vt_filter(&mine, &u, VELO_FILTER_F_LISTEN, NULL) == 0);
	vt_stack_close(&mine);
	return KTAP_PASS;
}

static const struct ktap_case cases[] = {
	{ "dumps_agree_with_sysfs", dumps_agree_with_sysfs, 0 },
	{ "policy_refuses_stacks", policy, 0 },
	{ "unprivileged_isolation", unprivileged_isolation, 0 },
};

KTAP_MAIN(cases)
