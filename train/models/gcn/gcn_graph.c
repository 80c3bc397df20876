/* gcn_graph.c - superpixel graph, normalised adjacency, segment mean; see gcn_graph.h. */
#include "models/gcn/gcn_graph.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"

void gcn_graph_free(gcn_graph *g)
{
    if (!g)
        return;
    free(g->area);
    free(g->ei);
    free(g->ej);
    free(g->weight);
    memset(g, 0, sizeof *g);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int gcn_graph_build(const int32_t *labels, int n, int h, int w, const float *feat, int c,
                    double sigma, gcn_graph *g, char *err, size_t errlen)
{
    memset(g, 0, sizeof *g);
    if (!labels || !feat || n < 1 || h < 1 || w < 1 || c < 1)
        return err_fail(err, errlen, "gcn graph: bad arguments (n %d, %d x %d x %d)", n, c, h, w);
    const size_t hw = (size_t)h * (size_t)w;
    g->n = n;
    g->area = calloc((size_t)n, sizeof *g->area);
    double *mean = calloc((size_t)n * (size_t)c, sizeof *mean);
    /* at most one key per pixel pair of different labels */
    uint64_t *keys = malloc(sizeof *keys * (2 * hw + 1));
    if (!g->area || !mean || !keys) {
        free(mean), free(keys), gcn_graph_free(g);
        return err_fail(err, errlen, "gcn graph: out of memory");
    }
    size_t nk = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const size_t p = (size_t)y * w + x;
            const int32_t l = labels[p];
            if (l < 0 || l >= n) {
                free(mean), free(keys), gcn_graph_free(g);
                return err_fail(err, errlen, "gcn graph: label %d at pixel (%d, %d) outside "
                                "0..%d", l, y, x, n - 1);
            }
            g->area[l]++;
            const int32_t nb[2] = {x + 1 < w ? labels[p + 1] : l, y + 1 < h ? labels[p + w] : l};
            for (int j = 0; j < 2; j++)
                if (nb[j] != l) {
                    uint64_t a = (uint64_t)(l < nb[j] ? l : nb[j]);
                    uint64_t b = (uint64_t)(l < nb[j] ? nb[j] : l);
                    keys[nk++] = a * (uint64_t)n + b;
                }
        }
    for (int v = 0; v < n; v++)
        if (g->area[v] == 0) {
            free(mean), free(keys), gcn_graph_free(g);
            return err_fail(err, errlen, "gcn graph: label %d has no pixel", v);
        }
    for (int ch = 0; ch < c; ch++)
        for (size_t p = 0; p < hw; p++)
            mean[(size_t)labels[p] * c + ch] += feat[(size_t)ch * hw + p];
    for (int v = 0; v < n; v++)
        for (int ch = 0; ch < c; ch++)
            mean[(size_t)v * c + ch] /= (double)g->area[v];
    qsort(keys, nk, sizeof *keys, cmp_u64);
    size_t ne = 0;
    for (size_t k = 0; k < nk; k++)
        if (k == 0 || keys[k] != keys[k - 1])
            keys[ne++] = keys[k];
    g->n_edges = (int)ne;
    g->ei = malloc(sizeof *g->ei * (ne + 1));
    g->ej = malloc(sizeof *g->ej * (ne + 1));
    g->weight = malloc(sizeof *g->weight * (ne + 1));
    double *d = malloc(sizeof *d * (ne + 1)), *sorted = malloc(sizeof *sorted * (ne + 1));
    if (!g->ei || !g->ej || !g->weight || !d || !sorted) {
        free(mean), free(keys), free(d), free(sorted), gcn_graph_free(g);
        return err_fail(err, errlen, "gcn graph: out of memory");
    }
    for (size_t k = 0; k < ne; k++) {
        g->ei[k] = (int32_t)(keys[k] / (uint64_t)n);
        g->ej[k] = (int32_t)(keys[k] % (uint64_t)n);
        double s = 0;
        for (int ch = 0; ch < c; ch++) {
            double t = mean[(size_t)g->ei[k] * c + ch] - mean[(size_t)g->ej[k] * c + ch];
            s += t * t;
        }
        d[k] = sqrt(s);
        sorted[k] = d[k];
    }
    if (!(sigma > 0)) {
        sigma = 1;
        if (ne > 0) {
            qsort(sorted, ne, sizeof *sorted, cmp_double);
            double med = ne % 2 ? sorted[ne / 2] : 0.5 * (sorted[ne / 2 - 1] + sorted[ne / 2]);
            if (med > 0)
                sigma = med;
        }
    }
    g->sigma = sigma;
    for (size_t k = 0; k < ne; k++)
        g->weight[k] = (float)exp(-d[k] * d[k] / (sigma * sigma));
    free(mean), free(keys), free(d), free(sorted);
    return 0;
}

