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

# The SQLite amalgamation that better-sqlite3 (a dependency of @eryx/vfs-sqlite) ships.
sqlite_dir() {
  (cd "$here" && node -e '
    const { createRequire } = require("node:module");
    const fromSqlite = createRequire(require.resolve("@eryx/vfs-sqlite/package.json"));
    const pkg = fromSqlite.resolve("better-sqlite3/package.json");
    console.log(require("node:path").join(require("node:path").dirname(pkg), "deps", "sqlite3"));
  ')
}

for src in "$here"/src/*.c; do
  name="$(basename "$src" .c)"
  # A large initial memory keeps wasi-libc's heap from growing over the preview1 adapter's state
  # (see DESIGN.md §4); -s strips names so the fixture is small and reproducible.
  flags=(-O2)
  extra=()
  if [ "$name" = sqlite_guest ]; then
    sqlite="$(sqlite_dir)"
    flags=(-Os -I"$sqlite" -DSQLITE_OMIT_LOAD_EXTENSION -DSQLITE_THREADSAFE=0 -DSQLITE_OMIT_DEPRECATED
      -DSQLITE_OMIT_SHARED_CACHE -DSQLITE_DEFAULT_MEMSTATUS=0
      -D_WASI_EMULATED_MMAN -D_WASI_EMULATED_GETPID -D_WASI_EMULATED_PROCESS_CLOCKS)
    extra=("$sqlite/sqlite3.c" -lwasi-emulated-mman -lwasi-emulated-getpid -lwasi-emulated-process-clocks)
  fi
  (cd "$here/src" && clang --target=wasm32-wasi "${flags[@]}" -s -Wl,--initial-memory=134217728 \
    "$name.c" "${extra[@]}" -o "$work/$name.wasm")
  "$jco" new "$work/$name.wasm" --wasi-command -o "$out/$name.component.wasm" >/dev/null
  echo "built $out/$name.component.wasm ($(wc -c <"$out/$name.component.wasm") bytes)"
done

# Checksums of every input and output, so tests on machines without clang still prove that the
# committed fixtures are the build of the committed sources (test/fixtures.test.ts).
{
  (cd "$here" && sha256sum src/*.c)
  (cd "$(sqlite_dir)" && sha256sum sqlite3.c | sed 's#  #  better-sqlite3/deps/sqlite3/#')
  (cd "$out" && sha256sum ./*.component.wasm | sed 's#  \./#  fixtures/#')
} >"$out/checksums.txt"
echo "wrote $out/checksums.txt"
