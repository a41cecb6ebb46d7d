# Sourced by the scripts: sets DENO to the pinned Deno, fetched through npx when `deno` on the PATH is another
# version or missing, and puts its folder first on the PATH. Returns 1 when it cannot be obtained.
DENO_VERSION=2.9.6
if command -v deno >/dev/null 2>&1 && deno --version 2>/dev/null | grep -q "^deno $DENO_VERSION "; then
  DENO=$(command -v deno)
else
  echo "== fetching deno $DENO_VERSION through npx" >&2
  DENO=$(npx -y "deno@$DENO_VERSION" eval --no-config 'console.log(Deno.execPath())' 2>/dev/null | tail -n 1)
fi
if [ -x "${DENO:-}" ]; then
  PATH="$(dirname "$DENO"):$PATH"
  export PATH
else
  echo "could not obtain deno $DENO_VERSION through npx" >&2
  false
fi
