/*
 * err.h - the one way pictor's C modules report an error into a caller's buffer: format the
 * message into err (when err is not NULL and errlen > 0) and return -1, so an error path is one
 * line: `return err_fail(err, errlen, "what was wrong: %s", why);`.
 *
 * err_vfail is the same with a va_list, for the few helpers that add to the message or return
 * another code (store_fail_h5 appends HDF5's error stack, imp_fail returns an exit code): they
 * format through it and never call vsnprintf into an error buffer themselves.
 */
#ifndef PICTOR_DATA_ERR_H
#define PICTOR_DATA_ERR_H

#include <stdarg.h>
#include <stddef.h>

int err_fail(char *err, size_t errlen, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

int err_vfail(char *err, size_t errlen, const char *fmt, va_list ap)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 0)))
#endif
    ;

#endif
