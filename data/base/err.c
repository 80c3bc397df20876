/* err.c - err_fail and err_vfail (see err.h). */
#include "base/err.h"

#include <stdio.h>

int err_vfail(char *err, size_t errlen, const char *fmt, va_list ap)
{
    if (err && errlen > 0)
        vsnprintf(err, errlen, fmt, ap);
    return -1;
}

int err_fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_vfail(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}
