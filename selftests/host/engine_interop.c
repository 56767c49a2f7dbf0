// SPDX-License-Identifier: GPL-2.0
/*
 * Interop of the TCP engine with the Linux TCP stack: each case runs in a
 * private network namespace with a TAP device; the engine drives the TAP
 * from this process, the kernel peer is a socket thread on the other side.
 * Impairments (loss, reordering, duplication, corruption, blackholing) are
 * applied by the driver between the TAP and the engine, the same way for
 * the kernel-to-kernel baseline, which relays between two TAPs (sch_netem
 * is not needed). Needs root; skips cleanly without it.
 *
 * VELO_INTEROP_MB sets the bulk size (default 100), VELO_INTEROP_RUNS the
 * rounds of the throughput comparison (default 9), VELO_INTEROP_PCAP=file a
 * capture of every delivered frame (the throughput case writes one per run:
 * file.eN engine, file.kN kernel with the host's algorithm, file.cN CUBIC).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine/engine.h"
#include "ktap.h"

#define KERNEL_IP  "10.9.0.1"
#define ENGINE_IP  "10.9.0.2"
#define KERNEL_IP6 "fd09::1"
#define ENGINE_IP6 "fd09::2"
#define KERNEL_LL6 "fe80::1"
#define ENGINE_LL6 "fe80::2"
#define PORT 5001
#define SEC 1000000000ull
#define MS 1000000ull
#define MIN(a, b) ((a) < (b) ? (a) : (b))

static const uint8_t engine_mac[6] = { 0x02, 0x00, 0x00, 0x09, 0x00, 0x02 };

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * SEC + (uint64_t)ts.tv_nsec;
}

static uint8_t pat(uint64_t i)
{
	return (uint8_t)(((i * 0x9E3779B1u) >> 24) ^ (i >> 12));
}

/*
 * Built with VELO_INTEROP_GUEST, this file is the VM test engine_netem: the
 * bulk transfer under the guest kernel's own sch_netem (the host's kernel
 * has none), smaller for TCG's speed.
 */
#ifdef VELO_INTEROP_GUEST
#define BULK_MB_DEFAULT 8
/* full paths: the guest's busybox sh would run its own applets */
#define IP "/usr/bin/ip"
#define TC "/usr/sbin/tc"
#else
#define BULK_MB_DEFAULT 100
#define IP "ip"
#define TC "tc"
#endif

static uint64_t bulk_bytes(void)
{
	const char *e = getenv("VELO_INTEROP_MB");

	return (e ? strtoull(e, NULL, 10) : BULK_MB_DEFAULT) << 20;
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int r;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	r = system(cmd);
	if (r)
		ktap_diag("command failed (%d): %s", r, cmd);
	return r;
}

static int tap_open(const char *name)
{
	struct ifreq ifr;
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static uint32_t if_index(const char *name)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM, 0);

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(s, SIOCGIFINDEX, &ifr) < 0)
		ifr.ifr_ifindex = 0;
	close(s);
	return (uint32_t)ifr.ifr_ifindex;
}

static int tap_mac(const char *name, uint8_t mac[6])
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM, 0), r;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	r = ioctl(s, SIOCGIFHWADDR, &ifr);
	close(s);
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	return r;
}

/* A private namespace: nothing to clean up, nothing seen by others. */
static int netns_enter(void)
{
	if (unshare(CLONE_NEWNET) < 0)
		return -1;
	return sh(IP " link set lo up");
}

/* netem-like impairment applied by the driver to each frame */
struct impair {
	unsigned int loss_ppm, dup_ppm, reorder_ppm, corrupt_ppm;
	bool blackhole;
	bool egress_only; /* the kernel's own netem impairs the other direction */
};

#define HELD_MAX 64
struct held {
	uint64_t at;
	int to; /* 0: to the engine (or tap A), 1: to the tap (or tap B) */
	uint16_t len;
	uint8_t data[1600];
};

struct drv {
	int tap, tap2;		/* tap2: second TAP of the kernel-to-kernel relay */
	struct vtcp_stack *st;
	struct impair im;
	struct held held[HELD_MAX];
	unsigned int nheld;
	uint64_t rng;
	uint64_t frames_in, frames_out;
	uint32_t ifindex;	/* vtap0's */
	bool linklocal;		/* v6 cases use fe80:: addresses with scope ids */
	FILE *pcap;		/* VELO_INTEROP_PCAP: every delivered frame, for debugging */
};

static bool chance(struct drv *d, unsigned int ppm)
{
	d->rng ^= d->rng << 13;
	d->rng ^= d->rng >> 7;
	d->rng ^= d->rng << 17;
	return ppm && d->rng % 1000000 < ppm;
}

static void pcap_frame(struct drv *d, const uint8_t *f, size_t len)
{
	uint64_t t = now_ns();
	uint32_t rec[4] = { (uint32_t)(t / SEC), (uint32_t)(t % SEC / 1000), (uint32_t)len,
			    (uint32_t)len };

	fwrite(rec, sizeof(rec), 1, d->pcap);
	fwrite(f, len, 1, d->pcap);
}

static void pcap_close(struct drv *d)
{
	if (d->pcap)
		fclose(d->pcap);
	d->pcap = NULL;
}

/*
 * VELO_INTEROP_PCAP=file: every delivered frame goes to file+suffix (a
 * microsecond pcap, Ethernet link type); the file open before is closed.
 */
static void pcap_open(struct drv *d, const char *suffix)
{
	static const uint32_t hdr[6] = { 0xa1b2c3d4, 0x00040002, 0, 0, 65535, 1 };
	char name[512];

	pcap_close(d);
	if (!getenv("VELO_INTEROP_PCAP"))
		return;
	snprintf(name, sizeof(name), "%s%s", getenv("VELO_INTEROP_PCAP"), suffix);
	d->pcap = fopen(name, "w");
	if (d->pcap)
		fwrite(hdr, sizeof(hdr), 1, d->pcap);
}

static void deliver(struct drv *d, int to, const uint8_t *f, size_t len)
{
	if (d->pcap)
		pcap_frame(d, f, len);
	if (to == 0 && d->st) {
		vtcp_input(d->st, f, len, now_ns());
		d->frames_in++;
	} else {
		/* a full TAP queue drops like a NIC would; TCP recovers */
		if (write(to == 0 ? d->tap : (d->tap2 >= 0 ? d->tap2 : d->tap), f, len) < 0)
			return;
		d->frames_out++;
	}
}

