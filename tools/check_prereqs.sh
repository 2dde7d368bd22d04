#!/bin/sh
# tools/check_prereqs.sh RUST_MIN NEED...: the Makefile's first step. Fails with one line naming the first
# prerequisite that is missing or too old, and how to get it (README, Quick start), instead of letting a build
# fail deep inside cargo, cgo or a test. NEED: rust go cc c++ pkg-config python3. The compilers and pkg-config
# are taken from CC, CXX and PKG_CONFIG, as the Makefile passes them. Runs in a few tens of milliseconds.
set -u
rust_min=$1
shift
GO_MIN=1.22
PYTHON_MIN=3.9

fail() {
	echo "make: $1 (README.md, Quick start, has the commands for a fresh Debian 12)" >&2
	exit 1
}

# at_least HAVE MIN: true if the dotted version HAVE is MIN or newer.
at_least() {
	[ "$(printf '%s\n%s\n' "$2" "$1" | sort -t. -k1,1n -k2,2n -k3,3n | head -n1)" = "$2" ]
}

for need in "$@"; do
	case $need in
	rust)
		command -v "${CARGO:-cargo}" >/dev/null 2>&1 || fail "cargo is missing: install Rust >= $rust_min with rustup"
		have=$(rustc --version 2>/dev/null | sed -n 's/^rustc \([0-9][0-9.]*\).*/\1/p')
		[ -n "$have" ] || fail "rustc is missing: install Rust >= $rust_min with rustup"
		at_least "$have" "$rust_min" || fail "rustc $have is too old, this needs >= $rust_min: rustup update stable"
		;;
	go)
		command -v go >/dev/null 2>&1 || fail "go is missing: install Go >= $GO_MIN from go.dev/dl"
		have=$(go env GOVERSION 2>/dev/null | sed -n 's/^go\([0-9][0-9.]*\).*/\1/p')
		[ -n "$have" ] || fail "go gives no version (go env GOVERSION): install Go >= $GO_MIN from go.dev/dl"
		at_least "$have" "$GO_MIN" || fail "go $have is too old, this needs >= $GO_MIN (Debian 12's golang is 1.19): install it from go.dev/dl"
		;;
	cc)
		command -v "${CC:-cc}" >/dev/null 2>&1 || fail "the C compiler ${CC:-cc} is missing (the linker for Rust and cgo): sudo apt-get install gcc"
		;;
	c++)
		command -v "${CXX:-c++}" >/dev/null 2>&1 || fail "the C++ compiler ${CXX:-c++} is missing (the C++ tests): sudo apt-get install g++"
		;;
	pkg-config)
		command -v "${PKG_CONFIG:-pkg-config}" >/dev/null 2>&1 || fail "${PKG_CONFIG:-pkg-config} is missing (the Go shim links through it): sudo apt-get install pkg-config"
		;;
	python3)
		have=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) ||
			fail "python3 is missing (make lab, stress and the tools' tests): sudo apt-get install python3"
		at_least "$have" "$PYTHON_MIN" || fail "python3 $have is too old, this needs >= $PYTHON_MIN"
		;;
	*)
		echo "check_prereqs.sh: unknown prerequisite $need" >&2
		exit 2
		;;
	esac
done
