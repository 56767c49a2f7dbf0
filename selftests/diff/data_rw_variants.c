// SPDX-License-Identifier: GPL-2.0
/*
 * Every data call on TCP: read/write, readv/writev (many iovecs, empty ones),
 * send/recv, sendto/recvfrom (address ignored/not filled on TCP),
 * sendmsg/recvmsg (msg_flags, msg_namelen), sendmmsg/recvmmsg on TCP, and
 * pread/pwrite (ESPIPE). Byte counts and checksums of what arrives.
 */
#include "diff.h"
#include <sys/uio.h>
#include <limits.h>

/*
 * The 1 MiB writev is made while the main thread reads: it blocks until
 * all of it is queued, which on loopback fits the socket buffers, but over
 * a real link (across namespaces) only with a reader.
 */
struct big_write {
	int fd;
	struct iovec *v;
	int n;
	ssize_t w;
};

static void *big_writev(void *arg)
{
	struct big_write *bw = arg;

	bw->w = writev(bw->fd, bw->v, bw->n);
	return NULL;
}

int main(void)
{
	int c, s, i;
	char b[256], b2[256];
	struct iovec iov[8];
	struct msghdr m;
	union sa from;
	socklen_t fl;
	struct mmsghdr mm[3];
	struct iovec miov[3];
	char mb[3][16];

	tcp_pair(&c, &s);
	SHOW(write(c, "write;", 6));
	memset(b, 0, sizeof(b));
	SHOW(read(s, b, 6));
	say("got \"%s\"", b);

	iov[0] = (struct iovec){ "one;", 4 };
	iov[1] = (struct iovec){ NULL, 0 };
	iov[2] = (struct iovec){ "two;", 4 };
	iov[3] = (struct iovec){ "three;", 6 };
	SHOW(writev(c, iov, 4));
	memset(b, 0, sizeof(b));
	memset(b2, 0, sizeof(b2));
	iov[0] = (struct iovec){ b, 3 };
	iov[1] = (struct iovec){ b2, 0 };
	iov[2] = (struct iovec){ b2, 100 };
	SHOW(recv(s, b, 0, MSG_PEEK)); /* nothing consumed */
	{
		long end = now_ms() + 5000;
		int q = 0;

		while (ioctl(s, FIONREAD, &q) == 0 && q < 14 && now_ms() < end)
			msleep(2);
	}
	SHOW(readv(s, iov, 3));
	say("iov0 \"%s\" iov2 \"%s\"", b, b2);
	SHOW(writev(c, iov, 0));
	{
		volatile int neg = -1, big = IOV_MAX + 1;

		SHOWL("writev(c, iov, -1)", writev(c, iov, neg));
		SHOWL("writev(c, iov, IOV_MAX + 1)", writev(c, iov, big));
	}

	fl = sizeof(from);
	memset(&from, 0xab, sizeof(from));
	SHOW(sendto(c, "sendto;", 7, 0, NULL, 0));
	{
		union sa bogus;
		socklen_t bl = sa_loop(&bogus, AF_INET, 9);

		SHOW(sendto(c, "to-addr;", 8, 0, &bogus.sa, bl)); /* address ignored when connected */
	}
	memset(b, 0, sizeof(b));
	SHOW(recvfrom(s, b, 15, MSG_WAITALL, &from.sa, &fl));
	say("got \"%s\" fromlen %u", b, fl);

	memset(&m, 0, sizeof(m));
	iov[0] = (struct iovec){ "msg-a;", 6 };
	iov[1] = (struct iovec){ "msg-b;", 6 };
	m.msg_iov = iov;
	m.msg_iovlen = 2;
	SHOW(sendmsg(c, &m, 0));
	memset(&m, 0, sizeof(m));
	memset(b, 0, sizeof(b));
	iov[0] = (struct iovec){ b, 12 };
	m.msg_iov = iov;
	m.msg_iovlen = 1;
	m.msg_name = &from;
	m.msg_namelen = sizeof(from);
	SHOW(recvmsg(s, &m, MSG_WAITALL));
	say("got \"%s\" msg_flags 0x%x msg_namelen %u controllen %zu", b, m.msg_flags,
	    m.msg_namelen, m.msg_controllen);

	/* sendmmsg / recvmmsg on TCP */
	for (i = 0; i < 3; i++) {
		snprintf(mb[i], sizeof(mb[i]), "mmsg%d;", i);
		miov[i] = (struct iovec){ mb[i], 6 };
		memset(&mm[i], 0, sizeof(mm[i]));
		mm[i].msg_hdr.msg_iov = &miov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	SHOW(sendmmsg(c, mm, 3, 0));
	say("msg_len %u %u %u", mm[0].msg_len, mm[1].msg_len, mm[2].msg_len);
	{
		long end = now_ms() + 5000;
		int q = 0;

		while (ioctl(s, FIONREAD, &q) == 0 && q < 18 && now_ms() < end)
			msleep(2);
	}
	for (i = 0; i < 3; i++) {
		memset(mb[i], 0, sizeof(mb[i]));
		miov[i] = (struct iovec){ mb[i], 6 };
		mm[i].msg_len = 0;
	}
	SHOW(recvmmsg(s, mm, 3, MSG_DONTWAIT, NULL));
	say("msg_len %u %u %u: \"%s\" \"%s\" \"%s\"", mm[0].msg_len, mm[1].msg_len,
	    mm[2].msg_len, mb[0], mb[1], mb[2]);
	SHOW(recvmmsg(s, mm, 3, MSG_DONTWAIT, NULL));

	SHOW(pwrite(c, "x", 1, 0));
	SHOW(pread(s, b, 1, 0));
	SHOW(lseek(s, 0, SEEK_SET));

	/* a larger scattered transfer, checksummed */
	{
		static char big[1 << 20], rbig[1 << 20];
		struct iovec v[16];
		uint32_t h1, h2;
		ssize_t r;
		size_t got = 0;
		struct big_write bw = { c, v, 16, -1 };
		pthread_t thr;

		pattern(big, sizeof(big), 0, 7);
		h1 = csum(0, big, sizeof(big));
		for (i = 0; i < 16; i++)
			v[i] = (struct iovec){ big + i * 65536, 65536 };
		NEED(pthread_create(&thr, NULL, big_writev, &bw) == 0);
		while (got < sizeof(rbig)) {
			r = read(s, rbig + got, sizeof(rbig) - got);
			NEED(r > 0);
			got += r;
		}
		NEED(pthread_join(thr, NULL) == 0);
		/* the rest if writev was short (it blocks, so it is not) */
		h2 = csum(0, rbig, got);
		say("writev 1 MiB = %zd, checksum equal: %s", bw.w, YN(h1 == h2));
	}
	close(c);
	SHOW(read(s, b, sizeof(b)));
	close(s);
	return 0;
}
