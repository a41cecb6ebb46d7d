#!/usr/bin/env bash
# The long fuzz run: every target in fuzz/ with TELEBUS_FUZZ_RUNS cases per property (default 1,000,000),
# TELEBUS_FUZZ_JOBS targets at a time (default 2), each under a wall-clock limit (TELEBUS_FUZZ_TIMEOUT seconds,
# default 4 h) so that a hang that never returns still ends the run as a failure. Prints each property's case
# count, time and slowest case, then one line per target and a summary. A failure prints fast-check's seed and
# shrunk counterexample; TELEBUS_FUZZ_SEED=<seed> repeats it. Usage: deno task fuzz [target ...]
set -uo pipefail
cd "$(dirname "$0")/.."

export TELEBUS_FUZZ_RUNS=${TELEBUS_FUZZ_RUNS:-1000000}
JOBS=${TELEBUS_FUZZ_JOBS:-2}
LIMIT=${TELEBUS_FUZZ_TIMEOUT:-14400}
if [ $# -gt 0 ]; then targets=("$@"); else targets=(fuzz/*_fuzz_test.ts); fi

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "== fuzz: ${#targets[@]} targets, $TELEBUS_FUZZ_RUNS cases per property, $JOBS at a time"
started=$(date +%s)

run_one() { # run_one TARGET: runs one target file, writes its log and exit status
  local t=$1 name
  name=$(basename "$t" _fuzz_test.ts)
  local t0=$(date +%s)
  NO_COLOR=1 timeout --kill-after=30 "$LIMIT" deno test -A "$t" >"$out/$name.log" 2>&1
  local rc=$?
  echo "$rc $(($(date +%s) - t0))" >"$out/$name.rc"
  grep -E '^fuzz [a-z_]+\.[a-z_]+: ' "$out/$name.log"
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then echo "HANG: $name did not finish within $LIMIT s"; fi
  if [ "$rc" -ne 0 ]; then
    echo "FAILED: $name (exit $rc); its log:"
    sed 's/^/  /' "$out/$name.log" | tail -n 60
  fi
}
export -f run_one
export out LIMIT
printf '%s\n' "${targets[@]}" | xargs -P "$JOBS" -I{} bash -c 'run_one "$@"' _ {}

echo "== summary"
failed=0
for t in "${targets[@]}"; do
  name=$(basename "$t" _fuzz_test.ts)
  read -r rc secs <"$out/$name.rc" 2>/dev/null || { rc=1; secs=0; }
  props=$(grep -cE '^fuzz [a-z_]+\.[a-z_]+: ' "$out/$name.log")
  cases=$(grep -oE '^fuzz [a-z_]+\.[a-z_]+: [0-9]+ cases' "$out/$name.log" | awk '{s += $3} END {print s + 0}')
  status=ok
  [ "$rc" -ne 0 ] && { status=FAILED; failed=$((failed + 1)); }
  printf '%-16s %-6s %2d properties %'"'"'12d cases %6d s\n' "$name" "$status" "$props" "$cases" "$secs"
done
echo "${#targets[@]} targets, $failed failed, $(($(date +%s) - started)) s"
[ "$failed" -eq 0 ]
