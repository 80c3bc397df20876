/*
 * synth_instances.h - synthetic multi-instance data sets for instance segmentation
 * (`pictor data synth shapes` and `pictor data synth fmnist-canvas`).
 *
 * Owns: rendering one scene (an image with several object instances, their classes and their
 * visible masks) deterministically from (seed, split, index), the occlusion rules, and the whole
 * data set written into the store (data/store.h) with instances, class names and an optional
 * preview contact sheet. It does not own the store layout, the loader, or the targets a model
 * derives from the masks.
 *
 * THE SCENES
 *   shapes         1-6 objects of SYNTH_N_SHAPES classes (below) on a textured background (a
 *                  gradient, stripes, smooth noise or a checker of low contrast). Each object
 *                  has a random size (bounding-circle diameter log-uniform from 10 px to 70% of
 *                  the image at size 128, scaled with the size), rotation and centre (uniform
 *                  over the image, so objects are often cut by the border) and its own texture
 *                  (flat, stripes, a gradient or smooth noise around a base colour, plus grain).
 *                  Base colours keep a distance from the background's and from those of the
 *                  objects whose boxes come within 2 px (the best of 24 draws), so a mask's
 *                  pixels look different from what surrounds them.
 *   fmnist-canvas  2-5 real Fashion-MNIST items (the train split's canvases from the IDX
 *                  training set, the test split's from the test set), each resized (bilinear)
 *                  from 28 px to 24..64 px at size 128 (scaled with the size), tinted with a
 *                  light colour (the textured background is darker), pasted at a random position
 *                  (up to a quarter of the item past the border). Class = the item's label;
 *                  the item's mask = its silhouette (synth_domains.h: threshold, specks removed,
 *                  holes filled) at the pasted size.
 *   Both: RGB, or grey (channels 1: the luma of the RGB rendering).
 *
 * OCCLUSION: objects are drawn in order, later ones on top; an instance's mask is what stays
 * visible (the pixels no later object covers), so the masks of one scene never overlap. A new
 * object is only placed where it leaves every earlier instance at least SYNTH_SCENE_MIN_VISIBLE
 * of its drawn (in-image) area, and only if it shows SYNTH_SCENE_MIN_AREA pixels itself;
 * otherwise it is redrawn elsewhere (12 tries, then left out). An instance whose visible area
 * still ends under SYNTH_SCENE_MIN_AREA (a small object partly hidden) is dropped and its
 * pixels painted as background (counted in synth_scene.dropped). Every scene has at least one
 * instance.
 *
 * DETERMINISM AND SPLITS: a scene depends only on (kind, seed, split, index, size, channels):
 * each has its own random stream keyed by all of them, the train and the test split use
 * different keys (a fixed held-out split: the same --seed never gives the same scenes in both),
 * and fmnist-canvas also draws its items from the split's own Fashion-MNIST file.
 *
 * THE DATA SET: raw images [N, size, size, channels] (size default 128), instances with a 0/1
 * mask each (PNG, the layout of data/README.md; no polygons), class names (below, or
 * Fashion-MNIST's ten), /group = the image index (the image id), /label and /domain -1.
 */
#ifndef PICTOR_DATA_SYNTH_INSTANCES_H
#define PICTOR_DATA_SYNTH_INSTANCES_H

#include <stddef.h>
#include <stdint.h>

#include "import/import.h"

/* The classes of `shapes` (ids and names as stored in /class_names). ring (a hole) and crescent
 * (a disc minus an offset disc: its centroid may fall outside it) are not star-convex. */
enum {
    SYNTH_SHAPE_ELLIPSE = 0,
    SYNTH_SHAPE_RECTANGLE = 1,
    SYNTH_SHAPE_TRIANGLE = 2,
    SYNTH_SHAPE_STAR = 3,
    SYNTH_SHAPE_CROSS = 4,
    SYNTH_SHAPE_RING = 5,
    SYNTH_SHAPE_CRESCENT = 6,
    SYNTH_N_SHAPES = 7
};
/* "ellipse", "rectangle", "triangle", "star", "cross", "ring", "crescent" */
extern const char *const SYNTH_SHAPE_CLASSES[SYNTH_N_SHAPES];

