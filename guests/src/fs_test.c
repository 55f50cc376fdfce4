/*
 * Exercises the WASI filesystem through wasi-libc: open flags, streams, positional I/O, seeking,
 * truncation, stat, directories, rename, unlink, symbolic links, hard links and the errno of every
 * failure. Runs against the preopen /data (which must start empty); with /ro mounted read-only
 * (holding hello.txt) and a second writable mount /other it also checks EROFS and EXDEV. `fs_test enospc` fills /data,
 * which must have a small quota, and expects ENOSPC from write or, at the latest, from fsync.
 *
 * Each failed check is reported on stderr (jco's adapter reduces every exit status to 1).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int failures = 0;
static int checks = 0;

#define CHECK(cond)                                                                   \
  do {                                                                                \
    checks++;                                                                         \
    if (!(cond)) {                                                                    \
      failures++;                                                                     \
      fprintf(stderr, "FAIL line %d: %s (errno %d: %s)\n", __LINE__, #cond, errno,    \
              strerror(errno));                                                       \
    }                                                                                 \
  } while (0)

/* The call fails with the given errno. */
#define CHECK_ERRNO(call, expected)                                                   \
  do {                                                                                \
    errno = 0;                                                                        \
    long r_ = (long)(call);                                                           \
    int e_ = errno;                                                                   \
    checks++;                                                                         \
    if (r_ != -1 || e_ != (expected)) {                                               \
      failures++;                                                                     \
      fprintf(stderr, "FAIL line %d: %s returned %ld errno %d (%s), expected %s\n",    \
              __LINE__, #call, r_, e_, strerror(e_), #expected);                      \
    }                                                                                 \
  } while (0)

static void write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  CHECK(fd >= 0);
  if (fd < 0) return;
  CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
  CHECK(close(fd) == 0);
}

/* The whole content of a file (at most 4095 bytes), NUL-terminated; "" when it cannot be read. */
static const char *read_file(const char *path) {
  static char buf[4096];
  buf[0] = 0;
  int fd = open(path, O_RDONLY);
  if (fd < 0) return buf;
  ssize_t total = 0, n;
  while ((n = read(fd, buf + total, sizeof buf - 1 - total)) > 0) total += n;
  buf[total] = 0;
  close(fd);
  return buf;
}

static void test_open_flags(void) {
  CHECK(mkdir("/data/t", 0755) == 0);
  CHECK_ERRNO(mkdir("/data/t", 0755), EEXIST);
  CHECK_ERRNO(mkdir("/data/none/sub", 0755), ENOENT);

  int fd = open("/data/t/a.txt", O_CREAT | O_EXCL | O_WRONLY, 0644);
  CHECK(fd >= 0);
  CHECK(write(fd, "hello world", 11) == 11);
  CHECK(close(fd) == 0);
  CHECK_ERRNO(open("/data/t/a.txt", O_CREAT | O_EXCL | O_WRONLY, 0644), EEXIST);
  CHECK_ERRNO(open("/data/t/missing", O_RDONLY), ENOENT);
  CHECK_ERRNO(open("/data/none/x", O_CREAT | O_WRONLY, 0644), ENOENT);
  CHECK_ERRNO(open("/data/t/a.txt/x", O_CREAT | O_WRONLY, 0644), ENOTDIR);
  CHECK_ERRNO(mkdir("/data/t/a.txt/sub", 0755), ENOTDIR);
  CHECK_ERRNO(open("/data/t", O_WRONLY), EISDIR);
  CHECK_ERRNO(open("/data/t/a.txt", O_RDONLY | O_DIRECTORY), ENOTDIR);
  CHECK(opendir("/data/t/a.txt") == NULL && errno == ENOTDIR);

  /* O_CREAT on an existing file opens it without truncating. */
  fd = open("/data/t/a.txt", O_CREAT | O_RDONLY, 0644);
  CHECK(fd >= 0);
  char buf[64] = {0};
  CHECK(read(fd, buf, sizeof buf) == 11);
  CHECK(memcmp(buf, "hello world", 11) == 0);
  CHECK(read(fd, buf, sizeof buf) == 0);
  CHECK(close(fd) == 0);

  /* O_TRUNC empties the file. */
  write_file("/data/t/trunc.txt", "some content");
  fd = open("/data/t/trunc.txt", O_WRONLY | O_TRUNC);
  CHECK(fd >= 0);
  struct stat st;
  CHECK(fstat(fd, &st) == 0 && st.st_size == 0);
  CHECK(write(fd, "new", 3) == 3);
  CHECK(close(fd) == 0);
  CHECK(strcmp(read_file("/data/t/trunc.txt"), "new") == 0);

  /* A descriptor opened read-only cannot write, and write-only cannot read. */
  fd = open("/data/t/a.txt", O_RDONLY);
  CHECK(fd >= 0);
  CHECK_ERRNO(write(fd, "x", 1), EBADF);
  close(fd);
  fd = open("/data/t/a.txt", O_WRONLY);
  CHECK(fd >= 0);
  CHECK_ERRNO(read(fd, buf, 1), EBADF);
  close(fd);
}

