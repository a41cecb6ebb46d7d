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

# Modules loaded only by a literal import() or a Worker: without them the binary starts and then fails on the
# first command or transport it loads (lazy-dynamic-imports keeps them out of main.ts's static graph). The tree
# shows a folder as `─┬ name (` or, when every file of it is embedded, `── name/* (`.
embedded_dir() { grep -qE "(─┬ $1|── $1/\*) \(" <<<"$clean"; }
for d in cli codecs core net processors transports $(ls -d transports/*/ | xargs -n1 basename); do
  if ! embedded_dir "$d"; then
    echo "compile-readiness: $d/ is not embedded (see the includes in scripts/compile.sh)" >&2
    exit 1
  fi
done
if ! grep -qE "── (mcap_worker\.ts|mcap/\*) \(" <<<"$clean"; then
  echo "compile-readiness: transports/mcap/mcap_worker.ts is not embedded" >&2
  exit 1
fi

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
