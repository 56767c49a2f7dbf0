/* SPDX-License-Identifier: GPL-2.0 */
/* veloctl sockets / top: libvelo's per-process statistics. */
#ifndef VELO_VELOCTL_PROCS_H
#define VELO_VELOCTL_PROCS_H

#include <stdbool.h>

/* veloctl sockets [PID] [--json] */
int veloctl_sockets(int argc, char **argv, bool json);
/* veloctl top [PID] [-d SECONDS] [-n ITERATIONS] */
int veloctl_top(int argc, char **argv);

#endif /* VELO_VELOCTL_PROCS_H */
