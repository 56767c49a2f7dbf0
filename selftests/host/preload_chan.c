// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of libvelo's shared-memory pieces in user/common: the loopback
 * channel ring (wrap-around, scatter/gather, peek, skip, full/empty, and a
 * peer that corrupts the shared indexes), the cross-process lock, the
 * configuration parser and rule matcher, and the statistics file and its
 * reader.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/chan.h"
#include "common/config.h"
#include "common/stats.h"
#include "ktap.h"

static struct velo_chan *chan_new(void)
{
	void *p = mmap(NULL, sizeof(struct velo_chan), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static int ring_wrap(void)
{
	struct velo_chan *c = chan_new();
	struct velo_chan_dir *d;
	static char in[VELO_CHAN_RING], out[VELO_CHAN_RING];
	struct iovec iv, ov;
	size_t i, total = 0;

	KTAP_EXPECT(c);
	d = &c->dir[0];
	for (i = 0; i < sizeof(in); i++)
		in[i] = (char)(i * 7 + 3);
	/* push the positions close to the end so that copies wrap */
	atomic_store(&d->head, VELO_CHAN_RING - 100);
	atomic_store(&d->tail, VELO_CHAN_RING - 100);
	while (total < 3 * (size_t)VELO_CHAN_RING) {
		size_t n = 1 + (total * 31) % 70000;

		iv.iov_base = in;
		iv.iov_len = n;
		KTAP_EXPECT(velo_ring_write(d, c->ring[0], &iv, 1, n) == (ssize_t)n);
		ov.iov_base = out;
		ov.iov_len = sizeof(out);
		KTAP_EXPECT(velo_ring_read(d, c->ring[0], &ov, 1, sizeof(out), false) == (ssize_t)n);
		KTAP_EXPECT(!memcmp(in, out, n));
		total += n;
	}
	KTAP_EXPECT(velo_ring_used(d) == 0);
	return KTAP_PASS;
}

static int ring_full_peek_skip(void)
{
	struct velo_chan *c = chan_new();
	struct velo_chan_dir *d;
	static char big[VELO_CHAN_RING + 10];
	char small[8];
	struct iovec iv = { big, sizeof(big) }, ov = { small, sizeof(small) };

	KTAP_EXPECT(c);
	d = &c->dir[1];
	memset(big, 'x', sizeof(big));
	big[0] = 'a';
	big[1] = 'b';
	KTAP_EXPECT(velo_ring_write(d, c->ring[1], &iv, 1, sizeof(big)) == VELO_CHAN_RING);
	KTAP_EXPECT(velo_ring_write(d, c->ring[1], &iv, 1, 1) == 0); /* full */
	KTAP_EXPECT(velo_ring_read(d, c->ring[1], &ov, 1, 2, true) == 2);
	KTAP_EXPECT(small[0] == 'a' && small[1] == 'b');
	KTAP_EXPECT(velo_ring_used(d) == VELO_CHAN_RING); /* peek kept them */
	KTAP_EXPECT(velo_ring_skip(d, 1) == 1);
	KTAP_EXPECT(velo_ring_read(d, c->ring[1], &ov, 1, 1, false) == 1 && small[0] == 'b');
	KTAP_EXPECT(velo_ring_skip(d, VELO_CHAN_RING * 2) == VELO_CHAN_RING - 2);
	KTAP_EXPECT(velo_ring_used(d) == 0);
	KTAP_EXPECT(velo_ring_read(d, c->ring[1], &ov, 1, 8, false) == 0); /* empty */
	return KTAP_PASS;
}

static int ring_scatter_gather(void)
{
	struct velo_chan *c = chan_new();
	struct velo_chan_dir *d;
	char a[3] = "abc", b[0 + 1] = "", e[5] = "defgh", r1[4], r2[10];
	struct iovec w[3] = { { a, 3 }, { b, 0 }, { e, 5 } };
	struct iovec r[2] = { { r1, 4 }, { r2, 10 } };

	KTAP_EXPECT(c);
	d = &c->dir[0];
	KTAP_EXPECT(velo_ring_write(d, c->ring[0], w, 3, 100) == 8);
	KTAP_EXPECT(velo_ring_read(d, c->ring[0], r, 2, 100, false) == 8);
	KTAP_EXPECT(!memcmp(r1, "abcd", 4) && !memcmp(r2, "efgh", 4));
	return KTAP_PASS;
}

/* A hostile peer writes garbage indexes: we refuse, never touch memory out of bounds. */
static int ring_corrupt_peer(void)
{
	struct velo_chan *c = chan_new();
	struct velo_chan_dir *d;
	char buf[64];
	struct iovec ov = { buf, sizeof(buf) };
	uint64_t bad[] = { VELO_CHAN_RING + 1, UINT64_MAX, (uint64_t)1 << 63 };
	unsigned int i;

	KTAP_EXPECT(c);
	d = &c->dir[0];
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		atomic_store(&d->head, 12345);
		atomic_store(&d->tail, 12345 + bad[i]);
		KTAP_EXPECT(velo_ring_used(d) == -1);
		KTAP_EXPECT(velo_ring_read(d, c->ring[0], &ov, 1, sizeof(buf), false) == -1);
		KTAP_EXPECT(velo_ring_write(d, c->ring[0], &ov, 1, sizeof(buf)) == -1);
		KTAP_EXPECT(velo_ring_skip(d, 10) == -1);
	}
	/* any consistent pair, however large the positions, stays in bounds */
	atomic_store(&d->head, UINT64_MAX - 5);
	atomic_store(&d->tail, UINT64_MAX - 5);
	memset(buf, 'z', sizeof(buf));
	KTAP_EXPECT(velo_ring_write(d, c->ring[0], &ov, 1, sizeof(buf)) == sizeof(buf));
	memset(buf, 0, sizeof(buf));
	KTAP_EXPECT(velo_ring_read(d, c->ring[0], &ov, 1, sizeof(buf), false) == sizeof(buf));
	KTAP_EXPECT(buf[0] == 'z' && buf[63] == 'z');
	return KTAP_PASS;
}

/* Two processes hammer one counter under the shared lock. */
static int shlock_two_processes(void)
{
	struct velo_chan *c = chan_new();
	_Atomic uint32_t *l;
	uint64_t *ctr;
	pid_t pid;
	int i, st;

	KTAP_EXPECT(c);
	l = &c->dir[0].plock;
	ctr = (uint64_t *)c->ring[0];
	pid = fork();
	KTAP_EXPECT(pid >= 0);
	for (i = 0; i < 200000; i++) {
		velo_shlock(l);
		(*ctr)++;
		velo_shunlock(l);
	}
	if (!pid)
		_exit(0);
	KTAP_EXPECT(waitpid(pid, &st, 0) == pid && WIFEXITED(st));
	KTAP_EXPECT(*ctr == 400000);
	return KTAP_PASS;
}

/* A holder that died does not wedge the others. */
static int shlock_dead_holder(void)
{
	struct velo_chan *c = chan_new();
	_Atomic uint32_t *l;
	pid_t pid;
	int st;

	KTAP_EXPECT(c);
	l = &c->dir[0].clock;
	pid = fork();
	KTAP_EXPECT(pid >= 0);
	if (!pid) {
		velo_shlock(l);
		_exit(0); /* dies holding it */
	}
	KTAP_EXPECT(waitpid(pid, &st, 0) == pid);
	velo_shlock(l);
	KTAP_EXPECT(atomic_load(l) == (uint32_t)getpid());
	velo_shunlock(l);
	return KTAP_PASS;
}

static struct sockaddr_storage sa(const char *ip, int port)
{
	struct sockaddr_storage s;

