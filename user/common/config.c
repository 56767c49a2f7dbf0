// SPDX-License-Identifier: GPL-2.0
/* libvelo configuration parsing and rule matching. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "common/config.h"
#include "common/log.h"

extern char **environ;

void velo_config_defaults(struct velo_config *c)
{
	memset(c, 0, sizeof(*c));
	c->spin_us = 50;
	c->loopback = true;
	c->share_with = -2;
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int parse_bool(const char *s, bool *out)
{
	if (!strcasecmp(s, "on") || !strcasecmp(s, "yes") || !strcmp(s, "1") ||
	    !strcasecmp(s, "true")) {
		*out = true;
		return 0;
	}
	if (!strcasecmp(s, "off") || !strcasecmp(s, "no") || !strcmp(s, "0") ||
	    !strcasecmp(s, "false")) {
		*out = false;
		return 0;
	}
	return -1;
}

/* Settings that are one number or one on/off, by file key and variable. */
static const struct {
	const char *key, *env;
	size_t off;
	bool is_bool;
} simple[] = {
#define NUM(k, e, f) { k, e, offsetof(struct velo_config, f), false }
#define BOOL(k, e, f) { k, e, offsetof(struct velo_config, f), true }
	BOOL("wire", "VELO_WIRE", wire),
	BOOL("wire_per_thread", "VELO_WIRE_PER_THREAD", wire_per_thread),
	NUM("shared_ports", "VELO_SHARED_PORTS", sp_initial),
	NUM("shared_ports_max", "VELO_SHARED_PORTS_MAX", sp_max),
	NUM("shared_ports_step", "VELO_SHARED_PORTS_STEP", sp_step),
	BOOL("shared_ports_per_ip", "VELO_SHARED_PORTS_PER_IP", sp_per_ip),
	NUM("shared_ports_per_ip_max", "VELO_SHARED_PORTS_PER_IP_MAX", sp_per_ip_max),
	BOOL("shared_ports_no_fallback", "VELO_SHARED_PORTS_NO_FALLBACK", sp_no_fallback),
	BOOL("shared_ports_reuse_fast", "VELO_SHARED_PORTS_REUSE_FAST", sp_reuse_fast),
#undef NUM
#undef BOOL
};

/* 0, or -1 when v is not a valid value of simple[i]. */
static int set_simple(struct velo_config *c, unsigned int i, const char *v)
{
	char *field = (char *)c + simple[i].off;

	if (simple[i].is_bool)
		return parse_bool(v, (bool *)field);
	return parse_long(v, 0, 65535, (long *)field);
}

static const char *const backend_names[] = { "auto", "ko", "xdp" };

const char *velo_wire_backend_name(enum velo_wire_backend b)
{
	return (unsigned int)b < sizeof(backend_names) / sizeof(backend_names[0]) ? backend_names[b]
										 : "?";
}

static int parse_backend(const char *s, enum velo_wire_backend *out)
{
	for (unsigned int i = 0; i < sizeof(backend_names) / sizeof(backend_names[0]); i++)
		if (!strcasecmp(s, backend_names[i])) {
			*out = (enum velo_wire_backend)i;
			return 0;
		}
	return -1;
}

static int parse_share(const char *s, long *out)
{
	if (!strcasecmp(s, "any") || !strcmp(s, "-1")) {
		*out = -1;
		return 0;
	}
	if (!strcasecmp(s, "none")) {
		*out = -2;
		return 0;
	}
	return parse_long(s, 0, 0xfffffffe, out);
}

static int parse_addr(const char *s, struct velo_rule *r)
{
	char buf[64], *slash;
	long len;
	int max;

	if (!strcmp(s, "*")) {
		r->family = 0;
		return 0;
	}
	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	if (slash)
		*slash++ = 0;
	if (inet_pton(AF_INET, buf, r->addr) == 1) {
		r->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, r->addr) == 1) {
		r->family = AF_INET6;
		max = 128;
	} else {
		return -1;
	}
	r->prefix = max;
	if (slash) {
		if (parse_long(slash, 0, max, &len))
			return -1;
		r->prefix = len;
	}
	return 0;
}

