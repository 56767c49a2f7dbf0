# Differential socket-API programs (selftests/diff/*.c): each prints a
# transcript that must be identical on the kernel and under libvelo;
# selftests/host/api_diff.sh runs and compares them. They are not KTAP
# programs themselves, so they live outside TEST_GEN_PROGS.
DIFF_SRCS := $(sort $(wildcard $(TOP)/selftests/diff/*.c))
DIFF_PROGS := $(patsubst $(TOP)/selftests/diff/%.c,$(OUT)/diff/%,$(DIFF_SRCS))
DIFF_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE \
	-I$(TOP)/selftests/diff

export VELO_DIFF_DIR := $(OUT)/diff

all: $(DIFF_PROGS)

$(OUT)/diff/%: $(TOP)/selftests/diff/%.c $(TOP)/selftests/diff/diff.h
	@mkdir -p $(@D)
	$(CC) $(DIFF_CFLAGS) -o $@ $< -lpthread $(DIFF_LDLIBS)

# Built fortified, so glibc's __recv_chk, __poll_chk, ... entry points are used.
$(OUT)/diff/glibc_entry_points: DIFF_CFLAGS += -D_FORTIFY_SOURCE=2

# io_uring: one program linked with liburing, one that loads it at run time.
$(OUT)/diff/io_uring_linked $(OUT)/diff/io_uring_dlopen: $(TOP)/selftests/diff/uring.h
$(OUT)/diff/io_uring_linked: DIFF_LDLIBS += -luring