static void test_seek_and_positional(void) {
  char buf[64];
  int fd = open("/data/t/a.txt", O_RDWR);
  CHECK(fd >= 0);
  CHECK(lseek(fd, 6, SEEK_SET) == 6);
  memset(buf, 0, sizeof buf);
  CHECK(read(fd, buf, 5) == 5 && memcmp(buf, "world", 5) == 0);
  CHECK(lseek(fd, 0, SEEK_CUR) == 11);
  CHECK(lseek(fd, -5, SEEK_END) == 6);
  CHECK(lseek(fd, 0, SEEK_END) == 11);
  CHECK_ERRNO(lseek(fd, -100, SEEK_SET), EINVAL);

  memset(buf, 0, sizeof buf);
  CHECK(pread(fd, buf, 5, 0) == 5 && memcmp(buf, "hello", 5) == 0);
  CHECK(pread(fd, buf, 5, 100) == 0);
  CHECK(lseek(fd, 0, SEEK_CUR) == 11); /* pread does not move the position */

  CHECK(pwrite(fd, "HELLO", 5, 0) == 5);
  CHECK(pwrite(fd, "end", 3, 20) == 3); /* leaves a gap of zeros */
  struct stat st;
  CHECK(fstat(fd, &st) == 0 && st.st_size == 23);
  memset(buf, 1, sizeof buf);
  CHECK(pread(fd, buf, 64, 0) == 23);
  CHECK(memcmp(buf, "HELLO world", 11) == 0);
  int zeros = 1;
  for (int i = 11; i < 20; i++) zeros &= buf[i] == 0;
  CHECK(zeros);
  CHECK(memcmp(buf + 20, "end", 3) == 0);

  /* Writing after seeking past the end also fills the gap with zeros. */
  CHECK(lseek(fd, 30, SEEK_SET) == 30);
  CHECK(write(fd, "Z", 1) == 1);
  CHECK(fstat(fd, &st) == 0 && st.st_size == 31);

  CHECK(ftruncate(fd, 5) == 0);
  CHECK(fstat(fd, &st) == 0 && st.st_size == 5);
  CHECK(ftruncate(fd, 8) == 0);
  memset(buf, 1, sizeof buf);
  CHECK(pread(fd, buf, 64, 0) == 8);
  CHECK(memcmp(buf, "HELLO\0\0\0", 8) == 0);
  CHECK(fsync(fd) == 0);
  CHECK(fdatasync(fd) == 0);
  CHECK(close(fd) == 0);
}

static void test_append(void) {
  int a = open("/data/t/log.txt", O_WRONLY | O_CREAT | O_APPEND, 0644);
  int b = open("/data/t/log.txt", O_WRONLY | O_APPEND);
  CHECK(a >= 0 && b >= 0);
  CHECK(write(a, "a", 1) == 1);
  CHECK(write(b, "b", 1) == 1);
  CHECK(write(a, "c", 1) == 1);
  /* Another writer extends the file: appends still land at the new end. */
  int w = open("/data/t/log.txt", O_WRONLY);
  CHECK(w >= 0);
  CHECK(pwrite(w, "XYZ", 3, 3) == 3);
  CHECK(write(b, "d", 1) == 1);
  CHECK(close(a) == 0 && close(b) == 0 && close(w) == 0);
  CHECK(strcmp(read_file("/data/t/log.txt"), "abcXYZd") == 0);

  /* stdio in append mode. */
  FILE *f = fopen("/data/t/log.txt", "a");
  CHECK(f != NULL);
  if (f) {
    fprintf(f, "!%d", 42);
    CHECK(fclose(f) == 0);
  }
  CHECK(strcmp(read_file("/data/t/log.txt"), "abcXYZd!42") == 0);
}

