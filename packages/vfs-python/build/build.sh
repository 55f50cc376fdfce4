#!/usr/bin/env bash
# Builds CPython 3.11 for WASI (a WASI 0.2 command component) and its pruned standard library, and
# writes the compact committed form into ../guest/ (see README.md next to this script).
#
# Needs (Debian bookworm, as root or with these installed):
#   apt-get install -y clang-14 lld-14 llvm-14 wasi-libc libclang-rt-14-dev-wasm32 python3.11 dpkg-dev
#   a `deb-src` line for bookworm (the script adds one when root and none is configured),
#   Node 20 and the repo's node_modules (jco from guests/, better-sqlite3's SQLite amalgamation).
#   The build Python is Debian's python3.11 (3.11.2, the same release as the guest).
# Takes 15-20 minutes on 2 cores (configure ~8, make ~5); the Python package index is not needed.
# Produces, in OUT_DIR (default ../guest):
#   python.component.wasm.br   the stripped component, brotli-compressed (Node's zlib decompresses it)
#   python311.zip              the pruned stdlib with unchecked-hash .pyc files, for zipimport (the
#                              form chosen by measured start-up: see README.md)
#   checksums.txt              sha256 of every artifact and of the pinned inputs
#   BUILD-INFO                 versions of CPython, clang, wasi-libc, jco, zlib, SQLite, and the flags
# Scratch: WORK (default /work/pybuild/work) holds the source trees and objects; never the repo.
# Stages already done in WORK are reused; delete WORK for a clean build.
#
# Deterministic: the stripped core module, the component, the zip (sorted entries, fixed times and
# modes, PYTHONHASHSEED=0) and the brotli stream, given the same Debian packages and jco. What is
# not pinned: the Debian package versions themselves (a newer clang/wasi-libc/python3.11 changes
# the bytes; BUILD-INFO records them) and the host zlib that deflates the zip.
set -euo pipefail
# The whole script is one block, so bash parses it before running it: editing it mid-build is safe.
{

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
out="${OUT_DIR:-$here/../guest}"
work="${WORK:-/work/pybuild/work}"
jobs="${JOBS:-2}"
jco="$repo/guests/node_modules/.bin/jco"
build_python="${BUILD_PYTHON:-/usr/bin/python3.11}"
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-1767225600}" # 2026-01-01T00:00:00Z
export PYTHONHASHSEED=0 LC_ALL=C TZ=UTC

py_version=3.11.2
py_orig_sha256=2411c74bda5bbcfcddaf4531f66d1adc73f247f529aee981b029513aefdbf849
zlib_version=1.2.13
# Where the guest finds its stdlib: PYTHONHOME=/usr/local, and the zip is on the default sys.path.
prefix=/usr/local
zip_guest_path="$prefix/lib/python311.zip"
# Memory: a small initial memory that the heap grows as needed, up to 256 MiB, beyond which malloc
# fails (a Python MemoryError, never a trap). Growing is safe because cabi_realloc.c hands the
# preview1 adapter its state from the heap (DESIGN.md §4/§9: with the adapter's own memory.grow pages,
# Debian's wasi-libc (2022) heap overran them). The stack goes first so an overflow traps instead of
# corrupting. The allocator's object is linked from the CPython tree (a path relative to it, so the
# link line, and BUILD-INFO, do not depend on WORK).
initial_memory=16777216
max_memory=268435456
ldflags_wasm="-z stack-size=524288 -Wl,--stack-first -Wl,--initial-memory=$initial_memory -Wl,--max-memory=$max_memory Modules/eryx_cabi_realloc.o"
wasi_emulated="-D_WASI_EMULATED_MMAN -D_WASI_EMULATED_GETPID -D_WASI_EMULATED_PROCESS_CLOCKS"
sqlite_flags="-Os -DSQLITE_THREADSAFE=0 -DSQLITE_OMIT_WAL -DSQLITE_OMIT_LOAD_EXTENSION -DSQLITE_DEFAULT_MEMSTATUS=0 $wasi_emulated"
zlib_flags="-O2 -D_LARGEFILE64_SOURCE=1 -DHAVE_HIDDEN"
cc="clang-14 --target=wasm32-wasi"
cflags="-O2"
configure_flags="--host=wasm32-unknown-wasi --prefix=$prefix --disable-test-modules --without-ensurepip --disable-ipv6"
# Dropped from the stdlib: tests, GUI, the packaging bootstrap, and modules that cannot work in WASI
# without threads, subprocesses or ctypes.
prune=(test idlelib tkinter turtledemo turtle.py ensurepip lib2to3/tests distutils/tests ctypes
  unittest/test venv __phello__)

