# libvelo's velo.ko driver tests (ko_*.c): user/ko and the engine come
# from libvelo-core.a; the shared engine host is ko_host.h.
$(filter $(OUT)/vm/ko_%,$(TEST_GEN_PROGS)): vm/ko_host.h $(wildcard $(TOP)/user/ko/*.h)