/* Applies the impairment, then delivers now or later (reordering). */
static void pass(struct drv *d, int to, const uint8_t *f, size_t len)
{
	uint8_t buf[1600];

	if (d->im.egress_only && to == 0) {
		deliver(d, to, f, len);
		return;
	}
	if (d->im.blackhole || len > sizeof(buf) || chance(d, d->im.loss_ppm))
		return;
	memcpy(buf, f, len);
	if (len > 60 && chance(d, d->im.corrupt_ppm))
		buf[54 + d->rng % (len - 54)] ^= 0x5a;
	if (chance(d, d->im.reorder_ppm) && d->nheld < HELD_MAX) {
		struct held *h = &d->held[d->nheld++];

		h->at = now_ns() + 2 * MS;
		h->to = to;
		h->len = (uint16_t)len;
		memcpy(h->data, buf, len);
		return;
	}
	deliver(d, to, buf, len);
	if (chance(d, d->im.dup_ppm))
		deliver(d, to, buf, len);
}

static void engine_tx(void *ctx, const void *frame, size_t len)
{
	pass(ctx, 1, frame, len);
}

static void release_held(struct drv *d)
{
	uint64_t t = now_ns();

	for (unsigned int i = 0; i < d->nheld;) {
		if (d->held[i].at <= t) {
			struct held h = d->held[i];

			d->held[i] = d->held[--d->nheld];
			deliver(d, h.to, h.data, h.len);
			continue;
		}
		i++;
	}
}

/* One round: wait for frames or the engine's deadline, feed, poll. */
static void drv_step(struct drv *d, int max_wait_ms)
{
	struct pollfd p[2] = { { .fd = d->tap, .events = POLLIN }, { .fd = d->tap2, .events = POLLIN } };
	uint64_t wait = (uint64_t)max_wait_ms * MS;
	struct timespec ts;
	uint8_t f[2048];
	ssize_t n;

	/* engine timers are finer than a millisecond: sleep in nanoseconds */
	if (d->st) {
		uint64_t dl = vtcp_next_deadline(d->st), t = now_ns();

		wait = dl <= t ? 0 : MIN(wait, dl - t);
	}
	if (d->nheld)
		wait = MIN(wait, 100000ull);
	ts.tv_sec = (time_t)(wait / SEC);
	ts.tv_nsec = (long)(wait % SEC);
	/* busy-poll briefly first, as a kernel-bypass datapath does */
	for (uint64_t spin = now_ns() + 20000; wait && now_ns() < spin;) {
		struct timespec zero = { 0, 0 };

		if (ppoll(p, d->tap2 >= 0 ? 2 : 1, &zero, NULL) > 0) {
			wait = 0;
			break;
		}
	}
	if (wait)
		ppoll(p, d->tap2 >= 0 ? 2 : 1, &ts, NULL);
	/* from the TAP to the engine, or across the relay to the other TAP */
	for (int k = 0; k < 256 && (n = read(d->tap, f, sizeof(f))) > 0; k++)
		pass(d, d->st ? 0 : 1, f, (size_t)n);
	if (d->tap2 >= 0)
		for (int k = 0; k < 256 && (n = read(d->tap2, f, sizeof(f))) > 0; k++)
			pass(d, 0, f, (size_t)n);
	release_held(d);
	if (d->st)
		vtcp_poll(d->st, now_ns(), engine_tx, d);
}

static struct drv D;
static bool want_linklocal;

/* The namespace: kernel side of tap0 has 10.9.0.1 / fd09::1. */
static int setup(struct vtcp_config *over)
{
	struct vtcp_config c;
	struct sockaddr_in a4 = { .sin_family = AF_INET };
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6 };
	uint8_t kmac[6];

	if (geteuid() != 0)
		return KTAP_SKIP;
	if (netns_enter())
		return KTAP_SKIP;
	pcap_close(&D);
	memset(&D, 0, sizeof(D));
	D.tap2 = -1;
	D.linklocal = want_linklocal;
	D.rng = 0x1234567;
	D.tap = tap_open("vtap0");
	if (D.tap < 0)
		return KTAP_SKIP;
	if (sh(IP " addr add %s/24 dev vtap0 && " IP " -6 addr add %s/64 dev vtap0 nodad && "
	       IP " -6 addr add %s/64 dev vtap0 nodad && " IP " link set vtap0 up",
	       KERNEL_IP, KERNEL_IP6, KERNEL_LL6) || tap_mac("vtap0", kmac))
		return KTAP_FAIL;
	D.ifindex = if_index("vtap0");
	pcap_open(&D, "");
	memset(&c, 0, sizeof(c));
	if (over)
		c = *over;
	c.max_sockets = c.max_sockets ? c.max_sockets : 16;
	c.sndbuf_max = c.sndbuf_max ? c.sndbuf_max : 4 << 20;
	c.rcvbuf_max = c.rcvbuf_max ? c.rcvbuf_max : 4 << 20;
	memcpy(c.mac, engine_mac, 6);
	c.ifindex = D.ifindex; /* the kernel's index: link-local scope ids agree */
	c.mtu = 1500;
	for (int i = 0; i < 16; i++)
		c.isn_secret[i] = (uint8_t)(now_ns() >> (i % 8));
	D.st = vtcp_stack_create(&c);
	if (!D.st)
		return KTAP_FAIL;
	inet_pton(AF_INET, ENGINE_IP, &a4.sin_addr);
	vtcp_addr_add(D.st, (struct sockaddr *)&a4);
	inet_pton(AF_INET6, ENGINE_IP6, &a6.sin6_addr);
	vtcp_addr_add(D.st, (struct sockaddr *)&a6);
	inet_pton(AF_INET6, ENGINE_LL6, &a6.sin6_addr);
	a6.sin6_scope_id = D.ifindex;
	vtcp_addr_add(D.st, (struct sockaddr *)&a6);
	/* the host tells the engine its neighbour, as it would from the kernel's table */
	inet_pton(AF_INET, KERNEL_IP, &a4.sin_addr);
	vtcp_neigh_set(D.st, (struct sockaddr *)&a4, kmac);
	return KTAP_PASS;
}

