// SPDX-License-Identifier: GPL-2.0
/*
 * The engine at scale: 50,000 established connections between two stacks
 * (100,000 sockets). Idle sockets must cost nothing per poll: an idle stack
 * has no wakeups but its earliest timer, readiness reports name only the
 * sockets that changed, 100 active connections exchange data while 49,900
 * sit idle, and 49,900 keepalive timers falling due at the same instant all
 * fire in one poll.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "engine_mesh.h"
#include "ktap.h"

#define CONNS 50000
#define ACTIVE 100
#define STRIDE (CONNS / ACTIVE)
#define KEEPIDLE_S 600
#define KEEPINTVL_S 75

static struct em E;
static unsigned int stray_events; /* on sockets that were not touched */
static unsigned char *active_cli;

static void check_event(struct em *em, int side, int sock, unsigned int ev)
{
	(void)ev;
	if (side == 0 && !active_cli[sock])
		stray_events++;
	(void)em;
}

static int t_scale(void)
{
	static unsigned char marks[CONNS + 8];
	char buf[256], got[256];
	uint64_t t0, probes;
	struct vtcp_info ti;

	active_cli = marks;
	KTAP_EXPECT(em_init(&E, CONNS) == 0);
	for (unsigned int i = 0; i < CONNS; i++) {
		KTAP_EXPECT(vtcp_get_info(E.st[0], E.cli[i], &ti) == 0 &&
			    ti.tcpi_state == VTCP_ESTABLISHED);
		KTAP_EXPECT(vtcp_get_info(E.st[1], E.srv[i], &ti) == 0 &&
			    ti.tcpi_state == VTCP_ESTABLISHED);
	}
	ktap_diag("%u connections established, %llu frames", CONNS,
		  (unsigned long long)E.frames);
	/* established and quiet: no timer on the server, none but keepalive on the client */
	KTAP_EXPECT(vtcp_next_deadline(E.st[1]) == UINT64_MAX);
	KTAP_EXPECT(vtcp_next_deadline(E.st[0]) == UINT64_MAX);
	for (unsigned int i = 0; i < CONNS; i++)
		KTAP_EXPECT(vtcp_setopt(E.st[0], E.cli[i], VTCP_KEEPIDLE, KEEPIDLE_S) == 0 &&
			    vtcp_setopt(E.st[0], E.cli[i], VTCP_KEEPINTVL, KEEPINTVL_S) == 0 &&
			    vtcp_setopt(E.st[0], E.cli[i], VTCP_KEEPALIVE, 1) == 0);
	t0 = E.now;
	KTAP_EXPECT(em_pump(&E) == 0);
	KTAP_EXPECT(vtcp_next_deadline(E.st[0]) == t0 + KEEPIDLE_S * 1000000000ull);

	/* 100 active connections, 20 echo rounds; readiness reports only for them */
	for (unsigned int i = 0; i < CONNS; i += STRIDE)
		marks[E.cli[i]] = 1;
	E.on_event = check_event;
	E.events[0] = 0;
	for (int round = 0; round < 20; round++) {
		E.now += 100000;
		for (unsigned int i = 0; i < CONNS; i += STRIDE) {
			int n = snprintf(buf, sizeof(buf), "conn %u round %d", i, round);

			KTAP_EXPECT(vtcp_send(E.st[0], E.cli[i], buf, (size_t)n, 0) == n);
		}
		KTAP_EXPECT(vtcp_next_deadline(E.st[0]) < E.now); /* output is due at once */
		em_pump(&E);
		for (unsigned int i = 0; i < CONNS; i += STRIDE) {
			int n = snprintf(buf, sizeof(buf), "conn %u round %d", i, round);

			KTAP_EXPECT(vtcp_recv(E.st[1], E.srv[i], got, sizeof(got), 0) == n &&
				    !memcmp(buf, got, (size_t)n));
			KTAP_EXPECT(vtcp_send(E.st[1], E.srv[i], got, (size_t)n, 0) == n);
		}
		em_pump(&E);
		for (unsigned int i = 0; i < CONNS; i += STRIDE) {
			int n = snprintf(buf, sizeof(buf), "conn %u round %d", i, round);

			KTAP_EXPECT(vtcp_recv(E.st[0], E.cli[i], got, sizeof(got), 0) == n &&
				    !memcmp(buf, got, (size_t)n));
		}
	}
	em_pump(&E);
	KTAP_EXPECT(stray_events == 0);
	KTAP_EXPECT(E.events[0] > 0);
	ktap_diag("active phase: %llu readiness reports on the client, none for idle sockets",
		  (unsigned long long)E.events[0]);
	/* the delayed ACKs of the last round are the only timers before keepalive */
	E.now = vtcp_next_deadline(E.st[1]);
	KTAP_EXPECT(E.now < t0 + KEEPIDLE_S * 1000000000ull);
	em_pump(&E);
	KTAP_EXPECT(vtcp_next_deadline(E.st[1]) == UINT64_MAX);

	/* every idle client's keepalive falls due at once: one probe each, all answered */
	E.now = vtcp_next_deadline(E.st[0]);
	KTAP_EXPECT(E.now == t0 + KEEPIDLE_S * 1000000000ull);
	probes = E.sent[0];
	em_pump(&E);
	probes = E.sent[0] - probes;
	ktap_diag("keepalive at %llu s: %llu probes", (unsigned long long)(E.now / 1000000000ull),
		  (unsigned long long)probes);
	KTAP_EXPECT(probes == CONNS - ACTIVE);
	/* the active ones heard from their peer later: their probes come 600 s after that */
	E.now = vtcp_next_deadline(E.st[0]);
	KTAP_EXPECT(E.now > t0 + KEEPIDLE_S * 1000000000ull &&
		    E.now < t0 + (KEEPIDLE_S + 1) * 1000000000ull);
	probes = E.sent[0];
	em_pump(&E);
	KTAP_EXPECT(E.sent[0] - probes == ACTIVE);
	/* answered probes: the next keepalive check finds recent traffic and sends nothing */
	E.now = vtcp_next_deadline(E.st[0]);
	KTAP_EXPECT(E.now == t0 + (KEEPIDLE_S + KEEPINTVL_S) * 1000000000ull);
	probes = E.sent[0];
	em_pump(&E);
	KTAP_EXPECT(E.sent[0] == probes);
	KTAP_EXPECT(vtcp_next_deadline(E.st[0]) > E.now);

	/* a reset reaches exactly one of 50,000 sockets */
	E.on_event = NULL;
	E.events[0] = 0;
	KTAP_EXPECT(vtcp_abort(E.st[1], E.srv[7]) == 0);
	em_pump(&E);
	KTAP_EXPECT(E.events[0] == 1 && E.last_event_sock[0] == E.cli[7]);
	KTAP_EXPECT(vtcp_sock_error(E.st[0], E.cli[7]) == ECONNRESET);
	KTAP_EXPECT(vtcp_get_info(E.st[0], E.cli[8], &ti) == 0 &&
		    ti.tcpi_state == VTCP_ESTABLISHED);
	em_fini(&E);
	return KTAP_PASS;
}

static const struct ktap_case cases[] = {
	{ "connections_50k", t_scale, 120 },
};

KTAP_MAIN(cases)
