"""Deterministic packaging of the guest's standard library (called by build.sh with the build Python).

  stdlib.py pyc DIR GUEST_DIR          compile every .py under DIR into __pycache__ (unchecked-hash,
                                       co_filename under GUEST_DIR, where the guest sees the files)
  stdlib.py zip DIR OUT [--stored] [--no-pyc]
                                       a zip of DIR for zipimport: sorted entries, fixed times/modes,
                                       each .pyc beside its source (where zipimport looks for it)
  stdlib.py tar DIR OUT [--no-pyc]     an uncompressed ustar of DIR: sorted, fixed times/owners/modes
  stdlib.py sysconfig SRC DST OLD=NEW...
                                       the sysconfig data with build paths replaced, formatted anew

The bytes depend only on the files, the build Python and (for a deflated zip) the host's zlib:
run with PYTHONHASHSEED=0 so sets and frozensets in constants marshal in a fixed order.
"""

import compileall
import pprint
import os
import py_compile
import sys
import tarfile
import time
import zipfile

# zip stores local times; SOURCE_DATE_EPOCH read as UTC (build.sh exports TZ=UTC).
EPOCH = int(os.environ.get("SOURCE_DATE_EPOCH", "1767225600"))
ZIP_TIME = time.gmtime(max(EPOCH, 315532800))[:6]


def files(root, with_pyc):
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            rel = os.path.relpath(os.path.join(dirpath, name), root).replace(os.sep, "/")
            if not with_pyc and ("__pycache__/" in rel or rel.endswith(".pyc")):
                continue
            out.append(rel)
    return sorted(out)


def pyc(root, guest_dir):
    ok = compileall.compile_dir(
        root,
        ddir=guest_dir,
        quiet=1,
        workers=1,
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )
    # The pruned stdlib has no deliberately invalid files: a module that fails to compile is a bug.
    if not ok:
        raise SystemExit("some stdlib files did not compile (listed above)")


def zip_name(rel):
    """zipimport never looks in __pycache__: a .pyc goes next to its source, as `name.pyc`."""
    head, _, tail = rel.rpartition("__pycache__/")
    if not tail.endswith(".pyc") or not _:
        return rel
    return head + tail.split(".")[0] + ".pyc"


def make_zip(root, out, stored, with_pyc):
    method = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(out, "w", compression=method, compresslevel=None if stored else 9) as zf:
        for rel in sorted(files(root, with_pyc), key=zip_name):
            info = zipfile.ZipInfo(zip_name(rel), date_time=ZIP_TIME)
            info.compress_type = method
            info.external_attr = 0o100644 << 16
            info.create_system = 3
            with open(os.path.join(root, rel), "rb") as f:
                zf.writestr(info, f.read())


def make_tar(root, out, with_pyc):
    dirs = set()
    with tarfile.open(out, "w", format=tarfile.USTAR_FORMAT) as tf:
        for rel in files(root, with_pyc):
            parts = rel.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                d = "/".join(parts[:i])
                if d not in dirs:
                    dirs.add(d)
                    info = tarfile.TarInfo(d)
                    info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, EPOCH
                    tf.addfile(info)
            info = tarfile.TarInfo(rel)
            info.size, info.mode, info.mtime = os.path.getsize(os.path.join(root, rel)), 0o644, EPOCH
            with open(os.path.join(root, rel), "rb") as f:
                tf.addfile(info, f)


def sysconfig(source, target, replacements):
    """The sysconfig data with build paths replaced, then formatted as sysconfig writes it.

    Replacing in the formatted text would keep line breaks that depend on the paths' lengths, so
    builds in different directories would differ."""
    scope = {}
    with open(source, encoding="utf-8") as f:
        exec(f.read(), scope)

    def fix(value):
        if isinstance(value, str):
            for old, new in replacements:
                value = value.replace(old, new)
        return value

    data = {key: fix(value) for key, value in scope["build_time_vars"].items()}
    with open(target, "w", encoding="utf-8") as f:
        f.write("# system configuration generated and used by the sysconfig module\n")
        f.write("build_time_vars = ")
        pprint.pprint(data, stream=f)


def main(argv):
    cmd, root, target, *flags = argv
    if cmd == "sysconfig":
        sysconfig(root, target, [tuple(pair.split("=", 1)) for pair in flags])
    elif cmd == "pyc":
        pyc(root, target)
    elif cmd == "zip":
        make_zip(root, target, "--stored" in flags, "--no-pyc" not in flags)
    elif cmd == "tar":
        make_tar(root, target, "--no-pyc" not in flags)
    else:
        raise SystemExit(f"unknown command {cmd}")


if __name__ == "__main__":
    main(sys.argv[1:])
