"""Prints the rows of a read-only SQLite query, tab-separated (bench/bugsink.sh reads Bugsink's
database with it; nothing on the machine needs the sqlite3 command)."""

import sqlite3
import sys

try:
    db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True, timeout=5)
    for row in db.execute(sys.argv[2]):
        print("\t".join(str(v) for v in row))
except sqlite3.Error:
    print(0)
