# SPDX-License-Identifier: MIT
# lwt build. `make` builds bin/lightweight-tunnel and bin/lwt-ctl out of tree
# (objects in build/). Missing Debian build packages are installed by
# `make deps` (run automatically when pkg-config cannot find one).

.DELETE_ON_ERROR:
.SECONDARY:
.SUFFIXES:

V ?= 0
ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' '$(1)' '$(2)';
endif

CC      ?= gcc
CLANG   ?= clang
BPFTOOL ?= bpftool
BUILD   ?= build
BIN     ?= bin
VERSION := 0.2.0

PKGS := libbpf libxdp libcjson openssl libgcrypt libisal libcap-ng libsystemd libmicrohttpd
# Debian packages needed to build and test. Keep scripts/deps.sh in sync.
DEPS_OK := $(shell pkg-config --exists $(PKGS) cmocka 2>/dev/null && command -v $(BPFTOOL) >/dev/null && command -v $(CLANG) >/dev/null && command -v nft >/dev/null && command -v iperf3 >/dev/null && command -v curl >/dev/null && command -v promtool >/dev/null && echo yes)
ifneq ($(DEPS_OK),yes)
ifeq ($(filter deps clean,$(MAKECMDGOALS)),)
$(info lwt: build dependencies missing; running scripts/deps.sh)
$(shell ./scripts/deps.sh >&2)
endif
endif

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lelf -lz -lpthread -lm

SAN ?=
OPTFLAGS ?= -O2 -g
override CFLAGS += $(OPTFLAGS) -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -D_GNU_SOURCE \
	   -DLWT_VERSION='"$(VERSION)"' -Iinclude -Iuser -I$(BUILD) $(PKG_CFLAGS) \
	   -MMD -MP $(SAN)
LDFLAGS += $(SAN)

BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_x86 -Wall -Werror \
	      -Ivmlinux -Iinclude -I$(BUILD)

