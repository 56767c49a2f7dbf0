// SPDX-License-Identifier: GPL-2.0
/*
 * recvmmsg() on a TCP connection, as do_recvmmsg(): the timeout is looked
 * at after each message (an expired one returns after the first), what is
 * left of it is written back, an invalid one is EINVAL and an unreadable
 * one EFAULT before anything is read; at EOF every message is a receive
 * of 0, so all of them are filled. Under libvelo the timeout was ignored
 * (a 1 ns timeout blocked on the second message) and EOF ended the batch.
 */
#include "diff.h"

#define N 4

static struct mmsghdr mm[N];
static struct iovec iv[N];
static char bufs[N][8];

static void reset(void)
{
	int i;

	for (i = 0; i < N; i++) {
		iv[i] = (struct iovec){ bufs[i], sizeof(bufs[i]) };
		memset(&mm[i], 0, sizeof(mm[i]));
		mm[i].msg_hdr.msg_iov = &iv[i];
		mm[i].msg_hdr.msg_iovlen = 1;
		mm[i].msg_len = 99;
	}
}

static void lens(void)
{
	say("lengths %u %u %u %u", mm[0].msg_len, mm[1].msg_len, mm[2].msg_len, mm[3].msg_len);
}

static void queue(int c, int s, const char *text)
{
	int inq = 0;

	SHOW(write(c, text, strlen(text)));
	while (inq < (int)strlen(text)) {
		NEED(ioctl(s, FIONREAD, &inq) == 0);
		if (inq < (int)strlen(text))
			msleep(1);
	}
}

int main(void)
{
	struct timespec ts;
	int c, s;

	tcp_pair(&c, &s);

	reset();
	queue(c, s, "0123456789abcdefghij");
	ts = (struct timespec){ 0, 1 };
	SHOW(recvmmsg(s, mm, N, 0, &ts));
	lens();
	say("left %ld.%09ld", (long)ts.tv_sec, ts.tv_nsec);

	reset();
	ts = (struct timespec){ 0, 0 };
	SHOW(recvmmsg(s, mm, N, 0, &ts));
	lens();

	reset();
	ts = (struct timespec){ 30, 0 };
	SHOW(recvmmsg(s, mm, N, MSG_WAITFORONE, &ts));
	lens();
	say("left within 30 s: %s", YN(ts.tv_sec <= 30 && ts.tv_sec >= 25));

	reset();
	queue(c, s, "xyz");
	ts = (struct timespec){ 0, 1000000000 };
	SHOW(recvmmsg(s, mm, N, MSG_DONTWAIT, &ts));
	ts = (struct timespec){ -1, 0 };
	SHOW(recvmmsg(s, mm, N, MSG_DONTWAIT, &ts));
	ts = (struct timespec){ 0, -1 };
	SHOW(recvmmsg(s, mm, N, MSG_DONTWAIT, &ts));
	SHOW(recvmmsg(s, mm, N, MSG_DONTWAIT, (struct timespec *)8));
	SHOW(recvmmsg(s, mm, N, MSG_DONTWAIT, NULL));
	lens();
	SHOW(recvmmsg(s, mm, N, MSG_DONTWAIT, NULL));

	reset();
	queue(c, s, "0123456789");
	SHOW(shutdown(c, SHUT_WR));
	SHOW(poll1(s, POLLRDHUP, 2000));
	SHOW(recvmmsg(s, mm, N, 0, NULL));
	lens();
	reset();
	SHOW(recvmmsg(s, mm, N, 0, NULL));
	lens();
	close(c);
	close(s);
	return 0;
}