static void kaddr(struct sockaddr_storage *ss, bool v6, bool engine_side)
{
	memset(ss, 0, sizeof(*ss));
	if (v6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(PORT);
		if (D.linklocal) {
			inet_pton(AF_INET6, engine_side ? ENGINE_LL6 : KERNEL_LL6, &s6->sin6_addr);
			s6->sin6_scope_id = D.ifindex;
		} else {
			inet_pton(AF_INET6, engine_side ? ENGINE_IP6 : KERNEL_IP6, &s6->sin6_addr);
		}
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(PORT);
		inet_pton(AF_INET, engine_side ? ENGINE_IP : KERNEL_IP, &s4->sin_addr);
	}
}

/* Kernel peer threads */

struct kpeer {
	bool v6, listen, rst_close, no_read_until_flag;
	int lsock, sock;
	uint64_t send_bytes, expect_bytes;
	uint64_t got;
	bool bad, eof, reset;
	char why[80];		/* what made it bad */
	int rcvbuf, err;
	atomic_bool go, done;
	struct tcp_info ti;
	pthread_t th;
};

static int klisten(bool v6, int rcvbuf)
{
	struct sockaddr_storage ss;
	int s = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0), one = 1;

	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (rcvbuf)
		setsockopt(s, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	kaddr(&ss, v6, false);
	if (bind(s, (struct sockaddr *)&ss, v6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in)) ||
	    listen(s, 8))
		return -1;
	return s;
}

static void *kpeer_main(void *arg)
{
	struct kpeer *k = arg;
	struct timeval tv = { .tv_sec = 60 };
	static uint8_t buf[1 << 16];
	socklen_t tl = sizeof(k->ti);

	if (k->listen) {
		k->sock = accept(k->lsock, NULL, NULL);
	} else {
		struct sockaddr_storage ss;

		k->sock = socket(k->v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
		kaddr(&ss, k->v6, true);
		if (connect(k->sock, (struct sockaddr *)&ss,
			    k->v6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in)) < 0)
			k->sock = -1;
	}
	k->err = errno;
	if (k->sock < 0) {
		/* a RST may beat connect() back to its caller */
		k->reset = k->err == ECONNRESET;
		k->bad = !k->reset;
		atomic_store(&k->done, true);
		return NULL;
	}
	setsockopt(k->sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(k->sock, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (k->no_read_until_flag && !atomic_load(&k->go))
		usleep(1000);
	for (uint64_t off = 0; off < k->send_bytes;) {
		size_t n = sizeof(buf);
		ssize_t w;

		if (k->send_bytes - off < n)
			n = (size_t)(k->send_bytes - off);
		for (size_t i = 0; i < n; i++)
			buf[i] = pat(off + i);
		w = send(k->sock, buf, n, MSG_NOSIGNAL);
		if (w <= 0) {
			snprintf(k->why, sizeof(k->why), "send at %llu: %s",
				 (unsigned long long)off, strerror(errno));
			k->bad = true;
			break;
		}
		off += (uint64_t)w;
	}
	if (k->send_bytes)
		shutdown(k->sock, SHUT_WR);
	for (;;) {
		ssize_t n = recv(k->sock, buf, sizeof(buf), 0);

		if (n == 0) {
			k->eof = true;
			break;
		}
		if (n < 0) {
			k->reset = errno == ECONNRESET;
			if (!k->reset) {
				k->err = errno;
				snprintf(k->why, sizeof(k->why), "recv at %llu: %s",
					 (unsigned long long)k->got, strerror(errno));
				k->bad = true;
			}
			break;
		}
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] != pat(k->got + (uint64_t)i) && !k->bad) {
				snprintf(k->why, sizeof(k->why), "wrong byte at %llu",
					 (unsigned long long)(k->got + (uint64_t)i));
				k->bad = true;
			}
		k->got += (uint64_t)n;
		if (k->expect_bytes && k->got >= k->expect_bytes && !k->eof)
			continue;
	}
	getsockopt(k->sock, IPPROTO_TCP, TCP_INFO, &k->ti, &tl);
	if (k->rst_close) {
		struct linger l = { 1, 0 };

		setsockopt(k->sock, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	}
	close(k->sock);
	atomic_store(&k->done, true);
	return NULL;
}

static int kpeer_start(struct kpeer *k)
{
	if (k->listen && (k->lsock = klisten(k->v6, k->rcvbuf)) < 0)
		return -1;
	return pthread_create(&k->th, NULL, kpeer_main, k);
}

/* Engine side */

struct eside {
	int sock;
	uint64_t sent, got, to_send, bad_at;
	bool bad, eof, shut;
	int err;
};

/*
 * The pattern of a whole transfer, made before a timed run: the kernel's
 * sender in the comparison sends a ready buffer, making the engine's
 * data as it goes counted the driver's time as the engine's (~10% of it).
 */
static uint8_t *pattern;
static uint64_t pattern_len;

static void pattern_prepare(uint64_t bytes)
{
	if (pattern_len >= bytes)
		return;
	free(pattern);
	pattern = malloc(bytes);
	pattern_len = pattern ? bytes : 0;
	for (uint64_t i = 0; i < pattern_len; i++)
		pattern[i] = pat(i);
}

/*
 * A send that could not queue: full (the ACKs will make room), or the
 * connection's error, which that send took (a recv would not see it again).
 */
static void send_failed(struct eside *e, ssize_t n)
{
	if (n < 0 && n != -EAGAIN)
		e->err = (int)-n;
}

static void epump(struct eside *e)
{
	/* the pattern for [pat_base, pat_base + pat_len): generated once per byte,
	 * not once per attempt, so the driver's cost does not bound the engine's rate */
	static uint8_t out[1 << 16];
	static uint64_t pat_base, pat_len;
	static uint8_t buf[1 << 16];
	ssize_t n;

	while (e->to_send <= pattern_len && e->sent < e->to_send) {
		n = vtcp_send(D.st, e->sock, pattern + e->sent, (size_t)(e->to_send - e->sent), 0);
		if (n <= 0) {
			send_failed(e, n);
			break;
		}
		e->sent += (uint64_t)n;
	}
	while (e->sent < e->to_send) {
		if (e->sent < pat_base || e->sent >= pat_base + pat_len) {
			pat_base = e->sent;
			pat_len = MIN(sizeof(out), e->to_send - e->sent);
			for (uint64_t i = 0; i < pat_len; i++)
				out[i] = pat(pat_base + i);
		}
		n = vtcp_send(D.st, e->sock, out + (e->sent - pat_base),
			      (size_t)(pat_base + pat_len - e->sent), 0);
		if (n <= 0) {
			send_failed(e, n);
			break;
		}
		e->sent += (uint64_t)n;
	}
	if (e->to_send && e->sent == e->to_send && !e->shut) {
		vtcp_shutdown(D.st, e->sock, SHUT_WR);
		e->shut = true;
	}
	while ((n = vtcp_recv(D.st, e->sock, buf, sizeof(buf), 0)) > 0) {
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] != pat(e->got + (uint64_t)i) && !e->bad) {
				e->bad_at = e->got + (uint64_t)i;
				e->bad = true;
			}
		e->got += (uint64_t)n;
	}
	if (n == 0)
		e->eof = true;
	else if (n != -EAGAIN)
		e->err = (int)-n;
}

