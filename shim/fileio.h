/* fileio.h - pictor's one atomic file writer, and exact reads, for every part of the project
 * (the shim's formats, data/'s PNG, CSV and HDF5 writers, train/'s exports and logs).
 *
 * Atomic writes: the new content goes to a temp file "<path>.tmp.<pid>" in the same directory,
 * which is written fully, fsynced, closed, renamed over path, and then the directory is fsynced
 * so that the rename itself survives a crash. Whatever fails before the rename removes the temp
 * file, so an existing file at path is never touched.
 *   - pt_write_file_atomic (pt.h): a whole buffer.
 *   - pt_atomic_open / write / commit / abort: streamed in pieces.
 *   - pt_atomic_temp_path + pt_commit_temp_file: for writers that must create and fill the temp
 *     file themselves (HDF5 files through the HDF5 library).
 * Reads: open a regular file and read exact byte ranges of it, or all of it.
 *
 * Directories: pt_make_dirs creates a directory and its missing parents (mkdir -p); a path
 * component that exists but is not a directory is an error naming it. pt_parent_dir gives the
 * directory part of a file path (0 for a bare name or a file in /); pt_is_dir tests one.
 *
 * Every failure is reported through pt_error_set (pt_error() reads it) with the path, the step
 * and strerror(errno); callers with an (err, errlen) buffer copy pt_error() into it.
 */
#ifndef PICTOR_SHIM_FILEIO_H
#define PICTOR_SHIM_FILEIO_H

#include <stddef.h>
#include <stdint.h>

#include "pt.h"

pt_status pt_make_dirs(const char *path);
int pt_parent_dir(const char *file, char *dir, size_t n);
int pt_is_dir(const char *path);

typedef struct {
    int fd;     /* the open temp file, -1 once closed */
    char *path; /* the destination */
    char *tmp;  /* "<path>.tmp.<pid>" */
} pt_atomic_file;

/* Creates the temp file. On failure f needs no further call. */
pt_status pt_atomic_open(pt_atomic_file *f, const char *path);
/* Writes all of data; on failure the temp file is removed and f is released. */
pt_status pt_atomic_write(pt_atomic_file *f, const void *data, size_t len);
/* fsync, close, rename over the destination, fsync its directory. Always releases f. */
pt_status pt_atomic_commit(pt_atomic_file *f);
/* Closes and removes the temp file and releases f; the pending error is kept. NULL-safe and
 * idempotent after a failed write. */
void pt_atomic_abort(pt_atomic_file *f);

/* The temp file an atomic write of path goes through, "<path>.tmp.<pid>" (malloc'ed; NULL on out
 * of memory, with an error). */
char *pt_atomic_temp_path(const char *path);
/* The last steps of an atomic write whose temp file tmp the caller has filled and closed: fsync
 * tmp, rename it over path, fsync the directory. Before the rename any failure removes tmp. */
pt_status pt_commit_temp_file(const char *tmp, const char *path);

/* write() all of data to fd, retrying short writes and EINTR: 0, or -1 with errno (ENOSPC when
 * the descriptor accepts no more bytes). Reports nothing: callers name their file. */
int pt_write_all(int fd, const void *data, size_t len);

/* Opens a regular file for reading; returns the descriptor and its size, or -1 with an error. */
int pt_file_open_read(const char *path, uint64_t *size);
/* Reads exactly len bytes at offset; "unexpected end of file" if the file is shorter. */
pt_status pt_file_read_at(int fd, void *buf, size_t len, uint64_t offset, const char *path);
/* Reads a whole regular file into a malloc'ed buffer (NUL-terminated one byte past *len; the
 * caller frees it). */
pt_status pt_read_file(const char *path, void **data, size_t *len);

#endif
