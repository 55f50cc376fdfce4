"""The demo's guest: keeps a notes file and a SQLite database in /data.

Each execution appends a line to /data/notes.txt and a row to /data/visits.db (Python's own
sqlite3 module, its file stored by eryx-vfs like any other), then reports how both have grown.
"""

import datetime
import os
import sqlite3
import sys
from pathlib import Path

data = Path("/data")
note = " ".join(sys.argv[1:]) or "hello"
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")

notes = data / "notes.txt"
with notes.open("a", encoding="utf-8") as f:
    f.write(f"{now} {note}\n")
lines = notes.read_text(encoding="utf-8").splitlines()

db = sqlite3.connect(data / "visits.db")
db.execute("CREATE TABLE IF NOT EXISTS visits (id INTEGER PRIMARY KEY, at TEXT, note TEXT)")
with db:
    db.execute("INSERT INTO visits (at, note) VALUES (?, ?)", (now, note))
(rows,) = db.execute("SELECT count(*) FROM visits").fetchone()
(check,) = db.execute("PRAGMA integrity_check").fetchone()
db.close()

print(f"Python {sys.version.split()[0]} on {sys.platform}; /data holds {sorted(os.listdir(data))}")
print(f"notes.txt: {len(lines)} lines, the last ones:")
for line in lines[-3:]:
    print(f"  {line}")
print(f"visits.db: {rows} rows, integrity_check {check}")
print(f"RESULT lines={len(lines)} rows={rows} check={check}")
