/*
 * config_diff.h - what changed between two resolved configs, for `pictor train --resume`.
 *
 * A run directory's config.yaml is the resolved config of the run that wrote its checkpoints
 * (settings_emit: every key, defaults filled in, one "key: value  # comment" per line, nesting
 * by two-space indentation). On resume the new resolved config is emitted the same way and the
 * two texts are compared key by key under their dotted paths ("optim.lr"); comments, blank lines
 * and the header are ignored, so a change of wording or of the source file's name is no change.
 *
 * Keys that only say how long the run goes or how it is watched may change on resume:
 * run.*, train.max_steps, train.epochs, train.threads, train.log_every, train.eval_every,
 * train.checkpoint_every, data.workers, data.prefetch and data.val. Any other difference (the
 * model, the optimizer, the data, the augmentations...) would make the resumed run a different
 * experiment under the old name: cfgdiff reports it as "blocking".
 *
 * Edge cases: a key present on one side only (a newer pictor added or dropped it) is a
 * difference, shown as "(absent)"; a value that spans several lines cannot occur in emitted
 * configs (lists are written in flow style) and is compared line by line anyway; a '#' inside a
 * double-quoted value is part of the value.
 */
#ifndef PICTOR_CONFIG_DIFF_H
#define PICTOR_CONFIG_DIFF_H

#include <stddef.h>

typedef struct {
    char *key;      /* dotted path */
    char *old_val;  /* "(absent)" when the key is new */
    char *new_val;  /* "(absent)" when the key was dropped */
    int blocking;   /* 1 unless the key is one of the run-length keys above */
} cfgdiff_entry;

typedef struct {
    cfgdiff_entry *e;
    int n, n_blocking;
} cfgdiff;

/* Compares two emitted configs (NUL-terminated texts). Returns 0, or -1 when out of memory
 * (message in err). The entries keep the order of the new text (keys absent from it last). */
int cfgdiff_compute(const char *old_text, const char *new_text, cfgdiff *out, char *err,
                    size_t errlen);
/* Writes "  key: old -> new" lines (blocking ones only, or all) into buf, at most max_lines of
 * them and then "  ... and N more". */
void cfgdiff_format(const cfgdiff *d, int blocking_only, int max_lines, char *buf, size_t len);
void cfgdiff_free(cfgdiff *d); /* NULL-safe; leaves *d empty */

#endif
