/*
 * synth_domains.h - a three-domain data set derived from Fashion-MNIST: each item as a photo, a
 * hand drawing and a cartoon, with its silhouette as the salient-region mask
 * (`pictor data synth fmnist-domains`).
 *
 * Owns: rendering one item in the three domains (deterministically from the seed and the item
 * index: the same seed, index and size always give the same pixels), the silhouette mask, the
 * outline tracing the drawings are made of, and the whole import into a dataset (data/store.h)
 * with a preview contact sheet. It does not own the store layout, the loader or samplers.
 *
 * THE DOMAINS (ids and names, as stored in /domain and /domain_names)
 *   0 "photo"       the original 28x28 grey image upscaled (bilinear) to size x size, as RGB
 *                   (light garment on black, as Fashion-MNIST is).
 *   1 "hand_drawn"  dark pen strokes on white (grey, stored as R=G=B): the silhouette's outline
 *                   (closed contours drawn as 1-4 overlapping strokes) and the strongest inner
 *                   edges (Sobel + non-maximum suppression + hysteresis inside the silhouette,
 *                   linked into chains); each stroke has its own width (1.3-2.8 px at size 64,
 *                   tapered at its ends), a small offset and a smooth wobble (together at most
 *                   ~1.2 px at size 64), and the pen's darkness varies per item. Outline
 *                   stretches that run along the image frame are not drawn (an object cut by the
 *                   frame has no outline there).
 *   2 "cartoon"     flat colours: the silhouette split into 2-4 regions by grey level
 *                   (quantiles of the item's own grey levels, cleaned by a majority filter), each
 *                   filled with a colour of a per-item palette (hues around a random base,
 *                   darker colours for darker greys), thin dark lines between regions, a bold
 *                   dark outline (about 3 px at size 64), a plain light (pastel) background.
 *   Widths, offsets and outline thickness scale with size / 64.
 *
 * THE MASK: the upscaled grey image thresholded (> SYNTH_MASK_THRESHOLD), specks smaller than
 * size*size/400 pixels removed, holes filled (background not 4-connected to the frame becomes
 * foreground). Values 0/1; the same mask for the three renderings of an item.
 *
 * VALIDATION DATA: with cut_gaps, each hand drawing gets a gap of known size in its outline
 * (data/sketch_filter.h's sketch_cut_gap, reach 4 px at size 64) and the sizes go to a CSV, so
 * `pictor data filter-sketches` can be measured from the command line (experiments/
 * sketch_screening/).
 *
 * THE DATA SET: raw RGB images [N, size, size, 3] and raw masks [N, size, size]; class names
 * are Fashion-MNIST's ten; domain names as above. With all_domains (the default), source item
 * i becomes items 3i (photo), 3i+1 (hand_drawn), 3i+2 (cartoon), all with group i, so a
 * group-aware split keeps the three renderings of one garment on one side. With one domain per
 * item, source item i becomes one item of domain i % 3 (group i): no garment is seen in two
 * domains.
 */
#ifndef PICTOR_DATA_SYNTH_DOMAINS_H
#define PICTOR_DATA_SYNTH_DOMAINS_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "import/import.h"

enum { SYNTH_PHOTO = 0, SYNTH_HAND_DRAWN = 1, SYNTH_CARTOON = 2, SYNTH_N_DOMAINS = 3 };

/* "photo", "hand_drawn", "cartoon" */
extern const char *const SYNTH_DOMAIN_NAMES[SYNTH_N_DOMAINS];
/* Fashion-MNIST's class names, "T-shirt/top" .. "Ankle boot" */
extern const char *const SYNTH_FMNIST_CLASSES[10];

#define SYNTH_DEFAULT_SIZE 64
#define SYNTH_MIN_SIZE 28
#define SYNTH_MAX_SIZE 512
/* Grey level (0..255) above which an upscaled pixel belongs to the silhouette. */
#define SYNTH_MASK_THRESHOLD 8

/* One item rendered in the three domains. */
typedef struct {
    int size;
    uint8_t *mask;                    /* size * size, 0/1 */
    uint8_t *image[SYNTH_N_DOMAINS];  /* size * size * 3 RGB each */
} synth_item;

/* Render the src_h x src_w grey image src (any size; Fashion-MNIST's is 28x28) at size x size
 * in the three domains. The random choices depend only on (seed, index). Returns 0, or -1 on
 * out of memory / bad size with a message; *out is empty on failure (safe to free). */
int synth_render_item(const uint8_t *src, int src_h, int src_w, int size, uint64_t seed,
                      int64_t index, synth_item *out, char *err, size_t errlen);
void synth_item_free(synth_item *it); /* NULL-safe, re-initialises */

/* The silhouette of an upscaled grey image (n x n), as described above, into mask (n * n).
 * Returns -1 on out of memory. */
int synth_silhouette(const uint8_t *grey, int n, uint8_t *mask);

/* A closed outline: the boundary pixels of one 8-connected component of a mask in tracing
 * order (Moore neighbour tracing, clockwise in image coordinates), as x, y pairs. */
typedef struct {
    int n;
    int *xy; /* 2 * n */
} synth_contour;

/* The outer contours of every 8-connected component of the h x w mask (non-zero = inside).
 * Returns the number of contours (>= 0; *out malloc'ed, free with synth_contours_free), or -1
 * on out of memory. Holes are not traced (masks here have none). */
int synth_trace_contours(const uint8_t *mask, int w, int h, synth_contour **out);
void synth_contours_free(synth_contour *c, int n);

typedef struct {
    import_common common;   /* out, limit (= --n, 0: the whole split), progress, cancel */
    const char *dir;        /* Fashion-MNIST folder; NULL: Debian's */
    int train;              /* 1: train split (60000), 0: test (10000) */
    uint64_t seed;
    int size;               /* 0: SYNTH_DEFAULT_SIZE */
    int one_domain_per_item;/* 0: every item in all three domains; 1: item i in domain i % 3 */
    const char *preview;    /* contact sheet PNG (NULL: none): the first item of each class
                               (columns), rows photo, hand_drawn, cartoon, mask */
    double cut_gaps;        /* > 0: validation data for filter-sketches: cut an outline gap into
                               every hand drawing (sketch_cut_gap), of a fraction drawn from the
                               5% grid 0, 0.05, ..., cut_gaps (<= 1) per item (seed, index) */
    const char *gaps_csv;   /* with cut_gaps: "index,source_item,gap" per hand drawing (index
                               in the dataset), written atomically; NULL: none */
} synth_fmnist_options;

/* Build the data set at o->common.out (atomically). Returns IMPORT_OK, IMPORT_USER_ERROR (bad
 * options, Fashion-MNIST missing), IMPORT_INTERNAL_ERROR (write failed) or IMPORT_CANCELLED;
 * rep->seen counts source items, rep->written dataset items. */
int synth_fmnist_domains(const synth_fmnist_options *o, import_report *rep, char *err,
                         size_t errlen);

#endif
