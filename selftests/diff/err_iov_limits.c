// SPDX-License-Identifier: GPL-2.0
/*
 * Lengths at the kernel's limits, on a connected socket: an iovec count of
 * 0, -1, IOV_MAX and IOV_MAX + 1 (EINVAL, or EMSGSIZE for sendmsg and
 * recvmsg), a segment length that is negative as an ssize_t (EINVAL,
 * before any fault), segments reaching past user space (EFAULT), and a
 * single buffer of SIZE_MAX or 1 GiB for one byte queued: cut at
 * MAX_RW_COUNT, the byte is read (under libvelo the receive failed with
 * EFAULT, the segment errors were EFAULT too).
 */
#include <limits.h>
#include <sys/uio.h>

#include "diff.h"

static struct iovec v[IOV_MAX + 2];
static char buf[16];

/* @n as the compiler cannot see it: the calls below are wrong on purpose. */
static size_t opaque(size_t n)
{
	__asm__("" : "+r"(n));
	return n;
}

/* One byte queued on @s, read with recv(), read() and readv() of @len. */
static void huge_reads(int c, int s, size_t len)
{
	static char rb[64]; /* not on the stack: its distance to the top of user space varies */
	struct iovec one = { buf, len };

	len = opaque(len);

	say("length %s", len == SIZE_MAX ? "SIZE_MAX" : "1 GiB");
	SHOW(write(c, "a", 1));
	SHOW(poll1(s, POLLIN, 2000));
	SHOW(recv(s, rb, len, MSG_DONTWAIT));
	SHOW(write(c, "b", 1));
	SHOW(poll1(s, POLLIN, 2000));
	SHOW(read(s, rb, len));
	SHOW(write(c, "c", 1));
	SHOW(poll1(s, POLLIN, 2000));
	SHOW(recvfrom(s, rb, len, MSG_DONTWAIT, NULL, NULL));
	SHOW(write(c, "d", 1));
	SHOW(poll1(s, POLLIN, 2000));
	SHOW(readv(s, &one, 1));
	SHOW(recv(s, rb, len, MSG_DONTWAIT));
}

static void counts(int c, int s)
{
	struct msghdr m = { 0 };
	int i;

	for (i = 0; i < IOV_MAX + 2; i++)
		v[i] = (struct iovec){ buf, 0 };
	v[0].iov_len = 1;
	SHOW(writev(c, v, 0));
	SHOW(writev(c, NULL, 0));
	SHOW(writev(c, v, (int)opaque((size_t)-1)));
	SHOW(writev(c, v, IOV_MAX));
	SHOW(writev(c, v, IOV_MAX + 1));
	SHOW(poll1(s, POLLIN, 2000));
	SHOW(readv(s, v, IOV_MAX + 1));
	SHOW(readv(s, v, (int)opaque((size_t)-1)));
	SHOW(readv(s, v, 0));
	SHOW(readv(s, v, IOV_MAX));
	m.msg_iov = v;
	m.msg_iovlen = IOV_MAX + 1;
	SHOW(sendmsg(c, &m, 0));
	SHOW(recvmsg(s, &m, MSG_DONTWAIT));
	m.msg_iovlen = 0;
	SHOW(sendmsg(c, &m, 0));
	SHOW(recvmsg(s, &m, MSG_DONTWAIT));
	m.msg_iov = NULL;
	m.msg_iovlen = 1;
	SHOW(sendmsg(c, &m, 0));
	SHOW(recvmsg(s, &m, MSG_DONTWAIT));
}

static void segment_lengths(int c, int s)
{
	struct msghdr m = { .msg_iov = v, .msg_iovlen = 2 };

	v[0] = (struct iovec){ buf, 1 };
	v[1] = (struct iovec){ buf, (size_t)-1 };
	SHOW(writev(c, v, 2));
	SHOW(sendmsg(c, &m, 0));
	SHOW(write(c, "x", 1));
	SHOW(poll1(s, POLLIN, 2000));
	SHOW(readv(s, v, 2));
	SHOW(recvmsg(s, &m, 0));
	v[1] = (struct iovec){ (void *)0x7ffffffff000ull, 2 };
	SHOW(writev(c, v, 2));
	SHOW(readv(s, v, 2));
	v[0] = (struct iovec){ buf, SSIZE_MAX };
	v[1] = (struct iovec){ buf, SSIZE_MAX };
	SHOW(writev(c, v, 2));
	SHOW(readv(s, v, 2));
	v[0] = (struct iovec){ buf, 1 };
	SHOW(readv(s, v, 1));
	SHOW(send(c, buf, opaque(SIZE_MAX), 0));
	SHOW(write(c, buf, opaque((size_t)SSIZE_MAX + 1)));
	SHOW(write(c, NULL, 0));
	SHOW(send(c, NULL, 0, 0));
	set_nonblock(s, 1);
	SHOW(read(s, NULL, 0));
	SHOW(recv(s, NULL, 0, 0));
	SHOW(read(s, buf, sizeof(buf)));
	set_nonblock(s, 0);
}

int main(void)
{
	int c, s;

	tcp_pair(&c, &s);
	huge_reads(c, s, SIZE_MAX);
	huge_reads(c, s, (size_t)1 << 30);
	counts(c, s);
	segment_lengths(c, s);
	SHOW(close(c));
	SHOW(read(s, buf, sizeof(buf)));
	close(s);
	return 0;
}