#define SYNTH_SCENE_DEFAULT_SIZE 128
#define SYNTH_SCENE_MIN_SIZE 32
#define SYNTH_SCENE_MAX_SIZE 1024
/* Visible pixels an instance needs to be kept. */
#define SYNTH_SCENE_MIN_AREA 16
/* Fraction of its drawn area an instance keeps visible when later objects are placed. */
#define SYNTH_SCENE_MIN_VISIBLE 0.4
#define SYNTH_SHAPES_MAX_OBJECTS 6
#define SYNTH_CANVAS_MIN_ITEMS 2
#define SYNTH_CANVAS_MAX_ITEMS 5
#define SYNTH_SCENE_MAX_INSTANCES 6
/* Default number of scenes (--n) of each split. */
#define SYNTH_SCENE_DEFAULT_N_TRAIN 10000
#define SYNTH_SCENE_DEFAULT_N_TEST 1000

typedef enum { SYNTH_SCENE_SHAPES = 0, SYNTH_SCENE_FMNIST_CANVAS = 1 } synth_scene_kind;

/* One instance of a scene. */
typedef struct {
    int32_t class_id;
    int64_t source;     /* fmnist-canvas: the item's index in its split's IDX file; shapes: -1 */
    int x0, y0, x1, y1; /* the box the object was drawn in, before clipping and occlusion
                           (half-open, may reach past the image); fmnist-canvas: the pasted
                           item's square */
    int64_t area;       /* visible pixels: the sum of mask */
    int64_t drawn_area; /* pixels it covered inside the image before later objects */
    uint8_t *mask;      /* size * size, 0/1: the visible part */
} synth_scene_instance;

typedef struct {
    int size, channels;
    uint8_t *image;     /* size * size * channels */
    int n;              /* instances, 1..SYNTH_SCENE_MAX_INSTANCES, in drawing order */
    synth_scene_instance inst[SYNTH_SCENE_MAX_INSTANCES];
    int dropped;        /* objects drawn and then dropped (visible area < SYNTH_SCENE_MIN_AREA) */
} synth_scene;

void synth_scene_free(synth_scene *s); /* NULL-safe, re-initialises */

/* A `shapes` scene. train: 1 train split, 0 test. channels 3 (RGB) or 1 (grey); size in
 * [SYNTH_SCENE_MIN_SIZE, SYNTH_SCENE_MAX_SIZE]. Returns 0, or -1 (bad argument, out of memory)
 * with a message; *out is empty on failure (safe to free). */
int synth_shapes_scene(int size, int channels, uint64_t seed, int train, int64_t index,
                       synth_scene *out, char *err, size_t errlen);

/* An `fmnist-canvas` scene from n_items grey items (item_h x item_w each, row-major, back to
 * back: the split's IDX images) and their labels (< 10). Same arguments and result as above. */
int synth_canvas_scene(const uint8_t *items, const uint8_t *labels, int64_t n_items,
                       int item_h, int item_w, int size, int channels, uint64_t seed, int train,
                       int64_t index, synth_scene *out, char *err, size_t errlen);

typedef struct {
    import_common common;  /* out, limit (= --n; 0: SYNTH_SCENE_DEFAULT_N_*), progress, cancel */
    synth_scene_kind kind;
    int train;             /* 1: train split, 0: test */
    uint64_t seed;
    int size;              /* 0: SYNTH_SCENE_DEFAULT_SIZE */
    int channels;          /* 0 or 3: RGB; 1: grey */
    const char *dir;       /* fmnist-canvas: the Fashion-MNIST folder; NULL: Debian's */
    const char *preview;   /* contact sheet PNG of the first 8 scenes (NULL: none): images
                              above, their instances in colours below */
} synth_instances_options;

/* Build the data set at o->common.out (atomically: nothing appears there on an error or a
 * cancel). Returns IMPORT_OK, IMPORT_USER_ERROR (bad options, Fashion-MNIST missing),
 * IMPORT_INTERNAL_ERROR (out of memory, write failed) or IMPORT_CANCELLED. rep->seen = scenes
 * rendered, rep->written = items, rep->instances = instances written, rep->tiny_dropped =
 * objects dropped for a visible area under SYNTH_SCENE_MIN_AREA. */
int synth_instances(const synth_instances_options *o, import_report *rep, char *err,
                    size_t errlen);

#endif
