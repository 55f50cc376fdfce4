/*
 * Tries every way out of the mounts and every write into read-only ones, and reports each result
 * on stdout as one line "<check> <result>": "ok", the errno name of the failure, or what was read.
 * The test (guests/test/escape.test.ts) sets up the mounts and host files and checks every line:
 *
 *   /rw    a read-write host directory holding sub/ok.txt ("inside\n"), and symlinks made by the
 *          test: passwd -> /etc/passwd, rel -> ../outside/secret.txt, reldir -> ../outside,
 *          inner -> sub/ok.txt
 *   /ro    a read-only host directory holding file.txt ("read only\n") and an empty directory d
 *   /cfg   read-only restricted files: only app.conf ("setting=1\n")
 *   /cfgrw read-write restricted files: only rw.conf
 *   /data  a memory storage (the other side of cross-mount renames and links)
 *   /host/etc  a read-only host directory (so / and /host are synthetic)
 *
 * `escape ls <dir>` and `escape cat <file>` print a directory listing or a file (used by the demo).
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

static const char *errno_name(int e) {
  switch (e) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EACCES: return "EACCES";
    case EEXIST: return "EEXIST";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case EINVAL: return "EINVAL";
    case EROFS: return "EROFS";
    case EXDEV: return "EXDEV";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case ENOTSUP: return "ENOTSUP";
    case EBADF: return "EBADF";
    case ENOTEMPTY: return "ENOTEMPTY";
    case EBUSY: return "EBUSY";
    case ELOOP: return "ELOOP";
    case ENOTCAPABLE: return "ENOTCAPABLE";
    case EIO: return "EIO";
    case ENOSPC: return "ENOSPC";
    default: {
      static char buf[32];
      snprintf(buf, sizeof buf, "E%d", e);
      return buf;
    }
  }
}

/* Reports a call that returns -1 on failure (a descriptor is closed again). */
static void report(const char *check, long result, int is_fd) {
  if (result == -1) {
    printf("%s %s\n", check, errno_name(errno));
  } else {
    printf("%s ok\n", check);
    if (is_fd) close((int)result);
  }
}

#define TRY(check, call)                                                              \
  do {                                                                                \
    errno = 0;                                                                        \
    report(check, (long)(call), 0);                                                   \
  } while (0)

#define TRY_OPEN(check, call)                                                         \
  do {                                                                                \
    errno = 0;                                                                        \
    report(check, (long)(call), 1);                                                   \
  } while (0)

/* Reads a whole (small) file: "=<content>" with newlines as "|", or the errno name. */
static void cat(const char *check, const char *path) {
  char buf[4096];
  errno = 0;
  int fd = open(path, O_RDONLY);
  if (fd < 0) {
    printf("%s %s\n", check, errno_name(errno));
    return;
  }
  ssize_t n = read(fd, buf, sizeof buf - 1);
  int e = errno;
  close(fd);
  if (n < 0) {
    printf("%s %s\n", check, errno_name(e));
    return;
  }
  buf[n] = 0;
  for (ssize_t i = 0; i < n; i++)
    if (buf[i] == '\n') buf[i] = '|';
  printf("%s =%s\n", check, buf);
}

