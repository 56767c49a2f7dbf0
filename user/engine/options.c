/* SPDX-License-Identifier: GPL-2.0 */
/* TCP option parsing and building: MSS, window scale, SACK, timestamps. */
#include "internal.h"

enum { OPT_EOL = 0, OPT_NOP = 1, OPT_MSS = 2, OPT_WS = 3, OPT_SACK_PERM = 4,
       OPT_SACK = 5, OPT_TS = 8 };

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

/* Returns false on a malformed option list (the segment is then dropped). */
bool tcp_opts_parse(const uint8_t *p, unsigned int len, bool syn,
		    struct tcp_opts *o)
{
	memset(o, 0, sizeof(*o));
	while (len) {
		uint8_t kind = p[0], olen;

		if (kind == OPT_EOL)
			break;
		if (kind == OPT_NOP) {
			p++;
			len--;
			continue;
		}
		if (len < 2 || (olen = p[1]) < 2 || olen > len)
			return false;
		switch (kind) {
		case OPT_MSS:
			if (olen == 4 && syn) {
				o->mss_ok = true;
				o->mss = (uint16_t)(p[2] << 8 | p[3]);
			}
			break;
		case OPT_WS:
			if (olen == 3 && syn) {
				o->ws_ok = true;
				/* RFC 7323 2.3: larger than 14 is taken as 14 */
				o->ws = MIN(p[2], TCP_MAX_WSCALE);
			}
			break;
		case OPT_SACK_PERM:
			if (olen == 2 && syn)
				o->sack_ok = true;
			break;
		case OPT_SACK:
			if ((olen - 2) % 8 == 0 && !syn) {
				unsigned int i, n = (olen - 2) / 8;

				for (i = 0; i < n && i < 4; i++) {
					o->sack[i][0] = get32(p + 2 + 8 * i);
					o->sack[i][1] = get32(p + 6 + 8 * i);
				}
				o->nsack = (uint8_t)MIN(n, 4u);
			}
			break;
		case OPT_TS:
			if (olen == 10) {
				o->ts_ok = true;
				o->tsval = get32(p + 2);
				o->tsecr = get32(p + 6);
			}
			break;
		default:
			break;
		}
		p += olen;
		len -= olen;
	}
	return true;
}

/* Linux's layout: MSS, SACK_PERM+TS packed, NOP+WS; NOP,NOP+TS; NOP,NOP+SACK. */
unsigned int tcp_opts_build(uint8_t *p, const struct tcp_opts *o, bool syn)
{
	uint8_t *s = p;
	unsigned int i;

	if (syn && o->mss_ok) {
		*p++ = OPT_MSS;
		*p++ = 4;
		*p++ = o->mss >> 8;
		*p++ = o->mss & 0xff;
	}
	if (o->ts_ok) {
		if (syn && o->sack_ok) {
			*p++ = OPT_SACK_PERM;
			*p++ = 2;
		} else {
			*p++ = OPT_NOP;
			*p++ = OPT_NOP;
		}
		*p++ = OPT_TS;
		*p++ = 10;
		put32(p, o->tsval);
		put32(p + 4, o->tsecr);
		p += 8;
	} else if (syn && o->sack_ok) {
		*p++ = OPT_NOP;
		*p++ = OPT_NOP;
		*p++ = OPT_SACK_PERM;
		*p++ = 2;
	}
	if (syn && o->ws_ok) {
		*p++ = OPT_NOP;
		*p++ = OPT_WS;
		*p++ = 3;
		*p++ = o->ws;
	}
	if (!syn && o->nsack) {
		*p++ = OPT_NOP;
		*p++ = OPT_NOP;
		*p++ = OPT_SACK;
		*p++ = (uint8_t)(2 + 8 * o->nsack);
		for (i = 0; i < o->nsack; i++) {
			put32(p, o->sack[i][0]);
			put32(p + 4, o->sack[i][1]);
			p += 8;
		}
	}
	return (unsigned int)(p - s);
}
