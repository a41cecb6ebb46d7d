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
# shellcheck disable=SC2086 # the flags are words by design (the permissions command refuses paths with spaces)
exec "$DENO" run $flags main.ts "$@"
