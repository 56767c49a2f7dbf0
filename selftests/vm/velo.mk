# velo.ko VM tests: all share velo_test.h; netlink tests speak libmnl.
$(filter $(OUT)/vm/%,$(TEST_GEN_PROGS)): vm/velo_test.h
$(OUT)/vm/netlink_sysfs: LDLIBS += -lmnl
$(OUT)/vm/fuzz: LDLIBS += -lmnl
