/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The compiled XDP steering program, embedded so that libvelo needs no
 * installed object file. The build assembles this with the build directory
 * on the assembler's include path (-Wa,-I), where velo_xdp.bpf.o lies.
 */
	.section .rodata
	.balign 8
	.globl velo_xdp_obj_start
	.hidden velo_xdp_obj_start
	.globl velo_xdp_obj_end
	.hidden velo_xdp_obj_end
velo_xdp_obj_start:
	.incbin "velo_xdp.bpf.o"
velo_xdp_obj_end:

	.section .note.GNU-stack, "", @progbits
