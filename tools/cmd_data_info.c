/*
 * cmd_data_info.c - what `pictor data info FILE.h5` prints: file size, format and source, items,
 * image storage and sizes, class and domain histograms, annotations, file names, groups.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cmd_data_internal.h"

static void print_size(FILE *f, long long bytes)
{
    const char *unit[] = {"B", "KB", "MB", "GB", "TB"};
    double v = (double)bytes;
    int u = 0;
    while (v >= 1024 && u < 4)
        v /= 1024, u++;
    fprintf(f, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
}

/* Counts of values in [-1, n) (index 0 is -1); NULL on out of memory. */
static int64_t *histogram(const int32_t *v, int64_t count, int n)
{
    int64_t *h = calloc((size_t)n + 1, sizeof *h);
    for (int64_t i = 0; h && i < count; i++)
        if (v[i] >= -1 && v[i] < n)
            h[v[i] + 1]++;
    return h;
}

/* The largest value + 1 (labels of a dataset without names). */
static int value_range(const int32_t *v, int64_t count)
{
    int32_t max = -1;
    for (int64_t i = 0; i < count; i++)
        max = v[i] > max ? v[i] : max;
    return max + 1;
}

static void print_histogram(const char *title, const int32_t *v, int64_t count, int n_names,
                            const char *(*name)(const store_reader *, int),
                            const store_reader *r)
{
    int n = n_names > 0 ? n_names : value_range(v, count);
    if (n == 0) {
        printf("%-13s none\n", title);
        return;
    }
    int64_t *h = histogram(v, count, n);
    if (!h)
        return;
    printf("%-13s %d%s\n", title, n, n_names > 0 ? "" : " (no names)");
    for (int k = 0; k < n; k++)
        printf("  %4d  %-28s %lld\n", k, n_names > 0 ? name(r, k) : "", (long long)h[k + 1]);
    if (h[0] > 0)
        printf("  %4s  %-28s %lld\n", "-1", "(none)", (long long)h[0]);
    free(h);
}

static void print_annotations(const store_reader *r, const store_summary *s)
{
    const store_layout *L = store_layout_of(r);
    unsigned a = L->o.annotations;
    printf("%-13s", "annotations");
    if (!a)
        printf(" none");
    if (a & STORE_MASK)
        printf(" mask (%s);", L->o.masks == STORE_RAW ? "raw" : "png");
    if (a & STORE_INSTANCES)
        printf(" instances: %lld in %lld items, %lld polygons, %lld vertices;",
               (long long)L->n_instances, (long long)s->items_with_instances,
               (long long)L->n_polygons, (long long)L->n_vertices);
    if (a & STORE_POINTS)
        printf(" points: %lld in %lld items;", (long long)L->n_points,
               (long long)s->items_with_points);
    if (a & STORE_AREA)
        printf(" area ratio: %lld items;", (long long)s->items_with_area);
    if (a & STORE_DEPTH)
        printf(" depth (%s): %lld items;", L->o.depth == STORE_DEPTH_F16 ? "float16" : "float32",
               (long long)s->items_with_depth);
    printf("\n");
}

void data_print_info(const char *path, const store_reader *r, const store_summary *s,
                       long long file_size)
{
    const store_layout *L = store_layout_of(r);
    printf("%-13s %s (", "file", path);
    print_size(stdout, file_size);
    printf(")\n%-13s %s v%d%s%s\n", "format", STORE_FORMAT_NAME, L->version,
           *L->o.source ? ", from: " : "", L->o.source);
    printf("%-13s %lld\n", "items", (long long)L->count);
    if (L->o.images == STORE_RAW)
        printf("%-13s raw uint8 [%lld, %d, %d, %d]\n", "images", (long long)L->count,
               L->o.height, L->o.width, L->o.channels);
    else
        printf("%-13s encoded (JPEG/PNG bytes), decoded to %d channel%s\n", "images",
               L->o.channels, L->o.channels > 1 ? "s" : "");
    if (L->count > 0)
        printf("%-13s width %d..%d, height %d..%d\n", "image size", s->min_w, s->max_w,
               s->min_h, s->max_h);
    print_histogram("classes", store_labels(r), L->count, store_num_classes(r),
                    store_class_name, r);
    print_histogram("domains", store_domains(r), L->count, store_num_domains(r),
                    store_domain_name, r);
    print_annotations(r, s);
    if (L->o.file_names)
        printf("%-13s recorded (split --group REGEX can group by them)\n", "file names");
    if (s->distinct_groups > 0)
        printf("%-13s %lld distinct\n", "groups", (long long)s->distinct_groups);
}
