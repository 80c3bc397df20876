/*
 * fuzz_rle.c - libFuzzer harness of COCO's RLE (data/codec/rle.h): the first two bytes are the
 * mask's height and width (0..255 each), the rest is a compressed counts string. Whatever
 * decodes must encode back to the same counts (as string and as mask).
 */
#include "codec/rle.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    int h = data[0], w = data[1];
    char *s = malloc(size - 1), err[256];
    if (!s)
        return 0;
    memcpy(s, data + 2, size - 2);
    s[size - 2] = '\0';
    uint32_t *counts = NULL;
    size_t n = 0;
    if (rle_from_string(s, &counts, &n, err, sizeof err) == 0) {
        char *again = NULL;
        if (rle_to_string(counts, n, &again, err, sizeof err) != 0)
            abort();
        uint32_t *c2 = NULL;
        size_t n2 = 0;
        if (rle_from_string(again, &c2, &n2, err, sizeof err) != 0 || n2 != n ||
            (n && memcmp(c2, counts, n * sizeof *counts) != 0))
            abort(); /* string -> counts -> string -> counts is the identity on counts */
        free(c2);
        free(again);
        uint8_t *mask = malloc((size_t)h * (size_t)w + 1);
        if (mask && rle_decode(counts, n, h, w, mask, err, sizeof err) == 0) {
            uint32_t *c3 = NULL;
            size_t n3 = 0;
            uint8_t *mask2 = malloc((size_t)h * (size_t)w + 1);
            if (rle_encode(mask, h, w, &c3, &n3, err, sizeof err) != 0 || !mask2 ||
                rle_decode(c3, n3, h, w, mask2, err, sizeof err) != 0 ||
                memcmp(mask, mask2, (size_t)h * (size_t)w) != 0)
                abort(); /* mask -> runs -> mask is the identity */
            free(c3);
            free(mask2);
        }
        free(mask);
    }
    free(counts);
    free(s);
    return 0;
}
