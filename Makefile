# SPDX-License-Identifier: Apache-2.0
# skiff - build, test, demo and benchmark.
#
#   make            release build in build/rel (-O2)
#   make test       install deps, ASan+UBSan -Werror build in build/san, then
#                   unit tests (cmocka), fuzz smoke runs, system tests (pytest)
#   make demo       install deps, build, run the demo app
#   make bench      benchmarks against the Debian peers (bench/)

CC       ?= cc
PKGS     := libseccomp jansson libarchive libfyaml sqlite3 libmnl libnftnl libcrypto
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -pthread
VERSION  := $(shell cat VERSION 2>/dev/null || echo 0.1.0)
COMMIT   := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)

WARN     := -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wformat=2 \
            -Wmissing-prototypes -Wstrict-prototypes
BASE_CFLAGS := -std=gnu11 -pthread -D_GNU_SOURCE -Isrc/lib -Isrc -g $(WARN) $(PKG_CFLAGS) \
            -DSK_VERSION='"$(VERSION)"' -DSK_COMMIT='"$(COMMIT)"'

REL_CFLAGS := $(BASE_CFLAGS) -O2 -fstack-protector-strong -D_FORTIFY_SOURCE=2
SAN_FLAGS  := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
SAN_CFLAGS := $(BASE_CFLAGS) -O1 $(SAN_FLAGS)

LIB_SRCS := $(shell find src/lib -name '*.c' | sort)
CMDS     := skiff-runtime skiff skiffd skiff-proxy
UNIT_SRCS := $(wildcard tests/unit/test-*.c)
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz-*.c)

REL_OBJS := $(LIB_SRCS:%.c=build/rel/%.o)
SAN_OBJS := $(LIB_SRCS:%.c=build/san/%.o)

.PHONY: all san test unit fuzz system qemu demo bench bench-daemon bench-proxy examples clean deps format format-check
all: $(CMDS:%=build/rel/%)
san: $(CMDS:%=build/san/%)

# V=1 shows the full command lines.
Q := $(if $(V),,@)

build/rel/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(REL_CFLAGS) -MMD -MP -c $< -o $@
build/san/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC san  $<")
	$(Q)$(CC) $(SAN_CFLAGS) -MMD -MP -c $< -o $@

build/rel/libskiff.a: $(REL_OBJS)
	$(Q)rm -f $@ && ar rcs $@ $^
build/san/libskiff.a: $(SAN_OBJS)
	$(Q)rm -f $@ && ar rcs $@ $^

# Each executable: its main plus the src/cmd/<name-prefix>-*.c files of its CLI.
RUNTIME_CLI := $(patsubst %.c,%.o,$(wildcard src/cmd/runtime-*.c))
build/rel/skiff-runtime: $(RUNTIME_CLI:%=build/rel/%)
build/san/skiff-runtime: $(RUNTIME_CLI:%=build/san/%)

SKIFF_CLI := $(patsubst %.c,%.o,$(filter-out src/cmd/skiff-runtime.c src/cmd/skiff-proxy.c,$(wildcard src/cmd/skiff-*.c)))
build/rel/skiff: $(SKIFF_CLI:%=build/rel/%)
build/san/skiff: $(SKIFF_CLI:%=build/san/%)

build/rel/%: build/rel/src/cmd/%.o build/rel/libskiff.a
	$(Q)$(CC) $(REL_CFLAGS) -o $@ $(filter %.o,$^) build/rel/libskiff.a $(PKG_LIBS)
build/san/%: build/san/src/cmd/%.o build/san/libskiff.a
	$(Q)$(CC) $(SAN_CFLAGS) -o $@ $(filter %.o,$^) build/san/libskiff.a $(PKG_LIBS)

# Unit tests: one cmocka binary per tests/unit/test-*.c, sanitized.
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=build/san/tests/unit/%)
build/san/tests/unit/%: tests/unit/%.c build/san/libskiff.a
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(SAN_CFLAGS) -Itests/unit -o $@ $< build/san/libskiff.a $(PKG_LIBS) -lcmocka

# Fuzz targets: clang libFuzzer, each linked with the library sources.
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=build/fuzz/%)
FUZZ_CFLAGS := $(BASE_CFLAGS) -O1 -fsanitize=fuzzer,address,undefined -Wno-unknown-warning-option
build/fuzz/%: tests/fuzz/%.c $(LIB_SRCS)
	@mkdir -p $(dir $@)
	$(Q)clang $(FUZZ_CFLAGS) -o $@ $< $(filter-out src/cmd/%,$(LIB_SRCS)) $(PKG_LIBS)

# skiffd with 100 replicas vs podman: start time, idle memory per container, crash-to-running.
bench-daemon: all
	./bench/daemon.sh

# skiff-proxy vs HAProxy (1 and 2 threads) over two nginx backends, in a private netns.
bench-proxy: all
	./bench/proxy.sh

# The demo app's static programs (examples/programs), used by the demo and the system tests.
EXAMPLES := shopd worker gateway udpecho
examples: $(EXAMPLES:%=build/examples/%)
build/examples/%: examples/programs/%.c examples/programs/minihttp.h
	@mkdir -p $(dir $@)
	$(Q)$(CC) -static -O2 -s -std=gnu11 $(WARN) -Wl,--build-id=none \
		-ffile-prefix-map=$(CURDIR)/examples/programs=. -o $@ $<

deps:
	./scripts/install-deps.sh

unit: $(UNIT_BINS)
	@./scripts/run-unit.sh $(UNIT_BINS)

FUZZ_SECONDS ?= 15
fuzz: $(FUZZ_BINS)
	@./scripts/run-fuzz.sh $(FUZZ_SECONDS) $(FUZZ_BINS)

system: san examples
	SKIFF_BUILD=$(CURDIR)/build/san SKIFF_EXAMPLES=$(CURDIR)/build/examples ./scripts/run-system.sh

# cgroup v2 in pure-v2 QEMU guests (this host is v1 hybrid): the cgroup unit tests, then
# skiff-runtime itself on busybox bundles (tests/qemu/runtime-v2.sh).  Two boots, ~20 s.
qemu: build/san/tests/unit/test-cgroup build/san/skiff-runtime
	./scripts/qemu-cgroup2.sh build/san/tests/unit/test-cgroup
	tests/qemu/mk-extra.sh build/qemu/runtime-extra
	./scripts/qemu-cgroup2.sh --timeout 120 --extra build/qemu/runtime-extra \
		--script tests/qemu/runtime-v2.sh build/san/skiff-runtime

test: deps
	$(MAKE) format-check all san unit fuzz system qemu

demo: deps all examples
	./scripts/demo.sh

bench: deps all
	./bench/runtime.sh
	./bench/daemon.sh
	./bench/image.sh
	./bench/proxy.sh

format:
	clang-format -i $(shell find src tests bench -name '*.[ch]')
format-check:
	@clang-format --dry-run --Werror $(shell find src tests bench -name '*.[ch]') && echo "format: clean"

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
