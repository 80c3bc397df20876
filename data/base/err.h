/*
 * err.h - the one way pictor's C modules report an error into a caller's buffer: format the
 * message into err (when err is not NULL and errlen > 0) and return -1, so an error path is one
 * line: `return err_fail(err, errlen, "what was wrong: %s", why);`.
 */
#ifndef PICTOR_DATA_ERR_H
#define PICTOR_DATA_ERR_H

#include <stddef.h>

int err_fail(char *err, size_t errlen, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

#endif