static int econnect(bool v6)
{
	struct sockaddr_storage ss;
	int s = vtcp_socket(D.st, v6 ? AF_INET6 : AF_INET);

	kaddr(&ss, v6, false);
	if (vtcp_connect(D.st, s, (struct sockaddr *)&ss, sizeof(ss)) != -EINPROGRESS)
		return -1;
	return s;
}

static bool wait_established(int s, uint64_t limit)
{
	uint64_t end = now_ns() + limit;
	struct vtcp_info ti;

	while (now_ns() < end) {
		drv_step(&D, 10);
		vtcp_get_info(D.st, s, &ti);
		if (ti.tcpi_state == VTCP_ESTABLISHED)
			return true;
		if (ti.tcpi_state == VTCP_CLOSE)
			return false;
	}
	return false;
}

static int elisten(bool v6)
{
	struct sockaddr_storage ss;
	int s = vtcp_socket(D.st, v6 ? AF_INET6 : AF_INET);

	kaddr(&ss, v6, true);
	if (vtcp_bind(D.st, s, (struct sockaddr *)&ss, sizeof(ss)) || vtcp_listen(D.st, s, 8))
		return -1;
	return s;
}

/* Handshake in both directions; options as the kernel's sysctls allow. */
static int handshake_ecn(bool v6, const char *sysctl, int want_opts, bool ecn)
{
	struct kpeer k = { .v6 = v6, .listen = true };
	struct vtcp_config cfg = { .ecn = ecn };
	struct vtcp_info ti;
	int s, r = setup(&cfg);

	if (r)
		return r;
	if (sysctl && sh("sysctl -qw %s", sysctl))
		return KTAP_FAIL;
	if (kpeer_start(&k))
		return KTAP_FAIL;
	s = econnect(v6);
	KTAP_EXPECT(s >= 0);
	KTAP_EXPECT(wait_established(s, 5 * SEC));
	vtcp_get_info(D.st, s, &ti);
	if (ti.tcpi_options != want_opts)
		ktap_diag("engine options %#x, expected %#x", ti.tcpi_options, want_opts);
	KTAP_EXPECT(ti.tcpi_options == want_opts);
	vtcp_close(D.st, s);
	for (uint64_t end = now_ns() + 5 * SEC; !atomic_load(&k.done) && now_ns() < end;)
		drv_step(&D, 10);
	KTAP_EXPECT(atomic_load(&k.done) && k.eof && !k.bad);
	KTAP_EXPECT((k.ti.tcpi_options & 15) == want_opts);

	/* and the kernel connecting to an engine listener */
	struct kpeer k2 = { .v6 = v6, .listen = false };
	int l = elisten(v6), a = -1;

	KTAP_EXPECT(l >= 0);
	KTAP_EXPECT(kpeer_start(&k2) == 0);
	for (uint64_t end = now_ns() + 5 * SEC; a < 0 && now_ns() < end;) {
		drv_step(&D, 10);
		a = vtcp_accept(D.st, l, NULL, NULL);
	}
	KTAP_EXPECT(a >= 0);
	vtcp_get_info(D.st, a, &ti);
	KTAP_EXPECT(ti.tcpi_options == want_opts);
	vtcp_close(D.st, a);
	for (uint64_t end = now_ns() + 5 * SEC; !atomic_load(&k2.done) && now_ns() < end;)
		drv_step(&D, 10);
	KTAP_EXPECT(atomic_load(&k2.done) && k2.eof);
	pthread_join(k.th, NULL);
	pthread_join(k2.th, NULL);
	return KTAP_PASS;
}

static int handshake(bool v6, const char *sysctl, int want_opts)
{
	return handshake_ecn(v6, sysctl, want_opts, false);
}

#define ALL_OPTS (VTCP_OPT_TIMESTAMPS | VTCP_OPT_SACK | VTCP_OPT_WSCALE)

static int hs_v4(void) { return handshake(false, NULL, ALL_OPTS); }
static int hs_v6(void) { return handshake(true, NULL, ALL_OPTS); }
static int hs_nosack(void) { return handshake(false, "net.ipv4.tcp_sack=0", ALL_OPTS & ~VTCP_OPT_SACK); }
static int hs_nots(void) { return handshake(false, "net.ipv4.tcp_timestamps=0", ALL_OPTS & ~VTCP_OPT_TIMESTAMPS); }
static int hs_nows(void) { return handshake(false, "net.ipv4.tcp_window_scaling=0", ALL_OPTS & ~VTCP_OPT_WSCALE); }
/* IPv6 link-local with scope ids, both directions (and neighbour discovery) */
static int hs_linklocal(void)
{
	want_linklocal = true;
	return handshake(true, NULL, ALL_OPTS);
}

static int hs_ecn(void)
{
	return handshake_ecn(false, "net.ipv4.tcp_ecn=1", ALL_OPTS | VTCP_OPT_ECN, true);
}

static int hs_none(void)
{
	return handshake(false, "net.ipv4.tcp_sack=0 net.ipv4.tcp_timestamps=0 net.ipv4.tcp_window_scaling=0", 0);
}

