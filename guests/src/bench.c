/*
 * A guest-level benchmark: file system work as a C program does it through wasi-libc, timed by the
 * guest itself with clock_gettime(CLOCK_MONOTONIC). Runs under dir= (default /data/bench, created
 * and removed again) and prints one line per phase on stdout:
 *
 *   phase <name> <ops> <bytes> <ns>
 *
 * Phases (each includes opening and closing the files it works on, since closing a written file is
 * where a caching host stores it):
 *   seq_write     seq= bytes written in 64 KiB writes to a new file
 *   seq_read      the same file read back in 64 KiB reads
 *   rand_write    rand= pwrite of 4 KiB at random 4 KiB-aligned offsets of a randfile= byte file
 *                 (written sequentially beforehand, untimed)
 *   rand_read     rand= pread of 4 KiB at random offsets of that file
 *   append        append= writes of 70 to 90 bytes to an O_APPEND file
 *   small_create  files= files created in one directory, ~100 bytes each
 *   small_stat    stat of each of them
 *   readdir       readdir= passes over that directory (ops: entries read)
 *   small_unlink  unlink of each of them
 *
 * iterations= (default 1) runs every phase that many times in the same execution, each iteration
 * reporting its own lines: the first iteration in a fresh instance also measures the JIT warming up
 * the host's glue code, the later ones the steady state.
 *
 * gate=1 makes the guest read one byte from stdin before each phase (outside the timed part) and
 * stop if there is none: a harness that feeds two guests in turn measures them phase by phase in
 * the same moments of the machine.
 *
 * Arguments are key=value: seq, rand, randfile, append, files, readdir, iterations, gate, dir. Every failure
 * is reported on stderr with exit status 1 (jco's preview1 adapter turns every status into 1).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BLOCK (64 * 1024)
#define PAGE 4096

static unsigned char block[BLOCK];
static char path[4096];

static void die(const char *what, const char *at) {
  fprintf(stderr, "bench: %s %s: %s\n", what, at ? at : "", strerror(errno));
  exit(1);
}

static void fail(const char *message, long a, long b) {
  fprintf(stderr, "bench: %s (%ld, %ld)\n", message, a, b);
  exit(1);
}

static int gated;

/* Waits for the harness's go (see gate=) before a phase starts. */
static void gate(void) {
  unsigned char go;
  if (gated && read(0, &go, 1) != 1) {
    fprintf(stderr, "bench: no go on stdin before a phase\n");
    exit(1);
  }
}

static uint64_t now_ns(void) {
  struct timespec t;
  if (clock_gettime(CLOCK_MONOTONIC, &t) != 0) die("clock_gettime", NULL);
  return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static void report(const char *name, long ops, long long bytes, uint64_t started) {
  uint64_t ns = now_ns() - started;
  printf("phase %s %ld %lld %llu\n", name, ops, bytes, (unsigned long long)ns);
  fflush(stdout);
}

/* xorshift64*: the same offsets on every host. */
static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next_random(void) {
  rng ^= rng >> 12;
  rng ^= rng << 25;
  rng ^= rng >> 27;
  return rng * 0x2545f4914f6cdd1dull;
}

/* Marks a block with its index so reads can check they got the right one. */
static void stamp(long index) {
  memcpy(block, &index, sizeof index);
  memcpy(block + BLOCK - sizeof index, &index, sizeof index);
}

static long stamped(const unsigned char *data, size_t length) {
  long head, tail;
  memcpy(&head, data, sizeof head);
  memcpy(&tail, data + length - sizeof tail, sizeof tail);
  return head == tail ? head : -1;
}

static void write_all(int fd, const void *data, size_t length, const char *at) {
  const unsigned char *p = data;
  while (length > 0) {
    ssize_t n = write(fd, p, length);
    if (n <= 0) die("write", at);
    p += n;
    length -= (size_t)n;
  }
}

static const char *join(const char *dir, const char *name) {
  snprintf(path, sizeof path, "%s/%s", dir, name);
  return path;
}

static void sequential(const char *dir, long long size) {
  const char *file = join(dir, "seq.bin");
  long blocks = (long)((size + BLOCK - 1) / BLOCK);
  gate();
  uint64_t started = now_ns();
  int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) die("open", file);
  for (long i = 0; i < blocks; i++) {
    stamp(i);
    write_all(fd, block, BLOCK, file);
  }
  if (close(fd) != 0) die("close", file);
  report("seq_write", blocks, (long long)blocks * BLOCK, started);

  gate();
  started = now_ns();
  fd = open(file, O_RDONLY);
  if (fd < 0) die("open", file);
  long count = 0;
  long long total = 0;
  for (;;) {
    ssize_t n = read(fd, block, BLOCK);
    if (n < 0) die("read", file);
    if (n == 0) break;
    if (n != BLOCK) fail("short sequential read", count, (long)n);
    if (stamped(block, BLOCK) != count) fail("sequential read: wrong block", count, stamped(block, BLOCK));
    count++;
    total += n;
  }
  if (close(fd) != 0) die("close", file);
  report("seq_read", count, total, started);
  if (count != blocks) fail("sequential read: block count", count, blocks);
  if (unlink(file) != 0) die("unlink", file);
}