	memset(&s, 0, sizeof(s));
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *a = (void *)&s;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		inet_pton(AF_INET6, ip, &a->sin6_addr);
	} else {
		struct sockaddr_in *a = (void *)&s;

		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		inet_pton(AF_INET, ip, &a->sin_addr);
	}
	return s;
}

static int config_parse(void)
{
	struct velo_config c;
	char err[128];

	velo_config_defaults(&c);
	KTAP_EXPECT(c.loopback && c.spin_us == 50 && c.share_with == -2);
	KTAP_EXPECT(!velo_config_parse_line(&c, "  # comment only", err, sizeof(err)));
	KTAP_EXPECT(!velo_config_parse_line(&c, "spin_us 7", err, sizeof(err)) && c.spin_us == 7);
	KTAP_EXPECT(!velo_config_parse_line(&c, "spin_us = 9 # x", err, sizeof(err)) && c.spin_us == 9);
	KTAP_EXPECT(!velo_config_parse_line(&c, "loopback off", err, sizeof(err)) && !c.loopback);
	KTAP_EXPECT(!velo_config_parse_line(&c, "share_with any", err, sizeof(err)) && c.share_with == -1);
	KTAP_EXPECT(!velo_config_parse_line(&c, "share_with 1000", err, sizeof(err)) && c.share_with == 1000);
	KTAP_EXPECT(velo_config_parse_line(&c, "spin_us lots", err, sizeof(err)) < 0 && strstr(err, "spin_us"));
	KTAP_EXPECT(velo_config_parse_line(&c, "frobnicate 1", err, sizeof(err)) < 0 && strstr(err, "unknown"));
	KTAP_EXPECT(velo_config_parse_line(&c, "accelerate 10.0.0.0/33", err, sizeof(err)) < 0);
	KTAP_EXPECT(velo_config_parse_line(&c, "passthrough port 9-3", err, sizeof(err)) < 0);
	KTAP_EXPECT(velo_config_parse_line(&c, "accelerate bogus", err, sizeof(err)) < 0);
	KTAP_EXPECT(c.nrules == 0);
	return KTAP_PASS;
}