/* What each end saw, when a bulk transfer went wrong. */
static void bulk_explain(const struct eside *e, const struct kpeer *k)
{
	struct vtcp_info ti;

	if (e->bad)
		ktap_diag("engine: wrong byte at %llu", (unsigned long long)e->bad_at);
	if (e->err)
		ktap_diag("engine: error %s", strerror(e->err));
	if (k->bad)
		ktap_diag("kernel: %s", k->why);
	if (vtcp_get_info(D.st, e->sock, &ti) == 0)
		ktap_diag("engine tcp: state %u ca %u unacked %u lost %u retrans %u backoff %u "
			  "rto %u us cwnd %u ssthresh %u last sent %u ms, last recv %u ms ago",
			  ti.tcpi_state, ti.tcpi_ca_state, ti.tcpi_unacked, ti.tcpi_lost,
			  ti.tcpi_retrans, ti.tcpi_backoff, ti.tcpi_rto, ti.tcpi_snd_cwnd,
			  ti.tcpi_snd_ssthresh, ti.tcpi_last_data_sent, ti.tcpi_last_data_recv);
	ktap_diag("kernel tcp: state %u ca %u unacked %u lost %u retrans %u backoff %u rto %u us "
		  "cwnd %u rcv_space %u", k->ti.tcpi_state, k->ti.tcpi_ca_state,
		  k->ti.tcpi_unacked, k->ti.tcpi_lost, k->ti.tcpi_retrans, k->ti.tcpi_backoff,
		  k->ti.tcpi_rto, k->ti.tcpi_snd_cwnd, k->ti.tcpi_rcv_space);
}

/* Bulk both directions at once, verified byte for byte on both ends. */
static int bulk(struct impair im, bool v6, double *mbps)
{
	uint64_t bytes = bulk_bytes(), t0, limit;
	struct kpeer k = { .v6 = v6, .listen = true, .send_bytes = bytes };
	struct eside e = { .to_send = bytes };
	int r = setup(NULL);

	if (r)
		return r;
	/* sch_netem, where the kernel has it, impairs what the kernel sends */
	if (im.loss_ppm && system(TC " qdisc add dev vtap0 root netem loss 3% delay 1ms reorder 2% "
				  "duplicate 1% corrupt 1% 2>/dev/null") == 0) {
		ktap_diag("kernel to engine: tc netem; engine to kernel: driver");
		im.egress_only = true;
	} else if (im.loss_ppm) {
		ktap_diag("no sch_netem in this kernel: the driver impairs both directions");
#ifdef VELO_INTEROP_GUEST
		return KTAP_FAIL; /* the guest exists to use the real one */
#endif
	}
	D.im = im;
	if (kpeer_start(&k))
		return KTAP_FAIL;
	e.sock = econnect(v6);
	KTAP_EXPECT(e.sock >= 0);
	KTAP_EXPECT(wait_established(e.sock, 10 * SEC));
	t0 = now_ns();
	limit = t0 + 600 * SEC;
	while (now_ns() < limit && !(atomic_load(&k.done) && e.eof) && !e.err) {
		drv_step(&D, 5);
		epump(&e);
	}
	pthread_join(k.th, NULL);
	if (mbps)
		*mbps = (double)(bytes * 2) * 8 / ((double)(now_ns() - t0) / 1e9) / 1e6;
	ktap_diag("%llu MB each way in %.2f s: engine got %llu, kernel got %llu, %s%s; frames in %llu out %llu",
		  (unsigned long long)(bytes >> 20), (double)(now_ns() - t0) / 1e9,
		  (unsigned long long)e.got, (unsigned long long)k.got,
		  e.bad || k.bad ? "CORRUPT" : "data ok", e.err ? " (engine error)" : "",
		  (unsigned long long)D.frames_in, (unsigned long long)D.frames_out);
	if (e.bad || k.bad || e.err || e.got != bytes || k.got != bytes)
		bulk_explain(&e, &k);
	KTAP_EXPECT(!e.bad && !k.bad && !e.err);
	KTAP_EXPECT(e.got == bytes && k.got == bytes && e.eof && k.eof);
	return KTAP_PASS;
}

static int bulk_clean(void)
{
	struct impair im = { 0 };

	return bulk(im, false, NULL);
}

static int bulk_v6(void)
{
	struct impair im = { 0 };

	return bulk(im, true, NULL);
}

static int bulk_netem(void)
{
	/* loss 3%, reordering, duplication and corruption, both ways */
	struct impair im = { .loss_ppm = 30000, .reorder_ppm = 20000, .dup_ppm = 10000,
			     .corrupt_ppm = 10000 };

	return bulk(im, false, NULL);
}

/* Half-close: the engine stops writing, the kernel keeps sending, then closes. */
static int half_close(void)
{
	struct kpeer k = { .listen = true, .send_bytes = 1 << 20 };
	struct eside e = { 0 };
	int r = setup(NULL);

	if (r)
		return r;
	k.no_read_until_flag = true;
	KTAP_EXPECT(kpeer_start(&k) == 0);
	e.sock = econnect(false);
	KTAP_EXPECT(wait_established(e.sock, 5 * SEC));
	KTAP_EXPECT(vtcp_shutdown(D.st, e.sock, SHUT_WR) == 0);
	atomic_store(&k.go, true);
	for (uint64_t end = now_ns() + 30 * SEC; now_ns() < end && !(e.eof && atomic_load(&k.done));) {
		drv_step(&D, 5);
		epump(&e);
	}
	pthread_join(k.th, NULL);
	KTAP_EXPECT(e.eof && e.got == 1 << 20 && !e.bad);
	KTAP_EXPECT(k.eof && k.got == 0);
	return KTAP_PASS;
}

