# SPDX-License-Identifier: GPL-2.0
# velo top-level build: user space (libvelo.so, veloctl) directly, velo.ko
# through kbuild (see Kbuild), tests through scripts/check.

VERSION := $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' dkms.conf)
# The running kernel's build tree when it exists, else the newest installed
# headers (this host's own kernel cannot load modules; the VM boots Debian's).
KDIR ?= $(or $(wildcard /lib/modules/$(shell uname -r)/build),\
	$(shell ls -d /lib/modules/*/build 2>/dev/null | sort -V | tail -n 1))

PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
BINDIR ?= $(PREFIX)/bin
DESTDIR ?=

CC ?= gcc
CFLAGS ?= -O2 -g
VELO_CFLAGS := -std=gnu11 -Wall -Wextra -Werror -fPIC -fvisibility=hidden \
	-D_GNU_SOURCE -Iinclude/uapi -Iuser -DVELO_VERSION='"$(VERSION)"'
B := build

ENGINE_OBJ  := $(patsubst user/%.c,$(B)/obj/%.o,$(wildcard user/engine/*.c))
COMMON_OBJ  := $(patsubst user/%.c,$(B)/obj/%.o,$(wildcard user/common/*.c))
PRELOAD_OBJ := $(patsubst user/%.c,$(B)/obj/%.o,$(wildcard user/preload/*.c))
CTRL_OBJ    := $(patsubst user/%.c,$(B)/obj/%.o,$(wildcard user/ctrl/*.c))
VELOCTL_OBJ := $(patsubst user/%.c,$(B)/obj/%.o,$(wildcard user/veloctl/*.c))
XDP_OBJ     := $(patsubst user/%.c,$(B)/obj/%.o,$(wildcard user/xdp/*.c)) \
	$(B)/obj/xdp/prog_blob.o
WIRE_OBJ    := $(patsubst user/%.c,$(B)/obj/%.o,$(wildcard user/wire/*.c))
KO_OBJ      := $(patsubst user/%.c,$(B)/obj/%.o,$(wildcard user/ko/*.c))

.PHONY: all user bpf module check test clean clean-module install dkms-install kernelrelease \
	deps demo bench fuzz
all: user module

user: $(B)/libvelo.so $(B)/veloctl $(B)/libvelo-core.a

$(B)/obj/%.o: user/%.c
	@mkdir -p $(@D)
	$(CC) $(VELO_CFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

# Everything of libvelo but the interposer, for tests that link it directly.
$(B)/libvelo-core.a: $(ENGINE_OBJ) $(CTRL_OBJ) $(COMMON_OBJ) $(XDP_OBJ) $(WIRE_OBJ) $(KO_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/libvelo.so: $(PRELOAD_OBJ) $(ENGINE_OBJ) $(CTRL_OBJ) $(COMMON_OBJ) $(XDP_OBJ) $(WIRE_OBJ) $(KO_OBJ)
	$(CC) -shared -Wl,-z,defs \
		-o $@ $^ -ldl -lpthread -lmnl -lxdp -lbpf

# The XDP steering program; user/xdp/prog_blob.S embeds it into libvelo.
bpf: $(B)/velo_xdp.bpf.o

$(B)/velo_xdp.bpf.o: bpf/velo_xdp.bpf.c bpf/velo_xdp.h
	@mkdir -p $(@D)
	clang -O2 -g -Wall -Werror -target bpf \
		-I/usr/include/$(shell $(CC) -dumpmachine) -c -o $@ $<

$(B)/obj/xdp/prog_blob.o: user/xdp/prog_blob.S $(B)/velo_xdp.bpf.o
	@mkdir -p $(@D)
	$(CC) -Wa,-I$(B) -c -o $@ $<

$(B)/veloctl: $(VELOCTL_OBJ) $(COMMON_OBJ)
	$(CC) -o $@ $^ -lmnl

module:
	@test -n "$(KDIR)" || { echo "no kernel headers: run scripts/deps"; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) W=1 modules

# The release of the kernel KDIR builds for.
kernelrelease:
	@sed -n 's/^#define UTS_RELEASE "\(.*\)"/\1/p' $(KDIR)/include/generated/utsrelease.h

clean-module:
	@test -z "$(KDIR)" || $(MAKE) -C $(KDIR) M=$(CURDIR) clean

deps:
	scripts/deps

# The README's test command: every test, ending with "N passed, N failed".
check test:
	scripts/deps
	scripts/check

# Benchmarks: velo and the kernel side by side (bench/run --help).
BENCH_TOOLS := $(patsubst bench/tools/%.c,$(B)/bench/%,$(wildcard bench/tools/*.c))

$(B)/bench/%: bench/tools/%.c bench/tools/tool.h
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE -o $@ $<

bench: user $(BENCH_TOOLS)
	scripts/deps
	bench/run $(BENCH_ARGS)

demo:
	scripts/deps
	$(MAKE) user
	scripts/demo

install: user
	install -D -m 0755 $(B)/libvelo.so $(DESTDIR)$(LIBDIR)/libvelo.so
	install -D -m 0755 $(B)/veloctl $(DESTDIR)$(BINDIR)/veloctl
	install -D -m 0755 scripts/velo-run $(DESTDIR)$(BINDIR)/velo
	install -D -m 0644 scripts/60-velo.rules $(DESTDIR)/lib/udev/rules.d/60-velo.rules

# Register this tree with DKMS, then build and install velo.ko for KDIR's kernel.
dkms-install:
	rm -rf $(DESTDIR)/usr/src/velo-$(VERSION)
	install -d $(DESTDIR)/usr/src/velo-$(VERSION)
	cp -r Kbuild Makefile dkms.conf include kernel $(DESTDIR)/usr/src/velo-$(VERSION)/
	dkms status -m velo -v $(VERSION) | grep -q . || dkms add -m velo -v $(VERSION)
	dkms build -m velo -v $(VERSION) -k $$($(MAKE) -s kernelrelease)
	dkms install -m velo -v $(VERSION) -k $$($(MAKE) -s kernelrelease)

clean: clean-module
	rm -rf $(B)
	$(MAKE) -C selftests clean

-include $(shell find $(B) -name '*.d' 2>/dev/null)
