# The Python bench's file-heavy script (bench/src/python.ts), run by the guest with /data on each
# backend and by the host's CPython on a temporary directory: `python3 file-heavy.py <dir> <n>`.
# It times its own work and prints the two phases in milliseconds as one line of JSON.
import json
import os
import sqlite3
import sys
import time

base, n = sys.argv[1], int(sys.argv[2])
root = os.path.join(base, 'files')
payload = bytes(range(256)) * 4

start = time.perf_counter()
os.mkdir(root)
for i in range(n):
    # 'x': create, failing if the file exists, then write.
    with open(os.path.join(root, f'f{i}.bin'), 'xb') as f:
        f.write(payload)
for i in range(n):
    with open(os.path.join(root, f'f{i}.bin'), 'rb') as f:
        if f.read() != payload:
            raise SystemExit(f'f{i}.bin: read back differs')
names = os.listdir(root)
if len(names) != n:
    raise SystemExit(f'listed {len(names)} files, expected {n}')
for name in names:
    os.remove(os.path.join(root, name))
os.rmdir(root)
files_done = time.perf_counter()

# Each insert its own transaction (Python's default journal mode and synchronous setting).
path = os.path.join(base, 'bench.db')
db = sqlite3.connect(path)
db.execute('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, value BLOB)')
db.commit()
for i in range(n):
    db.execute('INSERT INTO t (name, value) VALUES (?, ?)', (f'row {i}', payload[:100]))
    db.commit()
count = db.execute('SELECT count(*) FROM t').fetchone()[0]
db.close()
if count != n:
    raise SystemExit(f'{count} rows, expected {n}')
os.remove(path)
done = time.perf_counter()

print(json.dumps({'files_ms': (files_done - start) * 1000, 'sqlite_ms': (done - files_done) * 1000}))
