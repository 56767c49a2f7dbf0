// SPDX-License-Identifier: GPL-2.0
/*
 * A write whose buffer turns bad partway (the bytes before an unmapped
 * page are good): Linux's tcp_sendmsg() sends the chunks it copied before
 * the one that faults and returns their count, so the call sends part of
 * the buffer, ending within 64 KB before the fault, and the peer gets
 * exactly that; send(), writev() with the fault in its second piece, and
 * sendmsg(). (Only good parts of 64 KB and more: below one page-fragment
 * chunk, Linux's answer depends on its per-task fragment, EFAULT or a few
 * bytes.) libvelo failed the whole call with EFAULT, on loopback and on
 * the wire.
 */
#include "diff.h"
#include <sys/mman.h>
#include <sys/uio.h>

/* @good bytes that end where an unmapped page begins; NULL if no memory. */
static char *good_then_hole(size_t good, void **map, size_t *map_len)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE), head = (good + pg - 1) / pg * pg;
	char *m;

	*map_len = head + 4 * pg;
	m = mmap(NULL, *map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	NEED(m != MAP_FAILED);
	memset(m, 'v', head);
	NEED(munmap(m + head, 4 * pg) == 0);
	*map = m;
	*map_len = head;
	return m + head - good;
}

static void one(const char *how, size_t good, size_t len)
{
	struct iovec v[2];
	struct msghdr msg = { .msg_iov = v };
	size_t map_len;
	void *map;
	char *buf = good_then_hole(good, &map, &map_len);
	struct drain d;
	size_t got;
	ssize_t n;
	int c, s, e;

	tcp_pair(&c, &s);
	drain_start(&d, s);
	v[0].iov_base = buf;
	v[0].iov_len = good / 2;
	v[1].iov_base = buf + good / 2;
	v[1].iov_len = len - good / 2;
	if (!strcmp(how, "send")) {
		n = send(c, buf, len, 0);
	} else if (!strcmp(how, "writev")) {
		n = writev(c, v, 2);
	} else {
		msg.msg_iovlen = 2;
		n = sendmsg(c, &msg, 0);
	}
	e = errno;
	NEED(shutdown(c, SHUT_WR) == 0);
	got = drain_join(&d);
	if (n < 0)
		say("%s, %zu good of %zu: %s", how, good, len, errname(e));
	else
		say("%s, %zu good of %zu: part sent: %s, ending within 64 KB before the fault: %s, the peer got it all: %s",
		    how, good, len, YN(n > 0 && (size_t)n < len),
		    YN((size_t)n <= good && (size_t)n + 65536 >= good), YN(got == (size_t)n));
	close(c);
	close(s);
	munmap(map, map_len);
}

int main(void)
{
	one("send", 70000, 100000);
	one("send", 300000, 400000);
	one("send", 1 << 20, 3 << 20);
	one("writev", 300000, 400000);
	one("sendmsg", 200000, 300000);
	return 0;
}