static int config_rules(void)
{
	struct velo_config c;
	struct sockaddr_storage a;
	char err[128];

	velo_config_defaults(&c);
	KTAP_EXPECT(!velo_config_parse_line(&c, "passthrough 127.0.0.0/8 port 22", err, sizeof(err)));
	KTAP_EXPECT(!velo_config_parse_line(&c, "passthrough ::1/128 port 5000-5010", err, sizeof(err)));
	KTAP_EXPECT(!velo_config_parse_line(&c, "passthrough * prog nginx", err, sizeof(err)));
	KTAP_EXPECT(!velo_config_parse_line(&c, "accelerate 2001:db8::/32", err, sizeof(err)));
	KTAP_EXPECT(!velo_config_parse_line(&c, "passthrough 2001::/16", err, sizeof(err)));
	KTAP_EXPECT(c.nrules == 5);
	a = sa("127.1.2.3", 22);
	KTAP_EXPECT(!velo_config_accelerate(&c, (struct sockaddr *)&a, "x"));
	a = sa("127.1.2.3", 23);
	KTAP_EXPECT(velo_config_accelerate(&c, (struct sockaddr *)&a, "x"));
	a = sa("::ffff:127.0.0.1", 22); /* v4-mapped matches the v4 rule */
	KTAP_EXPECT(!velo_config_accelerate(&c, (struct sockaddr *)&a, "x"));
	a = sa("::1", 5005);
	KTAP_EXPECT(!velo_config_accelerate(&c, (struct sockaddr *)&a, "x"));
	a = sa("::1", 5011);
	KTAP_EXPECT(velo_config_accelerate(&c, (struct sockaddr *)&a, "x"));
	KTAP_EXPECT(!velo_config_accelerate(&c, (struct sockaddr *)&a, "nginx"));
	a = sa("2001:db8::1", 80); /* first match wins */
	KTAP_EXPECT(velo_config_accelerate(&c, (struct sockaddr *)&a, "x"));
	a = sa("2001:db9::1", 80);
	KTAP_EXPECT(!velo_config_accelerate(&c, (struct sockaddr *)&a, "x"));
	return KTAP_PASS;
}

static int stats_roundtrip(void)
{
	pid_t fake = 0x3ffffff0; /* above pid_max: no real process has it */
	struct velo_stats *st = velo_stats_create(fake, "unit\"test", NULL);
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	KTAP_EXPECT(st);
	atomic_store(&st->ctr[VELO_STAT_TX_RING_BYTES], 1234);
	atomic_store(&st->ctr[VELO_STAT_EPOLL_STALE_REOPEN_OTHER], 7);
	st->sock[3].fd = 9;
	st->sock[3].ino = 42;
	strcpy(st->sock[3].local, "127.0.0.1:1");
	strcpy(st->sock[3].peer, "127.0.0.1:2");
	atomic_store(&st->sock[3].rx_ring, 99);
	atomic_store(&st->sock[3].state, VELO_SS_LOOP);
	f = open_memstream(&buf, &len);
	KTAP_EXPECT(f && velo_stats_print(fake, true, f) == 0);
	fclose(f);
	KTAP_EXPECT(strstr(buf, "\"tx_ring_bytes\":1234"));
	KTAP_EXPECT(strstr(buf, "\"epoll_stale_reopen_other\":7"));
	KTAP_EXPECT(strstr(buf, "\"comm\":\"unit\\\"test\""));
	KTAP_EXPECT(strstr(buf, "\"fd\":9,\"state\":\"loopback\",\"inode\":42"));
	KTAP_EXPECT(strstr(buf, "\"rx_ring\":99"));
	free(buf);
	buf = NULL;
	f = open_memstream(&buf, &len);
	KTAP_EXPECT(f && velo_stats_print(fake, false, f) == 0);
	fclose(f);
	KTAP_EXPECT(strstr(buf, "tx_ring_bytes") && strstr(buf, "loopback"));
	free(buf);
	velo_stats_remove(fake);
	KTAP_EXPECT(velo_stats_print(fake, false, stdout) == -ENOENT);
	return KTAP_PASS;
}

static const struct ktap_case cases[] = {
	{ "ring_wrap", ring_wrap, 0 },
	{ "ring_full_peek_skip", ring_full_peek_skip, 0 },
	{ "ring_scatter_gather", ring_scatter_gather, 0 },
	{ "ring_corrupt_peer", ring_corrupt_peer, 0 },
	{ "shlock_two_processes", shlock_two_processes, 0 },
	{ "shlock_dead_holder", shlock_dead_holder, 0 },
	{ "config_parse", config_parse, 0 },
	{ "config_rules", config_rules, 0 },
	{ "stats_roundtrip", stats_roundtrip, 0 },
};

KTAP_MAIN(cases)