static void test_stat(void) {
  struct stat st;
  time_t now = time(NULL);
  CHECK(now > 1600000000);
  CHECK(stat("/data/t/a.txt", &st) == 0);
  CHECK(S_ISREG(st.st_mode));
  CHECK(st.st_size == 8);
  CHECK(st.st_mtime > 1600000000 && st.st_mtime <= now + 5);
  CHECK(st.st_atime > 1600000000);
  CHECK(stat("/data/t", &st) == 0 && S_ISDIR(st.st_mode));
  CHECK(stat("/data", &st) == 0 && S_ISDIR(st.st_mode));
  CHECK_ERRNO(stat("/data/t/missing", &st), ENOENT);

  /* The inode number stays the same while a file is written. */
  struct stat before, after;
  int fd = open("/data/t/ino.txt", O_RDWR | O_CREAT, 0644);
  CHECK(fd >= 0);
  CHECK(fstat(fd, &before) == 0);
  CHECK(write(fd, "grow", 4) == 4);
  CHECK(fstat(fd, &after) == 0);
  CHECK(before.st_ino == after.st_ino && before.st_dev == after.st_dev);
  CHECK(stat("/data/t/ino.txt", &after) == 0 && after.st_ino == before.st_ino);
  CHECK(stat("/data/t/a.txt", &after) == 0 && after.st_ino != before.st_ino);
  close(fd);

  /* utimensat sets the times. */
  struct timespec times[2] = {{1000000000, 0}, {1234567890, 500000000}};
  CHECK(utimensat(AT_FDCWD, "/data/t/a.txt", times, 0) == 0);
  CHECK(stat("/data/t/a.txt", &st) == 0);
  CHECK(st.st_mtime == 1234567890);
  CHECK(st.st_atime == 1000000000);
  CHECK_ERRNO(utimensat(AT_FDCWD, "/data/t/missing", times, 0), ENOENT);

  /* Nanoseconds read back exactly, and a time 100 ns earlier is stored earlier (issue #22). */
  struct timespec exact[2] = {{1733000000, 123456700}, {1733000000, 123456789}};
  CHECK(utimensat(AT_FDCWD, "/data/t/a.txt", exact, 0) == 0);
  CHECK(stat("/data/t/a.txt", &st) == 0);
  CHECK(st.st_mtim.tv_sec == 1733000000 && st.st_mtim.tv_nsec == 123456789);
  CHECK(st.st_atim.tv_sec == 1733000000 && st.st_atim.tv_nsec == 123456700);
  struct timespec earlier[2] = {{0, UTIME_OMIT}, {1733000000, 123456689}};
  CHECK(utimensat(AT_FDCWD, "/data/t/a.txt", earlier, 0) == 0);
  CHECK(stat("/data/t/a.txt", &st) == 0);
  CHECK(st.st_mtim.tv_sec == 1733000000 && st.st_mtim.tv_nsec == 123456689);
  CHECK(st.st_atim.tv_sec == 1733000000 && st.st_atim.tv_nsec == 123456700);
  /* Through an open descriptor (futimens), read back by fstat. */
  fd = open("/data/t/a.txt", O_RDONLY);
  CHECK(fd >= 0);
  struct timespec later[2] = {{0, UTIME_OMIT}, {1733000001, 1}};
  CHECK(futimens(fd, later) == 0);
  CHECK(fstat(fd, &st) == 0 && st.st_mtim.tv_sec == 1733000001 && st.st_mtim.tv_nsec == 1);
  close(fd);
}