/* RST both ways: kernel SO_LINGER {1,0} close, and engine abort. */
static int rst_both_ways(void)
{
	struct kpeer k = { .listen = true, .rst_close = true };
	struct eside e = { 0 };
	int r = setup(NULL);

	if (r)
		return r;
	KTAP_EXPECT(kpeer_start(&k) == 0);
	e.sock = econnect(false);
	KTAP_EXPECT(wait_established(e.sock, 5 * SEC));
	vtcp_shutdown(D.st, e.sock, SHUT_WR); /* the kernel reads EOF, then resets */
	for (uint64_t end = now_ns() + 10 * SEC; now_ns() < end && !e.err;) {
		drv_step(&D, 5);
		epump(&e);
	}
	pthread_join(k.th, NULL);
	KTAP_EXPECT(e.err == ECONNRESET);

	struct kpeer k2 = { .listen = false };
	int l = elisten(false), a = -1;

	KTAP_EXPECT(kpeer_start(&k2) == 0);
	for (uint64_t end = now_ns() + 5 * SEC; a < 0 && now_ns() < end;) {
		drv_step(&D, 10);
		a = vtcp_accept(D.st, l, NULL, NULL);
	}
	KTAP_EXPECT(a >= 0);
	vtcp_abort(D.st, a);
	for (uint64_t end = now_ns() + 10 * SEC; !atomic_load(&k2.done) && now_ns() < end;)
		drv_step(&D, 10);
	pthread_join(k2.th, NULL);
	if (!k2.reset)
		ktap_diag("kernel side: eof=%d bad=%d got=%llu errno=%d", k2.eof, k2.bad,
			  (unsigned long long)k2.got, k2.err);
	KTAP_EXPECT(k2.reset);
	return KTAP_PASS;
}

/* The kernel stops reading: zero window, persist probes, then it drains. */
static int zero_window(void)
{
	struct kpeer k = { .listen = true, .rcvbuf = 4096, .no_read_until_flag = true };
	struct eside e = { .to_send = 4 << 20 };
	struct vtcp_info ti;
	bool saw_probe = false;
	int r = setup(NULL);

	if (r)
		return r;
	KTAP_EXPECT(kpeer_start(&k) == 0);
	e.sock = econnect(false);
	KTAP_EXPECT(wait_established(e.sock, 5 * SEC));
	for (uint64_t end = now_ns() + 3 * SEC; now_ns() < end;) {
		drv_step(&D, 5);
		epump(&e);
		vtcp_get_info(D.st, e.sock, &ti);
		saw_probe |= ti.tcpi_probes > 0 || ti.tcpi_backoff > 0;
	}
	ktap_diag("queued %llu of %llu while the kernel did not read; probes seen: %d",
		  (unsigned long long)e.sent, (unsigned long long)e.to_send, saw_probe);
	KTAP_EXPECT(saw_probe);
	atomic_store(&k.go, true);
	for (uint64_t end = now_ns() + 60 * SEC; now_ns() < end && !atomic_load(&k.done);) {
		drv_step(&D, 5);
		epump(&e);
	}
	pthread_join(k.th, NULL);
	KTAP_EXPECT(k.got == e.to_send && !k.bad && k.eof);
	return KTAP_PASS;
}

/* Keepalive with the kernel blackholed: 1 s idle, 1 s interval, 3 probes. */
static int keepalive_blackhole(void)
{
	struct kpeer k = { .listen = true };
	struct eside e = { 0 };
	uint64_t t0, took;
	int r = setup(NULL);

	if (r)
		return r;
	KTAP_EXPECT(kpeer_start(&k) == 0);
	e.sock = econnect(false);
	KTAP_EXPECT(wait_established(e.sock, 5 * SEC));
	vtcp_setopt(D.st, e.sock, VTCP_KEEPIDLE, 1);
	vtcp_setopt(D.st, e.sock, VTCP_KEEPINTVL, 1);
	vtcp_setopt(D.st, e.sock, VTCP_KEEPCNT, 3);
	vtcp_setopt(D.st, e.sock, VTCP_KEEPALIVE, 1);
	/* first, probes are answered by the kernel: still alive after 3 s */
	for (uint64_t end = now_ns() + 3500 * MS; now_ns() < end;)
		drv_step(&D, 10);
	KTAP_EXPECT(vtcp_sock_error(D.st, e.sock) == 0);
	D.im.blackhole = true;
	t0 = now_ns();
	for (uint64_t end = t0 + 30 * SEC; now_ns() < end && !e.err;) {
		drv_step(&D, 10);
		epump(&e);
	}
	took = now_ns() - t0;
	ktap_diag("ETIMEDOUT after %.2f s of blackhole (expected ~4 s)", (double)took / 1e9);
	KTAP_EXPECT(e.err == ETIMEDOUT);
	KTAP_EXPECT(took >= 2 * SEC && took <= 15 * SEC);
	D.im.blackhole = false;
	return KTAP_PASS;
}

/* TCP_USER_TIMEOUT with the kernel blackholed while data is outstanding. */
static int user_timeout_blackhole(void)
{
	struct kpeer k = { .listen = true };
	struct eside e = { .to_send = 100000 };
	uint64_t t0, took;
	int r = setup(NULL);

	if (r)
		return r;
	KTAP_EXPECT(kpeer_start(&k) == 0);
	e.sock = econnect(false);
	KTAP_EXPECT(wait_established(e.sock, 5 * SEC));
	vtcp_setopt(D.st, e.sock, VTCP_USER_TIMEOUT, 2000);
	D.im.blackhole = true;
	t0 = now_ns();
	for (uint64_t end = t0 + 30 * SEC; now_ns() < end && !e.err;) {
		drv_step(&D, 10);
		epump(&e);
	}
	took = now_ns() - t0;
	ktap_diag("ETIMEDOUT after %.2f s (user timeout 2 s)", (double)took / 1e9);
	KTAP_EXPECT(e.err == ETIMEDOUT);
	KTAP_EXPECT(took >= 1900 * MS && took <= 10 * SEC);
	D.im.blackhole = false;
	return KTAP_PASS;
}

/*
 * The receiving end of both throughput runs: the same loop, each in a
 * process of its own, so the two runs differ only in the sender. Accepts
 * one connection on lsock and reads `bytes`; 0 if all arrived. The engine's
 * pattern is checked at one byte in 4096 (the bulk cases check every byte):
 * the kernel receiver acknowledges largely when its reader runs, and the
 * reader's speed should not be what this case measures.
 */
#define PATTERN_STRIDE 4096
static int receive_all(int lsock, uint64_t bytes, bool check_pattern)
{
	static uint8_t buf[1 << 16];
	uint64_t got = 0;
	bool bad = false;
	int s = accept(lsock, NULL, NULL);

	for (ssize_t n; s >= 0 && (n = recv(s, buf, sizeof(buf), 0)) > 0;) {
		uint64_t i = (PATTERN_STRIDE - got % PATTERN_STRIDE) % PATTERN_STRIDE;

		for (; check_pattern && i < (uint64_t)n; i += PATTERN_STRIDE)
			bad |= buf[i] != pat(got + i);
		got += (uint64_t)n;
	}
	return got == bytes && !bad ? 0 : 1;
}

