/*
 * fuzz_image.c - libFuzzer harness of the image codecs (data/codec/image.h): image_probe,
 * image_check and image_decode of JPEG/PNG bytes, the mask rule of the importers (decode to one
 * channel, > 127 is foreground), and for small images a PNG round trip that must give the same
 * pixels back. The first input byte picks the channel count asked for (0, 1 or 3); the rest is
 * the file.
 */
#include "codec/image.h"
#include "fuzz_common.h"

#define ROUNDTRIP_MAX_PIXELS (1 << 16)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const int channels[3] = {0, 1, 3};
    int want = channels[data[0] % 3];
    const uint8_t *file = data + 1;
    size_t len = size - 1;
    char err[256];
    int h = 0, w = 0, c = 0;
    image_probe(file, len, &h, &w, &c, err, sizeof err);
    image_check(file, len, &h, &w, &c, err, sizeof err);
    uint8_t *px = NULL;
    if (image_decode(file, len, want, &px, &h, &w, &c, err, sizeof err) == 0) {
        if (!px || h <= 0 || w <= 0 || (want && c != want) || (c != 1 && c != 3))
            abort(); /* success must mean a real picture of the asked kind */
        size_t n = (size_t)h * (size_t)w * (size_t)c;
        unsigned fg = 0;
        if (c == 1)
            for (size_t i = 0; i < n; i++)
                fg += px[i] > 127; /* the mask rule; touches every byte (ASan checks the size) */
        (void)fg;
        if ((size_t)h * (size_t)w <= ROUNDTRIP_MAX_PIXELS) {
            uint8_t *png = NULL, *back = NULL;
            size_t plen = 0;
            int h2, w2, c2;
            if (image_encode_png(px, h, w, c, &png, &plen, err, sizeof err) != 0 ||
                image_decode(png, plen, c, &back, &h2, &w2, &c2, err, sizeof err) != 0 ||
                h2 != h || w2 != w || c2 != c || memcmp(back, px, n) != 0)
                abort(); /* pictor's own PNG must read back exactly */
            free(png);
            free(back);
        }
    }
    free(px);
    return 0;
}
