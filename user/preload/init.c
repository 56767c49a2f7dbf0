// SPDX-License-Identifier: GPL-2.0
/* libvelo.so load-time set-up. */
#include "common/log.h"

__attribute__((constructor)) static void velo_preload_init(void)
{
	velo_log_init();
	velo_dbg("libvelo %s loaded", VELO_VERSION);
}
