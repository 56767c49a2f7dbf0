// SPDX-License-Identifier: GPL-2.0
/*
 * EFAULT, not a crash, for buffers in the user address range that are not
 * mapped as the call needs: sending from an unmapped page, from one half
 * unmapped, from PROT_NONE, and from a buffer unmapped after it was used;
 * receiving into an unmapped page, into one half unmapped and into
 * read-only memory, the data staying queued. Then everything still
 * arrives, in order. A writev with a bad piece sends nothing; a readv
 * fails, taking nothing, when what is queued reaches a bad piece, and
 * reads what is queued when it does not.
 */
#include "diff.h"
#include <sys/mman.h>
#include <sys/uio.h>

int main(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	char *p = mmap(NULL, 3 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *ro = mmap(NULL, pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char b[1000];
	int c, s;

	NEED(p != MAP_FAILED && ro != MAP_FAILED);
	memset(p, 'a', 3 * pg);
	NEED(munmap(p + pg, pg) == 0);
	NEED(mprotect(p + 2 * pg, pg, PROT_NONE) == 0);
	signal(SIGPIPE, SIG_IGN);
	tcp_pair(&c, &s);

	SHOWL("send(unmapped)", send(c, p + pg, 10, 0));
	SHOWL("send(half unmapped)", send(c, p + pg - 100, 200, 0));
	SHOWL("send(PROT_NONE)", send(c, p + 2 * pg, 10, 0));
	SHOWL("send(mapped)", send(c, p, 10, 0));
	NEED(munmap(p, pg) == 0);
	SHOWL("send(unmapped since)", send(c, p, 10, 0));
	SHOW(read_full(s, b, 10));

	SHOW(send(s, "0123456789", 10, 0));
	NEED(wait_ev(c, POLLIN, 5000));
	msleep(10);
	SHOWL("recv(unmapped)", recv(c, p + pg, 10, 0));
	SHOWL("recv(read-only)", recv(c, ro, 10, 0));
	SHOWL("read(read-only)", read(c, ro, 10));
	SHOWL("recv(PROT_NONE)", recv(c, p + 2 * pg, 10, 0));
	memset(b, 0, sizeof(b));
	SHOW(recv(c, b, sizeof(b), 0));
	say("data still there: \"%s\"", b);

	{
		struct iovec good_bad[2] = { { b, 10 }, { p + 2 * pg, 10 } };
		struct iovec bad_good[2] = { { p + 2 * pg, 10 }, { b, 10 } };
		struct iovec short_ro[2] = { { b, 5 }, { ro, 10 } };
		struct iovec long_ro[2] = { { b, 20 }, { ro, 10 } };

		SHOW(writev(c, good_bad, 2));
		SHOW(writev(c, bad_good, 2));
		SHOW(send(s, "0123456789ab", 12, 0));
		NEED(wait_ev(c, POLLIN, 5000));
		msleep(10);
		SHOW(readv(c, short_ro, 2));
		SHOW(readv(c, long_ro, 2));
		SHOW(recv(s, b, sizeof(b), MSG_DONTWAIT));
	}
	return 0;
}
