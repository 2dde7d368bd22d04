# libraftcore: build, header, pkg-config file, install and tests.
#
#   make build                  release cdylib + staticlib, include/raftcore.h, ./raftcore.pc (usable in place:
#                               PKG_CONFIG_PATH=$(pwd) and `#cgo pkg-config: raftcore`)
#   make header-check           fails if the committed include/raftcore.h is stale
#   make install PREFIX=/opt/x  lib/libraftcore.{so,a}, include/raftcore.{h,hpp}, lib/pkgconfig/raftcore.pc
#   make test                   every test, in this order: cargo (core, simulator, driver, ABI); the header and
#                               the generated classic shims are current; the C embedding test; test-cpp; the Go
#                               shim on our lab harness under -race (peers in the test process, one process per
#                               peer, the classic, MP2, CMU and 2016-17 shims, a cgocheck2 pass) and our rsm and
#                               key/value service on it in both modes, histories checked with porcupine; the tools' tests
#                               (make lab on fake trees of each generation, make dslabs, stress, the log viewer);
#                               each fuzz target briefly (fuzz-ci)
#   make test-cpp               raftcore.hpp's own test (also as C++14), the 11 dslabs-cpp scenarios in C++ and the
#                               dslabs adapter's teardown test (cpp/tests/), linked and again loading the library at
#                               run time (RAFTCORE_HPP_DYNAMIC)
#   make lab [LAB=dir] [RUN=3A] the lab's tests through the shim, with a per-test table and totals: the bundled
#            [PEERS=process]    harness (PEERS=process: one process per peer), or a lab tree's src directory, whose
#            [PART=4A|all]      generation is detected and whose Raft files are set aside and restored afterwards;
#            [COMPARE=0]        PART picks parts, the labs on Raft too (rsm, kvraft, shardctrler, shardkv), a list,
#                               or all; a failed service test is run again on paced raftcore and the student's own
#                               Raft, with a verdict (COMPARE=0: not)
#   make lab-restore LAB=dir    put back the files an interrupted `make lab LAB=dir` set aside
#   make lab-generations        the tester generations make lab recognises, and how it runs each
#   make dslabs DSLABS=dir      the dslabs-cpp Raft lab's 11 tests with raftcore as its RaftServer (cpp/dslabs/),
#                               in a built dslabs-cpp checkout whose student files are restored afterwards;
#                               make dslabs-restore DSLABS=dir puts back what an interrupted run left
#   make stress RUN=3A N=20     run tests many times in parallel (W=workers, LAB=dir, PART=4B), keep failing logs
#   RAFT_LOG=debug make lab ... structured events of every peer; tools/raftlog.py shows them one column per peer
#   make sim SEEDS=N | SEED=S   the core in the deterministic simulator: N random seeds, or replay one seed
#   make sim-lab [RUNS=10]      the simulator's replay of the lab's 28 Raft tests under RUNS sets of seeds: per test
#                               mean RPCs by kind and virtual seconds, in seconds (ranks a change before bench-lab)
#   make fuzz T=<target> S=60   one fuzz target (fuzz/) for S seconds; make fuzz-ci runs each briefly
#   make lint                   rustfmt check and clippy
#   make bench                  the core against raft-rs, persist cost, C and Go boundary costs (docs/PERFORMANCE.md)
#   make bench-lab [RUNS=3]     the lab's 28 Raft tests RUNS times, one after another (LAB=dir: a real tree; PEERS=):
#                               per test mean and max RPCs and seconds beside the handout's, and CPU per run
#
# Libraries are found through the rpath that raftcore.pc adds, never through LD_LIBRARY_PATH.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build
empty :=
space := $(empty) $(empty)
comma := ,

