/*
 * session.h - what every trainer command opens before it works (inside train/core only):
 *   a session   the config bound with the driver's tables, the threads and seeds it asks for,
 *               the datasets (data.train, data.val), the environment the driver sees, the
 *               parameter store and the model built in it;
 *   a data pipe the sampler and the loader threads over one dataset, with training's
 *               augmentation or evaluation's preprocessing (the resize to data.image_size);
 * and the small helpers the commands share (exit statuses, the one-line error, mkdir -p).
 * trainer.c runs the loop on them, evaluate.c evaluation and prediction.
 */
#ifndef PICTOR_SESSION_H
#define PICTOR_SESSION_H

#include <stdint.h>

#include "core/driver.h"
#include "core/trainer.h"
#include "pipeline/loader.h"
#include "pipeline/sampler.h"

#define SESSION_ERRLEN 2048

/* The commands' exit statuses (trainer.h). */
enum { EXIT_OK = 0, EXIT_USER = 1, EXIT_INTERNAL = 2, EXIT_SIGNAL = 130 };

typedef struct {
    settings cfg;
    const driver *drv;
    void *model_cfg;
    nn_store *store;
    store_reader *train, *val;
    drv_env env;
    void *model;
    collate_config collate;
    char run_dir[4096];
    /* data parallel (core/ddp.h): this process's rank and the number of ranks; 0 and 0 or 1
     * for one process. A training pipe takes shard `rank` of each global batch. */
    int rank, world;
} session;

/* What a command needs of the data: training (data.train required), evaluation (data.train or
 * data.val), or nothing (a tool running a trained model on files: no dataset is opened, images
 * are RGB, no class names). */
typedef enum { SESSION_EVAL = 0, SESSION_TRAIN = 1, SESSION_TOOL = 2 } session_mode;

/* Load the config with the driver's tables, set threads and seeds, open the datasets as mode
 * says, resolve data.holdout_domain, build the model. Returns an exit status; on failure the
 * message is in err and the session is closed. */
int session_open(session *s, const trainer_opts *o, session_mode mode, char *err,
                 size_t errlen);
void session_close(session *s);

typedef struct {
    ds_source src;
    sampler *smp;
    loader *ld;
} data_pipe;

/* The augmentation of c's data section. Training: every configured op. Evaluation: no random
 * op; resize to data.image_size (0 = as stored), or, when training resizes to augment.resize and
 * then crops augment.crop, the same resize and the centre crop (torchvision's Resize +
 * CenterCrop), so evaluation sees objects at the scale training did. */
aug_config session_augment(const settings *c, int training);

/* The loader over r: training (data.sampler, augmentation, endless epochs, from resume_at when
 * not NULL) or evaluation (sequential, one epoch, session_augment's geometry). max_items > 0: only the first
 * max_items items of r; keep_samples: batches also carry their samples. 0 or -1 (err). */
int pipe_open(data_pipe *p, session *s, store_reader *r, int training,
              const sampler_state *resume_at, int64_t max_items, int keep_samples, char *err,
              size_t errlen);
void pipe_close(data_pipe *p);

/* "pictor: <message>" on stderr; returns status. */
int core_fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int core_file_exists(const char *path);
/* mkdir -p: 0, or -1 with the directory and the reason in err. */
int core_make_dirs(const char *path, char *err, size_t errlen);

#endif