static int has_entry(const char *dir, const char *name, int type) {
  DIR *d = opendir(dir);
  if (!d) return 0;
  struct dirent *e;
  int found = 0;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, name) == 0 && (type < 0 || e->d_type == type)) found = 1;
  }
  closedir(d);
  return found;
}

static int count_entries(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return -1;
  int n = 0;
  while (readdir(d) != NULL) n++;
  closedir(d);
  return n;
}

static void test_directories(void) {
  CHECK(mkdir("/data/t/d", 0755) == 0);
  write_file("/data/t/d/inner.txt", "inner");
  CHECK(mkdir("/data/t/empty", 0755) == 0);
  CHECK(has_entry("/data/t", "a.txt", DT_REG));
  CHECK(has_entry("/data/t", "d", DT_DIR));
  CHECK(has_entry("/data/t", ".", DT_DIR));
  CHECK(has_entry("/data/t", "..", DT_DIR));
  CHECK(count_entries("/data/t/d") == 3); /* ., .., inner.txt */
  CHECK(count_entries("/data/t/empty") == 2);
  CHECK(opendir("/data/t/nothing") == NULL && errno == ENOENT);

  CHECK_ERRNO(rmdir("/data/t/d"), ENOTEMPTY);
  CHECK_ERRNO(rmdir("/data/t/a.txt"), ENOTDIR);
  CHECK_ERRNO(rmdir("/data/t/missing"), ENOENT);
  CHECK_ERRNO(unlink("/data/t/d"), EISDIR);
  CHECK(rmdir("/data/t/empty") == 0);
  CHECK(!has_entry("/data/t", "empty", -1));

  /* Relative paths resolve against the working directory. */
  CHECK(chdir("/data/t/d") == 0);
  CHECK(strcmp(read_file("inner.txt"), "inner") == 0);
  CHECK(strcmp(read_file("../d/inner.txt"), "inner") == 0);
  CHECK(chdir("/data") == 0);
}

static void test_rename_unlink(void) {
  write_file("/data/t/r1.txt", "one");
  CHECK(rename("/data/t/r1.txt", "/data/t/r2.txt") == 0);
  CHECK(access("/data/t/r1.txt", F_OK) == -1 && errno == ENOENT);
  CHECK(strcmp(read_file("/data/t/r2.txt"), "one") == 0);

  /* Renaming over an existing file replaces it. */
  write_file("/data/t/r3.txt", "three");
  CHECK(rename("/data/t/r2.txt", "/data/t/r3.txt") == 0);
  CHECK(strcmp(read_file("/data/t/r3.txt"), "one") == 0);
  CHECK_ERRNO(rename("/data/t/missing", "/data/t/x"), ENOENT);
  CHECK_ERRNO(rename("/data/t/r3.txt", "/data/t/d"), EISDIR);
  CHECK_ERRNO(rename("/data/t/d", "/data/t/r3.txt"), ENOTDIR);

  /* A directory moves with its contents; an empty target directory is replaced. */
  CHECK(mkdir("/data/t/target", 0755) == 0);
  CHECK(rename("/data/t/d", "/data/t/target") == 0);
  CHECK(strcmp(read_file("/data/t/target/inner.txt"), "inner") == 0);
  CHECK(access("/data/t/d", F_OK) == -1 && errno == ENOENT);
  CHECK(mkdir("/data/t/full", 0755) == 0);
  write_file("/data/t/full/f", "f");
  CHECK(rename("/data/t/target", "/data/t/full") == -1 && (errno == ENOTEMPTY || errno == EEXIST));
  CHECK_ERRNO(rename("/data/t/target", "/data/t/target/sub"), EINVAL);

  /* A descriptor follows its file across a rename. */
  int fd = open("/data/t/r3.txt", O_RDWR);
  CHECK(fd >= 0);
  CHECK(rename("/data/t/r3.txt", "/data/t/r4.txt") == 0);
  CHECK(pwrite(fd, "ONE", 3, 0) == 3);
  CHECK(close(fd) == 0);
  CHECK(strcmp(read_file("/data/t/r4.txt"), "ONE") == 0);
  CHECK(access("/data/t/r3.txt", F_OK) == -1);

  CHECK(unlink("/data/t/r4.txt") == 0);
  CHECK_ERRNO(unlink("/data/t/r4.txt"), ENOENT);

  /* A file unlinked while open lives on through its descriptor and never reappears. */
  fd = open("/data/t/ghost.txt", O_RDWR | O_CREAT, 0644);
  CHECK(fd >= 0);
  CHECK(write(fd, "x", 1) == 1);
  CHECK(unlink("/data/t/ghost.txt") == 0);
  CHECK(write(fd, "yz", 2) == 2);
  struct stat st;
  CHECK_ERRNO(stat("/data/t/ghost.txt", &st), ENOENT);
  char buf[8] = {0};
  CHECK(pread(fd, buf, 8, 0) == 3 && memcmp(buf, "xyz", 3) == 0);
  CHECK(fstat(fd, &st) == 0 && st.st_size == 3);
  CHECK(close(fd) == 0);
  CHECK_ERRNO(stat("/data/t/ghost.txt", &st), ENOENT);
  CHECK(!has_entry("/data/t", "ghost.txt", -1));

  char target[64];
  CHECK(readlink("/data/t/a.txt", target, sizeof target) == -1 && errno == EINVAL);
}

