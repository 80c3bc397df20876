/*
 * split.h - a group-aware train/validation split of a dataset: items of one group always land on
 * the same side, and the validation side gets as close as it can to a fraction of the items.
 *
 * GROUPS
 *   - With a regular expression (POSIX extended, regcomp REG_EXTENDED, searched anywhere in the
 *     name): the key of an item is what the expression's first capture group matched, or the
 *     whole match when it has no group (or the group did not take part), applied to the item's
 *     file name as the importer recorded it (data/store/store.h, file_names). Items with equal
 *     keys form one group. An item whose name does not match, or that has no name, is a group of
 *     its own. COCO_MVal's "baseball bat00_000000057232.png" with '_([0-9]+)\.' -> key
 *     "000000057232": every crop of one photo stays on one side.
 *   - Without one: the dataset's /group column (the COCO image id, the COCO_MVal photo id of
 *     import-masks --class-from-prefix); -1 is a group of its own.
 *
 * ASSIGNMENT (greedy over shuffled groups)
 *   The groups are put in a random order (xoshiro seeded with seed, data/base/rng.h: the same
 *   seed and dataset give the same split); the target is val * items. Walking that order, a
 *   group joins the validation side when that brings the validation count closer to the target
 *   (strictly), else the training side. Since the count only grows, a group left out stays a
 *   worse choice, and once past the target nothing joins, so at the end |validation items -
 *   target| <= (largest group) / 2; groups of one item meet the target within 0.5. An empty
 *   side is possible (a fraction under half an item's share): it is written as an empty
 *   dataset.
 *
 * WRITING
 *   Both outputs have the input's layout, names and file names; items keep their order. Each is
 *   written to a temp file and renamed only when complete (data/store); when the second commit
 *   fails the first output is removed again. With foreground the
 *   outputs are converted to the single class `foreground` (curate/item_copy.h).
 */
#ifndef PICTOR_DATA_SPLIT_H
#define PICTOR_DATA_SPLIT_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

/* Dense group ids 0..*n_groups-1 in group_of[n] from file names and a regular expression (see
 * above); *unmatched counts the names that did not match. An expression that does not compile:
 * -1 and "invalid regular expression '(': <regerror's text>". */
int split_groups_by_regex(const char *const *names, int64_t n, const char *regex,
                          int64_t *group_of, int64_t *n_groups, int64_t *unmatched, char *err,
                          size_t errlen);

/* Dense group ids from group columns (-1: a group of its own). -1 only on out of memory. */
int split_groups_by_id(const int64_t *ids, int64_t n, int64_t *group_of, int64_t *n_groups);

/* is_val[i] = 1 for the items of the validation side (see ASSIGNMENT). val in (0, 1).
 * Returns the number of validation items, or -1 on out of memory. */
int64_t split_assign(const int64_t *group_of, int64_t n, int64_t n_groups, double val,
                     uint64_t seed, uint8_t *is_val);

typedef struct {
    const char *in;
    const char *out_train, *out_val;
    double val;                     /* fraction of the items for out_val, in (0, 1) */
    const char *group_regex;        /* NULL: the /group column */
    uint64_t seed;
    int foreground;                 /* also convert both outputs to one class `foreground` */
    volatile sig_atomic_t *cancel;  /* optional: stop, nothing written, when non-zero */
} split_options;

typedef struct {
    int64_t items, groups;
    int64_t unmatched;              /* with a regex: names that did not match */
    int64_t val_items, val_groups;  /* the rest went to out_train */
    int64_t largest_group;
    double target;                  /* val * items */
} split_report;

/* The whole split: read in, assign, write both outputs. Returns 0; 1 bad input (options out of
 * range, a missing or corrupt file, a regex on a file without names, a bad regex); 2 a write
 * failed; 130 cancelled (nothing written). */
int split_file(const split_options *o, split_report *rep, char *err, size_t errlen);

#endif
