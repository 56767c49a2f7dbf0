# SPDX-License-Identifier: GPL-2.0
# Wire stack tests (user/wire): the engine over AF_XDP against the kernel's TCP.
WIRE_TESTS := $(filter $(OUT)/host/wire_%,$(TEST_GEN_PROGS))
$(WIRE_TESTS): LDLIBS += -lxdp -lbpf -lmnl
$(WIRE_TESTS): $(wildcard host/wire_*.h) host/xdp_lib.h
