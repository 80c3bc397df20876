/*
 * merge.h - `pictor data merge A.h5 B.h5 ... --out OUT.h5`: the items of several datasets, in
 * order, in one (e.g. the training sides of two photo collections for one model).
 *
 * The inputs must have the same layout (image storage, channels, raw size, annotations, mask
 * storage, depth type) and the same class and domain names, or --foreground (every class becomes
 * `foreground`, item_copy.h), which makes any class lists compatible. Items are copied with
 * item_copy (encoded images as their bytes); file names are kept when every input has them;
 * groups are kept as they are (a group id used by two inputs then joins their items: give the
 * inputs distinct ids, as the importers' photo ids are, before relying on a later split).
 * out is written only when complete (never over an input's file while reading it: refused).
 */
#ifndef PICTOR_DATA_MERGE_H
#define PICTOR_DATA_MERGE_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

/* Returns 0, 1 bad input (a missing or corrupt file, different layouts or names: the message
 * names both files and what differs), 2 a write failed, 130 cancelled; *items gets the count. */
int merge_files(const char *const *in, int n, const char *out, int foreground,
                volatile sig_atomic_t *cancel, int64_t *items, char *err, size_t errlen);

#endif
