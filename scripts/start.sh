#!/usr/bin/env bash
# `npm start [-- ARGS]` and `deno task start [ARGS]`: the daemon with exactly the permissions that the
# configuration and ARGS given need (`--config FILE`, `--http ADDR`; default telemetry.toml).
#
# The daemon replaces this shell (exec), so it is the process npm or deno task started: a SIGTERM they
# forward reaches it, and it drains and exits with its own status. A terminal's Ctrl-C reaches it both
# directly and forwarded by npm/deno task; the daemon takes signals that close together as one.
set -uo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/find_deno.sh
source scripts/find_deno.sh || exit 1
if ! flags=$("$DENO" run --quiet --allow-read --allow-env --allow-ffi main.ts permissions "$@"); then
  exit 1
fi
# The permissions step above ran with deno.json's `"nodeModulesDir": "auto"`, which brings node_modules in line with
# deno.lock (every package of it, so a reload to another transport finds its package too). The daemon then skips that
# check: `--node-modules-dir=manual` takes ~30 ms off every start (README, "Footprint").
# shellcheck disable=SC2086 # the flags are words by design (the permissions command refuses paths with spaces)
exec "$DENO" run --node-modules-dir=manual $flags main.ts "$@"