pt_tensor *gcn_graph_adjacency(const gcn_graph *g)
{
    const int64_t nnz = (int64_t)g->n + 2 * (int64_t)g->n_edges;
    double *deg = malloc(sizeof *deg * (size_t)g->n);
    int64_t *idx = malloc(sizeof *idx * 2 * (size_t)nnz);
    float *val = malloc(sizeof *val * (size_t)nnz);
    if (!deg || !idx || !val) {
        free(deg), free(idx), free(val);
        pt_error_set("gcn adjacency: out of memory");
        return NULL;
    }
    for (int v = 0; v < g->n; v++)
        deg[v] = 1;
    for (int k = 0; k < g->n_edges; k++)
        deg[g->ei[k]] += g->weight[k], deg[g->ej[k]] += g->weight[k];
    int64_t e = 0;
    for (int v = 0; v < g->n; v++, e++)
        idx[e] = v, idx[nnz + e] = v, val[e] = (float)(1.0 / deg[v]);
    for (int k = 0; k < g->n_edges; k++) {
        const float a = (float)(g->weight[k] / sqrt(deg[g->ei[k]] * deg[g->ej[k]]));
        idx[e] = g->ei[k], idx[nnz + e] = g->ej[k], val[e++] = a;
        idx[e] = g->ej[k], idx[nnz + e] = g->ei[k], val[e++] = a;
    }
    size_t mark = pt_scope_begin();
    pt_tensor *ti = pt_from_data(idx, PT_SHAPE(2, nnz), PT_I64);
    pt_tensor *tv = pt_from_data(val, PT_SHAPE(nnz), PT_F32);
    pt_tensor *a = pt_scope_return(mark, pt_sparse_coo(ti, tv, g->n, g->n));
    free(deg), free(idx), free(val);
    return a;
}

pt_tensor *gcn_segment_mean(const pt_tensor *feat, const pt_tensor *labels64, const gcn_graph *g)
{
    const int64_t c = pt_size(feat, 0);
    float *area = malloc(sizeof *area * (size_t)g->n);
    if (!area) {
        pt_error_set("gcn segment mean: out of memory");
        return NULL;
    }
    for (int v = 0; v < g->n; v++)
        area[v] = (float)g->area[v];
    size_t mark = pt_scope_begin();
    pt_tensor *rows = pt_transpose(pt_reshape(feat, PT_SHAPE(c, -1)), 0, 1); /* [hw, C] */
    pt_tensor *sum = pt_index_add(pt_zeros(PT_SHAPE(g->n, c), PT_F32), 0, labels64, rows);
    pt_tensor *cnt = pt_from_data(area, PT_SHAPE(g->n, 1), PT_F32);
    free(area);
    return pt_scope_return(mark, pt_div(sum, cnt));
}

void gcn_paint(const int32_t *labels, size_t hw, const float *value, float *out)
{
    for (size_t p = 0; p < hw; p++)
        out[p] = value[labels[p]];
}