static int compare(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A directory listing, sorted, without . and ..: "=a,b,c", or the errno name. */
static void ls(const char *check, const char *path) {
  static char names[64][256];
  const char *sorted[64];
  int count = 0;
  errno = 0;
  DIR *d = opendir(path);
  if (!d) {
    printf("%s %s\n", check, errno_name(errno));
    return;
  }
  struct dirent *entry;
  while ((entry = readdir(d)) != NULL && count < 64) {
    if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
    snprintf(names[count], sizeof names[count], "%s", entry->d_name);
    sorted[count] = names[count];
    count++;
  }
  closedir(d);
  qsort(sorted, count, sizeof sorted[0], compare);
  printf("%s =", check);
  for (int i = 0; i < count; i++) printf("%s%s", i ? "," : "", sorted[i]);
  printf("\n");
}

static void dotdot(void) {
  cat("dotdot.rw", "/rw/../../etc/passwd");
  cat("dotdot.rw-sub", "/rw/sub/../../../etc/passwd");
  cat("dotdot.rw-inside", "/rw/sub/../sub/ok.txt");
  cat("dotdot.root", "/../etc/passwd");
  cat("dotdot.root-chain", "/../../../../../../etc/passwd");
  ls("dotdot.ls-rw-parent", "/rw/..");
  TRY_OPEN("dotdot.create", open("/rw/../escaped.txt", O_WRONLY | O_CREAT, 0644));
  TRY("dotdot.mkdir", mkdir("/rw/sub/../../made", 0755));
  cat("dotdot.cfg", "/cfg/../rw/sub/ok.txt");
  cat("dotdot.host-etc", "/host/etc/../../rw/sub/ok.txt");
  if (chdir("/rw/sub") == 0) {
    cat("dotdot.cwd-relative", "../../etc/passwd");
    cat("dotdot.cwd-inside", "ok.txt");
    chdir("/");
  } else {
    printf("dotdot.cwd-relative chdir-failed\n");
    printf("dotdot.cwd-inside chdir-failed\n");
  }
}

static void symlinks(void) {
  struct stat st;
  cat("symlink.absolute-read", "/rw/passwd");
  TRY("symlink.absolute-stat", stat("/rw/passwd", &st));
  TRY_OPEN("symlink.absolute-write", open("/rw/passwd", O_WRONLY | O_TRUNC));
  TRY_OPEN("symlink.absolute-append", open("/rw/passwd", O_WRONLY | O_APPEND));
  cat("symlink.relative-read", "/rw/rel");
  TRY_OPEN("symlink.relative-write", open("/rw/rel", O_WRONLY | O_CREAT, 0644));
  cat("symlink.dir-read", "/rw/reldir/secret.txt");
  TRY_OPEN("symlink.dir-create", open("/rw/reldir/planted.txt", O_WRONLY | O_CREAT, 0644));
  TRY("symlink.dir-mkdir", mkdir("/rw/reldir/planted", 0755));
  ls("symlink.dir-ls", "/rw/reldir");
  cat("symlink.inside", "/rw/inner");
  ls("symlink.ls", "/rw");
  TRY("symlink.create-absolute", symlink("/etc/passwd", "/rw/evil"));
  TRY("symlink.create-relative", symlink("../outside", "/rw/evil2"));
  char target[256];
  TRY("symlink.readlink", readlink("/rw/passwd", target, sizeof target));
}

static void links_and_renames(void) {
  TRY("link.same-mount", link("/rw/sub/ok.txt", "/rw/hard"));
  TRY("link.to-data", link("/rw/sub/ok.txt", "/data/hard"));
  TRY("link.from-data", link("/data/keep.txt", "/rw/hard"));
  TRY("link.to-outside", link("/rw/sub/ok.txt", "/rw/../hard"));
  TRY("rename.file-to-data", rename("/rw/sub/ok.txt", "/data/ok.txt"));
  TRY("rename.dir-to-data", rename("/rw/sub", "/data/sub"));
  TRY("rename.from-data", rename("/data/keep.txt", "/rw/keep.txt"));
  TRY("rename.to-parent", rename("/rw/sub/ok.txt", "/rw/../ok.txt"));
  TRY("rename.to-root", rename("/rw/sub/ok.txt", "/ok.txt"));
  TRY("rename.to-host-etc", rename("/rw/sub/ok.txt", "/host/etc/ok.txt"));
  TRY("rename.mount-point", rename("/data", "/data2"));
  TRY("rename.inside", rename("/rw/sub/ok.txt", "/rw/sub/renamed.txt"));
  TRY("rename.back", rename("/rw/sub/renamed.txt", "/rw/sub/ok.txt"));
}

static void names(void) {
  struct stat st;
  TRY("name.dot-stat", stat("/rw/.", &st));
  TRY_OPEN("name.dot-open", open("/rw/.", O_RDONLY | O_DIRECTORY));
  TRY_OPEN("name.dotdot-open", open("/rw/..", O_RDONLY | O_DIRECTORY));
  TRY_OPEN("name.dotdotdot-create", open("/rw/...", O_WRONLY | O_CREAT, 0644));
  TRY("name.dotdotdot-stat", stat("/rw/...", &st));
  TRY("name.dotdotdot-mkdir", mkdir("/rw/sub/...", 0755));
  static char longname[10000 + 8];
  memcpy(longname, "/rw/", 4);
  memset(longname + 4, 'a', 10000);
  longname[4 + 10000] = 0;
  TRY_OPEN("name.long-create", open(longname, O_WRONLY | O_CREAT, 0644));
  TRY("name.long-mkdir", mkdir(longname, 0755));
  TRY("name.long-stat", stat(longname, &st));
  memcpy(longname, "/ro/", 4);
  TRY_OPEN("name.long-create-ro", open(longname, O_WRONLY | O_CREAT, 0644));
}

/* Every kind of write into a read-only mount `dir` holding `file` (and, for a host dir, `d`). */
static void read_only(const char *prefix, const char *dir, const char *file, int has_dir) {
  char check[128], path[256], other[256], sub[256];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  snprintf(other, sizeof other, "%s/new.txt", dir);
  snprintf(sub, sizeof sub, "%s/newdir", dir);
#define CHECKNAME(name) (snprintf(check, sizeof check, "%s.%s", prefix, name), check)
  cat(CHECKNAME("read"), path);
  TRY_OPEN(CHECKNAME("open-write"), open(path, O_WRONLY));
  TRY_OPEN(CHECKNAME("open-rdwr"), open(path, O_RDWR));
  TRY_OPEN(CHECKNAME("open-append"), open(path, O_WRONLY | O_APPEND));
  TRY_OPEN(CHECKNAME("open-trunc"), open(path, O_RDONLY | O_TRUNC));
  TRY_OPEN(CHECKNAME("create"), open(other, O_WRONLY | O_CREAT, 0644));
  TRY_OPEN(CHECKNAME("create-excl"), open(other, O_WRONLY | O_CREAT | O_EXCL, 0644));
  TRY(CHECKNAME("truncate"), truncate(path, 0));
  TRY(CHECKNAME("mkdir"), mkdir(sub, 0755));
  TRY(CHECKNAME("unlink"), unlink(path));
  TRY(CHECKNAME("rename"), rename(path, other));
  TRY(CHECKNAME("rename-in"), rename("/data/keep.txt", other));
  struct timespec times[2] = {{1, 0}, {1, 0}};
  TRY(CHECKNAME("utimensat"), utimensat(AT_FDCWD, path, times, 0));
  TRY(CHECKNAME("symlink"), symlink(file, other));
  TRY(CHECKNAME("link"), link(path, other));
  if (has_dir) {
    char d[256];
    snprintf(d, sizeof d, "%s/d", dir);
    TRY(CHECKNAME("rmdir"), rmdir(d));
  }
  int fd = open(path, O_RDONLY);
  if (fd >= 0) {
    TRY(CHECKNAME("fd-write"), write(fd, "x", 1));
    TRY(CHECKNAME("fd-ftruncate"), ftruncate(fd, 0));
    TRY(CHECKNAME("fd-futimens"), futimens(fd, times));
    close(fd);
  } else {
    printf("%s.fd-write open-failed\n%s.fd-ftruncate open-failed\n%s.fd-futimens open-failed\n", prefix,
           prefix, prefix);
  }
  cat(CHECKNAME("read-after"), path);
#undef CHECKNAME
}

static void restricted_rw(void) {
  int fd = open("/cfgrw/rw.conf", O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd >= 0) {
    TRY("cfgrw.write", write(fd, "written\n", 8));
    close(fd);
  } else {
    printf("cfgrw.write %s\n", errno_name(errno));
  }
  cat("cfgrw.read", "/cfgrw/rw.conf");
  TRY_OPEN("cfgrw.create-other", open("/cfgrw/other.conf", O_WRONLY | O_CREAT, 0644));
  TRY("cfgrw.mkdir", mkdir("/cfgrw/dir", 0755));
  TRY("cfgrw.unlink", unlink("/cfgrw/rw.conf"));
  TRY("cfgrw.rename", rename("/cfgrw/rw.conf", "/cfgrw/moved.conf"));
  ls("cfgrw.ls", "/cfgrw");
}

static void tree(void) {
  struct stat st;
  ls("tree.ls-root", "/");
  ls("tree.ls-host", "/host");
  ls("tree.ls-cfg", "/cfg");
  TRY("tree.stat-host", stat("/host", &st));
  printf("tree.host-is-dir %s\n", S_ISDIR(st.st_mode) ? "yes" : "no");
  cat("tree.read-host-etc", "/host/etc/hosts");
  cat("tree.missing", "/nothing-here");
  TRY_OPEN("tree.create-in-root", open("/new.txt", O_WRONLY | O_CREAT, 0644));
  TRY("tree.mkdir-in-root", mkdir("/newdir", 0755));
  TRY("tree.mkdir-in-host", mkdir("/host/newdir", 0755));
  TRY("tree.rmdir-host", rmdir("/host"));
  TRY("tree.rmdir-mount-point", rmdir("/host/etc"));
  TRY("tree.rename-host", rename("/host", "/host2"));
  TRY("tree.unlink-mount-point", unlink("/data"));
  struct timespec times[2] = {{1, 0}, {1, 0}};
  TRY("tree.utimensat-host", utimensat(AT_FDCWD, "/host", times, 0));
}

int main(int argc, char **argv) {
  if (argc >= 3 && strcmp(argv[1], "ls") == 0) {
    ls(argv[2], argv[2]);
    return 0;
  }
  if (argc >= 3 && strcmp(argv[1], "cat") == 0) {
    FILE *f = fopen(argv[2], "r");
    if (!f) {
      printf("%s %s\n", argv[2], errno_name(errno));
      return 0;
    }
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) fwrite(buf, 1, n, stdout);
    fclose(f);
    return 0;
  }
  dotdot();
  symlinks();
  links_and_renames();
  names();
  read_only("ro", "/ro", "file.txt", 1);
  read_only("cfg", "/cfg", "app.conf", 0);
  restricted_rw();
  tree();
  printf("done\n");
  return 0;
}
