#!/usr/bin/env bash
# Builds every guest in src/ into a WASI 0.2 command component in fixtures/.
# Needs Debian's clang, lld, wasi-libc and libclang-rt-14-dev-wasm32:
#   apt-get install -y clang lld wasi-libc libclang-rt-14-dev-wasm32
# OUT_DIR overrides where the components go (the fixture test builds into a temp dir).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
out="${OUT_DIR:-$here/fixtures}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"
jco="$here/node_modules/.bin/jco"
for src in "$here"/src/*.c; do
  name="$(basename "$src" .c)"
  # A large initial memory keeps wasi-libc's heap from growing over the preview1 adapter's state
  # (see DESIGN.md §4); -s strips names so the fixture is small and reproducible.
  (cd "$here/src" && clang --target=wasm32-wasi -O2 -s -Wl,--initial-memory=134217728 \
    "$name.c" -o "$work/$name.wasm")
  "$jco" new "$work/$name.wasm" --wasi-command -o "$out/$name.component.wasm" >/dev/null
  echo "built $out/$name.component.wasm ($(wc -c <"$out/$name.component.wasm") bytes)"
done
