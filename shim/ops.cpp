/*
 * ops.cpp - tensor operations: views and indexing, elementwise math, comparisons, reductions and
 * linear algebra (dense and sparse). One line of libtorch per entry point.
 */
#include "internal.h"

using namespace pictor;

namespace {
std::vector<at::Tensor> list_of(pt_tensor *const *ts, int n)
{
    if (n <= 0 || !ts)
        throw std::invalid_argument("need at least one tensor (n=" + std::to_string(n) + ")");
    std::vector<at::Tensor> v;
    v.reserve((size_t)n);
    for (int i = 0; i < n; i++)
        v.push_back(T(ts[i]));
    return v;
}

c10::optional<double> bound(double v)
{
    return std::isnan(v) ? c10::optional<double>() : c10::optional<double>(v);
}

pt_status two_outputs(std::tuple<at::Tensor, at::Tensor> r, pt_tensor **a, pt_tensor **b)
{
    if (a)
        *a = wrap(std::get<0>(r));
    if (b)
        *b = wrap(std::get<1>(r));
    return PT_OK;
}
} // namespace

extern "C" {

/* ------------------------------------------------------------------ views and indexing */
pt_tensor *pt_reshape(const pt_tensor *t, const int64_t *s, int n) { PT_TRY_TENSOR(T(t).reshape(dims_of(s, n))) }
pt_tensor *pt_flatten(const pt_tensor *t, int a, int b) { PT_TRY_TENSOR(T(t).flatten(a, b)) }
pt_tensor *pt_permute(const pt_tensor *t, const int64_t *d, int n) { PT_TRY_TENSOR(T(t).permute(dims_of(d, n))) }
pt_tensor *pt_transpose(const pt_tensor *t, int a, int b) { PT_TRY_TENSOR(T(t).transpose(a, b)) }
pt_tensor *pt_squeeze(const pt_tensor *t, int d) { PT_TRY_TENSOR(T(t).squeeze(d)) }
pt_tensor *pt_unsqueeze(const pt_tensor *t, int d) { PT_TRY_TENSOR(T(t).unsqueeze(d)) }
pt_tensor *pt_expand(const pt_tensor *t, const int64_t *s, int n) { PT_TRY_TENSOR(T(t).expand(dims_of(s, n))) }
pt_tensor *pt_repeat(const pt_tensor *t, const int64_t *r, int n) { PT_TRY_TENSOR(T(t).repeat(dims_of(r, n))) }
pt_tensor *pt_narrow(const pt_tensor *t, int d, int64_t s, int64_t len) { PT_TRY_TENSOR(T(t).narrow(d, s, len)) }
pt_tensor *pt_slice(const pt_tensor *t, int d, int64_t a, int64_t b, int64_t step) { PT_TRY_TENSOR(T(t).slice(d, a, b, step)) }
pt_tensor *pt_select(const pt_tensor *t, int d, int64_t i) { PT_TRY_TENSOR(T(t).select(d, i)) }
pt_tensor *pt_cat(pt_tensor *const *ts, int n, int d) { PT_TRY_TENSOR(at::cat(list_of(ts, n), d)) }
pt_tensor *pt_stack(pt_tensor *const *ts, int n, int d) { PT_TRY_TENSOR(at::stack(list_of(ts, n), d)) }
pt_tensor *pt_flip(const pt_tensor *t, const int64_t *d, int n) { PT_TRY_TENSOR(T(t).flip(dims_of(d, n))) }
pt_tensor *pt_rot90(const pt_tensor *t, int k, int a, int b) { PT_TRY_TENSOR(T(t).rot90(k, {a, b})) }
pt_tensor *pt_index_select(const pt_tensor *t, int d, const pt_tensor *i) { PT_TRY_TENSOR(T(t).index_select(d, T(i))) }
pt_tensor *pt_gather(const pt_tensor *t, int d, const pt_tensor *i) { PT_TRY_TENSOR(T(t).gather(d, T(i))) }
pt_tensor *pt_scatter(const pt_tensor *t, int d, const pt_tensor *i, const pt_tensor *s) { PT_TRY_TENSOR(T(t).scatter(d, T(i), T(s))) }
pt_tensor *pt_scatter_add(const pt_tensor *t, int d, const pt_tensor *i, const pt_tensor *s) { PT_TRY_TENSOR(T(t).scatter_add(d, T(i), T(s))) }
pt_tensor *pt_index_add(const pt_tensor *t, int d, const pt_tensor *i, const pt_tensor *s) { PT_TRY_TENSOR(T(t).index_add(d, T(i), T(s))) }
pt_tensor *pt_masked_select(const pt_tensor *t, const pt_tensor *m) { PT_TRY_TENSOR(T(t).masked_select(T(m))) }
pt_tensor *pt_masked_fill(const pt_tensor *t, const pt_tensor *m, double v) { PT_TRY_TENSOR(T(t).masked_fill(T(m), v)) }
pt_tensor *pt_where(const pt_tensor *c, const pt_tensor *a, const pt_tensor *b) { PT_TRY_TENSOR(at::where(T(c), T(a), T(b))) }
pt_tensor *pt_nonzero(const pt_tensor *t) { PT_TRY_TENSOR(T(t).nonzero()) }

pt_status pt_topk(const pt_tensor *t, int64_t k, int dim, int largest, int sorted,
                  pt_tensor **values, pt_tensor **indices)
{
    PT_TRY_STATUS({ two_outputs(T(t).topk(k, dim, largest != 0, sorted != 0), values, indices); })
}

pt_status pt_sort(const pt_tensor *t, int dim, int descending, pt_tensor **values,
                  pt_tensor **indices)
{
    PT_TRY_STATUS({ two_outputs(T(t).sort(dim, descending != 0), values, indices); })
}

pt_tensor *pt_argsort(const pt_tensor *t, int d, int desc) { PT_TRY_TENSOR(T(t).argsort(d, desc != 0)) }
pt_tensor *pt_argmax(const pt_tensor *t, int d, int keep) { PT_TRY_TENSOR(T(t).argmax(d, keep != 0)) }
pt_tensor *pt_argmin(const pt_tensor *t, int d, int keep) { PT_TRY_TENSOR(T(t).argmin(d, keep != 0)) }
pt_tensor *pt_one_hot(const pt_tensor *i, int64_t n) { PT_TRY_TENSOR(at::one_hot(T(i), n)) }

/* ------------------------------------------------------------------ elementwise */
pt_tensor *pt_add(const pt_tensor *a, const pt_tensor *b) { PT_TRY_TENSOR(T(a) + T(b)) }
pt_tensor *pt_sub(const pt_tensor *a, const pt_tensor *b) { PT_TRY_TENSOR(T(a) - T(b)) }
pt_tensor *pt_mul(const pt_tensor *a, const pt_tensor *b) { PT_TRY_TENSOR(T(a) * T(b)) }
pt_tensor *pt_div(const pt_tensor *a, const pt_tensor *b) { PT_TRY_TENSOR(T(a) / T(b)) }
pt_tensor *pt_pow(const pt_tensor *a, const pt_tensor *b) { PT_TRY_TENSOR(T(a).pow(T(b))) }
pt_tensor *pt_maximum(const pt_tensor *a, const pt_tensor *b) { PT_TRY_TENSOR(at::maximum(T(a), T(b))) }
pt_tensor *pt_minimum(const pt_tensor *a, const pt_tensor *b) { PT_TRY_TENSOR(at::minimum(T(a), T(b))) }
pt_tensor *pt_atan2(const pt_tensor *a, const pt_tensor *b) { PT_TRY_TENSOR(at::atan2(T(a), T(b))) }
pt_tensor *pt_add_s(const pt_tensor *a, double s) { PT_TRY_TENSOR(T(a) + s) }
pt_tensor *pt_sub_s(const pt_tensor *a, double s) { PT_TRY_TENSOR(T(a) - s) }
pt_tensor *pt_rsub_s(const pt_tensor *a, double s) { PT_TRY_TENSOR(s - T(a)) }
pt_tensor *pt_mul_s(const pt_tensor *a, double s) { PT_TRY_TENSOR(T(a) * s) }
pt_tensor *pt_div_s(const pt_tensor *a, double s) { PT_TRY_TENSOR(T(a) / s) }
pt_tensor *pt_pow_s(const pt_tensor *a, double e) { PT_TRY_TENSOR(T(a).pow(e)) }
pt_tensor *pt_clamp(const pt_tensor *a, double lo, double hi)
{
    PT_TRY_TENSOR(([&] {
        auto l = bound(lo), h = bound(hi);
        if (!l && !h)
            return T(a).clone();
        return at::clamp(T(a), l ? c10::optional<at::Scalar>(*l) : c10::nullopt,
                         h ? c10::optional<at::Scalar>(*h) : c10::nullopt);
    }()))
}

pt_tensor *pt_eq(const pt_tensor *a, const pt_tensor *b) { PT_TRY_TENSOR(T(a).eq(T(b))) }
pt_tensor *pt_ne(const pt_tensor *a, const pt_tensor *b) { PT_TRY_TENSOR(T(a).ne(T(b))) }
pt_tensor *pt_lt(const pt_tensor *a, const pt_tensor *b) { PT_TRY_TENSOR(T(a).lt(T(b))) }
pt_tensor *pt_le(const pt_tensor *a, const pt_tensor *b) { PT_TRY_TENSOR(T(a).le(T(b))) }
pt_tensor *pt_gt(const pt_tensor *a, const pt_tensor *b) { PT_TRY_TENSOR(T(a).gt(T(b))) }
pt_tensor *pt_ge(const pt_tensor *a, const pt_tensor *b) { PT_TRY_TENSOR(T(a).ge(T(b))) }
pt_tensor *pt_eq_s(const pt_tensor *a, double s) { PT_TRY_TENSOR(T(a).eq(s)) }
pt_tensor *pt_ne_s(const pt_tensor *a, double s) { PT_TRY_TENSOR(T(a).ne(s)) }
pt_tensor *pt_lt_s(const pt_tensor *a, double s) { PT_TRY_TENSOR(T(a).lt(s)) }
pt_tensor *pt_le_s(const pt_tensor *a, double s) { PT_TRY_TENSOR(T(a).le(s)) }
pt_tensor *pt_gt_s(const pt_tensor *a, double s) { PT_TRY_TENSOR(T(a).gt(s)) }
pt_tensor *pt_ge_s(const pt_tensor *a, double s) { PT_TRY_TENSOR(T(a).ge(s)) }
pt_tensor *pt_logical_and(const pt_tensor *a, const pt_tensor *b) { PT_TRY_TENSOR(T(a).logical_and(T(b))) }
pt_tensor *pt_logical_or(const pt_tensor *a, const pt_tensor *b) { PT_TRY_TENSOR(T(a).logical_or(T(b))) }
pt_tensor *pt_logical_not(const pt_tensor *a) { PT_TRY_TENSOR(T(a).logical_not()) }

pt_tensor *pt_neg(const pt_tensor *a) { PT_TRY_TENSOR(T(a).neg()) }
pt_tensor *pt_abs(const pt_tensor *a) { PT_TRY_TENSOR(T(a).abs()) }
pt_tensor *pt_exp(const pt_tensor *a) { PT_TRY_TENSOR(T(a).exp()) }
pt_tensor *pt_log(const pt_tensor *a) { PT_TRY_TENSOR(T(a).log()) }
pt_tensor *pt_log1p(const pt_tensor *a) { PT_TRY_TENSOR(T(a).log1p()) }
pt_tensor *pt_sqrt(const pt_tensor *a) { PT_TRY_TENSOR(T(a).sqrt()) }
pt_tensor *pt_rsqrt(const pt_tensor *a) { PT_TRY_TENSOR(T(a).rsqrt()) }
pt_tensor *pt_square(const pt_tensor *a) { PT_TRY_TENSOR(T(a).square()) }
pt_tensor *pt_reciprocal(const pt_tensor *a) { PT_TRY_TENSOR(T(a).reciprocal()) }
pt_tensor *pt_sin(const pt_tensor *a) { PT_TRY_TENSOR(T(a).sin()) }
pt_tensor *pt_cos(const pt_tensor *a) { PT_TRY_TENSOR(T(a).cos()) }
pt_tensor *pt_floor(const pt_tensor *a) { PT_TRY_TENSOR(T(a).floor()) }
pt_tensor *pt_ceil(const pt_tensor *a) { PT_TRY_TENSOR(T(a).ceil()) }
pt_tensor *pt_round(const pt_tensor *a) { PT_TRY_TENSOR(T(a).round()) }
pt_tensor *pt_sign(const pt_tensor *a) { PT_TRY_TENSOR(T(a).sign()) }
pt_tensor *pt_isnan(const pt_tensor *a) { PT_TRY_TENSOR(T(a).isnan()) }
pt_tensor *pt_isfinite(const pt_tensor *a) { PT_TRY_TENSOR(T(a).isfinite()) }

/* ------------------------------------------------------------------ reductions */
pt_tensor *pt_sum(const pt_tensor *t) { PT_TRY_TENSOR(T(t).sum()) }
pt_tensor *pt_mean(const pt_tensor *t) { PT_TRY_TENSOR(T(t).mean()) }
pt_tensor *pt_max(const pt_tensor *t) { PT_TRY_TENSOR(T(t).max()) }
pt_tensor *pt_min(const pt_tensor *t) { PT_TRY_TENSOR(T(t).min()) }
pt_tensor *pt_sum_dims(const pt_tensor *t, const int64_t *d, int n, int k) { PT_TRY_TENSOR(T(t).sum(dims_of(d, n), k != 0)) }
pt_tensor *pt_mean_dims(const pt_tensor *t, const int64_t *d, int n, int k) { PT_TRY_TENSOR(T(t).mean(dims_of(d, n), k != 0)) }
pt_tensor *pt_amax(const pt_tensor *t, const int64_t *d, int n, int k) { PT_TRY_TENSOR(T(t).amax(dims_of(d, n), k != 0)) }
pt_tensor *pt_amin(const pt_tensor *t, const int64_t *d, int n, int k) { PT_TRY_TENSOR(T(t).amin(dims_of(d, n), k != 0)) }
pt_tensor *pt_var_dims(const pt_tensor *t, const int64_t *d, int n, int unbiased, int k)
{
    PT_TRY_TENSOR(T(t).var(at::OptionalIntArrayRef(dims_of(d, n)), unbiased != 0, k != 0))
}
pt_tensor *pt_norm(const pt_tensor *t, double p, const int64_t *d, int n, int k)
{
    PT_TRY_TENSOR(n == 0 ? T(t).norm(p) : T(t).norm(p, dims_of(d, n), k != 0))
}
pt_tensor *pt_logsumexp(const pt_tensor *t, int d, int k) { PT_TRY_TENSOR(T(t).logsumexp({d}, k != 0)) }
pt_tensor *pt_cumsum(const pt_tensor *t, int d) { PT_TRY_TENSOR(T(t).cumsum(d)) }
pt_tensor *pt_any(const pt_tensor *t) { PT_TRY_TENSOR(T(t).any()) }
pt_tensor *pt_all(const pt_tensor *t) { PT_TRY_TENSOR(T(t).all()) }

/* ------------------------------------------------------------------ linear algebra */
pt_tensor *pt_matmul(const pt_tensor *a, const pt_tensor *b) { PT_TRY_TENSOR(at::matmul(T(a), T(b))) }
pt_tensor *pt_bmm(const pt_tensor *a, const pt_tensor *b) { PT_TRY_TENSOR(at::bmm(T(a), T(b))) }

pt_tensor *pt_sparse_coo(const pt_tensor *indices, const pt_tensor *values, int64_t rows,
                         int64_t cols)
{
    PT_TRY_TENSOR(at::sparse_coo_tensor(T(indices), T(values), {rows, cols}).coalesce())
}

pt_tensor *pt_sparse_mm(const pt_tensor *s, const pt_tensor *d) { PT_TRY_TENSOR(at::_sparse_mm(T(s), T(d))) }
pt_tensor *pt_to_dense(const pt_tensor *t) { PT_TRY_TENSOR(T(t).is_sparse() ? T(t).to_dense() : T(t)) }

} /* extern "C" */
