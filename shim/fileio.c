/* fileio.c - the atomic writer and the exact reads declared in fileio.h.
 *
 * Every atomic write, whole or streamed or filled by another library, ends in the same two steps
 * (rename_durably): rename the fsynced temp file over the destination, fsync the directory. The
 * message of a failure names the destination, the step, the temp file and strerror(errno).
 */
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

/* ---------------------------------------------------------------- atomic writes */

static void atomic_release(pt_atomic_file *f)
{
    free(f->path);
    free(f->tmp);
    f->path = NULL;
    f->tmp = NULL;
    f->fd = -1;
}

/* Reports that step failed on the temp file of path with error number err and removes it. */
static pt_status temp_fail(const char *path, const char *tmp, const char *step, int err)
{
    pt_error_set("cannot write '%s': %s '%s' failed: %s", path, step, tmp, strerror(err));
    unlink(tmp);
    return PT_ERR;
}

/* The same for a streamed write; releases f. */
static pt_status atomic_fail(pt_atomic_file *f, const char *step, int err)
{
    pt_error_set("cannot write '%s': %s '%s' failed: %s", f->path, step, f->tmp, strerror(err));
    pt_atomic_abort(f);
    return PT_ERR;
}

char *pt_atomic_temp_path(const char *path)
{
    if (!path || !*path) {
        pt_error_set("cannot write a file: the path is %s", path ? "empty" : "NULL");
        return NULL;
    }
    size_t len = strlen(path) + 32;
    char *tmp = malloc(len);
    if (!tmp) {
        pt_error_set("cannot write '%s': out of memory", path);
        return NULL;
    }
    snprintf(tmp, len, "%s.tmp.%ld", path, (long)getpid());
    return tmp;
}