/* Hard links: names of one file, counted in st_nlink, with one inode number, in every backend. */
static void test_hard_links(void) {
  struct stat a, b;
  write_file("/data/t/h1", "hard");
  CHECK(stat("/data/t/h1", &a) == 0 && a.st_nlink == 1);
  CHECK(link("/data/t/h1", "/data/t/h2") == 0);
  CHECK(stat("/data/t/h1", &a) == 0 && a.st_nlink == 2);
  CHECK(stat("/data/t/h2", &b) == 0 && b.st_nlink == 2 && b.st_ino == a.st_ino);
  CHECK(strcmp(read_file("/data/t/h2"), "hard") == 0);

  /* Writes through either name, truncating or appending, show through the other. */
  write_file("/data/t/h2", "HARD!");
  CHECK(strcmp(read_file("/data/t/h1"), "HARD!") == 0);
  int fd = open("/data/t/h1", O_WRONLY | O_APPEND);
  CHECK(fd >= 0 && write(fd, "+", 1) == 1 && close(fd) == 0);
  CHECK(strcmp(read_file("/data/t/h2"), "HARD!+") == 0);
  CHECK(stat("/data/t/h2", &b) == 0 && b.st_size == 6);

  CHECK_ERRNO(link("/data/t/h1", "/data/t/h2"), EEXIST);
  CHECK_ERRNO(link("/data/t/missing", "/data/t/h3"), ENOENT);
  CHECK_ERRNO(link("/data/t/h1", "/data/t/nope/h3"), ENOENT);
  CHECK_ERRNO(link("/data/t", "/data/t/h3"), EPERM);
  if (stat("/other", &b) == 0) CHECK_ERRNO(link("/data/t/h1", "/other/h3"), EXDEV);
  CHECK(access("/data/t/h3", F_OK) == -1);

  /* rename onto another name of the same file does nothing (POSIX): both names stay. */
  CHECK(rename("/data/t/h1", "/data/t/h2") == 0);
  CHECK(access("/data/t/h1", F_OK) == 0 && access("/data/t/h2", F_OK) == 0);

  /* Unlinking a name, even an open one, leaves the file to its other name. */
  fd = open("/data/t/h2", O_RDWR);
  CHECK(fd >= 0);
  CHECK(unlink("/data/t/h2") == 0);
  CHECK(fstat(fd, &b) == 0 && b.st_nlink == 1);
  CHECK(pwrite(fd, "h", 1, 0) == 1);
  CHECK(close(fd) == 0);
  CHECK(strcmp(read_file("/data/t/h1"), "hARD!+") == 0);
  CHECK(stat("/data/t/h1", &a) == 0 && a.st_nlink == 1);
  CHECK(!has_entry("/data/t", "h2", -1));
  CHECK(unlink("/data/t/h1") == 0);
}