static void random_io(const char *dir, long ops, long long size) {
  const char *file = join(dir, "rand.bin");
  long pages = (long)(size / PAGE);
  if (pages < 1) fail("randfile must be at least 4096 bytes", (long)size, 0);
  int fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) die("open", file);
  for (long long done = 0; done < (long long)pages * PAGE; done += BLOCK) {
    long long left = (long long)pages * PAGE - done;
    stamp((long)(done / BLOCK));
    write_all(fd, block, left < BLOCK ? (size_t)left : BLOCK, file);
  }
  if (close(fd) != 0) die("close", file);

  gate();
  uint64_t started = now_ns();
  fd = open(file, O_RDWR);
  if (fd < 0) die("open", file);
  for (long i = 0; i < ops; i++) {
    long page = (long)(next_random() % (uint64_t)pages);
    memcpy(block, &page, sizeof page);
    memcpy(block + PAGE - sizeof page, &page, sizeof page);
    if (pwrite(fd, block, PAGE, (off_t)page * PAGE) != PAGE) die("pwrite", file);
  }
  if (close(fd) != 0) die("close", file);
  report("rand_write", ops, (long long)ops * PAGE, started);

  gate();
  started = now_ns();
  fd = open(file, O_RDONLY);
  if (fd < 0) die("open", file);
  for (long i = 0; i < ops; i++) {
    long page = (long)(next_random() % (uint64_t)pages);
    if (pread(fd, block, PAGE, (off_t)page * PAGE) != PAGE) die("pread", file);
  }
  if (close(fd) != 0) die("close", file);
  report("rand_read", ops, (long long)ops * PAGE, started);

  struct stat st;
  if (stat(file, &st) != 0) die("stat", file);
  if (st.st_size != (off_t)pages * PAGE) fail("random file size", (long)st.st_size, pages * PAGE);
  if (unlink(file) != 0) die("unlink", file);
}

static void appends(const char *dir, long count) {
  const char *file = join(dir, "log.txt");
  char line[128];
  long long total = 0;
  gate();
  uint64_t started = now_ns();
  int fd = open(file, O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd < 0) die("open", file);
  for (long i = 0; i < count; i++) {
    int n = snprintf(line, sizeof line, "%08ld %.*s\n", i, (int)(60 + i % 21),
                     "the quick brown fox jumps over the lazy dog, again and again and again");
    write_all(fd, line, (size_t)n, file);
    total += n;
  }
  if (close(fd) != 0) die("close", file);
  report("append", count, total, started);

  struct stat st;
  if (stat(file, &st) != 0) die("stat", file);
  if (st.st_size != (off_t)total) fail("appended file size", (long)st.st_size, (long)total);
  if (unlink(file) != 0) die("unlink", file);
}

