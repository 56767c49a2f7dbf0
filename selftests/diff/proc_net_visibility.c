// SPDX-License-Identifier: GPL-2.0
/*
 * Accelerated sockets as monitoring tools (ss, netstat) see them through
 * /proc/net/tcp and /proc/net/tcp6: a listener appears in state LISTEN
 * (0A) with its port; an established connection appears from both ends
 * (01) with matching ports; after close they are gone (or in TIME_WAIT,
 * 06, for the active closer). Ports are only compared, never printed.
 */
#include "diff.h"

/* the state of the entry with local port lp and remote port rp, or -1 */
static int find(const char *file, uint16_t lp, uint16_t rp)
{
	FILE *f = fopen(file, "r");
	char line[512];
	int st = -1;

	if (!f)
		return -2;
	NEED(fgets(line, sizeof(line), f));
	while (fgets(line, sizeof(line), f)) {
		unsigned int l, r, s;
		char la[64], ra[64];

		if (sscanf(line, "%*d: %63[0-9A-Fa-f]:%x %63[0-9A-Fa-f]:%x %x", la, &l, ra, &r, &s) != 5)
			continue;
		if (l == lp && r == rp) {
			st = (int)s;
			break;
		}
	}
	fclose(f);
	return st;
}

static const char *st_name(int s)
{
	switch (s) {
	case -1: return "absent";
	case 1: return "ESTABLISHED";
	case 6: return "TIME_WAIT";
	case 7: return "CLOSE";
	case 8: return "CLOSE_WAIT";
	case 10: return "LISTEN";
	default: return "other";
	}
}

static void one(int fam)
{
	const char *file = fam == AF_INET ? "/proc/net/tcp" : "/proc/net/tcp6";
	uint16_t port, cp;
	int l = tcp_listener_fam(fam, 8, &port), c, s;

	say("-- %s", file);
	say("listener: %s", st_name(find(file, port, 0)));
	c = tcp_connect_fam(fam, port);
	s = accept(l, NULL, NULL);
	NEED(c >= 0 && s >= 0);
	cp = local_port(c);
	say("client end: %s", st_name(find(file, cp, port)));
	say("server end: %s", st_name(find(file, port, cp)));
	close(c);
	NEED(wait_ev(s, POLLRDHUP, 5000));
	close(s);
	{
		/* the handshake of the close ends: client TIME_WAIT, server gone */
		long end = now_ms() + 3000;

		while ((find(file, cp, port) != 6 || find(file, port, cp) != -1) && now_ms() < end)
			msleep(5);
	}
	say("after close, client end: %s", st_name(find(file, cp, port)));
	say("after close, server end: %s", st_name(find(file, port, cp)));
	close(l);
	say("after close, listener: %s", st_name(find(file, port, 0)));
}

int main(void)
{
	one(AF_INET);
	one(AF_INET6);
	return 0;
}
