/*
 * item_copy.h - copying items from one dataset to another, as they are or turned into one class
 * `foreground`: what `pictor data split` and `pictor data foreground` (and --foreground on the
 * importers) write.
 *
 * Owns: creating a dataset with the layout of another (same image and mask storage, annotations,
 * class and domain names, file names), copying one item (encoded images as their stored bytes,
 * never re-encoded; masks and instances read and written again, which is lossless; the item's
 * file name), and the foreground conversion of a sample.
 *
 * FOREGROUND (seed 000, claim 3: every object class becomes one class)
 *   The class names become the single name "foreground"; every label >= 0 and every instance
 *   class id >= 0 becomes 0; -1 (no label) stays -1. Masks, polygons, points, domains, groups,
 *   file names and the item count are unchanged: a mask already marks the object against the
 *   background (a mask holding several class ids keeps them: binarise it before if that is not
 *   wanted).
 */
#ifndef PICTOR_DATA_ITEM_COPY_H
#define PICTOR_DATA_ITEM_COPY_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline/sample.h"
#include "store/store.h"

#define FOREGROUND_CLASS_NAME "foreground"

/* Labels and instance classes >= 0 become 0 (see above). */
void foreground_sample(sample *s);

/* A new dataset at path with r's layout and names (class names {"foreground"} when foreground);
 * source is its "source" attribute. NULL with a message on failure. */
store_writer *item_copy_create(store_reader *r, const char *path, const char *source,
                               int foreground, char *err, size_t errlen);

/* Append item i of r to w with its file name (name may be NULL: none), converted to foreground
 * when asked. */
int item_copy(store_reader *r, int64_t i, store_writer *w, const char *name, int foreground,
              char *err, size_t errlen);

/* `pictor data foreground IN --out OUT`: every item of in, converted, into out (out may be in:
 * the new file replaces it only when complete). cancel (may be NULL): stop when it becomes
 * non-zero, nothing written. Returns 0, 1 bad input (a missing or corrupt file), 2 a write
 * failed, 130 cancelled; *items gets the number of items written. */
int foreground_file(const char *in, const char *out, volatile sig_atomic_t *cancel,
                    int64_t *items, char *err, size_t errlen);

#endif
