/*
 * SQLite itself, compiled to WASI, as a guest: the real-world test of the filesystem host (random
 * pread/pwrite, fsync, ftruncate, a rollback journal created and deleted per transaction). The
 * database lives in /data/guest.db, so it persists exactly as the mount's storage does.
 *   sqlite_guest add <n>           one transaction: n rows tagged with the next run number
 *   sqlite_guest check <runs> <n>  fails unless the database holds n rows from `runs` runs and
 *                                  passes PRAGMA integrity_check
 * Built from the SQLite amalgamation that better-sqlite3 ships (see scripts/build.sh).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqlite3.h"

static sqlite3 *db;

static int fail(const char *what) {
  fprintf(stderr, "sqlite_guest: %s: %s\n", what, db ? sqlite3_errmsg(db) : "out of memory");
  return 1;
}

static long query_long(const char *sql) {
  sqlite3_stmt *st;
  long value = -1;
  if (sqlite3_prepare_v2(db, sql, -1, &st, 0) != SQLITE_OK) return -1;
  if (sqlite3_step(st) == SQLITE_ROW) value = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return value;
}

static int integrity_ok(void) {
  sqlite3_stmt *st;
  int ok = 0;
  if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, 0) != SQLITE_OK) return 0;
  if (sqlite3_step(st) == SQLITE_ROW) ok = strcmp((const char *)sqlite3_column_text(st, 0), "ok") == 0;
  sqlite3_finalize(st);
  return ok;
}

static int add(long n) {
  if (sqlite3_exec(db,
                   "CREATE TABLE IF NOT EXISTS rows(id INTEGER PRIMARY KEY, run INTEGER NOT NULL, "
                   "payload TEXT NOT NULL);"
                   "CREATE INDEX IF NOT EXISTS rows_run ON rows(run);",
                   0, 0, 0) != SQLITE_OK)
    return fail("create");
  long run = query_long("SELECT coalesce(max(run), 0) + 1 FROM rows");
  if (sqlite3_exec(db, "BEGIN", 0, 0, 0) != SQLITE_OK) return fail("begin");
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(db, "INSERT INTO rows(run, payload) VALUES (?, ?)", -1, &st, 0) != SQLITE_OK)
    return fail("prepare");
  for (long i = 0; i < n; i++) {
    char payload[160];
    snprintf(payload, sizeof payload, "run %ld row %ld: the quick brown fox jumps over the lazy dog %ld", run,
             i, i * 7919);
    sqlite3_bind_int64(st, 1, run);
    sqlite3_bind_text(st, 2, payload, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_DONE) return fail("insert");
    sqlite3_reset(st);
  }
  sqlite3_finalize(st);
  if (sqlite3_exec(db, "COMMIT", 0, 0, 0) != SQLITE_OK) return fail("commit");
  printf("run %ld: added %ld rows, %ld in total\n", run, n, query_long("SELECT count(*) FROM rows"));
  return 0;
}

static int check(long runs, long n) {
  long count = query_long("SELECT count(*) FROM rows");
  long last = query_long("SELECT max(run) FROM rows");
  if (count != n || last != runs) {
    fprintf(stderr, "sqlite_guest: expected %ld rows from %ld runs, found %ld rows from %ld runs\n", n, runs,
            count, last);
    return 1;
  }
  if (!integrity_ok()) {
    fprintf(stderr, "sqlite_guest: integrity_check failed\n");
    return 1;
  }
  printf("ok: %ld rows from %ld runs, integrity ok\n", count, last);
  return 0;
}

/* The preview1 adapter's state lives above the heap: growing memory would corrupt it. */
static void check_memory(unsigned long initial) {
  if (__builtin_wasm_memory_size(0) != initial) {
    fprintf(stderr, "guest: linear memory grew; link with a larger --initial-memory\n");
    exit(3);
  }
}

int main(int argc, char **argv) {
  unsigned long initial = __builtin_wasm_memory_size(0);
  if (sqlite3_open("/data/guest.db", &db) != SQLITE_OK) return fail("open /data/guest.db");
  int status;
  if (argc >= 3 && strcmp(argv[1], "add") == 0) {
    status = add(strtol(argv[2], NULL, 10));
  } else if (argc >= 4 && strcmp(argv[1], "check") == 0) {
    status = check(strtol(argv[2], NULL, 10), strtol(argv[3], NULL, 10));
  } else {
    fprintf(stderr, "usage: sqlite_guest add <n> | sqlite_guest check <runs> <rows>\n");
    status = 2;
  }
  if (sqlite3_close(db) != SQLITE_OK) status = fail("close");
  check_memory(initial);
  return status;
}
