/*
 * A tiny persistent notes program, the guest of the persistence tests and the demo.
 *   notes add <text>   appends a line to /data/notes.txt and counts the run in /data/runs
 *   notes list         prints the run count and every note
 *   notes import       adds every line read from stdin as a note (one run)
 *   notes check <n>    fails unless exactly n runs and n notes were recorded
 *   notes claim <tag> <name>...  creates each /data/<name> with O_CREAT|O_EXCL, writing <tag> into
 *                      the ones it won; prints "won <name>" or "lost <name>" (EEXIST) for each
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int fail(const char *what) {
  fprintf(stderr, "notes: %s: %s\n", what, strerror(errno));
  return 1;
}

static long read_runs(void) {
  FILE *f = fopen("/data/runs", "r");
  if (!f) return 0;
  long runs = 0;
  if (fscanf(f, "%ld", &runs) != 1) runs = 0;
  fclose(f);
  return runs;
}

static int count_notes(void) {
  FILE *f = fopen("/data/notes.txt", "r");
  if (!f) return 0;
  int lines = 0, c;
  while ((c = fgetc(f)) != EOF) lines += c == '\n';
  fclose(f);
  return lines;
}

static int append_note(long run, const char *text) {
  int fd = open("/data/notes.txt", O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd < 0) return fail("open notes.txt");
  char line[512];
  int n = snprintf(line, sizeof line, "%ld: %s\n", run, text);
  if (n < 0 || n >= (int)sizeof line) n = (int)sizeof line - 1, line[n - 1] = '\n';
  if (write(fd, line, n) != n) return fail("write notes.txt");
  if (fsync(fd) != 0) return fail("fsync notes.txt");
  if (close(fd) != 0) return fail("close notes.txt");
  return 0;
}

/* Replaces /data/runs atomically: write a temporary file of this run's own, then rename it over. */
static int count_run(long runs) {
  char tmp[64];
  snprintf(tmp, sizeof tmp, "/data/runs.%08x.tmp", (unsigned)arc4random());
  FILE *f = fopen(tmp, "w");
  if (!f) return fail("open runs tmp");
  fprintf(f, "%ld\n", runs);
  if (fclose(f) != 0) return fail("close runs tmp");
  if (rename(tmp, "/data/runs") != 0) return fail("rename runs");
  return 0;
}

static int import_stdin(void) {
  long runs = read_runs() + 1;
  char line[480];
  int added = 0;
  while (fgets(line, sizeof line, stdin)) {
    line[strcspn(line, "\n")] = 0;
    if (!line[0]) continue;
    if (append_note(runs, line) != 0) return 1;
    added++;
  }
  if (count_run(runs) != 0) return 1;
  printf("run %ld: imported %d notes\n", runs, added);
  return 0;
}

static int add(const char *text) {
  long runs = read_runs() + 1;
  if (append_note(runs, text) != 0) return 1;
  if (count_run(runs) != 0) return 1;
  printf("run %ld: added \"%s\"\n", runs, text);
  return 0;
}

static int list(void) {
  printf("runs so far: %ld\n", read_runs());
  FILE *f = fopen("/data/notes.txt", "r");
  if (!f) {
    if (errno == ENOENT) {
      printf("(no notes yet)\n");
      return 0;
    }
    return fail("open notes.txt");
  }
  char line[512];
  while (fgets(line, sizeof line, f)) printf("  %s", line);
  fclose(f);
  return 0;
}

/* Lock-file style claims: of several executions claiming one name, exactly one may win it. */
static int claim(const char *tag, int count, char **names) {
  for (int i = 0; i < count; i++) {
    char path[256];
    snprintf(path, sizeof path, "/data/%s", names[i]);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0) {
      if (errno != EEXIST) return fail(path);
      printf("lost %s\n", names[i]);
      continue;
    }
    size_t n = strlen(tag);
    if (write(fd, tag, n) != (ssize_t)n) return fail(path);
    if (close(fd) != 0) return fail(path);
    printf("won %s\n", names[i]);
  }
  return 0;
}

/* The preview1 adapter's state lives above the heap: growing memory would corrupt it. */
static void check_memory(unsigned long initial) {
  if (__builtin_wasm_memory_size(0) != initial) {
    fprintf(stderr, "guest: linear memory grew; link with a larger --initial-memory\n");
    exit(3);
  }
}

static int real_main(int argc, char **argv);

int main(int argc, char **argv) {
  unsigned long initial = __builtin_wasm_memory_size(0);
  int status = real_main(argc, argv);
  check_memory(initial);
  return status;
}

static int real_main(int argc, char **argv) {
  if (argc >= 3 && strcmp(argv[1], "add") == 0) return add(argv[2]);
  if (argc >= 2 && strcmp(argv[1], "list") == 0) return list();
  if (argc >= 2 && strcmp(argv[1], "import") == 0) return import_stdin();
  if (argc >= 3 && strcmp(argv[1], "claim") == 0) return claim(argv[2], argc - 3, argv + 3);
  if (argc >= 3 && strcmp(argv[1], "check") == 0) {
    long want = strtol(argv[2], NULL, 10);
    long runs = read_runs();
    int notes = count_notes();
    if (runs != want || notes != want) {
      fprintf(stderr, "notes: expected %ld runs and notes, found %ld runs and %d notes\n", want, runs, notes);
      return 1;
    }
    printf("ok: %ld runs, %d notes\n", runs, notes);
    return 0;
  }
  fprintf(stderr, "usage: notes add <text> | notes list | notes import | notes check <n> | notes claim <tag> <name>...\n");
  return 2;
}