int velo_config_parse_line(struct velo_config *c, const char *line, char *err, size_t errlen)
{
	char buf[512], *tok[16], *save, *p;
	int n = 0, i;
	long v;

	snprintf(buf, sizeof(buf), "%s", line);
	p = strchr(buf, '#');
	if (p)
		*p = 0;
	for (p = strtok_r(buf, " \t\r\n=", &save); p && n < 16; p = strtok_r(NULL, " \t\r\n=", &save))
		tok[n++] = p;
	if (!n)
		return 0;
	if (!strcmp(tok[0], "spin_us")) {
		if (n != 2 || parse_long(tok[1], 0, 10000000, &v))
			goto bad_value;
		c->spin_us = v;
		return 0;
	}
	if (!strcmp(tok[0], "loopback")) {
		if (n != 2 || parse_bool(tok[1], &c->loopback))
			goto bad_value;
		return 0;
	}
	for (i = 0; i < (int)(sizeof(simple) / sizeof(simple[0])); i++)
		if (!strcmp(tok[0], simple[i].key)) {
			if (n != 2 || set_simple(c, (unsigned int)i, tok[1]))
				goto bad_value;
			return 0;
		}
	if (!strcmp(tok[0], "wire_backend")) {
		if (n != 2 || parse_backend(tok[1], &c->wire_backend))
			goto bad_value;
		return 0;
	}
	if (!strcmp(tok[0], "share_with")) {
		if (n != 2 || parse_share(tok[1], &c->share_with))
			goto bad_value;
		return 0;
	}
	if (!strcmp(tok[0], "accelerate") || !strcmp(tok[0], "passthrough")) {
		struct velo_rule r = { .accelerate = tok[0][0] == 'a', .port_hi = 65535 };

		if (c->nrules >= VELO_MAX_RULES) {
			snprintf(err, errlen, "more than %d rules", VELO_MAX_RULES);
			return -1;
		}
		for (i = 1; i < n; i++) {
			if (!strcmp(tok[i], "port") && i + 1 < n) {
				long lo, hi;
				char *dash = strchr(tok[++i], '-');

				if (dash)
					*dash++ = 0;
				if (parse_long(tok[i], 0, 65535, &lo) ||
				    parse_long(dash ? dash : tok[i], 0, 65535, &hi) || hi < lo) {
					snprintf(err, errlen, "bad port range");
					return -1;
				}
				r.port_lo = lo;
				r.port_hi = hi;
			} else if (!strcmp(tok[i], "prog") && i + 1 < n) {
				snprintf(r.prog, sizeof(r.prog), "%s", tok[++i]);
			} else if (i == 1 && !parse_addr(tok[i], &r)) {
				continue;
			} else {
				snprintf(err, errlen, "unexpected '%s' in rule", tok[i]);
				return -1;
			}
		}
		c->rules[c->nrules++] = r;
		return 0;
	}
	snprintf(err, errlen, "unknown setting '%s'", tok[0]);
	return -1;
bad_value:
	snprintf(err, errlen, "bad value for '%s'", tok[0]);
	return -1;
}

int velo_config_load_file(struct velo_config *c, const char *path)
{
	char line[512], err[128];
	FILE *f = fopen(path, "re");
	int lineno = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (velo_config_parse_line(c, line, err, sizeof(err)))
			velo_warn("%s:%d: %s (line ignored)", path, lineno, err);
	}
	fclose(f);
	return 0;
}