/*
 * Throughput under 1% loss (each way), engine<->kernel vs kernel<->kernel
 * through the same relay. The kernel-to-kernel path: tap "va" here and tap
 * "vb" moved into a child namespace, bridged by this driver. cc names the
 * kernel sender's congestion control; NULL keeps the namespace's default,
 * which new namespaces inherit from the host's net.ipv4.tcp_congestion_control
 * (bbr on some hosts: loss-agnostic, it keeps a window of hundreds of
 * segments where CUBIC, the engine's, keeps ten or twenty).
 */
static double kernel_pair_mbps(struct impair im, uint64_t bytes, const char *cc,
			       const char *pcap_suffix)
{
	int pfd[2], cfd[2];
	pid_t pid;
	uint64_t t0, t1 = 0;
	char c;

	if (pipe(pfd) || pipe(cfd))
		return -1;
	pid = fork();
	if (pid == 0) {
		/* the far kernel: its own namespace, a server that reads `bytes` */
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(PORT) };
		int l, one = 1;

		if (unshare(CLONE_NEWNET))
			_exit(1);
		if (write(cfd[1], "n", 1) != 1 || read(pfd[0], &c, 1) != 1)
			_exit(1);
		l = socket(AF_INET, SOCK_STREAM, 0);
		setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 1))
			_exit(1);
		if (write(cfd[1], "l", 1) != 1)
			_exit(1);
		_exit(receive_all(l, bytes, false));
	}
	if (read(cfd[0], &c, 1) != 1)
		return -1;
	D.tap = tap_open("va");
	D.tap2 = tap_open("vb");
	if (D.tap < 0 || D.tap2 < 0 ||
	    sh("ip link set vb netns %d && ip addr add 10.9.1.1/24 dev va && ip link set va up && "
	       "nsenter -t %d -n sh -c 'ip link set lo up && ip addr add 10.9.1.2/24 dev vb && ip link set vb up'",
	       pid, pid))
		return -1;
	D.st = NULL;
	D.im = im;
	pcap_open(&D, pcap_suffix);
	if (write(pfd[1], "g", 1) != 1 || read(cfd[0], &c, 1) != 1)
		return -1;

	/* the near kernel: the sender is this thread, which also relays */
	static uint8_t buf[1 << 16];
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(PORT) };
	int status;

	inet_pton(AF_INET, "10.9.1.2", &a.sin_addr);
	if (cc && setsockopt(s, IPPROTO_TCP, TCP_CONGESTION, cc, (socklen_t)strlen(cc)))
		ktap_diag("TCP_CONGESTION %s: %s", cc, strerror(errno));
	fcntl(s, F_SETFL, O_NONBLOCK);
	connect(s, (struct sockaddr *)&a, sizeof(a));
	t0 = now_ns();
	for (uint64_t off = 0; now_ns() < t0 + 300 * SEC;) {
		drv_step(&D, 1);
		while (off < bytes) {
			size_t n = sizeof(buf);
			ssize_t w;

			if (bytes - off < n)
				n = (size_t)(bytes - off);
			w = send(s, buf, n, MSG_NOSIGNAL);
			if (w <= 0)
				break;
			off += (uint64_t)w;
		}
		if (off == bytes && !t1) {
			shutdown(s, SHUT_WR);
			t1 = 1;
		}
		if (t1 && waitpid(pid, &status, WNOHANG) == pid) {
			struct tcp_info ti;
			socklen_t tl = sizeof(ti), nl = 16;
			char name[16] = "?";

			t1 = now_ns();
			getsockopt(s, IPPROTO_TCP, TCP_CONGESTION, name, &nl);
			name[sizeof(name) - 1] = 0;
			if (!getsockopt(s, IPPROTO_TCP, TCP_INFO, &ti, &tl))
				ktap_diag("  kernel sender (%s): cwnd %u ssthresh %u rtt %u us retrans %u reordering %u",
					  name, ti.tcpi_snd_cwnd, ti.tcpi_snd_ssthresh, ti.tcpi_rtt,
					  ti.tcpi_total_retrans, ti.tcpi_reordering);
			close(s);
			return WIFEXITED(status) && WEXITSTATUS(status) == 0 ?
				       (double)bytes * 8 / ((double)(t1 - t0) / 1e9) / 1e6 : -1;
		}
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -1;
}

