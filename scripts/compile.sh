#!/usr/bin/env bash
# Builds the one telebus executable with `deno compile`, with the least-privilege
# permissions of a configuration baked in (a compiled binary takes no permission
# flags at run time), only the npm packages the daemon imports, and the sample
# configuration embedded.
#
#   scripts/compile.sh [--config FILE] [--installed-config PATH] [--cwd DIR]
#                      [--env-file FILE] [--target TRIPLE] [--output PATH]
#
#   --config FILE            config whose needs are baked in (default: telemetry.toml)
#   --installed-config PATH  where the service reads it (default: /etc/telebus/telemetry.toml)
#   --cwd DIR                the service's working directory (default: /var/lib/telebus)
#   --env-file FILE          the service's environment, for ${VAR}s (default: deploy/telebus.env)
#   --target TRIPLE          x86_64-unknown-linux-gnu or aarch64-unknown-linux-gnu (default: the host)
#   --output PATH            default: dist/telebus (dist/telebus-TRIPLE with --target)
#
# DENORT_BIN, when set, is the base binary (scripts/compile_check.sh sets a stand-in).
set -euo pipefail
cd "$(dirname "$0")/.."

config=telemetry.toml
installed=/etc/telebus/telemetry.toml
workdir=/var/lib/telebus
envfile=deploy/telebus.env
target=""
output=""
while [ $# -gt 0 ]; do
  case $1 in
    --config) config=$2; shift 2 ;;
    --installed-config) installed=$2; shift 2 ;;
    --cwd) workdir=$2; shift 2 ;;
    --env-file) envfile=$2; shift 2 ;;
    --target) target=$2; shift 2 ;;
    --output) output=$2; shift 2 ;;
    *) echo "compile.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -n "$output" ] || output=dist/telebus${target:+-$target}

# The flags, computed in the service's environment (only the env file's variables).
flags=$(
  env -i PATH="$PATH" HOME="${HOME:-/tmp}" DENO_DIR="${DENO_DIR:-}" bash -c '
    set -a; [ -f "$1" ] && . "$1"; set +a
    [ -n "$DENO_DIR" ] || unset DENO_DIR
    exec deno run --quiet --allow-read --allow-env --allow-ffi main.ts permissions --config "$2" --cwd "$3" --installed-config "$4"
  ' _ "$envfile" "$config" "$workdir" "$installed"
)
echo "== permissions: $flags"

# --node-modules-dir=none with --exclude-unused-npm embeds only the npm packages reachable
# from main.ts (not playwright-core and other test/dev packages of node_modules/), taken
# from Deno's npm cache; fill it first so that what to exclude from it can be found.
deno cache --quiet --node-modules-dir=none main.ts

# zeromq ships prebuilt addons for every platform (~33 MB): keep only the glibc ones of the target.
case ${target:-$(uname -m)} in
  aarch64* | arm64*) arch=arm64 ;;
  x86_64* | amd64*) arch=x64 ;;
  *) echo "compile.sh: unsupported target ${target:-$(uname -m)}" >&2; exit 2 ;;
esac
npm_cache=$(deno info --json | sed -n 's/^ *"npmCache": "\(.*\)",*$/\1/p')
excludes=()
for z in "$npm_cache"/registry.npmjs.org/zeromq/*/; do
  [ -d "${z}build" ] || continue
  for d in "${z}build"/*/ "${z}build/linux"/*/ "${z}build/linux/$arch/node"/*/ "${z}src/" "${z}script/"; do
    [ -d "$d" ] || continue
    case $d in
      "${z}build/linux/" | "${z}build/linux/$arch/" | "${z}build/linux/$arch/node/glibc-"*) ;;
      *) excludes+=(--exclude "${d%/}") ;;
    esac
  done
done
# Its addon loader (cmake-ts) ships ~5 MB of source maps, never read at run time.
for m in "$npm_cache"/registry.npmjs.org/cmake-ts/*/build/*.map; do
  [ -f "$m" ] && excludes+=(--exclude "$m")
done

# With `lazy-dynamic-imports` (deno.json) `deno compile` embeds only main.ts's static graph: every module that a
# literal `import("./…")` or `new Worker(new URL("./…", import.meta.url))` of telebus's code loads (commands,
# transports, workers) is named here, with its own static graph. Test files are left out.
includes=()
while IFS=: read -r file spec; do
  includes+=(--include "$(realpath --relative-to=. "$(dirname "$file")/$spec")")
done < <(
  find main.ts start.ts mod.ts cli codecs config core files net processors protocol transports -name '*.ts' \
    ! -name '*_test.ts' ! -name 'test_*.ts' ! -name '*_probe.ts' -print0 |
    xargs -0 grep -oE 'import\("\.{1,2}/[^"]+"\)|new URL\("\.{1,2}/[^"]+\.ts", import\.meta\.url\)' |
    sed -E 's/^([^:]+):(import\(|new URL\()"([^"]+)".*$/\1:\3/' | sort -u
)

# shellcheck disable=SC2086 # the flags are meant to split
exec deno compile $flags \
  --node-modules-dir=none --exclude-unused-npm "${excludes[@]}" \
  --include telemetry.toml "${includes[@]}" \
  ${target:+--target "$target"} \
  --output "$output" main.ts
