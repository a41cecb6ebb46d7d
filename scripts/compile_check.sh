#!/usr/bin/env bash
# Compile-readiness: `deno compile` needs Deno's runtime (denort) from the internet,
# so CI builds against a stand-in base binary (DENORT_BIN = a copy of /bin/true).
# That still resolves and type-checks the module graph and embeds everything the
# real binary embeds; it prints the embedded size. The output is not runnable.
#
#   scripts/compile_check.sh [--target TRIPLE] [compile.sh options...]
set -euo pipefail
cd "$(dirname "$0")/.."

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp /bin/true "$tmp/denort"
export DENORT_BIN=$tmp/denort

log=$tmp/compile.log
if ! bash scripts/compile.sh --output "$tmp/telebus" "$@" >"$log" 2>&1; then
  sed 's/\x1b\[[0-9;]*m//g' "$log"
  echo "compile-readiness: deno compile failed" >&2
  exit 1
fi
clean=$(sed 's/\x1b\[[0-9;]*m//g' "$log")
# The tree of embedded files, one level deep, then the totals.
grep -E '^== permissions' <<<"$clean"
grep -E '^(├|└)|^│ (├|└)|^│   (├|└)' <<<"$clean" | grep -v '\.ts (' || true
grep -E '^(Files|Metadata|Remote modules):' <<<"$clean"

total=$(stat -c %s "$tmp/telebus")
base=$(stat -c %s "$DENORT_BIN")
embedded=$((total - base))
echo "compile-readiness: ok — embedded $((embedded / 1024 / 1024)) MiB ($embedded bytes) on top of the Deno runtime"
# Keep it small: fail when something large sneaks in (test or dev packages, prebuilds of other platforms).
limit_mib=${TELEBUS_EMBED_LIMIT_MIB:-80}
if [ "$embedded" -gt $((limit_mib * 1024 * 1024)) ]; then
  echo "compile-readiness: embedded size exceeds ${limit_mib} MiB" >&2
  exit 1
fi
