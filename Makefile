# TimeCoin — GNU make build.
#
#   make              build/timed, build/time-cli, test programs
#   make test         every suite (unit, simulator, fuzz corpora, functional,
#                     then unit + simulator again under ASan+UBSan)
#   make SAN=1 test   the suites under ASan+UBSan only (build-san/)
#   make bench        benchmarks
#   make fuzz         libFuzzer harnesses (clang) in build/fuzz
#   make devnet       local 4-masternode network (see README)
#   make install      timed, time-cli, man pages, unit, example config
#                     (PREFIX=/usr/local DESTDIR= BINDIR= MANDIR= SYSCONFDIR=)
#   make deb          build/timecoin_<version>_<arch>.deb (docs/install.md)
#
# Sources are found by glob: a new src/<module>/x.c, test/unit/test_x.c,
# bench/x.c or fuzz/fuzz_x.c needs no edit here.

SAN ?= 0
ifeq ($(SAN),1)
BUILD   ?= build-san
SANFLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
OPT     ?= -O1
else
BUILD   ?= build
SANFLAGS =
OPT     ?= -O2
endif

CC      ?= cc
CLANG   ?= clang
CSTD     = -std=c11 -D_GNU_SOURCE
WARN     = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-parameter -Wno-format-zero-length
CFLAGS  ?= $(OPT) -g
ALLCFLAGS = $(CSTD) $(WARN) $(CFLAGS) $(SANFLAGS) -Isrc -I$(BUILD)/blake3 -MMD -MP -pthread
LDLIBS   = -lsodium -llmdb -levent_core -levent_extra -levent_openssl -levent_pthreads \
           -lssl -lcrypto -ljansson -linih -lpthread -lm
LDFLAGS += $(SANFLAGS) -pthread

# BLAKE3: Debian's librust-blake3-dev ships the official C sources; the
# versioned folder is found at recipe time (after install-deps has run).
BLAKE3_GLOB = /usr/share/cargo/registry/blake3-*/c
ARCH := $(shell uname -m)

