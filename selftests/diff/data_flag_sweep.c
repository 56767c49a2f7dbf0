// SPDX-License-Identifier: GPL-2.0
/*
 * send() and recv() with each message flag alone (and some bits no call
 * knows) on a fresh connection: what the call answers and what is left
 * to read after it. MSG_MORE holds a write back, MSG_TRUNC discards, an
 * empty error queue says EAGAIN, and the rest change nothing for TCP.
 * Under libvelo recv(MSG_ERRQUEUE) on a wire connection read data.
 */
#include "diff.h"

static const struct {
	int flag;
	const char *name;
} flags[] = {
	{ MSG_OOB, "MSG_OOB" }, { MSG_PEEK, "MSG_PEEK" }, { MSG_DONTROUTE, "MSG_DONTROUTE" },
	{ MSG_CTRUNC, "MSG_CTRUNC" }, { 0x10, "MSG_PROBE" }, { MSG_TRUNC, "MSG_TRUNC" },
	{ MSG_EOR, "MSG_EOR" }, { MSG_WAITALL, "MSG_WAITALL" }, { MSG_FIN, "MSG_FIN" },
	{ MSG_SYN, "MSG_SYN" }, { MSG_CONFIRM, "MSG_CONFIRM" }, { MSG_RST, "MSG_RST" },
	{ MSG_ERRQUEUE, "MSG_ERRQUEUE" }, { MSG_NOSIGNAL, "MSG_NOSIGNAL" }, { MSG_MORE, "MSG_MORE" },
	{ MSG_WAITFORONE, "MSG_WAITFORONE" }, { MSG_BATCH, "MSG_BATCH" },
	{ 0x80000, "0x80000" }, { 0x200000, "0x200000" }, { MSG_ZEROCOPY, "MSG_ZEROCOPY" },
	{ 0x8000000, "0x8000000" }, { MSG_CMSG_CLOEXEC, "MSG_CMSG_CLOEXEC" },
};

int main(void)
{
	char b[16];
	ssize_t r, rest;
	int c, s, e;

	for (unsigned int i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		if (flags[i].flag == MSG_OOB)
			continue; /* urgent data: diff/data_oob */
		tcp_pair(&c, &s);
		r = send(c, "abc", 3, flags[i].flag | MSG_DONTWAIT);
		e = errno;
		msleep(30);
		rest = recv(s, b, sizeof(b), MSG_DONTWAIT);
		say("send(%s) = %zd %s, the peer reads %zd", flags[i].name, r, r < 0 ? errname(e) : "",
		    rest);
		close(c);
		close(s);
	}
	for (unsigned int i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		tcp_pair(&c, &s);
		NEED(send(s, "abcdef", 6, 0) == 6);
		msleep(30);
		r = recv(c, b, 2, flags[i].flag | MSG_DONTWAIT);
		e = errno;
		rest = recv(c, b, sizeof(b), MSG_DONTWAIT);
		say("recv(%s) = %zd %s, then %zd left", flags[i].name, r, r < 0 ? errname(e) : "", rest);
		close(c);
		close(s);
	}
	return 0;
}
