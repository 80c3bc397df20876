/*
 * sketch_filter.h - screening low-quality hand drawings by the completeness of the outline of
 * their salient region (`pictor data filter-sketches`): a drawing whose strokes miss part of the
 * outline of the region its mask marks is dropped ("the missing condition of the outline of the
 * salient region", claim 2 of the multidomain method).
 *
 * Owns: the completeness score (a pure function of image, mask and tolerance), the cutting of
 * outline gaps of known size for validation, and the whole screening of a dataset: reading IN,
 * writing the kept items to OUT (atomically, everything else preserved), and the report files
 * scores.csv, contact_sheet.png and summary.txt. It does not draw the histogram (the CLI does,
 * with train/plot.h, from the scores returned here).
 *
 * THE SCORE
 *   boundary pixel: a mask pixel (non-zero) with at least one 4-neighbour INSIDE the image that is
 *                   not in the mask. The image frame is not an outline: a region cut by the frame
 *                   has no outline there, and a drawing is not asked to have strokes along it.
 *   stroke pixel:   an image pixel darker than SKETCH_DARK (grey < 128; RGB is turned into grey
 *                   with the Rec. 601 weights).
 *   completeness =  (boundary pixels with a stroke pixel within Euclidean distance <= tolerance)
 *                   / (boundary pixels); NAN when the mask has no boundary pixel (empty mask, or
 *                   a mask covering the whole image).
 */
#ifndef PICTOR_DATA_SKETCH_FILTER_H
#define PICTOR_DATA_SKETCH_FILTER_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SKETCH_DARK 128
/* Defaults of the screening, chosen on the validation of tests/test_sketch_filter.c (outline
 * gaps of 0-50% cut into synthetic drawings; "low quality" = more than 10% of the outline
 * missing): see that file for the measured precision and recall. */
#define SKETCH_DEFAULT_MIN_COMPLETENESS 0.9
#define SKETCH_DEFAULT_TOLERANCE 2
#define SKETCH_MAX_TOLERANCE 64
/* The domain screened by default (data/synth_domains.h's name for hand drawings). */
#define SKETCH_DEFAULT_DOMAIN "hand_drawn"
/* Rejected drawings on the contact sheet. */
#define SKETCH_SHEET_MAX 64

/* Per-pixel outline status (see sketch_outline_status). */
enum { SKETCH_NOT_BOUNDARY = 0, SKETCH_COVERED = 1, SKETCH_MISSED = 2 };

/* Completeness of the outline of the mask's region in the grey w x h image (see above).
 * tolerance in pixels, >= 0. */
double sketch_completeness(const uint8_t *grey, const uint8_t *mask, int w, int h,
                           int tolerance);

/* The same, for an image of c channels (1 or 3), and with the status of every pixel written to
 * status (w * h: SKETCH_NOT_BOUNDARY / COVERED / MISSED) when status is not NULL. Returns the
 * completeness, NAN without boundary pixels, or -1 on out of memory / bad arguments. */
double sketch_outline_status(const uint8_t *image, int c, const uint8_t *mask, int w, int h,
                             int tolerance, uint8_t *status);

/* Validation: cut a gap into the outline of a drawing. The gap is a contiguous stretch of
 * boundary pixels: `fraction` of all of them (rounded), grown by breadth-first search along the
 * 8-connected boundary from boundary pixel number `start` % count (continuing on another piece
 * of the outline when one piece is too short). Every stroke pixel (grey < SKETCH_DARK) whose
 * nearest boundary pixel (within `reach` px) is in the gap is painted white (255 on every
 * channel). Returns the number of boundary pixels in the gap, or -1 on out of memory. */
int sketch_cut_gap(uint8_t *image, int c, const uint8_t *mask, int w, int h, double fraction,
                   uint64_t start, int reach);

/* ---------------------------------------------------------------- screening a dataset */

typedef struct {
    const char *in, *out;     /* IN.h5 and KEPT.h5 (must differ) */
    const char *report_dir;   /* created when missing */
    double min_completeness;  /* drop below this */
    int tolerance;            /* px */
    const char *domain;       /* domain name screened; NULL: SKETCH_DEFAULT_DOMAIN. A file
                                 without domain names: every item is screened */
    FILE *progress;           /* NULL: quiet */
    volatile sig_atomic_t *cancel;
} sketch_filter_options;

typedef struct {
    int64_t items;      /* items in IN */
    int64_t screened;   /* hand drawings with a mask with a boundary (they have a score) */
    int64_t unscored;   /* hand drawings kept without a score (no mask, or no boundary) */
    int64_t kept;       /* items written to OUT (every domain) */
    int64_t dropped;    /* hand drawings dropped */
    int64_t *index;     /* screened item indices, in order */
    double *score;      /* their completeness */
    char summary[512];  /* the line of summary.txt (no newline) */
} sketch_filter_report;

/* Screen o->in into o->out and write scores.csv, contact_sheet.png (the first SKETCH_SHEET_MAX
 * rejected drawings, missed outline pixels in red) and summary.txt into the report folder.
 * Returns 0; 1 for a user error (missing or invalid input, no masks, no such domain, bad
 * options); 2 when writing failed; 130 when cancelled (nothing written under o->out). */
int sketch_filter_file(const sketch_filter_options *o, sketch_filter_report *rep, char *err,
                       size_t errlen);
void sketch_filter_report_free(sketch_filter_report *rep);

#endif
