#!/usr/bin/env bash
# The whole test suite, runnable on a fresh machine that has only Node/npm:
# it fetches the pinned Deno through npx and installs missing Debian packages
# the tests need, then runs format, lint, type and doc checks and every test.
# Ends with one plain line: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests start for real (servers, browsers, systemd-analyze, libzmq for the FFI path of stats and
# generate, mosquitto for MQTT); a test whose program is missing fails instead of skipping. Empty entries are skipped.
APT_PACKAGES=(chromium redis-server influxdb systemd libzmq5 mosquitto)

# --- Deno ---------------------------------------------------------------------------------
# shellcheck source=scripts/find_deno.sh
if ! source scripts/find_deno.sh; then
  echo "0 passed, 1 failed"
  exit 1
fi
echo "== using $DENO ($("$DENO" --version | head -n 1))"

# --- Debian packages ----------------------------------------------------------------------
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

passed=0
failed=0
step() { # step NAME COMMAND...: one static check counted as one test
  local name=$1
  shift
  echo "== $name"
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAILED: $name"; fi
}

step "install dependencies" "$DENO" install --quiet
step "deno fmt --check" "$DENO" fmt --check
step "deno lint" "$DENO" lint
step "deno check" "$DENO" check main.ts mod.ts
step "deno doc --lint mod.ts" "$DENO" doc --lint mod.ts
step "compile-readiness (deno compile against a stand-in runtime)" bash scripts/compile_check.sh

# The tests may read only this checkout, their temporary folder and the system's own folders: a test that reads
# a sibling folder (such as ../shared) fails loudly here instead of passing only where that folder exists.
# The browser test runs apart with -A: playwright-core probes /proc/sys/fs/binfmt_misc, which Deno grants only to -A.
# The tests' temporary files go to a folder of their own (TMPDIR), removed afterwards.
TEST_TMP=$(mktemp -d -t telebus-test.XXXXXX)
trap 'rm -rf "$TEST_TMP"' EXIT
export TMPDIR=$TEST_TMP
READ_ALLOWED="$PWD,$TEST_TMP,/usr,/etc,/proc,/sys,/dev"
run_tests() { # run_tests DENO_TEST_ARGS...: one deno test run, its counts added to the totals
  local log status summary
  log=$(mktemp)
  NO_COLOR=1 "$DENO" test "$@" 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
  summary=$(grep -E '^(ok|FAILED) \| [0-9]+ passed' "$log" | tail -n 1 | sed 's/\x1b\[[0-9;]*m//g')
  rm -f "$log"
  if [[ $summary =~ ([0-9]+)\ passed.*\|\ ([0-9]+)\ failed ]]; then
    passed=$((passed + BASH_REMATCH[1]))
    failed=$((failed + BASH_REMATCH[2]))
    [ "$status" -ne 0 ] && [ "${BASH_REMATCH[2]}" -eq 0 ] && failed=$((failed + 1))
  elif [ "$status" -ne 0 ]; then
    failed=$((failed + 1))
  fi
}

echo "== deno test (reads limited to this checkout, $TEST_TMP and system folders)"
run_tests --allow-run --allow-net --allow-env --allow-write --allow-sys --allow-ffi --allow-read="$READ_ALLOWED" \
  --parallel --ignore=tests/browser_test.ts "$@"
if [ $# -eq 0 ]; then
  echo "== deno test tests/browser_test.ts (-A)"
  run_tests -A tests/browser_test.ts
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
