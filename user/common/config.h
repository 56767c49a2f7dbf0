/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libvelo configuration: VELO_* environment variables and a rules file
 * (/etc/velo.conf, or VELO_CONFIG=path). File syntax, one item a line,
 * '#' starts a comment:
 *
 *   spin_us 50                 # busy-poll before sleeping (VELO_SPIN_US)
 *   loopback on|off            # shared-memory loopback (VELO_LOOPBACK)
 *   share_with UID|any|none    # peers of another uid (VELO_SHARE_WITH)
 *   wire on|off                # engine on the wire for remote peers (VELO_WIRE)
 *   wire_backend auto|ko|xdp   # its frame I/O (VELO_WIRE_BACKEND): velo.ko's
 *                              #   rings, AF_XDP, auto: velo.ko where it can
 *                              #   make a stack, else AF_XDP
 *   wire_per_thread on|off     # a stack per thread on velo.ko, each with its
 *                              #   own rings, filters and lock: a socket is in
 *                              #   its maker's (VELO_WIRE_PER_THREAD; off)
 *   shared_ports N             # Onload's EF_TCP_SHARED_LOCAL_PORTS family, for
 *   shared_ports_max N         #   the wire path's active opens (VELO_SHARED_PORTS,
 *   shared_ports_step N        #   VELO_SHARED_PORTS_MAX, ..._STEP, ..._PER_IP,
 *   shared_ports_per_ip on|off #   ..._PER_IP_MAX, ..._NO_FALLBACK, ..._REUSE_FAST);
 *   shared_ports_per_ip_max N  #   0 ports (the default): off
 *   shared_ports_no_fallback on|off
 *   shared_ports_reuse_fast on|off
 *   accelerate  [ADDR[/LEN]] [port N[-M]] [prog NAME]
 *   passthrough [ADDR[/LEN]] [port N[-M]] [prog NAME]
 *
 * Rules match the connection's peer address and port (or, for a listener's
 * accepted connections, the local ones), first match wins, the default is
 * accelerate. ADDR is IPv4 or IPv6, "*" matches any.
 */
#ifndef VELO_COMMON_CONFIG_H
#define VELO_COMMON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define VELO_MAX_RULES 64

struct velo_rule {
	bool accelerate;
	int family;          /* 0: any address */
	uint8_t addr[16];
	int prefix;
	uint16_t port_lo, port_hi; /* 0,65535: any */
	char prog[64];       /* "": any */
};

/* The wire path's frame I/O (wire_backend). */
enum velo_wire_backend {
	VELO_WIRE_AUTO,	/* velo.ko if it can make a stack on the interface, else AF_XDP */
	VELO_WIRE_KO,
	VELO_WIRE_XDP,
};

struct velo_config {
	long spin_us;
	bool loopback;
	bool wire;           /* experimental, off by default */
	bool wire_per_thread; /* a wire stack per thread (velo.ko only) */
	enum velo_wire_backend wire_backend;
	/* shared local ports of the wire path; 0: the wire library's default */
	long sp_initial, sp_max, sp_step, sp_per_ip_max;
	bool sp_per_ip, sp_no_fallback, sp_reuse_fast;
	long share_with;     /* -1: any uid, -2: none but ours, else a uid */
	int nrules;
	struct velo_rule rules[VELO_MAX_RULES];
};

void velo_config_defaults(struct velo_config *c);
/* Parse one line; 0, or -1 with a message in err. */
int velo_config_parse_line(struct velo_config *c, const char *line, char *err, size_t errlen);
/* Load a file; problems are reported with velo_warn. -1 if unreadable. */
int velo_config_load_file(struct velo_config *c, const char *path);
/* Apply VELO_* environment variables; unknown ones are reported. */
void velo_config_load_env(struct velo_config *c);
/* "auto", "ko" or "xdp". */
const char *velo_wire_backend_name(enum velo_wire_backend b);
/* Whether a connection to addr by program prog may be accelerated. */
bool velo_config_accelerate(const struct velo_config *c, const struct sockaddr *addr,
			    const char *prog);

#endif /* VELO_COMMON_CONFIG_H */