DAEMON_MAIN := user/main.c
CTL_MAIN    := user/lwtctl.c
LIB_SRCS    := $(filter-out $(DAEMON_MAIN) $(CTL_MAIN),$(wildcard user/*.c))
LIB_OBJS    := $(LIB_SRCS:%.c=$(BUILD)/%.o)
BPF_SRCS    := $(wildcard bpf/*.bpf.c)
BPF_OBJS    := $(BPF_SRCS:bpf/%.bpf.c=$(BUILD)/%.bpf.o)
BPF_SKELS   := $(BPF_SRCS:bpf/%.bpf.c=$(BUILD)/%.skel.h)

UNIT_SRCS   := $(wildcard tests/unit/test_*.c)
UNIT_BINS   := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
BPFT_SRCS   := $(wildcard tests/bpf/test_*.c)
BPFT_BINS   := $(BPFT_SRCS:tests/bpf/%.c=$(BUILD)/tests/%)
TOOL_SRCS   := $(wildcard tests/tools/*.c)
TOOL_BINS   := $(TOOL_SRCS:tests/tools/%.c=$(BUILD)/tools/%)
FUZZ_SRCS   := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS   := $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/fuzz/%)

.PHONY: all deps test unit-test doc-test bpf-test netns-test netns-asan fuzz fuzz-smoke demo bench \
	asan tsan vmlinux install install-service clean tools

all: $(BIN)/lightweight-tunnel $(BIN)/lwt-ctl tools

deps:
	./scripts/deps.sh

$(BUILD)/%.bpf.o: bpf/%.bpf.c $(wildcard include/lwt/*.h) vmlinux/vmlinux.h
	$(call msg,BPF,$@)
	@mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@.tmp.o
	$(Q)$(BPFTOOL) gen object $@ $@.tmp.o
	$(Q)rm -f $@.tmp.o

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@

$(BUILD)/user/%.o: user/%.c | $(BPF_SKELS)
	$(call msg,CC,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/liblwt.a: $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BIN)/lightweight-tunnel: $(BUILD)/user/main.o $(BUILD)/liblwt.a
	$(call msg,LINK,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BIN)/lwt-ctl: $(BUILD)/user/lwtctl.o $(BUILD)/liblwt.a
	$(call msg,LINK,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/liblwt.a
	$(call msg,CC,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -o $@ $< $(BUILD)/liblwt.a $(PKG_LIBS) -lcmocka $(LDFLAGS)

$(BUILD)/tests/%: tests/bpf/%.c $(BUILD)/liblwt.a | $(BPF_SKELS)
	$(call msg,CC,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -o $@ $< $(BUILD)/liblwt.a $(PKG_LIBS) -lcmocka $(LDFLAGS)

$(BUILD)/bench/%: tests/bench/%.c $(BUILD)/liblwt.a
	$(call msg,CC,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -o $@ $< $(BUILD)/liblwt.a $(PKG_LIBS) $(LDFLAGS)

$(BUILD)/tools/%: tests/tools/%.c
	$(call msg,CC,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -o $@ $< -lpthread -lm $(LDFLAGS)

# lwt-swarm speaks the protocol: it links the daemon's own builders,
# parsers and handshake (liblwt.a), never a copy of them.
$(BUILD)/tools/lwt-swarm: tests/tools/lwt-swarm.c $(BUILD)/liblwt.a
	$(call msg,CC,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -o $@ $< $(BUILD)/liblwt.a $(PKG_LIBS) $(LDFLAGS)

tools: $(TOOL_BINS)

# libFuzzer targets: built with clang, linked against the library sources
# compiled once more with the fuzzer's instrumentation (not liblwt.a). A
# harness that #includes a user/*.c file (to reach its static functions)
# leaves that file's own object out, and so does a line
# "// fuzz-omit: user/x.c" (a file the harness stands in for).
FUZZ_CFLAGS := -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	       -std=gnu11 -D_GNU_SOURCE -DLWT_VERSION='"$(VERSION)"' -Iinclude -Iuser -I$(BUILD) \
	       $(PKG_CFLAGS) -MMD -MP
FUZZ_OBJS   := $(LIB_SRCS:%.c=$(BUILD)/fuzz/obj/%.o)
fuzz_omit = $(shell sed -n -e 's|^\#include "\([a-z0-9_]*\.c\)".*|user/\1|p' \
	      -e 's|^// fuzz-omit: *\(user/[a-z0-9_]*\.c\).*|\1|p' $(1))

$(BUILD)/fuzz/obj/%.o: %.c | $(BPF_SKELS)
	$(call msg,FUZZCC,$@)
	@mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(BUILD)/fuzz/%: tests/fuzz/%.c $(FUZZ_OBJS) | $(BPF_SKELS)
	$(call msg,FUZZ,$@)
	@mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< \
		$(filter-out $(patsubst %.c,$(BUILD)/fuzz/obj/%.o,$(call fuzz_omit,$<)),$(FUZZ_OBJS)) \
		$(PKG_LIBS)

# fuzz-smoke (inside make test): FUZZ_SECONDS per target. make fuzz: every
# target until FUZZ_RUNS executions, capped at FUZZ_MAX_SECONDS each (a
# target stopped by the cap fails). FUZZ_TARGETS picks some, e.g.
# make fuzz FUZZ_TARGETS="fuzz_fec fuzz_gso".
FUZZ_SECONDS     ?= 10
FUZZ_RUNS        ?= 10000000
FUZZ_MAX_SECONDS ?= 21600
FUZZ_TARGETS     ?= $(FUZZ_SRCS:tests/fuzz/%.c=%)
FUZZ_RUN_BINS    := $(FUZZ_TARGETS:%=$(BUILD)/fuzz/%)
fuzz-smoke: $(FUZZ_RUN_BINS)
	@tests/fuzz/run-fuzz.sh $(FUZZ_SECONDS) $(BUILD)/fuzz $(FUZZ_RUN_BINS)

fuzz: $(FUZZ_RUN_BINS)
	@FUZZ_RUNS=$(FUZZ_RUNS) tests/fuzz/run-fuzz.sh $(FUZZ_MAX_SECONDS) $(BUILD)/fuzz \
		$(FUZZ_RUN_BINS)

unit-test: $(UNIT_BINS)
	@tests/unit/run-cmocka.sh unit $(UNIT_BINS)

# The man pages render without warnings and name every flag, key and command.
doc-test: all
	@tests/docs/check-man.sh $(BIN)

bpf-test: $(BPFT_BINS)
	@tests/unit/run-cmocka.sh bpf $(BPFT_BINS)

netns-test: all
	./scripts/run-netns-tests.sh $(TESTS)

# Everything the stages need is built first, one job per CPU (the stages
# then run one after another, the netns tests one at a time).
NPROC := $(shell nproc 2>/dev/null || echo 1)
test:
	$(MAKE) -j$(NPROC) all $(UNIT_BINS) $(BPFT_BINS) $(FUZZ_RUN_BINS)
	$(MAKE) unit-test
	$(MAKE) doc-test
	$(MAKE) bpf-test
	$(MAKE) fuzz-smoke
	$(MAKE) netns-test
	$(MAKE) netns-asan

# The attack tests again with the daemon under ASan+UBSan: a memory error
# the attacker provokes aborts the daemon, and stop_daemon fails the test.
ASAN_NETNS ?= tests/netns/66_queue_jumbo.sh tests/netns/48_unauth_flood.sh tests/netns/49_blind.sh \
	tests/netns/79_p2p_udp.sh
netns-asan:
	$(MAKE) -j$(NPROC) BUILD=build-asan BIN=bin-asan SAN='-fsanitize=address,undefined -fno-omit-frame-pointer' \
		OPTFLAGS='-O1 -g' all
	LWT_BIN=$(CURDIR)/bin-asan LWT_TOOLS=$(CURDIR)/build-asan/tools LWT_PATH_MATRIX= \
		LWT_LOGDIR_SUFFIX=asan ./scripts/run-netns-tests.sh $(ASAN_NETNS)

asan:
	$(MAKE) BUILD=build-asan BIN=bin-asan SAN='-fsanitize=address,undefined -fno-omit-frame-pointer' OPTFLAGS='-O1 -g' unit-test

# Daemon and unit tests under ThreadSanitizer; netns tests take the daemon
# with LWT_BIN=$(CURDIR)/bin-tsan (reports land in build/netns-logs).
tsan:
	$(MAKE) BUILD=build-tsan BIN=bin-tsan SAN='-fsanitize=thread' OPTFLAGS='-O1 -g' all unit-test

demo: all
	./scripts/demo.sh

bench: all $(BUILD)/tools/lwt-swarm $(BUILD)/bench/csum-bench $(BUILD)/bench/aead-bench $(BUILD)/bench/wait-bench $(BUILD)/bench/handshake-bench $(BUILD)/bench/spake2-bench
	$(BUILD)/bench/csum-bench
	$(BUILD)/bench/aead-bench
	$(BUILD)/bench/wait-bench
	$(BUILD)/bench/handshake-bench
	$(BUILD)/bench/spake2-bench
	LWT_SYNFLOOD_RATE=0 LWT_LOGDIR_SUFFIX=bench ./scripts/run-netns-tests.sh tests/netns/43_synflood.sh
	./tests/bench/bench.sh
	./tests/bench/loss-sweep.sh
	./tests/bench/fec-cost.sh
	./tests/bench/auth-only.sh
	./tests/bench/control.sh
	./tests/bench/p2p.sh
	./tests/bench/pmtu.sh
	./tests/bench/ipv6.sh
	./tests/bench/ktune.sh
	./tests/bench/scale.sh

vmlinux:
	@( echo "/* Generated by 'make vmlinux' from the BTF of Linux $$(uname -r) (bpftool btf dump file /sys/kernel/btf/vmlinux format c). */"; \
	  $(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c ) > vmlinux/vmlinux.h

PREFIX ?= /usr/local
install: all
	install -D -m 0755 $(BIN)/lightweight-tunnel $(DESTDIR)$(PREFIX)/bin/lightweight-tunnel
	install -D -m 0755 $(BIN)/lwt-ctl $(DESTDIR)$(PREFIX)/bin/lwt-ctl
	install -D -m 0644 docs/man/lightweight-tunnel.8 $(DESTDIR)$(PREFIX)/share/man/man8/lightweight-tunnel.8
	install -D -m 0644 docs/man/lwt-ctl.8 $(DESTDIR)$(PREFIX)/share/man/man8/lwt-ctl.8
	install -D -m 0644 docs/man/lightweight-tunnel.json.5 \
		$(DESTDIR)$(PREFIX)/share/man/man5/lightweight-tunnel.json.5
	install -D -m 0644 scripts/completion/lwt-ctl.bash \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/lwt-ctl
	install -d -m 0750 $(DESTDIR)/etc/lightweight-tunnel

# CONFIG_PATH= and SERVICE_NAME= as the reference's installer takes them
# (scripts/install-service.sh says what they do).
install-service: install
	CONFIG_PATH='$(CONFIG_PATH)' SERVICE_NAME='$(SERVICE_NAME)' ./scripts/install-service.sh $(PREFIX)

clean:
	rm -rf build build-asan build-tsan $(BIN) bin-asan bin-tsan

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
