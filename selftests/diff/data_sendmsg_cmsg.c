// SPDX-License-Identifier: GPL-2.0
/*
 * sendmsg() with control messages on a connected TCP socket: SCM_RIGHTS and
 * SCM_CREDENTIALS are ignored (no fd or credentials reach the peer), other
 * levels are skipped, SOL_SOCKET types TCP does not take fail with EINVAL,
 * a malformed header too, and a bad control pointer with EFAULT. The data
 * of the messages that go is in its place in the stream, between plain
 * sends (under libvelo it once went the kernel's way and was lost).
 */
#include "diff.h"
#include <linux/net_tstamp.h>

static void send_cmsg(int c, int level, int type, size_t dlen, size_t cut, uint32_t v,
		      const char *data, const char *what)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(16)];
	} u;
	struct iovec iov = { .iov_base = (void *)data, .iov_len = strlen(data) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b,
			    .msg_controllen = CMSG_SPACE(dlen) };
	ssize_t n;

	memset(&u, 0, sizeof(u));
	u.h.cmsg_level = level;
	u.h.cmsg_type = type;
	u.h.cmsg_len = CMSG_LEN(dlen) - cut;
	memcpy(CMSG_DATA(&u.h), &v, sizeof(v));
	n = sendmsg(c, &m, 0);
	say("%s: %zd %s", what, n, n < 0 ? errname(errno) : "");
}

/* What the peer got: bytes, and whether a control message came with them. */
static void take(int s, size_t want)
{
	char b[256], cb[256];
	struct iovec iov = { .iov_base = b, .iov_len = sizeof(b) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	size_t got = 0;
	ssize_t n;

	while (got < want && wait_ev(s, POLLIN, 2000)) {
		iov.iov_base = b + got;
		iov.iov_len = sizeof(b) - got;
		m.msg_control = cb;
		m.msg_controllen = sizeof(cb);
		n = recvmsg(s, &m, 0);
		if (n <= 0)
			break;
		got += n;
		if (m.msg_controllen || m.msg_flags)
			say("recvmsg: controllen %zu, flags %#x", (size_t)m.msg_controllen,
			    m.msg_flags);
	}
	say("peer has %zu: %.*s", got, (int)got, b);
}

int main(void)
{
	struct iovec iov = { .iov_base = "xy", .iov_len = 2 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	int c, s;
	ssize_t n;

	tcp_pair_fam(AF_INET, &c, &s);
	SHOW(send(c, "first-", 6, 0));
	send_cmsg(c, SOL_SOCKET, SCM_RIGHTS, sizeof(int), 0, 0, "rights-", "SCM_RIGHTS, fd 0");
	send_cmsg(c, SOL_SOCKET, SCM_CREDENTIALS, 12, 0, 0, "creds-", "SCM_CREDENTIALS");
	send_cmsg(c, IPPROTO_IP, IP_TTL, sizeof(int), 0, 9, "ttl-", "IPPROTO_IP IP_TTL");
	send_cmsg(c, SOL_SOCKET, SO_TIMESTAMPING, sizeof(int), 0,
		  SOF_TIMESTAMPING_TX_SOFTWARE, "ts-", "SO_TIMESTAMPING, TX_SOFTWARE");
	send_cmsg(c, SOL_SOCKET, SO_TIMESTAMPING, sizeof(int), 0,
		  SOF_TIMESTAMPING_RX_SOFTWARE, "no", "SO_TIMESTAMPING, RX_SOFTWARE");
	send_cmsg(c, SOL_SOCKET, SO_MARK, 8, 0, 1, "no", "SO_MARK, 8 bytes");
	send_cmsg(c, SOL_SOCKET, SO_TIMESTAMP, sizeof(int), 0, 0, "no", "SO_TIMESTAMP");
	send_cmsg(c, SOL_SOCKET, 12345, sizeof(int), 0, 0, "no", "SOL_SOCKET 12345");
	send_cmsg(c, SOL_SOCKET, SCM_RIGHTS, sizeof(int), CMSG_LEN(4) - 2, 0, "no",
		  "cmsg_len under a header");
	m.msg_control = (void *)8;
	m.msg_controllen = 32;
	n = sendmsg(c, &m, 0);
	say("bad control pointer: %zd %s", n, n < 0 ? errname(errno) : "");
	SHOW(send(c, "last", 4, 0));
	take(s, 6 + 7 + 6 + 4 + 3 + 4);
	return 0;
}
