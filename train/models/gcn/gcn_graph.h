/*
 * gcn_graph.h - the graph of one image's superpixels (seed 003, claims 5-6) and what the GCN
 * needs of it.
 *
 * VERTICES: one per superpixel label 0 .. n-1 (data/geometry/slic.h), with its pixel count.
 * EDGES (claim 5): an undirected edge between two superpixels when a pixel of one and a pixel of
 *   the other are 4-neighbours (left-right AND up-down pairs: both image axes), listed once with
 *   i < j, sorted by (i, j). Its weight is exp(-d^2 / sigma^2), d the Euclidean distance between
 *   the two vertices' mean features (computed on a detached copy of the features: the graph's
 *   structure and weights are constants of the step, gradients flow through the vertex features);
 *   sigma > 0 as given, or (sigma <= 0) the median of d over the image's edges (1 when that
 *   median is 0 or there is no edge).
 * NORMALISED ADJACENCY (Kipf and Welling): A_hat = D^-1/2 (A + I) D^-1/2 with A the weighted
 *   adjacency (symmetric) and D_ii = 1 + sum_j A_ij: a sparse [n, n] tensor with n + 2 E entries.
 * VERTEX FEATURES (claim 6): the mean of the vertex's pixel features, as a differentiable
 *   segment mean (index_add of the pixels' feature rows, divided by the pixel counts), so the
 *   loss on vertices reaches the FCN.
 */
#ifndef PICTOR_GCN_GRAPH_H
#define PICTOR_GCN_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#include "pt.h"

typedef struct {
    int n;          /* vertices */
    int64_t *area;  /* n pixel counts (each >= 1 for labels 0..n-1 all present) */
    int n_edges;
    int32_t *ei, *ej; /* n_edges pairs, ei < ej */
    float *weight;  /* n_edges: exp(-d^2 / sigma^2) */
    double sigma;   /* the sigma used */
} gcn_graph;

/* The graph of labels (h x w, values 0 .. n-1, each present) over features feat (CHW: c planes of
 * h x w floats). sigma <= 0: the median distance. Returns 0, or -1 with a message (a label
 * outside 0 .. n-1 or absent, out of memory). Free with gcn_graph_free. */
int gcn_graph_build(const int32_t *labels, int n, int h, int w, const float *feat, int c,
                    double sigma, gcn_graph *g, char *err, size_t errlen);
void gcn_graph_free(gcn_graph *g);

/* A_hat as a sparse COO tensor [n, n] (float32), a new handle. */
pt_tensor *gcn_graph_adjacency(const gcn_graph *g);

/* Vertex features [n, C]: the mean over each label's pixels of feat [C, h, w] (differentiable
 * w.r.t. feat). labels64 is the int64 tensor [h * w] of the labels, area the pixel counts. */
pt_tensor *gcn_segment_mean(const pt_tensor *feat, const pt_tensor *labels64,
                            const gcn_graph *g);

/* Paint vertex values back onto pixels: out[p] = value[labels[p]] for the h * w pixels. */
void gcn_paint(const int32_t *labels, size_t hw, const float *value, float *out);

#endif
