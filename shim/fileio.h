/* fileio.h - internal file helpers of the shim's C file formats (not part of pt.h).
 *
 * Atomic writes: a pt_atomic_file streams into "<path>.tmp.<pid>"; pt_atomic_commit fsyncs it,
 * renames it over path and fsyncs the directory; pt_atomic_abort (or any failure) removes the
 * temp file and leaves an existing file at path untouched. pt_write_file_atomic (pt.h) is
 * open + write + commit. Reads: open a regular file and read exact byte ranges of it.
 *
 * Every failure is reported through pt_error_set with the path and strerror(errno).
 */
#ifndef PICTOR_SHIM_FILEIO_H
#define PICTOR_SHIM_FILEIO_H

#include <stddef.h>
#include <stdint.h>

#include "pt.h"

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

/* Opens a regular file for reading; returns the descriptor and its size, or -1 with an error. */
int pt_file_open_read(const char *path, uint64_t *size);
/* Reads exactly len bytes at offset; "unexpected end of file" if the file is shorter. */
pt_status pt_file_read_at(int fd, void *buf, size_t len, uint64_t offset, const char *path);
/* Reads a whole regular file into a malloc'ed buffer (NUL-terminated one byte past *len; the
 * caller frees it). */
pt_status pt_read_file(const char *path, void **data, size_t *len);

#endif
