/*
 * bytebuf.h - a growable byte buffer for building records in memory (JSON lines, protobuf
 * events). Appends never fail loudly: the first allocation failure sets `oom` and later appends
 * are ignored, so a caller checks once at the end. The bytes are always followed by a '\0' (not
 * counted in n), so a text buffer is a C string. Zero-initialise; release with free(b.p).
 */
#ifndef PICTOR_BYTEBUF_H
#define PICTOR_BYTEBUF_H

#include <stddef.h>

typedef struct {
    char *p;
    size_t n, cap;
    int oom;
} bytebuf;

/* Room for `extra` more bytes (and the terminating '\0'). */
void bb_reserve(bytebuf *b, size_t extra);
void bb_put(bytebuf *b, const void *data, size_t len);
void bb_puts(bytebuf *b, const char *s);
void bb_printf(bytebuf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#endif