/* Symbolic links, stored in the store and resolved by the host within /data. */
static void test_symlinks(void) {
  char target[128];
  struct stat st;
  CHECK(mkdir("/data/l", 0755) == 0);
  CHECK(mkdir("/data/l/dir", 0755) == 0);
  write_file("/data/l/dir/file.txt", "linked");
  CHECK(symlink("dir/file.txt", "/data/l/rel") == 0);
  CHECK(symlink("/data/l/dir", "/data/l/abs") == 0);
  CHECK(symlink("dir", "/data/l/dirlink") == 0);
  CHECK(symlink("nowhere", "/data/l/dangling") == 0);
  CHECK(symlink("loop2", "/data/l/loop1") == 0);
  CHECK(symlink("loop1", "/data/l/loop2") == 0);
  CHECK(symlink("../../../etc/passwd", "/data/l/escape") == 0);
  CHECK_ERRNO(symlink("x", "/data/l/rel"), EEXIST);

  ssize_t n = readlink("/data/l/rel", target, sizeof target);
  CHECK(n == 12 && memcmp(target, "dir/file.txt", 12) == 0);
  CHECK(lstat("/data/l/rel", &st) == 0 && S_ISLNK(st.st_mode) && st.st_size == 12);
  CHECK(stat("/data/l/rel", &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 6);
  CHECK(strcmp(read_file("/data/l/rel"), "linked") == 0);
  CHECK(strcmp(read_file("/data/l/abs/file.txt"), "linked") == 0);
  CHECK(strcmp(read_file("/data/l/dirlink/file.txt"), "linked") == 0);
  CHECK(stat("/data/l/dirlink/../dir/file.txt", &st) == 0 && st.st_size == 6);
  CHECK(has_entry("/data/l", "rel", DT_LNK));
  CHECK(has_entry("/data/l", "dirlink", DT_LNK));

  /* Writing through a link writes its target; O_NOFOLLOW and loops are ELOOP. */
  write_file("/data/l/rel", "changed");
  CHECK(strcmp(read_file("/data/l/dir/file.txt"), "changed") == 0);
  CHECK_ERRNO(open("/data/l/rel", O_RDONLY | O_NOFOLLOW), ELOOP);
  CHECK_ERRNO(open("/data/l/loop1", O_RDONLY), ELOOP);
  CHECK_ERRNO(stat("/data/l/loop1", &st), ELOOP);
  CHECK_ERRNO(open("/data/l/dangling", O_RDONLY), ENOENT);
  CHECK_ERRNO(open("/data/l/escape", O_RDONLY), EPERM);
  CHECK_ERRNO(open("/data/l/escape", O_WRONLY | O_CREAT, 0644), EPERM);
  write_file("/data/l/dangling", "made");
  CHECK(strcmp(read_file("/data/l/nowhere"), "made") == 0);

  /* unlink and rename act on the link, never on its target. */
  CHECK(rename("/data/l/rel", "/data/l/moved") == 0);
  CHECK(strcmp(read_file("/data/l/moved"), "changed") == 0);
  CHECK(unlink("/data/l/moved") == 0);
  CHECK(strcmp(read_file("/data/l/dir/file.txt"), "changed") == 0);
  CHECK_ERRNO(rmdir("/data/l/dirlink"), ENOTDIR);
  CHECK(unlink("/data/l/dirlink") == 0);
  CHECK(has_entry("/data/l/dir", "file.txt", DT_REG));
  CHECK_ERRNO(readlink("/data/l/dir", target, sizeof target), EINVAL);
}

static void test_large(void) {
  /* Crosses storage chunk boundaries (chunked backends) with an odd size. */
  enum { SIZE = 300 * 1024 + 7 };
  static unsigned char data[SIZE], back[SIZE];
  for (int i = 0; i < SIZE; i++) data[i] = (unsigned char)(i * 31 + 7);
  int fd = open("/data/t/large.bin", O_RDWR | O_CREAT | O_TRUNC, 0644);
  CHECK(fd >= 0);
  CHECK(write(fd, data, SIZE) == SIZE);
  ssize_t total = 0, n;
  while (total < SIZE && (n = pread(fd, back + total, SIZE - total, total)) > 0) total += n;
  CHECK(total == SIZE);
  CHECK(memcmp(data, back, SIZE) == 0);
  /* Overwrite across a 64 KiB boundary in place. */
  CHECK(pwrite(fd, "BOUNDARY", 8, 65536 - 4) == 8);
  CHECK(pread(fd, back, 8, 65536 - 4) == 8 && memcmp(back, "BOUNDARY", 8) == 0);
  struct stat st;
  CHECK(fstat(fd, &st) == 0 && st.st_size == SIZE);
  CHECK(close(fd) == 0);
}

static void test_read_only(void) {
  struct stat st;
  if (stat("/ro", &st) != 0) return;
  printf("read-only mount present\n");
  CHECK(strcmp(read_file("/ro/hello.txt"), "read only\n") == 0);
  CHECK_ERRNO(open("/ro/hello.txt", O_WRONLY), EROFS);
  CHECK_ERRNO(open("/ro/hello.txt", O_RDWR), EROFS);
  CHECK_ERRNO(open("/ro/hello.txt", O_RDONLY | O_TRUNC), EROFS);
  CHECK_ERRNO(open("/ro/new.txt", O_WRONLY | O_CREAT, 0644), EROFS);
  CHECK_ERRNO(mkdir("/ro/dir", 0755), EROFS);
  CHECK_ERRNO(unlink("/ro/hello.txt"), EROFS);
  CHECK_ERRNO(rename("/ro/hello.txt", "/ro/moved.txt"), EROFS);
  struct timespec times[2] = {{1, 0}, {1, 0}};
  CHECK_ERRNO(utimensat(AT_FDCWD, "/ro/hello.txt", times, 0), EROFS);
  CHECK(strcmp(read_file("/ro/hello.txt"), "read only\n") == 0);
  CHECK(has_entry("/ro", "hello.txt", DT_REG));
}

static void test_cross_mount(void) {
  struct stat st;
  if (stat("/other", &st) != 0) return;
  printf("second mount present\n");
  write_file("/data/t/cross.txt", "cross");
  CHECK_ERRNO(rename("/data/t/cross.txt", "/other/cross.txt"), EXDEV);
  CHECK(access("/other/cross.txt", F_OK) == -1);
  write_file("/other/own.txt", "own");
  CHECK(strcmp(read_file("/other/own.txt"), "own") == 0);
}

static void test_enospc(void) {
  static char chunk[64 * 1024];
  memset(chunk, 'q', sizeof chunk);
  int fd = open("/data/fill.bin", O_WRONLY | O_CREAT | O_TRUNC, 0644);
  CHECK(fd >= 0);
  int got_enospc = 0;
  for (int i = 0; i < 256 && !got_enospc; i++) {
    errno = 0;
    ssize_t n = write(fd, chunk, sizeof chunk);
    if (n < 0) {
      got_enospc = errno == ENOSPC;
      if (!got_enospc) fprintf(stderr, "write failed with errno %d (%s)\n", errno, strerror(errno));
      break;
    }
  }
  /* Storage that caches writes (the sync bridge) may only learn of the quota when the data is
   * stored: POSIX lets it report ENOSPC at fsync, like a network file system. */
  if (!got_enospc) {
    errno = 0;
    got_enospc = fsync(fd) == -1 && errno == ENOSPC;
  }
  CHECK(got_enospc);
  CHECK(close(fd) == 0);
  /* The store stays usable: a small file still fits after removing the big one. */
  CHECK(unlink("/data/fill.bin") == 0);
  write_file("/data/small.txt", "fits");
  CHECK(strcmp(read_file("/data/small.txt"), "fits") == 0);
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
  if (argc > 1 && strcmp(argv[1], "enospc") == 0) {
    test_enospc();
  } else {
    test_open_flags();
    test_seek_and_positional();
    test_append();
    test_stat();
    test_directories();
    test_rename_unlink();
    test_hard_links();
    test_symlinks();
    test_large();
    test_read_only();
    test_cross_mount();
  }
  printf("%d checks, %d failed\n", checks, failures);
  if (failures) fprintf(stderr, "fs_test: %d of %d checks failed\n", failures, checks);
  return failures ? 1 : 0;
}
