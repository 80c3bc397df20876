/* bench_interactive.c - the point of seed 000: a correction re-runs only part 2 of the network.
 * Times, on the same image in one process and interleaved, a full pass (part 1 + part 2 +
 * assembling: what a network without the split runs for every tap) and a correction (part 2 +
 * assembling, part 1's features cached), of the interactive network (train/models/interactive/
 * inet.h: ResNet-18, 3x3 position-sensitive cells, decoder width 64, correction maps with the
 * previous mask) under no-grad in eval mode, random weights (the cost does not depend on them).
 *
 *   bench_interactive [--threads T] [--size S] [--reps R]
 *
 * Prints full_ms=, tap_ms= (medians over R reps) and interactive_correction_speedup=full/tap.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "models/interactive/inet.h"
#include "bench_util.h"

int main(int argc, char **argv)
{
    int threads = 2, size = 320, reps = 10;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--threads")) threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--size")) size = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--reps")) reps = atoi(argv[i + 1]);
    }
    if (reps < 1 || reps > 1000 || size < 32) {
        fprintf(stderr, "bench_interactive: bad --reps or --size\n");
        return 2;
    }
    pt_set_num_threads(threads);
    nn_store *s = nn_store_new(1);
    inet m;
    inet_config c = {.depth = 18, .k = 3, .prev_mask = 1, .decoder_width = 64, .n_sizes = 4,
                     .n_ratios = 3, .sizes = {24, 48, 96, 160}, .ratios = {0.5, 1, 2}};
    if (inet_init(&m, s, c) != PT_OK) {
        fprintf(stderr, "bench_interactive: %s\n", pt_error());
        return 2;
    }
    nn_store_set_training(s, 0);
    pt_no_grad_begin();
    int64_t xs[4] = {1, 3, size, size}, ms[4] = {1, 3, size, size};
    size_t keep = pt_scope_begin();
    pt_tensor *x = pt_randn(xs, 4, PT_F32, NULL), *maps = pt_rand(ms, 4, PT_F32, NULL);
    float box[1][4] = {{size * 0.2f, size * 0.2f, size * 0.8f, size * 0.8f}};
    double *full = malloc((size_t)reps * sizeof *full), *tap = malloc((size_t)reps * sizeof *tap);
    int ok = 1;
    for (int r = -1; r < reps && ok; r++) { /* r = -1: warm-up */
        double t0 = now_ms();
        size_t mark = pt_scope_begin();
        inet_part1_out p1;
        ok = inet_part1(&m, x, &p1) == PT_OK &&
             inet_assemble(&m, inet_part2(&m, &p1, maps), (const float(*)[4])box, size, size,
                           NULL) != NULL;
        double t1 = now_ms();
        /* the correction: part 1's outputs already there */
        ok = ok && inet_assemble(&m, inet_part2(&m, &p1, maps), (const float(*)[4])box, size,
                                 size, NULL) != NULL;
        double t2 = now_ms();
        pt_scope_end(mark);
        if (r >= 0) {
            full[r] = t1 - t0;
            tap[r] = t2 - t1;
        }
    }
    if (!ok) {
        fprintf(stderr, "bench_interactive: %s\n", pt_error());
        return 2;
    }
    qsort(full, (size_t)reps, sizeof *full, cmp_double);
    qsort(tap, (size_t)reps, sizeof *tap, cmp_double);
    double fm = full[reps / 2], tm = tap[reps / 2];
    printf("interactive network %dx%d, %d threads: full pass %.1f ms, correction %.1f ms\n", size,
           size, threads, fm, tm);
    printf("full_ms=%.3f\ntap_ms=%.3f\ninteractive_correction_speedup=%.3f\n", fm, tm, fm / tm);
    pt_scope_end(keep);
    pt_no_grad_end();
    free(full), free(tap);
    inet_free(&m);
    nn_store_free(s);
    return 0;
}