/* One engine->kernel run in a fresh namespace; Mbit/s, or -1. */
static double engine_mbps(struct impair im, uint64_t bytes, const char *pcap_suffix)
{
	struct eside e = { .to_send = bytes };
	double mbps = -1;
	int lsock, status = -1;
	pid_t rpid = -1;
	uint64_t t0;

	pattern_prepare(bytes);
	if (setup(NULL))
		return -1;
	pcap_open(&D, pcap_suffix);
	D.im = im;
	lsock = klisten(false, 0);
	if (lsock >= 0 && (rpid = fork()) == 0)
		_exit(receive_all(lsock, bytes, true));
	if (rpid < 0)
		return -1;
	e.sock = econnect(false);
	if (e.sock >= 0 && wait_established(e.sock, 5 * SEC)) {
		t0 = now_ns();
		while (now_ns() < t0 + 300 * SEC && !e.err) {
			/* data first: an idle first step would wait 5 ms for nothing */
			epump(&e);
			drv_step(&D, 5);
			if (waitpid(rpid, &status, WNOHANG) == rpid) {
				rpid = -1;
				break;
			}
		}
		if (rpid < 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0)
			mbps = (double)bytes * 8 / ((double)(now_ns() - t0) / 1e9) / 1e6;
	}
	if (e.sock >= 0) {
		struct vtcp_info ti;

		vtcp_get_info(D.st, e.sock, &ti);
		ktap_diag("  engine sender: cwnd %u ssthresh %u rtt %u us retrans %u reordering %u",
			  ti.tcpi_snd_cwnd, ti.tcpi_snd_ssthresh, ti.tcpi_rtt,
			  ti.tcpi_total_retrans, ti.tcpi_reordering);
	}
	vtcp_abort(D.st, e.sock);
	if (rpid > 0) {
		kill(rpid, SIGKILL);
		waitpid(rpid, NULL, 0);
	}
	close(lsock);
	vtcp_stack_destroy(D.st);
	close(D.tap);
	return mbps;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* One kernel-to-kernel run in a fresh namespace; cc NULL: the host's default. */
static double kernel_run(struct impair im, uint64_t bytes, const char *cc, const char *pcap_suffix)
{
	double mbps;

	if (netns_enter())
		return -1;
	mbps = kernel_pair_mbps(im, bytes, cc, pcap_suffix);
	pcap_close(&D);
	close(D.tap);
	close(D.tap2);
	return mbps;
}

/* net.ipv4.tcp_congestion_control, which new namespaces inherit from the host */
static const char *host_default_cc(void)
{
	static char name[32];
	FILE *f = fopen("/proc/sys/net/ipv4/tcp_congestion_control", "r");

	if (!f || !fgets(name, sizeof(name), f))
		snprintf(name, sizeof(name), "?");
	if (f)
		fclose(f);
	name[strcspn(name, "\n")] = 0;
	return name;
}

#define RUNS_MAX 31
/* VELO_INTEROP_RUNS: how many alternating runs (odd: a true median) */
static int throughput_runs(void)
{
	const char *e = getenv("VELO_INTEROP_RUNS");
	int n = e ? atoi(e) : 9;

	return n < 1 ? 1 : n > RUNS_MAX ? RUNS_MAX : n;
}

/*
 * Alternating runs, medians: the host is shared, single runs are noisy. The
 * kernel runs twice per round: with the host's default algorithm and with
 * CUBIC, the engine's, so that the ratio compares like with like too.
 */
static int throughput_vs_kernel(void)
{
	struct impair im = { .loss_ppm = 10000 };
	uint64_t bytes = bulk_bytes() / 4;
	int runs = throughput_runs();
	double eng[RUNS_MAX], kdef[RUNS_MAX], kcub[RUNS_MAX];

	if (geteuid() != 0)
		return KTAP_SKIP;
	for (int i = 0; i < runs; i++) {
		char sfx[16];

		snprintf(sfx, sizeof(sfx), ".e%d", i);
		eng[i] = engine_mbps(im, bytes, sfx);
		snprintf(sfx, sizeof(sfx), ".k%d", i);
		kdef[i] = kernel_run(im, bytes, NULL, sfx);
		snprintf(sfx, sizeof(sfx), ".c%d", i);
		kcub[i] = kernel_run(im, bytes, "cubic", sfx);
		ktap_diag("run %d: engine->kernel %.1f Mbit/s, kernel->kernel %.1f (host default), %.1f (cubic)",
			  i, eng[i], kdef[i], kcub[i]);
		KTAP_EXPECT(eng[i] > 0 && kdef[i] > 0 && kcub[i] > 0);
	}
	qsort(eng, (size_t)runs, sizeof(eng[0]), cmp_double);
	qsort(kdef, (size_t)runs, sizeof(kdef[0]), cmp_double);
	qsort(kcub, (size_t)runs, sizeof(kcub[0]), cmp_double);
	ktap_diag("1%% loss each way, %llu MB, medians of %d: engine->kernel %.1f Mbit/s (cubic); "
		  "kernel->kernel %.1f (host default: %s), %.1f (cubic)",
		  (unsigned long long)(bytes >> 20), runs, eng[runs / 2], kdef[runs / 2],
		  host_default_cc(), kcub[runs / 2]);
	ktap_diag("engine/kernel: %.2f against the host default, %.2f against cubic",
		  eng[runs / 2] / kdef[runs / 2], eng[runs / 2] / kcub[runs / 2]);
	/*
	 * A sanity bound against the kernel running the same algorithm (the
	 * engine's is cubic): the host default (bbr here) is only reported,
	 * its edge under loss is the algorithm's and varies run to run (0.40
	 * to 1.07 of it on this host); make bench holds the performance figures.
	 */
	KTAP_EXPECT(eng[runs / 2] >= kcub[runs / 2] / 2);
	return KTAP_PASS;
}

#ifdef VELO_INTEROP_GUEST
static const struct ktap_case cases[] = {
	{ "bulk_tc_netem_loss3_reorder_dup_corrupt", bulk_netem, 600 },
};
#else
static const struct ktap_case cases[] = {
	{ "handshake_v4_all_options", hs_v4, 30 },
	{ "handshake_v6_all_options", hs_v6, 30 },
	{ "handshake_v6_linklocal_scope", hs_linklocal, 30 },
	{ "handshake_kernel_nosack", hs_nosack, 30 },
	{ "handshake_kernel_notimestamps", hs_nots, 30 },
	{ "handshake_kernel_nowscale", hs_nows, 30 },
	{ "handshake_kernel_no_options", hs_none, 30 },
	{ "handshake_ecn_both_enabled", hs_ecn, 30 },
	{ "bulk_both_ways_v4", bulk_clean, 600 },
	{ "bulk_both_ways_v6", bulk_v6, 600 },
	{ "bulk_netem_loss3_reorder_dup_corrupt", bulk_netem, 900 },
	{ "half_close", half_close, 60 },
	{ "rst_both_ways", rst_both_ways, 60 },
	{ "zero_window", zero_window, 120 },
	{ "keepalive_blackhole", keepalive_blackhole, 60 },
	{ "user_timeout_blackhole", user_timeout_blackhole, 60 },
	{ "throughput_1pct_loss_vs_kernel", throughput_vs_kernel, 900 },
};
#endif

/* VELO_INTEROP_CASE=name runs that case alone. */
int main(void)
{
	const char *only = getenv("VELO_INTEROP_CASE");
	size_t n = sizeof(cases) / sizeof(cases[0]);

#ifdef VELO_INTEROP_GUEST
	/* nothing autoloads tun in the guest: /dev/net/tun comes with it */
	if (system("/sbin/modprobe tun sch_netem 2>/dev/null || /sbin/modprobe tun") != 0)
		return KTAP_SKIP;
#endif
	for (size_t i = 0; only && i < n; i++)
		if (!strcmp(cases[i].name, only))
			return ktap_run(&cases[i], 1);
	return ktap_run(cases, n);
}
