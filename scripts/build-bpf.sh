#!/usr/bin/env bash
# Rebuild the owner scan's BPF object from its C source. The object is committed and
# embedded (include_bytes!), so building portwatch needs no clang; run this after editing
# owners.bpf.c and commit both. tests/bpf_object.rs fails when the two differ.
#
# Usage: scripts/build-bpf.sh [OUT]    (default: beside the source)
# Needs clang with the BPF target and llvm-strip (Debian: apt-get install clang llvm).
#
# The bytes depend only on the source and the compiler: it is compiled from its own
# directory under a relative name, the directory mapped to "." in debug info, and the DWARF
# (which names the compiler and the build directory) stripped; the BTF that CO-RE needs stays.
# The committed object was built with Debian 12's clang 14.0.6; another clang version may
# produce other (equally valid) bytes.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
dir=$here/src/platform/linux/owners/bpf
out=${1:-$dir/owners.bpf.o}
case $out in /*) ;; *) out=$PWD/$out ;; esac
clang=${CLANG:-clang}
strip=${LLVM_STRIP:-llvm-strip}
built_with="14.0.6"
version=$("$clang" --version | sed -n '1s/.*clang version \([0-9.]*\).*/\1/p')
if [ "$version" != "$built_with" ]; then
    echo "build-bpf.sh: note: clang $version; the committed object was built with clang $built_with" >&2
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$dir"
"$clang" -O2 -g -target bpf -Wall -Wextra -Werror \
    -fdebug-prefix-map="$dir"=. -fdebug-compilation-dir=. \
    -c owners.bpf.c -o "$tmp/owners.bpf.o"
"$strip" -g "$tmp/owners.bpf.o"
mv "$tmp/owners.bpf.o" "$out"