# The checkout is this Makefile's directory. make's word functions ($(dir), $(abspath)) split a path at its spaces,
# so the shell finds the directory from MAKEFILE_LIST whole, which at this point names this file only. Every path
# below is single-quoted in recipes, so a checkout may be anywhere, spaces and all, but not under a name with a '.
ROOT := $(shell cd -- "$$(dirname -- "$$(sed 's/^ *//' <<< '$(subst ','\'',$(MAKEFILE_LIST))')")" && pwd -P)
CARGO ?= cargo
CBINDGEN_VERSION := 0.29.4
# The header generator: the pinned version, wherever it is. Resolved each time a recipe uses it (=, not :=), so
# that once check-cbindgen has installed it into cargo's bin directory, that copy wins over an older cbindgen
# earlier on PATH (a distribution's); before that, the install location, which check-cbindgen finds missing.
CARGO_BIN = $(or $(CARGO_HOME),$(HOME)/.cargo)/bin
CBINDGEN ?= $(shell for c in '$(CARGO_BIN)/cbindgen' "$$(command -v cbindgen)"; do \
	[ -x "$$c" ] && "$$c" --version 2>/dev/null | grep -qx 'cbindgen $(CBINDGEN_VERSION)' && { echo "$$c"; exit; }; \
	done; echo '$(CARGO_BIN)/cbindgen')
CC ?= cc
CXX ?= c++
PKG_CONFIG ?= pkg-config
PREFIX ?= /usr/local
LAB ?=
DSLABS ?=
RUN ?=
PART ?=
PEERS ?=
COMPARE ?= 1
DESTDIR ?=

TARGET_DIR := $(or $(CARGO_TARGET_DIR),$(ROOT)/target)
LIB_DIR := $(TARGET_DIR)/release

# What the recipes cannot carry, refused before anything runs: a ' ends their quoting; PKG_CONFIG_PATH is split at
# colons; the compiler splits raftcore.pc's -Wl,-rpath,<library directory> at commas.
ifeq ($(ROOT),)
$(error cannot tell this Makefile's directory from $(MAKEFILE_LIST); run make in the checkout, or make -C <checkout>)
endif
ifneq ($(findstring ',$(ROOT)$(TARGET_DIR)),)
$(error the checkout $(ROOT) (or CARGO_TARGET_DIR $(TARGET_DIR)) has a ' in its path, which the build cannot quote; move or rename it)
endif
ifneq ($(findstring :,$(ROOT)$(TARGET_DIR)),)
$(error the checkout $(ROOT) (or CARGO_TARGET_DIR $(TARGET_DIR)) has a : in its path, which PKG_CONFIG_PATH would split; move or rename it)
endif
ifneq ($(findstring $(comma),$(LIB_DIR)),)
$(error the library's directory $(LIB_DIR) has a comma, which raftcore.pc's linker flag -Wl,-rpath,<dir> cannot carry (the compiler splits it at commas); move or rename the checkout, or set CARGO_TARGET_DIR elsewhere)
endif

VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' '$(ROOT)/Cargo.toml' | head -n1)
HEADER := $(ROOT)/include/raftcore.h
C_TEST_DIR := $(TARGET_DIR)/c-test

.PHONY: build lib header header-check pc install test test-rust test-c test-go test-tools shims shim-check lab stress \
	lab-restore lab-generations sim sim-lab lint bench bench-lab clean

build: check-prereqs lib header pc check-pkg-config

# What each entry point needs, checked first in one line each (tools/check_prereqs.sh), so that a missing or old
# tool is named before cargo, cgo or a test fails on it. The library needs Rust 1.82 (Cargo.toml rust-version); the
# workspace that make test and make bench build needs 1.85, for the benchmarks' criterion (its clap).
PREREQS = rust cc pkg-config
RUST_MIN = 1.82
test: PREREQS = rust go cc c++ pkg-config python3
test bench: RUST_MIN = 1.85
bench: PREREQS = rust go cc pkg-config
lab stress dslabs bench-lab: PREREQS = rust go cc pkg-config python3

.PHONY: check-prereqs
check-prereqs:
	@CARGO='$(CARGO)' CC='$(CC)' CXX='$(CXX)' PKG_CONFIG='$(PKG_CONFIG)' \
		sh '$(ROOT)/tools/check_prereqs.sh' $(RUST_MIN) $(PREREQS)

lib:
	$(CARGO) build --release --locked --manifest-path '$(ROOT)/Cargo.toml'

header: check-cbindgen
	cd '$(ROOT)' && '$(CBINDGEN)' --quiet --config cbindgen.toml --crate raftcore --output include/raftcore.h

header-check: check-cbindgen
	@cd '$(ROOT)' && '$(CBINDGEN)' --quiet --config cbindgen.toml --crate raftcore --output include/raftcore.h --verify \
		|| { echo "include/raftcore.h is stale: run 'make header' and commit it" >&2; exit 1; }

.PHONY: check-cbindgen
# The header generator is installed on first use (into ~/.cargo/bin), so a fresh machine needs no setup step.
check-cbindgen:
	@'$(CBINDGEN)' --version 2>/dev/null | grep -qx 'cbindgen $(CBINDGEN_VERSION)' || { \
		echo "installing cbindgen $(CBINDGEN_VERSION) (once, about a minute)" >&2 && \
		$(CARGO) install cbindgen --locked --version $(CBINDGEN_VERSION); }

# cgo finds the library through pkg-config (`#cgo pkg-config: raftcore`).
.PHONY: check-pkg-config
check-pkg-config:
	@command -v $(PKG_CONFIG) >/dev/null 2>&1 || { \
		echo "pkg-config is missing; the Go shim links through it: sudo apt-get install pkg-config" >&2; exit 1; }

# pc_file(prefix, libdir, includedir, output). pkg-config splits flags at unescaped spaces, so a path goes into the
# file with its spaces escaped, and into sed's replacement with \, & and the delimiter escaped.
pc_value = $(subst |,\|,$(subst &,\&,$(subst \,\\,$(subst $(space),\$(space),$(1)))))
define pc_file
	sed -e 's|@PREFIX@|$(call pc_value,$(1))|' -e 's|@LIBDIR@|$(call pc_value,$(2))|' \
		-e 's|@INCLUDEDIR@|$(call pc_value,$(3))|' -e 's|@VERSION@|$(VERSION)|' '$(ROOT)/raftcore.pc.in' > '$(4)'
endef

pc:
	$(call pc_file,$(ROOT),$(LIB_DIR),$(ROOT)/include,$(ROOT)/raftcore.pc)

install: lib
	install -d '$(DESTDIR)$(PREFIX)/lib/pkgconfig' '$(DESTDIR)$(PREFIX)/include'
	install -m 0755 '$(LIB_DIR)/libraftcore.so' '$(DESTDIR)$(PREFIX)/lib/'
	install -m 0644 '$(LIB_DIR)/libraftcore.a' '$(DESTDIR)$(PREFIX)/lib/'
	install -m 0644 '$(HEADER)' '$(ROOT)/include/raftcore.hpp' '$(DESTDIR)$(PREFIX)/include/'
	$(call pc_file,$(PREFIX),$(PREFIX)/lib,$(PREFIX)/include,$(DESTDIR)$(PREFIX)/lib/pkgconfig/raftcore.pc)

test: check-prereqs test-rust header-check shim-check test-c test-cpp test-go test-tools fuzz-ci

# Go links the library through raftcore.pc in this directory. The build cache does not hash the header or the
# library, so their digest goes into CGO_CPPFLAGS, which is part of the cache key: a rebuilt core is never
# tested through a stale shim build. -count=1 likewise keeps test results from being cached.
GO_ENV = PKG_CONFIG_PATH='$(ROOT)' CGO_CPPFLAGS=-DRAFTCORE_BUILD_$$(cat '$(HEADER)' '$(LIB_DIR)/libraftcore.so' | sha1sum | cut -c1-16)

# The lab's 28 scenarios; the second run puts every peer in its own process (the 2026 lab's model), the third
# drives the classic shim (go/raft, the 2020-24 src/raft API), the fourth the MP2 shim (go/raftmp2, no
# persistence, so elections and agreement only), the next two the CMU 15-440 shims (go/raftcmu18, go/raftcmu21,
# likewise without storage), the last the 2016-17 shim (go/raft2016, whose trees' Raft tests never snapshot). The labs on Raft (rsm and kvraft, go/kvraft1, each history
# checked with porcupine) run in the test process within ./... and again with one process per server.
LAB_TESTS := ^Test.*3[ABCD]$$
MP2_TESTS := ^Test.*3[AB]$$
OLD_API_TESTS := ^Test.*3[ABC]$$
test-go: build
	cd '$(ROOT)/go' && $(GO_ENV) go vet ./...
	cd '$(ROOT)/go' && $(GO_ENV) go test -race -count=1 -timeout 40m ./...
	cd '$(ROOT)/go' && $(GO_ENV) RAFT_PEERS=process go test -race -count=1 -timeout 40m -run '$(LAB_TESTS)' ./raft1/
	cd '$(ROOT)/go' && $(GO_ENV) RAFT_PEERS=process go test -race -count=1 -timeout 20m ./kvraft1/...
	cd '$(ROOT)/go' && $(GO_ENV) RAFT_PEERS=classic go test -race -count=1 -timeout 40m -run '$(LAB_TESTS)' ./raft1/
	cd '$(ROOT)/go' && $(GO_ENV) RAFT_PEERS=mp2 go test -race -count=1 -timeout 20m -run '$(MP2_TESTS)' ./raft1/
	cd '$(ROOT)/go' && $(GO_ENV) RAFT_PEERS=cmu18 go test -race -count=1 -timeout 20m -run '$(MP2_TESTS)' ./raft1/
	cd '$(ROOT)/go' && $(GO_ENV) RAFT_PEERS=cmu21 go test -race -count=1 -timeout 20m -run '$(MP2_TESTS)' ./raft1/
	cd '$(ROOT)/go' && $(GO_ENV) RAFT_PEERS=2016 go test -race -count=1 -timeout 30m -run '$(OLD_API_TESTS)' ./raft1/
	cd '$(ROOT)/go' && $(GO_ENV) GOEXPERIMENT=cgocheck2 go test -race -count=1 -timeout 20m -run 'Shim|3A|3B' ./raft1/

SEEDS ?= 1000
SEED ?=
sim:
	$(CARGO) run --release --locked --quiet --manifest-path '$(ROOT)/Cargo.toml' -p raftcore-sim -- \
		$(if $(SEED),--seed $(SEED),--seeds $(SEEDS))

sim-lab:
	python3 '$(ROOT)/tools/simlab.py' -n '$(or $(RUNS),10)'

lab: build
	$(GO_ENV) python3 '$(ROOT)/tools/lab.py' --lab '$(LAB)' --run '$(RUN)' --part '$(PART)' --peers '$(PEERS)' \
		--compare '$(COMPARE)'

# The classic shim go/raft/raft.go is generated from go/raft1/raft.go; both are committed.
shims:
	python3 '$(ROOT)/tools/mkshim.py'

shim-check:
	python3 '$(ROOT)/tools/mkshim.py' --check

# make stress RUN=<regex> N=<runs> [W=<workers>] [LAB=dir]: one test binary run N times, W at a time; logs of
# failing runs kept under stress-results/.
N ?= 10
W ?=
stress: build
	$(GO_ENV) python3 '$(ROOT)/tools/stress.py' --lab '$(LAB)' --run '$(RUN)' --part '$(PART)' -n $(N) $(if $(W),-w $(W))

# A benchmark, not a test: whole `make lab` runs, one after another, tabulated for docs/PERFORMANCE.md.
RUNS ?= 3
bench-lab: build
	$(GO_ENV) python3 '$(ROOT)/tools/benchlab.py' -n '$(RUNS)' --lab '$(LAB)' --run '$(RUN)' --peers '$(PEERS)'

lab-restore:
	python3 '$(ROOT)/tools/lab.py' --lab '$(LAB)' --restore

lab-generations:
	@python3 '$(ROOT)/tools/lab.py' --generations

# The dslabs-cpp Raft lab (C++): our adapter (cpp/dslabs/) over the checkout's student files, the framework's own
# build, its 11 tests with RAFTCORE_LIBRARY set (the adapter loads the library at run time), the files restored.
.PHONY: dslabs dslabs-restore
dslabs: build
	python3 '$(ROOT)/tools/dslabs.py' --tree '$(DSLABS)' --library '$(LIB_DIR)/libraftcore.so'

dslabs-restore:
	python3 '$(ROOT)/tools/dslabs.py' --tree '$(DSLABS)' --restore

# The tools' own tests: make lab on fake trees of each tester generation (tools/labfixture.py: detection,
# refusals, restoring the tree), the stress runner on a planted failure, the log viewer.
# The tools' runs leave their logs in TMPDIR (make lab's raftcore-lab.*): here a scratch directory, gone afterwards.
test-tools: build
	scratch=$$(mktemp -d) && trap 'rm -rf "$$scratch"' EXIT && cd '$(ROOT)/tools' && \
	TMPDIR="$$scratch" $(GO_ENV) python3 -m unittest discover -v -p 'test_*.py'

test-rust:
	$(CARGO) test --workspace --locked --manifest-path '$(ROOT)/Cargo.toml'

# The C embedding test sees only what an installed copy provides: the header and library under a scratch
# PREFIX, found through that prefix's raftcore.pc; it links once against the shared and once the static library.
C_PKG_CONFIG := PKG_CONFIG_PATH='$(C_TEST_DIR)/prefix/lib/pkgconfig' $(PKG_CONFIG)
C_FLAGS := -std=c11 -Wall -Wextra -Werror -pthread
# pkg-config prints a path's spaces (and each byte of a non-ASCII letter) backslash-escaped, as a shell reads them,
# so its output goes through `read` (unquoted $(...) would split at the spaces), in the C locale (in UTF-8, read
# keeps a backslash before a lone byte): $(call pc_flags,<PKG_CONFIG_PATH>) sets the arrays cflags and libs for the
# rest of the recipe line.
pc_flags = LC_ALL=C read -a cflags <<< "$$(PKG_CONFIG_PATH='$(1)' $(PKG_CONFIG) --cflags raftcore)" && \
	LC_ALL=C read -a libs <<< "$$(PKG_CONFIG_PATH='$(1)' $(PKG_CONFIG) --libs raftcore)" &&

test-c: lib
	rm -rf '$(C_TEST_DIR)'
	$(MAKE) --no-print-directory -C '$(ROOT)' install PREFIX='$(C_TEST_DIR)/prefix' DESTDIR=
	$(call pc_flags,$(C_TEST_DIR)/prefix/lib/pkgconfig) $(CC) $(C_FLAGS) "$${cflags[@]}" '$(ROOT)/tests/c/cluster.c' \
		-o '$(C_TEST_DIR)/cluster' "$${libs[@]}"
	env -u LD_LIBRARY_PATH '$(C_TEST_DIR)/cluster'
	$(call pc_flags,$(C_TEST_DIR)/prefix/lib/pkgconfig) $(CC) $(C_FLAGS) "$${cflags[@]}" '$(ROOT)/tests/c/cluster.c' \
		-o '$(C_TEST_DIR)/cluster-static' '$(C_TEST_DIR)/prefix/lib/libraftcore.a' \
		$$($(C_PKG_CONFIG) --static --libs-only-l raftcore | sed 's/-lraftcore//')
	env -u LD_LIBRARY_PATH '$(C_TEST_DIR)/cluster-static'

# The C++ tests, like the C one, see only an installed copy. Each is built twice: linked through raftcore.pc, and
# with RAFTCORE_HPP_DYNAMIC and no -lraftcore at all (checked: no libraftcore in the binary's NEEDED list), loading
# the installed library named by RAFTCORE_LIBRARY, as a host that cannot change its link line would. header_test is
# built both ways again as C++14, the floor raftcore.hpp keeps for hosts fixed at it (the dslabs-cpp framework).
# teardown_test destroys the dslabs-cpp adapter's hosts with work in flight; it is built as the framework builds
# the adapter (C++14, dynamic mode) and under AddressSanitizer, so a use after free fails it.
CPP_TEST_DIR := $(TARGET_DIR)/cpp-test
CPP_PC = $(call pc_flags,$(CPP_TEST_DIR)/prefix/lib/pkgconfig)
CXX_FLAGS := -std=c++17 -Wall -Wextra -Werror -pthread -O2
CPP_CFLAGS = $(CXX_FLAGS) "$${cflags[@]}"
CPP14_CFLAGS = $(subst -std=c++17,-std=c++14,$(CPP_CFLAGS))
CPP_LIBS = "$${libs[@]}"
CPP_DYNAMIC_ENV := env -u LD_LIBRARY_PATH RAFTCORE_LIBRARY='$(CPP_TEST_DIR)/prefix/lib/libraftcore.so'

.PHONY: test-cpp
test-cpp: lib
	rm -rf '$(CPP_TEST_DIR)'
	$(MAKE) --no-print-directory -C '$(ROOT)' install PREFIX='$(CPP_TEST_DIR)/prefix' DESTDIR=
	$(CPP_PC) $(CXX) $(CPP_CFLAGS) '$(ROOT)/cpp/tests/header_test.cpp' -o '$(CPP_TEST_DIR)/header_test' $(CPP_LIBS)
	$(CPP_PC) $(CXX) $(CPP_CFLAGS) -DRAFTCORE_HPP_DYNAMIC '$(ROOT)/cpp/tests/header_test.cpp' \
		-o '$(CPP_TEST_DIR)/header_test-dynamic'
	$(CPP_PC) $(CXX) $(CPP14_CFLAGS) '$(ROOT)/cpp/tests/header_test.cpp' -o '$(CPP_TEST_DIR)/header_test-cxx14' \
		$(CPP_LIBS)
	$(CPP_PC) $(CXX) $(CPP14_CFLAGS) -DRAFTCORE_HPP_DYNAMIC '$(ROOT)/cpp/tests/header_test.cpp' \
		-o '$(CPP_TEST_DIR)/header_test-cxx14-dynamic'
	$(CPP_PC) $(CXX) $(CPP_CFLAGS) '$(ROOT)/cpp/tests/scenarios.cpp' -o '$(CPP_TEST_DIR)/scenarios' $(CPP_LIBS)
	$(CPP_PC) $(CXX) $(CPP_CFLAGS) -DRAFTCORE_HPP_DYNAMIC '$(ROOT)/cpp/tests/scenarios.cpp' \
		-o '$(CPP_TEST_DIR)/scenarios-dynamic'
	$(CPP_PC) $(CXX) $(CPP14_CFLAGS) -DRAFTCORE_HPP_DYNAMIC -fsanitize=address -fno-omit-frame-pointer \
		'$(ROOT)/cpp/tests/teardown_test.cpp' -o '$(CPP_TEST_DIR)/teardown_test'
	! readelf -d '$(CPP_TEST_DIR)/header_test-dynamic' '$(CPP_TEST_DIR)/header_test-cxx14-dynamic' \
		'$(CPP_TEST_DIR)/scenarios-dynamic' | grep 'NEEDED.*libraftcore'
	env -u LD_LIBRARY_PATH '$(CPP_TEST_DIR)/header_test'
	$(CPP_DYNAMIC_ENV) '$(CPP_TEST_DIR)/header_test-dynamic'
	env -u LD_LIBRARY_PATH '$(CPP_TEST_DIR)/header_test-cxx14'
	$(CPP_DYNAMIC_ENV) '$(CPP_TEST_DIR)/header_test-cxx14-dynamic'
	env -u LD_LIBRARY_PATH '$(CPP_TEST_DIR)/scenarios'
	$(CPP_DYNAMIC_ENV) '$(CPP_TEST_DIR)/scenarios-dynamic'
	$(CPP_DYNAMIC_ENV) '$(CPP_TEST_DIR)/teardown_test'

# Fuzzing (fuzz/, cargo-fuzz): with a nightly toolchain under AddressSanitizer, otherwise on stable without a
# sanitizer (RUSTC_BOOTSTRAP lets cargo-fuzz's flags through). `make fuzz T=<target> S=<seconds>` grows
# fuzz/corpus/<target>; fuzz-ci runs each target briefly from its committed corpus without changing it.
# Optimized, but with debug assertions and overflow checks on (`--debug-assertions`; `-O` would turn them off):
# an overflowing term or index, or a broken invariant the code asserts, must crash the run, not wrap silently.
FUZZ_TARGETS := decode_messages decode_persisted handle_rpc cluster_ops
CARGO_FUZZ_VERSION := 0.13.2
T ?=
S ?= 60
FUZZ_NIGHTLY := $(shell rustup run nightly rustc --version >/dev/null 2>&1 && echo yes)
FUZZ_RUN = $(if $(FUZZ_NIGHTLY),cargo +nightly fuzz run --debug-assertions,\
	RUSTC_BOOTSTRAP=1 cargo fuzz run --debug-assertions --sanitizer none)

.PHONY: fuzz fuzz-ci check-cargo-fuzz
check-cargo-fuzz:
	@cargo fuzz --version 2>/dev/null | grep -q '$(CARGO_FUZZ_VERSION)' || \
		$(CARGO) install cargo-fuzz --locked --version $(CARGO_FUZZ_VERSION)

fuzz: check-cargo-fuzz
	@case " $(FUZZ_TARGETS) " in *" $(T) "*) ;; *) echo "make fuzz T=<target> [S=seconds]; targets: $(FUZZ_TARGETS)" >&2; \
		exit 2;; esac
	cd '$(ROOT)' && $(FUZZ_RUN) $(T) -- -max_total_time=$(S) -print_final_stats=1

fuzz-ci: check-cargo-fuzz
	scratch=$$(mktemp -d) && trap 'rm -rf "$$scratch"' EXIT && cd '$(ROOT)' && for t in $(FUZZ_TARGETS); do \
		mkdir -p "$$scratch/$$t" && $(FUZZ_RUN) $$t "$$scratch/$$t" fuzz/corpus/$$t -- -max_total_time=20 || exit 1; \
	done

lint:
	$(CARGO) fmt --check --manifest-path '$(ROOT)/Cargo.toml'
	$(CARGO) clippy --all-targets --locked --manifest-path '$(ROOT)/Cargo.toml' -- -D warnings

# The C-boundary crossings, then rust/bench (criterion, short measurements): the core against raft-rs on in-memory
# clusters and the cost of a persist, ending with the ratio tables; then the Go boundary with and without -race,
# and the key/value service in both peer modes (latency next to the lab's 33 ms bound, throughput with 1, 10 and
# 100 clients). About 4 minutes on 2 cores; the figures are recorded in docs/PERFORMANCE.md.
bench: build
	$(CARGO) run --release --locked --manifest-path '$(ROOT)/Cargo.toml' --example crossing_bench
	$(CARGO) bench --locked --manifest-path '$(ROOT)/Cargo.toml' -p raftcore-bench --bench cluster --bench persist
	$(CARGO) run --release --locked --quiet --manifest-path '$(ROOT)/Cargo.toml' -p raftcore-bench --bin report -- \
		'$(TARGET_DIR)/criterion'
	cd '$(ROOT)/go' && $(GO_ENV) go test -run '^$$' -bench . -benchtime 1s ./raft1/
	cd '$(ROOT)/go' && $(GO_ENV) go test -race -run '^$$' -bench . -benchtime 1s ./raft1/
	cd '$(ROOT)/go' && $(GO_ENV) go test -run '^$$' -bench . -benchtime 2s ./kvraft1/
	cd '$(ROOT)/go' && $(GO_ENV) go test -race -run '^$$' -bench . -benchtime 2s ./kvraft1/

clean:
	$(CARGO) clean --manifest-path '$(ROOT)/Cargo.toml'
	rm -f '$(ROOT)/raftcore.pc'