static const char *const known_env[] = {
	"VELO_LOG", "VELO_CONFIG", "VELO_SPIN_US", "VELO_LOOPBACK", "VELO_SHARE_WITH", "VELO_WIRE",
	"VELO_SHARED_PORTS", "VELO_SHARED_PORTS_MAX", "VELO_SHARED_PORTS_STEP",
	"VELO_SHARED_PORTS_PER_IP", "VELO_SHARED_PORTS_PER_IP_MAX", "VELO_SHARED_PORTS_NO_FALLBACK",
	"VELO_SHARED_PORTS_REUSE_FAST", "VELO_WIRE_BACKEND", "VELO_WIRE_PER_THREAD",
	"VELO_TOP", "VELO_BUILD", "VELO_TEST_TIMEOUT", "VELO_LIB", "VELO_DIFF_DIR",
	"VELO_DIFF_TIMEOUT", "VELO_DIFF_ONLY", "VELO_DIFF_PEER_NS", "VELO_DIFF_PEER4",
	"VELO_DIFF_PEER6", "VELO_DIFF_VELO_ENV", "VELO_DIFF_KNOWN", "VELO_DIFF_SKIP_KNOWN", NULL
};

void velo_config_load_env(struct velo_config *c)
{
	const char *v;
	char **e;
	long l;

	v = getenv("VELO_SPIN_US");
	if (v) {
		if (parse_long(v, 0, 10000000, &l))
			velo_warn("VELO_SPIN_US=%s is not a number of microseconds (0-10000000); ignored", v);
		else
			c->spin_us = l;
	}
	v = getenv("VELO_LOOPBACK");
	if (v && parse_bool(v, &c->loopback))
		velo_warn("VELO_LOOPBACK=%s is not on/off; ignored", v);
	for (unsigned int i = 0; i < sizeof(simple) / sizeof(simple[0]); i++) {
		v = getenv(simple[i].env);
		if (v && set_simple(c, i, v))
			velo_warn("%s=%s is not %s; ignored", simple[i].env, v,
				  simple[i].is_bool ? "on/off" : "a number (0-65535)");
	}
	v = getenv("VELO_WIRE_BACKEND");
	if (v && parse_backend(v, &c->wire_backend))
		velo_warn("VELO_WIRE_BACKEND=%s is not auto, ko or xdp; ignored", v);
	v = getenv("VELO_SHARE_WITH");
	if (v && parse_share(v, &c->share_with))
		velo_warn("VELO_SHARE_WITH=%s is not a uid, 'any' or 'none'; ignored", v);
	for (e = environ; e && *e; e++) {
		const char *const *k;
		size_t len;
		bool known = false;

		if (strncmp(*e, "VELO_", 5))
			continue;
		len = strcspn(*e, "=");
		for (k = known_env; *k; k++)
			if (strlen(*k) == len && !strncmp(*e, *k, len))
				known = true;
		if (!known)
			velo_warn("unknown setting %.*s in the environment (ignored)", (int)len, *e);
	}
}

static bool prefix_match(const uint8_t *a, const uint8_t *b, int bits)
{
	int full = bits / 8, rem = bits % 8;

	if (memcmp(a, b, full))
		return false;
	if (rem && ((a[full] ^ b[full]) & (0xff << (8 - rem))))
		return false;
	return true;
}

bool velo_config_accelerate(const struct velo_config *c, const struct sockaddr *addr,
			    const char *prog)
{
	const uint8_t *a = NULL;
	uint16_t port = 0;
	uint8_t mapped4[4];
	int fam = addr ? addr->sa_family : 0, i;

	if (fam == AF_INET) {
		const struct sockaddr_in *s = (const void *)addr;

		a = (const uint8_t *)&s->sin_addr;
		port = ntohs(s->sin_port);
	} else if (fam == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)addr;

		a = s->sin6_addr.s6_addr;
		port = ntohs(s->sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&s->sin6_addr)) {
			memcpy(mapped4, a + 12, 4);
			a = mapped4;
			fam = AF_INET;
		}
	}
	for (i = 0; i < c->nrules; i++) {
		const struct velo_rule *r = &c->rules[i];

		if (r->family && (r->family != fam || !a || !prefix_match(a, r->addr, r->prefix)))
			continue;
		if (port < r->port_lo || port > r->port_hi)
			continue;
		if (r->prog[0] && (!prog || strcmp(prog, r->prog)))
			continue;
		return r->accelerate;
	}
	return true;
}