# The lines of BUILD-INFO that this script alone decides (test/artifacts.test.ts compares them).
config() {
  echo "cpython $py_version (Debian python3.11_$py_version.orig.tar.gz, sha256 $py_orig_sha256)"
  echo "zlib $zlib_version (Debian zlib_$zlib_version.dfsg source)"
  echo "source-date-epoch $SOURCE_DATE_EPOCH"
  echo "configure $configure_flags"
  echo "cflags $cflags"
  echo "ldflags $ldflags_wasm"
  echo "sqlite-cflags $sqlite_flags"
  echo "zlib-cflags $zlib_flags"
  echo "prune ${prune[*]}"
  echo "stdlib $zip_guest_path (PYTHONHOME=$prefix), .pyc unchecked-hash"
}
if [ "${1:-}" = --print-config ]; then config; exit 0; fi

need() { command -v "$1" >/dev/null || missing+=("$1"); }
missing=()
for tool in clang-14 wasm-ld-14 llvm-ar-14 llvm-ranlib-14 llvm-strip-14 node "$build_python"; do need "$tool"; done
[ -e /usr/lib/wasm32-wasi/libc.a ] || missing+=(wasi-libc)
[ -e /usr/lib/llvm-14/lib/clang/14.0.6/lib/wasi/libclang_rt.builtins-wasm32.a ] || missing+=(libclang-rt-14-dev-wasm32)
if [ ${#missing[@]} -gt 0 ]; then
  echo "missing: ${missing[*]}" >&2
  echo "install with: apt-get install -y clang-14 lld-14 llvm-14 wasi-libc libclang-rt-14-dev-wasm32 python3.11 dpkg-dev" >&2
  exit 1
fi
[ -x "$jco" ] || { echo "jco not found at $jco: install the repo's dependencies" >&2; exit 1; }

mkdir -p "$work" "$out"
work="$(cd "$work" && pwd)"
src="$work/src"
deps="$work/deps"
stage="$work/stage"
mkdir -p "$src" "$deps/include" "$deps/lib"

# --- sources: CPython's upstream tarball and zlib from Debian's source packages ---------------------
fetch() { # package, file glob
  if ! ls "$src"/$2 >/dev/null 2>&1; then
    if ! grep -rqs '^Types:.*deb-src\|^deb-src' /etc/apt/sources.list /etc/apt/sources.list.d/; then
      [ "$(id -u)" = 0 ] || { echo "add a deb-src line for bookworm to /etc/apt/sources.list" >&2; exit 1; }
      printf 'Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: bookworm\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
        >/etc/apt/sources.list.d/eryx-deb-src.sources
      apt-get update -qq
    fi
    (cd "$src" && apt-get source --download-only -qq "$1")
  fi
}
fetch python3.11 "python3.11_$py_version.orig.tar.gz"
fetch zlib "zlib_$zlib_version.dfsg.orig.tar.*"
echo "$py_orig_sha256  $src/python3.11_$py_version.orig.tar.gz" | sha256sum -c --quiet - ||
  { echo "python3.11_$py_version.orig.tar.gz is not the pinned upstream tarball" >&2; exit 1; }

# --- zlib, for the zlib module (zipimport of a deflated zip, gzip) ------------------------------------
if [ ! -e "$deps/lib/libz.a" ]; then
  rm -rf "$work/zlib" && mkdir "$work/zlib"
  tar -xf "$src"/zlib_$zlib_version.dfsg.orig.tar.* -C "$work/zlib" --strip-components=1
  (cd "$work/zlib" && for f in adler32 compress crc32 deflate gzclose gzlib gzread gzwrite infback \
    inffast inflate inftrees trees uncompr zutil; do $cc $zlib_flags -c $f.c -o $f.o; done &&
    llvm-ar-14 rcD "$deps/lib/libz.a" ./*.o && cp zlib.h zconf.h "$deps/include/")
fi

# --- SQLite, the amalgamation better-sqlite3 ships (the same one the C guests use) ---------------------
sqlite_dir="$(cd "$repo/packages/vfs-sqlite" && node -e '
  const { dirname, join } = require("node:path");
  console.log(join(dirname(require.resolve("better-sqlite3/package.json")), "deps", "sqlite3"));')"
if [ ! -e "$deps/lib/libsqlite3.a" ]; then
  $cc $sqlite_flags -c "$sqlite_dir/sqlite3.c" -o "$work/sqlite3.o"
  llvm-ar-14 rcD "$deps/lib/libsqlite3.a" "$work/sqlite3.o"
  cp "$sqlite_dir/sqlite3.h" "$deps/include/"
fi
sqlite_version="$(sed -n 's/^#define SQLITE_VERSION *"\(.*\)"/\1/p' "$sqlite_dir/sqlite3.h")"

# --- CPython ----------------------------------------------------------------------------------------
cpython="$work/cpython"
if [ ! -e "$cpython/Makefile" ]; then
  rm -rf "$cpython" && mkdir "$cpython"
  tar -xzf "$src/python3.11_$py_version.orig.tar.gz" -C "$cpython" --strip-components=1
  # sys.version carries the build date: pin it to SOURCE_DATE_EPOCH (clang 14 ignores the variable).
  sed -i "1i #define DATE \"$(date -u -d "@$SOURCE_DATE_EPOCH" '+%b %e %Y')\"\n#define TIME \"$(date -u -d "@$SOURCE_DATE_EPOCH" '+%H:%M:%S')\"" \
    "$cpython/Modules/getbuildinfo.c"
  # Host pkg-config must not hand native libraries to the cross build.
  (cd "$cpython" && CONFIG_SITE=Tools/wasm/config.site-wasm32-wasi \
    CC="$cc" CPP="$cc -E" AR=llvm-ar-14 RANLIB=llvm-ranlib-14 PKG_CONFIG=false \
    CFLAGS="$cflags -ffile-prefix-map=$cpython=/usr/src/python3.11" \
    ZLIB_CFLAGS="-I$deps/include" ZLIB_LIBS="-L$deps/lib -lz" \
    LIBSQLITE3_CFLAGS="-I$deps/include" LIBSQLITE3_LIBS="-L$deps/lib -lsqlite3 -lwasi-emulated-mman" \
    ./configure $configure_flags --build="$(./config.guess)" --with-build-python="$build_python" \
    >"$work/configure.log" 2>&1) || { tail -30 "$work/configure.log" >&2; exit 1; }
fi
# configure drops a module quietly when a check fails (SQLite must keep sqlite3_enable_shared_cache).
for mod in _SQLITE3 ZLIB BINASCII; do
  grep -q "^MODULE_${mod}_STATE=yes" "$cpython/Makefile" ||
    { echo "configure disabled ${mod,,}: see $work/configure.log" >&2; rm -f "$cpython/Makefile"; exit 1; }
done
# Relinked whenever the link flags or the allocator change (the objects stay).
link_stamp="$ldflags_wasm $(sha256sum <"$here/cabi_realloc.c")"
if [ ! -e "$cpython/python.wasm" ] || [ "$(cat "$cpython/.eryx-link" 2>/dev/null)" != "$link_stamp" ]; then
  $cc $cflags -c "$here/cabi_realloc.c" -o "$cpython/Modules/eryx_cabi_realloc.o"
  # pybuilddir.txt's rule writes the sysconfig data, which records the link flags: redone too.
  rm -f "$cpython/python.wasm" "$cpython/pybuilddir.txt"
  # LDFLAGS_NODIST comes after configure's own (--initial-memory=10485760) on the link line, so ours wins.
  (cd "$cpython" && make -j"$jobs" LDFLAGS_NODIST="$ldflags_wasm" >"$work/make.log" 2>&1) ||
    { tail -30 "$work/make.log" >&2; exit 1; }
  echo "$link_stamp" >"$cpython/.eryx-link"
fi
# --- the component ----------------------------------------------------------------------------------
mkdir -p "$stage"
llvm-strip-14 --strip-all "$cpython/python.wasm" -o "$stage/python.wasm"
"$jco" new "$stage/python.wasm" --wasi-command -o "$stage/python.component.wasm" >/dev/null

# --- the stdlib: pruned source, the generated sysconfig data, unchecked-hash .pyc files ----------------
lib="$stage/lib/python3.11"
rm -rf "$stage/lib" && mkdir -p "$lib"
(cd "$cpython/Lib" && tar -cf - --exclude=__pycache__ .) | tar -xf - -C "$lib"
for p in "${prune[@]}"; do rm -rf "${lib:?}/$p"; done
builddir="$(cat "$cpython/pybuilddir.txt")"
# The sysconfig data records the build's paths: replace the scratch directory with a fixed name.
sysconfigdata="$(basename "$cpython/$builddir/"_sysconfigdata_*.py)"
"$build_python" "$here/stdlib.py" sysconfig "$cpython/$builddir/$sysconfigdata" "$lib/$sysconfigdata" \
  "$cpython=/usr/src/python3.11" "$deps=/usr/src/deps"
# co_filename points into the zip, so tracebacks find the source through zipimport's get_source.
"$build_python" "$here/stdlib.py" pyc "$lib" "$zip_guest_path"
"$build_python" "$here/stdlib.py" zip "$lib" "$stage/python311.zip"

# --- the committed form -----------------------------------------------------------------------------
node -e '
  const { readFileSync, writeFileSync } = require("node:fs");
  const { brotliCompressSync, constants: c } = require("node:zlib");
  const [from, to] = process.argv.slice(1);
  writeFileSync(to, brotliCompressSync(readFileSync(from), {
    params: { [c.BROTLI_PARAM_QUALITY]: 11, [c.BROTLI_PARAM_LGWIN]: 24, [c.BROTLI_PARAM_SIZE_HINT]: 0 },
  }));' "$stage/python.component.wasm" "$out/python.component.wasm.br"
cp "$stage/python311.zip" "$out/python311.zip"

{
  echo "clang $(dpkg-query -W -f '${Version}' clang-14)"
  echo "lld $(dpkg-query -W -f '${Version}' lld-14)"
  echo "wasi-libc $(dpkg-query -W -f '${Version}' wasi-libc)"
  echo "libclang-rt-14-dev-wasm32 $(dpkg-query -W -f '${Version}' libclang-rt-14-dev-wasm32)"
  echo "build-python $("$build_python" -c 'import sys; print(sys.version.split()[0])')"
  echo "jco $("$jco" --version)"
  echo "sqlite $sqlite_version (better-sqlite3 deps/sqlite3)"
  config
} >"$out/BUILD-INFO"

# Checksums of the inputs this repo holds and of every artifact, so a machine without the toolchain
# can still prove that the committed artifacts are the build of the committed scripts.
{
  (cd "$here/.." && sha256sum build/build.sh build/cabi_realloc.c build/stdlib.py)
  (cd "$sqlite_dir" && sha256sum sqlite3.c | sed 's#  #  better-sqlite3/deps/sqlite3/#')
  (cd "$out" && sha256sum BUILD-INFO python.component.wasm.br python311.zip | sed 's#  #  guest/#')
} >"$out/checksums.txt"
echo "wrote $out: $(cd "$out" && du -b python.component.wasm.br python311.zip | tr '\n\t' '  ')"
exit 0
}
