# The engine against the guest kernel's TCP through Linux's own sch_netem
# (the host kernel has none): host/engine_interop.c, built for the guest,
# where it runs one of its cases (hence -Wno-unused-function).
TEST_GEN_PROGS += $(OUT)/vm/engine_netem
all: $(OUT)/vm/engine_netem
$(OUT)/vm/engine_netem: host/engine_interop.c $(LIB) $(CORE)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -DVELO_INTEROP_GUEST -Wno-unused-function -MMD -MP -o $@ $< $(LIB) $(CORE) $(LDLIBS)
