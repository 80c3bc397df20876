/* test_synth_contours.c - Criterion tests (suite `synth_contours`): synth_trace_contours reads
 * its pixel chains off geometry/contour.h's pixel-edge contours and must give exactly the chains
 * of Moore neighbour tracing, which the hand-drawn renderer strokes: one-pixel-wide parts walked
 * there and back, a pixel reached only through a corner, a pixel passed twice around a notch,
 * holes not traced. The expected chains were produced by the former Moore tracer.
 */
#include <criterion/criterion.h>

#include <stdint.h>
#include <string.h>

#include "synth/synth_domains.h"

/* The chains of a mask drawn as rows of '#' (on) and '.' (off), written "x,y x,y ..." with
 * chains separated by " | ". */
static void chains_of(const char *const *rows, int h, char *out, size_t cap)
{
    int w = (int)strlen(rows[0]);
    uint8_t mask[256];
    cr_assert_leq(w * h, 256);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            mask[y * w + x] = rows[y][x] == '#';
    synth_contour *c = NULL;
    int k = synth_trace_contours(mask, w, h, &c);
    cr_assert_geq(k, 0);
    size_t o = 0;
    out[0] = '\0';
    for (int i = 0; i < k; i++)
        for (int j = 0; j < c[i].n; j++)
            o += (size_t)snprintf(out + o, cap - o, "%s%d,%d", j ? " " : i ? " | " : "",
                                  c[i].xy[2 * j], c[i].xy[2 * j + 1]);
    synth_contours_free(c, k);
}

Test(synth_contours, thin_parts_corners_and_notches_give_the_moore_chains)
{
    char got[512];
    const char *line[] = {".....", ".###.", "....."};
    chains_of(line, 3, got, sizeof got);
    cr_expect_str_eq(got, "1,1 2,1 3,1 2,1", "a line is walked there and back");
    const char *diagonal[] = {"#..", ".#.", "..."};
    chains_of(diagonal, 3, got, sizeof got);
    cr_expect_str_eq(got, "0,0 1,1", "pixels touching at a corner are one component");
    const char *ell[] = {".#", "##"};
    chains_of(ell, 2, got, sizeof got);
    cr_expect_str_eq(got, "1,0 1,1 0,1");
    const char *u[] = {"#.#", "###"};
    chains_of(u, 2, got, sizeof got);
    cr_expect_str_eq(got, "0,0 1,1 2,0 2,1 1,1 0,1", "the notch's pixel is passed twice");
    const char *ring[] = {".....", ".###.", ".#.#.", ".###.", "....."};
    chains_of(ring, 5, got, sizeof got);
    cr_expect_str_eq(got, "1,1 2,1 3,1 3,2 3,3 2,3 1,3 1,2", "the hole is not traced");
    const char *frame[] = {"###", "###"};
    chains_of(frame, 2, got, sizeof got);
    cr_expect_str_eq(got, "0,0 1,0 2,0 2,1 1,1 0,1", "along the image frame");
    const char *two[] = {"#...#", ".....", "..#.."};
    chains_of(two, 3, got, sizeof got);
    cr_expect_str_eq(got, "0,0 | 4,0 | 2,2", "components in raster order, single pixels");
}
