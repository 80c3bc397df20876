/*
 * rle.c - see rle.h: COCO run-length masks (column-major runs) and their compressed string form.
 * Written from the format description in rle.h; no code taken from pycocotools.
 */
#include "codec/rle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"

int rle_check(const uint32_t *counts, size_t n, int h, int w, char *err, size_t errlen)
{
    if (h < 0 || w < 0)
        return err_fail(err, errlen, "bad size %d x %d", h, w);
    if (n > 0 && !counts)
        return err_fail(err, errlen, "no counts");
    uint64_t sum = 0, want = (uint64_t)h * (uint64_t)w;
    for (size_t i = 0; i < n; i++)
        sum += counts[i]; /* n * 2^32 cannot overflow 64 bits for any n that fits memory */
    if (sum != want)
        return err_fail(err, errlen, "counts sum to %llu, expected %d x %d = %llu",
                        (unsigned long long)sum, h, w, (unsigned long long)want);
    return 0;
}

int rle_decode(const uint32_t *counts, size_t n, int h, int w, uint8_t *mask, char *err,
               size_t errlen)
{
    if (!mask && (size_t)h * (size_t)w > 0)
        return err_fail(err, errlen, "no mask buffer");
    if (rle_check(counts, n, h, w, err, errlen))
        return -1;
    /* Walk the runs down each column; t is the column-major index, (x, y) its pixel. */
    int x = 0, y = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t v = (uint8_t)(i & 1);
        uint64_t left = counts[i];
        while (left > 0) {
            uint64_t take = (uint64_t)(h - y) < left ? (uint64_t)(h - y) : left;
            uint8_t *p = mask + (size_t)y * (size_t)w + (size_t)x;
            for (uint64_t k = 0; k < take; k++, p += w)
                *p = v;
            left -= take;
            y += (int)take;
            if (y == h) {
                y = 0;
                x++;
            }
        }
    }
    return 0;
}

int rle_encode(const uint8_t *mask, int h, int w, uint32_t **counts, size_t *n, char *err,
               size_t errlen)
{
    *counts = NULL;
    *n = 0;
    if (h < 0 || w < 0 || (!mask && (size_t)h * (size_t)w > 0))
        return err_fail(err, errlen, "bad mask %d x %d", h, w);
    size_t cap = 16, m = 0;
    uint32_t *c = malloc(cap * sizeof *c);
    if (!c)
        return err_fail(err, errlen, "out of memory");
    uint8_t cur = 0;
    uint32_t run = 0;
    for (int x = 0; x < w; x++)
        for (int y = 0; y < h; y++) {
            uint8_t v = mask[(size_t)y * (size_t)w + (size_t)x] != 0;
            if (v != cur) {
                if (m == cap) {
                    uint32_t *g = realloc(c, 2 * cap * sizeof *c);
                    if (!g) {
                        free(c);
                        return err_fail(err, errlen, "out of memory");
                    }
                    c = g;
                    cap *= 2;
                }
                c[m++] = run;
                run = 0;
                cur = v;
            }
            run++;
        }
    if (m == cap) {
        uint32_t *g = realloc(c, (cap + 1) * sizeof *c);
        if (!g) {
            free(c);
            return err_fail(err, errlen, "out of memory");
        }
        c = g;
    }
    c[m++] = run; /* the last run (for an empty mask: the single run 0 of length 0) */
    *counts = c;
    *n = m;
    return 0;
}

/* ---------------------------------------------------------------- the string form */

#define RLE_CHAR_BASE 48    /* '0' */
#define RLE_MORE 0x20       /* another 5-bit group follows */
#define RLE_SIGN 0x10       /* sign bit of the last group */
#define RLE_MAX_GROUPS 12   /* 60 bits: plenty for differences of 32-bit counts */

int rle_from_string(const char *s, uint32_t **counts, size_t *n, char *err, size_t errlen)
{
    *counts = NULL;
    *n = 0;
    if (!s)
        return err_fail(err, errlen, "no string");
    /* Every count takes at least one character: strlen bounds the number of counts. */
    size_t len = strlen(s), m = 0, p = 0;
    uint32_t *c = malloc((len ? len : 1) * sizeof *c);
    if (!c)
        return err_fail(err, errlen, "out of memory");
    while (p < len) {
        size_t start = p;
        int64_t x = 0;
        int groups = 0, more = 1, sign = 0;
        while (more) {
            if (p >= len) {
                free(c);
                return err_fail(err, errlen, "string ends inside the value that starts at "
                                "character %zu", start);
            }
            int ch = (unsigned char)s[p];
            int g = ch - RLE_CHAR_BASE;
            if (g < 0 || g > 0x3f) {
                free(c);
                return err_fail(err, errlen, ch >= 32 && ch < 127
                                ? "invalid character '%c' at %zu" : "invalid character "
                                "(byte %d) at %zu", ch, p);
            }
            if (groups == RLE_MAX_GROUPS) {
                free(c);
                return err_fail(err, errlen, "value at character %zu is too long", start);
            }
            x |= (int64_t)(g & 0x1f) << (5 * groups);
            groups++;
            more = g & RLE_MORE;
            sign = g & RLE_SIGN;
            p++;
        }
        if (sign) /* two's complement over 5 * groups bits */
            x -= (int64_t)1 << (5 * groups);
        if (m > 2)
            x += c[m - 2];
        if (x < 0 || x > (int64_t)UINT32_MAX) {
            free(c);
            return err_fail(err, errlen, "count %zu (at character %zu) is %lld, outside "
                            "0..2^32-1", m, start, (long long)x);
        }
        c[m++] = (uint32_t)x;
    }
    *counts = c;
    *n = m;
    return 0;
}

int rle_to_string(const uint32_t *counts, size_t n, char **out, char *err, size_t errlen)
{
    *out = NULL;
    if (n > 0 && !counts)
        return err_fail(err, errlen, "no counts");
    /* A 33-bit signed difference needs at most 7 groups of 5 bits. */
    char *s = malloc(n * 7 + 1);
    if (!s)
        return err_fail(err, errlen, "out of memory");
    size_t p = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t x = counts[i];
        if (i > 2)
            x -= counts[i - 2];
        int more = 1;
        while (more) {
            int g = (int)((uint64_t)x & 0x1f);
            x = (x - g) / 32; /* exact: floor(x / 32) for negative x too */
            more = (g & RLE_SIGN) ? x != -1 : x != 0;
            if (more)
                g |= RLE_MORE;
            s[p++] = (char)(RLE_CHAR_BASE + g);
        }
    }
    s[p] = 0;
    *out = s;
    return 0;
}
