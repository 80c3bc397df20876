/*
 * click_maps.c - see click_maps.h.
 */
#include "targets/click_maps.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "geometry/distance.h"

int click_check(const click *c, int n, int h, int w, char *err, size_t errlen)
{
    for (int i = 0; i < n; i++)
        if (c[i].y < 0 || c[i].y >= h || c[i].x < 0 || c[i].x >= w)
            return err_fail(err, errlen, "tap %d at x=%d, y=%d is outside the %dx%d image", i + 1,
                            c[i].x, c[i].y, w, h);
    return 0;
}

int click_maps(const click *c, int n, int h, int w, float *out, char *err, size_t errlen)
{
    if (click_check(c, n, h, w, err, errlen))
        return -1;
    const size_t hw = (size_t)h * (size_t)w;
    uint8_t *seed = malloc(hw);
    if (!seed)
        return err_fail(err, errlen, "correction maps: out of memory for %dx%d", w, h);
    for (int kind = 0; kind < 2; kind++) {
        float *map = out + (size_t)kind * hw;
        int any = 0;
        memset(seed, 0, hw);
        for (int i = 0; i < n; i++)
            if ((c[i].positive != 0) == (kind == 0)) {
                seed[(size_t)c[i].y * (size_t)w + (size_t)c[i].x] = 1;
                any = 1;
            }
        if (!any) {
            for (size_t i = 0; i < hw; i++)
                map[i] = 1.0f;
            continue;
        }
        if (distance_edt_f32(seed, h, w, map)) {
            free(seed);
            return err_fail(err, errlen, "correction maps: out of memory for %dx%d", w, h);
        }
        for (size_t i = 0; i < hw; i++)
            map[i] = fminf(map[i], CLICK_TRUNCATE) / CLICK_TRUNCATE;
    }
    free(seed);
    return 0;
}