static void small_files(const char *dir, long count, long passes) {
  char many[1024], name[1100];
  static const char content[] =
      "a small file, about a hundred bytes long, as configuration and metadata files often are.\n";
  snprintf(many, sizeof many, "%s/many", dir);
  if (mkdir(many, 0755) != 0) die("mkdir", many);

  gate();
  uint64_t started = now_ns();
  for (long i = 0; i < count; i++) {
    snprintf(name, sizeof name, "%s/f%06ld.txt", many, i);
    int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) die("open", name);
    write_all(fd, content, sizeof content - 1, name);
    if (close(fd) != 0) die("close", name);
  }
  report("small_create", count, (long long)count * (long long)(sizeof content - 1), started);

  gate();
  started = now_ns();
  for (long i = 0; i < count; i++) {
    struct stat st;
    snprintf(name, sizeof name, "%s/f%06ld.txt", many, i);
    if (stat(name, &st) != 0) die("stat", name);
    if (st.st_size != (off_t)(sizeof content - 1)) fail("small file size", i, (long)st.st_size);
  }
  report("small_stat", count, 0, started);

  gate();
  started = now_ns();
  long entries = 0;
  for (long pass = 0; pass < passes; pass++) {
    DIR *d = opendir(many);
    if (!d) die("opendir", many);
    long seen = 0;
    struct dirent *e;
    errno = 0;
    while ((e = readdir(d)) != NULL) {
      if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) seen++;
    }
    if (errno != 0) die("readdir", many);
    closedir(d);
    if (seen != count) fail("readdir: entries", seen, count);
    entries += seen;
  }
  report("readdir", entries, 0, started);

  gate();
  started = now_ns();
  for (long i = 0; i < count; i++) {
    snprintf(name, sizeof name, "%s/f%06ld.txt", many, i);
    if (unlink(name) != 0) die("unlink", name);
  }
  report("small_unlink", count, 0, started);
  if (rmdir(many) != 0) die("rmdir", many);
}

/* The preview1 adapter's state lives above the heap: growing memory would corrupt it. */
static void check_memory(unsigned long initial) {
  if (__builtin_wasm_memory_size(0) != initial) {
    fprintf(stderr, "guest: linear memory grew; link with a larger --initial-memory\n");
    exit(3);
  }
}

static long long arg(int argc, char **argv, const char *key, long long fallback) {
  size_t k = strlen(key);
  for (int i = 1; i < argc; i++) {
    if (strncmp(argv[i], key, k) == 0 && argv[i][k] == '=') {
      char *end;
      long long value = strtoll(argv[i] + k + 1, &end, 10);
      if (*end != 0 || value < 0) {
        fprintf(stderr, "bench: bad argument %s\n", argv[i]);
        exit(2);
      }
      return value;
    }
  }
  return fallback;
}

int main(int argc, char **argv) {
  unsigned long initial = __builtin_wasm_memory_size(0);
  const char *dir = "/data/bench";
  for (int i = 1; i < argc; i++) {
    if (strncmp(argv[i], "dir=", 4) == 0) dir = argv[i] + 4;
  }
  long long seq = arg(argc, argv, "seq", 16ll * 1024 * 1024);
  long rand = (long)arg(argc, argv, "rand", 2000);
  long long randfile = arg(argc, argv, "randfile", 16ll * 1024 * 1024);
  long count = (long)arg(argc, argv, "append", 10000);
  long files = (long)arg(argc, argv, "files", 1000);
  long passes = (long)arg(argc, argv, "readdir", 5);
  long iterations = (long)arg(argc, argv, "iterations", 1);
  gated = arg(argc, argv, "gate", 0) != 0;

  if (mkdir(dir, 0755) != 0) die("mkdir", dir);
  /* Every phase removes what it made, so each iteration starts from the same empty directory. */
  for (long iteration = 0; iteration < iterations; iteration++) {
    sequential(dir, seq);
    random_io(dir, rand, randfile);
    appends(dir, count);
    small_files(dir, files, passes);
  }
  if (rmdir(dir) != 0) die("rmdir", dir);
  check_memory(initial);
  return 0;
}