LIB_SRC   := $(shell find src -name '*.c' ! -path 'src/cmd/*' | sort)
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CMD_OBJ   := $(BUILD)/obj/src/cmd/timed.o $(BUILD)/obj/src/cmd/time_cli.o
UNIT_SRC  := $(sort $(wildcard test/unit/test_*.c))
UNIT_BIN  := $(UNIT_SRC:test/unit/%.c=$(BUILD)/test/%)
TESTLIB_SRC := $(filter-out $(UNIT_SRC),$(wildcard test/unit/*.c))
TESTLIB_OBJ := $(TESTLIB_SRC:%.c=$(BUILD)/obj/%.o)
SIM_SRC   := $(sort $(wildcard test/sim/*.c))
SIM_OBJ   := $(SIM_SRC:%.c=$(BUILD)/obj/%.o)
BENCH_SRC := $(sort $(wildcard bench/*.c))
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
BENCHLIB_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard bench/lib/*.c))
FUZZ_SRC  := $(sort $(wildcard fuzz/fuzz_*.c))
FUZZ_BIN  := $(FUZZ_SRC:fuzz/%.c=build/fuzz/%)

LIBTC     := $(BUILD)/libtimecoin.a
LIBB3     := $(BUILD)/blake3/libblake3.a

.PHONY: all deps test test-unit test-sim test-fuzz test-functional test-san \
        test-e2e test-e2e-netns soak crash-loop bench fuzz sim-long devnet devnet-stop clean install uninstall deb
.DEFAULT_GOAL := all
# Keep intermediate objects of test and bench programs between runs.
.SECONDARY:

all: $(BUILD)/timed $(BUILD)/time-cli $(UNIT_BIN) $(if $(SIM_SRC),$(BUILD)/tc-sim)

# Cheap when everything is installed (dpkg-query only); apt-get otherwise.
deps:
	@scripts/install-deps.sh

# $(call build_blake3,OUTDIR,CC,EXTRA_FLAGS): compile the C sources installed by
# librust-blake3-dev (x86-64: the .S SIMD files, never the .c of the same level).
define build_blake3
	@mkdir -p $(1)
	@set -e; dir=$$(ls -d $(BLAKE3_GLOB) 2>/dev/null | sort -V | tail -n 1); \
	if [ -z "$$dir" ]; then echo "blake3: no C sources under $(BLAKE3_GLOB) (install librust-blake3-dev)" >&2; exit 1; fi; \
	cp "$$dir/blake3.h" $(1)/blake3.h; \
	srcs="blake3.c blake3_dispatch.c blake3_portable.c"; defs=""; \
	if [ "$(ARCH)" = x86_64 ]; then \
	  srcs="$$srcs blake3_sse2_x86-64_unix.S blake3_sse41_x86-64_unix.S blake3_avx2_x86-64_unix.S blake3_avx512_x86-64_unix.S"; \
	else defs="-DBLAKE3_NO_SSE2 -DBLAKE3_NO_SSE41 -DBLAKE3_NO_AVX2 -DBLAKE3_NO_AVX512"; fi; \
	objs=""; for s in $$srcs; do o=$(1)/$${s%.*}.o; \
	  $(2) -O3 -fPIC $(3) $$defs -c "$$dir/$$s" -o $$o; objs="$$objs $$o"; done; \
	rm -f $(1)/libblake3.a; ar rcs $(1)/libblake3.a $$objs; echo "blake3: built from $$dir into $(1)"
endef

$(LIBB3): | deps
	$(call build_blake3,$(BUILD)/blake3,$(CC),$(SANFLAGS))

$(BUILD)/obj/%.o: %.c | deps $(LIBB3)
	@mkdir -p $(@D)
	$(CC) $(ALLCFLAGS) -c $< -o $@

$(LIBTC): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/timed: $(BUILD)/obj/src/cmd/timed.o $(LIBTC) $(LIBB3)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/time-cli: $(BUILD)/obj/src/cmd/time_cli.o $(LIBTC) $(LIBB3)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/test/%: $(BUILD)/obj/test/unit/%.o $(TESTLIB_OBJ) $(LIBTC) $(LIBB3)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -lcmocka -o $@

$(BUILD)/tc-sim: $(SIM_OBJ) $(LIBTC) $(LIBB3)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# Benchmarks reuse the unit tests' chain fixture (test/unit/testchain).
$(BUILD)/obj/bench/%.o: ALLCFLAGS += -Itest/unit -Ibench/lib
$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(BENCHLIB_OBJ) $(TESTLIB_OBJ) $(LIBTC) $(LIBB3)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# ---- tests -----------------------------------------------------------------

test-unit: $(UNIT_BIN)
	@scripts/run-unit.sh $(BUILD) $(UNIT_BIN)

# Under ASan+UBSan the whole-node mode runs 40 seeds, not 100: the same
# profiles and kinds at about a third of the sanitized cost (make test's time).
test-sim: $(if $(SIM_SRC),$(BUILD)/tc-sim)
	@if [ -x scripts/run-sim.sh ]; then $(if $(filter 1,$(SAN)),WHOLE_SEEDS=$${WHOLE_SEEDS:-40}) scripts/run-sim.sh $(BUILD)/tc-sim; fi

test-fuzz: fuzz
	@scripts/run-fuzz-corpus.sh $(FUZZ_BIN)

test-functional: all
	@scripts/run-functional.sh

test-san:
	@$(MAKE) --no-print-directory SAN=1 test-unit test-sim

# test/e2e: real processes, every link through a fault proxy, payments
# throughout (test/e2e/README.md). The short manifest covers every kind of
# perturbation once (disk_full only as root).
E2E_PY       := /usr/bin/python3 test/e2e/runner.py
E2E_MANIFEST ?= test/e2e/manifests/short.toml
DURATION     ?= 1h
KILLS        ?= 1000
INTERVAL     ?= 3

test-e2e: all
	@$(E2E_PY) $(E2E_MANIFEST)

test-e2e-netns: all
	@$(E2E_PY) $(E2E_MANIFEST) --netns

# make soak DURATION=1h (s, m, h or plain seconds): random perturbations.
soak: all
	@secs=$$(echo '$(DURATION)' | sed -E 's/^([0-9]+)h$$/\1*3600/; s/^([0-9]+)m$$/\1*60/; s/^([0-9]+)s?$$/\1/'); \
	case "$$secs" in *[!0-9*]*|'') echo "soak: DURATION=$(DURATION): want e.g. 3600, 90s, 30m or 1h" >&2; exit 2;; esac; \
	$(E2E_PY) $(E2E_MANIFEST) --soak $$(( $$secs )) --out build/e2e/soak

# make crash-loop KILLS=1000 INTERVAL=3: SIGKILL a random node, again and again.
crash-loop: all
	@$(E2E_PY) $(E2E_MANIFEST) --crash-loop $(KILLS) --interval $(INTERVAL) --out build/e2e/crash-loop

ifeq ($(SAN),1)
test: test-unit test-sim
else
test: test-unit test-sim test-fuzz test-functional test-e2e test-san
endif

# make sim-long SEEDS=N: N consensus seeds (and the bounded whole-node set);
# make sim-long WHOLE=1 SEEDS=N: N whole-node seeds only (test/sim/README.md).
sim-long: $(BUILD)/tc-sim
	@WHOLE=$(WHOLE) scripts/run-sim.sh $(BUILD)/tc-sim $(SEEDS)

bench: $(BENCH_BIN)
	@set -e; for b in $(BENCH_BIN); do echo "== $$b"; $$b; done

# ---- fuzzing (clang + libFuzzer, always its own build) ---------------------

FUZZ_CFLAGS = $(CSTD) $(WARN) -O1 -g -Isrc -Ibuild-fuzz/blake3 \
              -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=build-fuzz/obj/%.o)
FUZZ_B3FLAGS = -fsanitize=address,undefined

fuzz: $(FUZZ_BIN)

ifneq ($(BUILD),build-fuzz)
build-fuzz/blake3/libblake3.a: | deps
	$(call build_blake3,build-fuzz/blake3,$(CLANG),$(FUZZ_B3FLAGS))
endif

build-fuzz/obj/%.o: %.c | deps build-fuzz/blake3/libblake3.a
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

build/fuzz/%: build-fuzz/obj/fuzz/%.o $(FUZZ_LIB_OBJ) build-fuzz/blake3/libblake3.a
	@mkdir -p $(@D)
	$(CLANG) -fsanitize=fuzzer,address,undefined $^ $(LDLIBS) -o $@

# ---- devnet ----------------------------------------------------------------

devnet: all
	@scripts/devnet.sh start

devnet-stop:
	@scripts/devnet.sh stop

# ---- install (GNU conventions; docs/install.md) ----------------------------
#
# Depends on the two programs only (not the test programs), so `sudo make
# install` after `make` finds them up to date and compiles nothing as root.
# DESTDIR stages the tree (no root needed); the unit is rewritten to name
# BINDIR and SYSCONFDIR.

PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
DATAROOTDIR ?= $(PREFIX)/share
MANDIR     ?= $(DATAROOTDIR)/man
DOCDIR     ?= $(DATAROOTDIR)/doc/timecoin
SYSCONFDIR ?= $(PREFIX)/etc
UNITDIR    ?= $(PREFIX)/lib/systemd/system
INSTALL    ?= install
VERSION    := $(shell sed -n 's/^\#define TC_VERSION "\(.*\)"/\1/p' src/util/version.h)

INSTALLED = $(BINDIR)/timed $(BINDIR)/time-cli \
            $(MANDIR)/man1/timed.1 $(MANDIR)/man1/time-cli.1 $(MANDIR)/man5/time.conf.5 \
            $(SYSCONFDIR)/timecoin/time.conf.example $(SYSCONFDIR)/logrotate.d/timed \
            $(UNITDIR)/timed.service $(DOCDIR)/install.md $(DOCDIR)/config.md $(DOCDIR)/operations.md

install: $(BUILD)/timed $(BUILD)/time-cli
	$(INSTALL) -d -m 0755 $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(SYSCONFDIR)/timecoin $(DESTDIR)$(SYSCONFDIR)/logrotate.d $(DESTDIR)$(UNITDIR) $(DESTDIR)$(DOCDIR)
	$(INSTALL) -m 0755 $(BUILD)/timed $(BUILD)/time-cli $(DESTDIR)$(BINDIR)/
	$(INSTALL) -m 0644 man/timed.1 man/time-cli.1 $(DESTDIR)$(MANDIR)/man1/
	$(INSTALL) -m 0644 man/time.conf.5 $(DESTDIR)$(MANDIR)/man5/
	$(INSTALL) -m 0644 contrib/time.conf.example $(DESTDIR)$(SYSCONFDIR)/timecoin/time.conf.example
	$(INSTALL) -m 0644 contrib/timed.logrotate $(DESTDIR)$(SYSCONFDIR)/logrotate.d/timed
	sed -e 's|/usr/bin/timed|$(BINDIR)/timed|g' -e 's|/etc/timecoin|$(SYSCONFDIR)/timecoin|g' \
	    contrib/timed.service > $(DESTDIR)$(UNITDIR)/timed.service.tmp
	chmod 0644 $(DESTDIR)$(UNITDIR)/timed.service.tmp
	mv $(DESTDIR)$(UNITDIR)/timed.service.tmp $(DESTDIR)$(UNITDIR)/timed.service
	$(INSTALL) -m 0644 docs/install.md docs/config.md docs/operations.md $(DESTDIR)$(DOCDIR)/

# Removes the files install wrote and the directories that are then empty;
# never the data dir, the logs or a time.conf an operator wrote.
uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	-rmdir $(DESTDIR)$(DOCDIR) $(DESTDIR)$(SYSCONFDIR)/timecoin 2>/dev/null

# ---- Debian package ----------------------------------------------------------
#
# A binary package from a staged install (PREFIX=/usr SYSCONFDIR=/etc) and
# packaging/deb/; Depends from dpkg-shlibdeps. Needs dpkg-dev, not root.

DEB_ARCH  = $(shell dpkg --print-architecture)
DEB       = $(BUILD)/timecoin_$(VERSION)_$(DEB_ARCH).deb
DEB_ROOT  = $(BUILD)/deb/root

deb: $(BUILD)/timed $(BUILD)/time-cli
	rm -rf $(DEB_ROOT)
	$(MAKE) --no-print-directory install DESTDIR=$(abspath $(DEB_ROOT)) PREFIX=/usr SYSCONFDIR=/etc
	scripts/make-deb.sh $(VERSION) $(DEB_ARCH) $(DEB_ROOT) $(DEB)

clean:
	rm -rf build build-san build-fuzz

-include $(shell find build/obj build-san/obj build-fuzz/obj -name '*.d' 2>/dev/null)