int pt_write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0) {
            errno = ENOSPC;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

pt_status pt_atomic_open(pt_atomic_file *f, const char *path)
{
    f->fd = -1;
    f->path = NULL;
    f->tmp = pt_atomic_temp_path(path);
    if (!f->tmp)
        return PT_ERR;
    f->path = strdup(path);
    if (!f->path) {
        atomic_release(f);
        pt_error_set("cannot write '%s': out of memory", path);
        return PT_ERR;
    }
    f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (f->fd < 0) {
        int err = errno;
        pt_error_set("cannot write '%s': creating '%s' failed: %s", path, f->tmp, strerror(err));
        atomic_release(f);  /* nothing was created: nothing to remove */
        return PT_ERR;
    }
    return PT_OK;
}

pt_status pt_atomic_write(pt_atomic_file *f, const void *data, size_t len)
{
    if (pt_write_all(f->fd, data, len) != 0)
        return atomic_fail(f, "writing", errno);
    return PT_OK;
}

/* The directory that holds path ("." for a bare name); malloc'ed. */
static char *parent_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    size_t n = (size_t)(slash - path);
    char *dir = malloc(n + 1);
    if (dir) {
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    return dir;
}

/* fsync the directory holding path, so that a rename in it survives a crash. Filesystems that
 * cannot sync directories (EINVAL) count as success. Returns 0, or an errno value. */
static int sync_parent_dir(const char *path)
{
    char *dir = parent_dir(path);
    if (!dir)
        return ENOMEM;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    if (fd < 0)
        return errno;
    int err = 0;
    if (fsync(fd) != 0 && errno != EINVAL)
        err = errno;
    close(fd);
    return err;
}

/* The last two steps of every atomic write: rename the synced temp file over path (removing it
 * if that fails), then fsync the directory. */
static pt_status rename_durably(const char *tmp, const char *path)
{
    if (rename(tmp, path) != 0)
        return temp_fail(path, tmp, "renaming", errno);
    int err = sync_parent_dir(path);
    if (err) {
        /* The new file is in place; only the durability of the rename is in doubt. */
        pt_error_set("wrote '%s' but syncing its directory failed: %s", path, strerror(err));
        return PT_ERR;
    }
    return PT_OK;
}

pt_status pt_atomic_commit(pt_atomic_file *f)
{
    if (fsync(f->fd) != 0)
        return atomic_fail(f, "fsync of", errno);
    int fd = f->fd;
    f->fd = -1;
    if (close(fd) != 0)
        return atomic_fail(f, "closing", errno);
    pt_status st = rename_durably(f->tmp, f->path);
    atomic_release(f);
    return st;
}

pt_status pt_commit_temp_file(const char *tmp, const char *path)
{
    if (!tmp || !path) {
        pt_error_set("pt_commit_temp_file: NULL %s", tmp ? "path" : "temp file name");
        return PT_ERR;
    }
    int fd = open(tmp, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return temp_fail(path, tmp, "opening", errno);
    if (fsync(fd) != 0) {
        int err = errno;
        close(fd);
        return temp_fail(path, tmp, "fsync of", err);
    }
    close(fd);
    return rename_durably(tmp, path);
}

void pt_atomic_abort(pt_atomic_file *f)
{
    if (!f || !f->tmp)
        return;
    if (f->fd >= 0)
        close(f->fd);
    unlink(f->tmp);
    atomic_release(f);
}

pt_status pt_write_file_atomic(const char *path, const void *data, size_t len)
{
    if (!data && len > 0) {
        pt_error_set("cannot write '%s': data is NULL", path ? path : "(null)");
        return PT_ERR;
    }
    pt_atomic_file f;
    if (pt_atomic_open(&f, path) != PT_OK)
        return PT_ERR;
    if (pt_atomic_write(&f, data, len) != PT_OK)
        return PT_ERR;
    return pt_atomic_commit(&f);
}

/* ---------------------------------------------------------------- reads */

int pt_file_open_read(const char *path, uint64_t *size)
{
    if (!path) {
        pt_error_set("cannot read a file: the path is NULL");
        return -1;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        pt_error_set("cannot open '%s': %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        pt_error_set("cannot stat '%s': %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        pt_error_set("cannot read '%s': not a regular file", path);
        close(fd);
        return -1;
    }
    *size = (uint64_t)st.st_size;
    return fd;
}

pt_status pt_file_read_at(int fd, void *buf, size_t len, uint64_t offset, const char *path)
{
    char *p = buf;
    while (len > 0) {
        off_t at = (off_t)offset;
        if (at < 0 || (uint64_t)at != offset) {
            pt_error_set("cannot read '%s': offset %llu is too large", path,
                         (unsigned long long)offset);
            return PT_ERR;
        }
        ssize_t n = pread(fd, p, len, at);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            pt_error_set("cannot read '%s': %s", path, strerror(errno));
            return PT_ERR;
        }
        if (n == 0) {
            pt_error_set("cannot read '%s': unexpected end of file at byte %llu", path,
                         (unsigned long long)offset);
            return PT_ERR;
        }
        p += n;
        len -= (size_t)n;
        offset += (uint64_t)n;
    }
    return PT_OK;
}

pt_status pt_read_file(const char *path, void **data, size_t *len)
{
    uint64_t size;
    int fd = pt_file_open_read(path, &size);
    if (fd < 0)
        return PT_ERR;
    if (size >= SIZE_MAX) {
        pt_error_set("cannot read '%s': file too large", path);
        close(fd);
        return PT_ERR;
    }
    char *buf = malloc((size_t)size + 1);
    if (!buf) {
        pt_error_set("cannot read '%s': out of memory for %llu bytes", path,
                     (unsigned long long)size);
        close(fd);
        return PT_ERR;
    }
    pt_status st = pt_file_read_at(fd, buf, (size_t)size, 0, path);
    close(fd);
    if (st != PT_OK) {
        free(buf);
        return PT_ERR;
    }
    buf[size] = '\0';
    *data = buf;
    *len = (size_t)size;
    return PT_OK;
}

/* ------------------------------------------------------------------ directories */

pt_status pt_make_dirs(const char *path)
{
    char buf[4096];
    if (!path || !*path)
        return pt_error_set("cannot create a directory: empty path"), PT_ERR;
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return pt_error_set("cannot create directory '%s': path too long", path), PT_ERR;
    for (char *p = buf + 1;; p++) {
        char c = *p;
        if (c == '/' || c == '\0') {
            *p = '\0';
            struct stat st;
            if (mkdir(buf, 0777) != 0 && errno != EEXIST)
                return pt_error_set("cannot create directory '%s': %s", buf, strerror(errno)),
                       PT_ERR;
            if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
                return pt_error_set("cannot create directory '%s': %s exists and is not a "
                                    "directory", path, buf), PT_ERR;
            *p = c;
        }
        if (c == '\0')
            return PT_OK;
    }
}

int pt_parent_dir(const char *file, char *dir, size_t n)
{
    const char *slash = file ? strrchr(file, '/') : NULL;
    if (!slash || slash == file || (size_t)(slash - file) >= n)
        return 0; /* a bare name, a file in /, or no room */
    memcpy(dir, file, (size_t)(slash - file));
    dir[slash - file] = '\0';
    return 1;
}

int pt_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}
