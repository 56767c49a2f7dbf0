/* SPDX-License-Identifier: GPL-2.0 */
#ifndef VELO_VELO_H
#define VELO_VELO_H

#include <linux/types.h>

/* selftest.c: in-module self-tests, run at load when velo.selftest=1. */
bool velo_selftests_run(void);

/* device.c: the /dev/velo character device. */
int velo_device_init(void);
void velo_device_exit(void);

#endif /* VELO_VELO_H */
