/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Segment-level scripts for the TCP engine: "at time t inject this
 * segment, expect that one". One engine stack faces a scripted peer
 * (10.0.0.2 / fd00::2) across virtual time; sequence numbers in steps are
 * relative to the peer's ISN (segments in) and the engine's ISS (segments
 * out), as packetdrill writes them.
 */
#ifndef VELO_ENGINE_SCRIPT_H
#define VELO_ENGINE_SCRIPT_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/engine.h"

#define ES_ANY 0xffffffffu
#define ES_MAX_FRAMES 256

enum es_kind {
	ES_IN,	  /* inject a segment from the peer */
	ES_OUT,	  /* expect the next segment the engine emits */
	ES_NONE,  /* expect nothing emitted up to this time */
	ES_CALL,  /* run a function (socket call + checks); nonzero fails */
	ES_ICMP,  /* inject an ICMP/ICMPv6 error from a router, quoting our segment */
	ES_END,
};

struct es;
struct es_step {
	uint32_t t_ms;	/* absolute virtual time of the step */
	enum es_kind kind;
	uint8_t flags;	/* TH_* as letters below */
	uint32_t seq, ack, win, len;
	const char *opts; /* see engine_script.c */
	int (*call)(struct es *es);
	uint8_t tos;	  /* IN: IP TOS/traffic class; OUT: expected ECN bits or 0 */
};

#define IN(t, fl, s, a, w, l, o) \
	{ .t_ms = t, .kind = ES_IN, .flags = fl, .seq = s, .ack = a, .win = w, .len = l, .opts = o }
#define OUT(t, fl, s, a, w, l, o) \
	{ .t_ms = t, .kind = ES_OUT, .flags = fl, .seq = s, .ack = a, .win = w, .len = l, .opts = o }
#define NONE(t) { .t_ms = t, .kind = ES_NONE }
#define CALL(t, fn) { .t_ms = t, .kind = ES_CALL, .call = fn }
/* type/code as the family's ICMP; info: the MTU field; s: the quoted
 * segment's sequence number, relative to the engine's ISS */
#define ICMP(t, ty, co, inf, s) \
	{ .t_ms = t, .kind = ES_ICMP, .flags = ty, .ack = co, .win = inf, .seq = s }
#define END { .kind = ES_END }
#define ANY ES_ANY

#define F_FIN 0x01
#define F_SYN 0x02
#define F_RST 0x04
#define F_PSH 0x08
#define F_ACK 0x10
#define F_URG 0x20
#define F_ECE 0x40
#define F_CWR 0x80

struct es_frame {
	uint8_t flags, tos, ttl; /* ttl: IPv6's hop limit too */
	uint32_t seq, ack, win, len; /* seq/ack raw */
	int mss, ws, sackok, ts;
	uint32_t tsval, tsecr;
	int nsack;
	uint32_t sack[4][2];
	uint32_t flowlabel;
	uint16_t sport, dport;
	uint8_t payload[9000];
};

struct es {
	struct vtcp_stack *st;
	struct vtcp_config cfg;
	uint64_t now;
	bool v6;
	uint16_t lport, pport; /* engine's and peer's ports */
	uint32_t iss, peer_isn;
	bool iss_known;
	uint32_t last_tsval;	/* engine's latest TSval, for echoes */
	int sock, lsock;	/* connected and listening handles */
	struct es_frame out[ES_MAX_FRAMES];
	unsigned int nout, head;
	struct es_frame last;	/* the frame the latest ES_OUT matched */
	int arp_seen;
	int refused;		/* what vtcp_input() returned for the latest ES_IN */
};

/* cfg may be NULL for defaults; the stack owns 10.0.0.1 and fd00::1. */
int es_init(struct es *es, const struct vtcp_config *cfg, bool v6);
void es_fini(struct es *es);
/* Advances virtual time to t_ms, running the engine at every deadline. */
void es_advance(struct es *es, uint64_t t_ms);
/* Runs a script; prints the failing step. Returns KTAP_PASS or KTAP_FAIL. */
int es_run(struct es *es, const struct es_step *steps);
/* Builds and injects one segment (raw seq/ack). */
void es_inject_raw(struct es *es, uint8_t flags, uint32_t seq, uint32_t ack,
		   uint32_t win, uint32_t len, const char *opts, uint8_t tos);
/* An ICMP(v6) error about the engine's segment with raw sequence seq. */
void es_inject_icmp(struct es *es, uint8_t type, uint8_t code, uint32_t info, uint32_t seq);
struct sockaddr;
void es_peer_addr(struct es *es, struct sockaddr_storage *ss, uint16_t port);
void es_local_addr(struct es *es, struct sockaddr_storage *ss, uint16_t port);
/* Parses an Ethernet frame carrying TCP; false if it is not one. */
bool es_parse(const uint8_t *f, size_t len, struct es_frame *out);

#endif /* VELO_ENGINE_SCRIPT_H */
