/*
 * core.cpp - the shim's foundations: handles and scopes, the thread-local error channel, library
 * settings (threads, seeds, determinism), generators, dtype/shape queries, creation from C
 * buffers and factories, and in-place updates.
 */
#include "internal.h"

#include <ATen/Parallel.h>
#include <ATen/CPUGeneratorImpl.h>

#include <atomic>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <thread>
#include <vector>

namespace {
thread_local std::string g_error;
thread_local bool g_pending = false;
thread_local std::vector<pt_tensor *> g_scope;
thread_local size_t g_scope_depth = 0; /* open scopes on this thread */
std::atomic<long> g_live{0};
} // namespace

namespace pictor {

void set_error(const std::string &msg)
{
    g_error = msg;
    g_pending = true;
}

void on_null(const char *op)
{
    if (g_pending)
        return;
    set_error(std::string(op) + ": a tensor argument is NULL");
}

std::string first_line(const char *what)
{
    std::string s(what ? what : "");
    size_t cut = s.find("Exception raised from");
    if (cut != std::string::npos)
        s.erase(cut);
    while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
        s.pop_back();
    for (char &c : s)
        if (c == '\n')
            c = ' ';
    return s;
}

pt_tensor *wrap(at::Tensor t)
{
    pt_tensor *h = new pt_tensor{std::move(t), -1};
    g_live.fetch_add(1, std::memory_order_relaxed);
    if (g_scope_depth > 0) {
        h->scope_slot = (long)g_scope.size();
        g_scope.push_back(h);
    }
    return h;
}

std::string describe(const at::Tensor &t)
{
    if (!t.defined())
        return "undefined";
    std::string s;
    try {
        s = pt_dtype_name(from_scalar_type(t.scalar_type()));
    } catch (const std::exception &) {
        s = c10::toString(t.scalar_type());
    }
    s += t.is_sparse() ? " sparse[" : "[";
    for (int64_t i = 0; i < t.dim(); i++) {
        if (i)
            s += ", ";
        s += std::to_string(t.size(i));
    }
    s += "]";
    return s;
}

at::ScalarType to_scalar_type(pt_dtype dt)
{
    switch (dt) {
    case PT_U8: return at::kByte;
    case PT_I8: return at::kChar;
    case PT_I16: return at::kShort;
    case PT_I32: return at::kInt;
    case PT_I64: return at::kLong;
    case PT_F16: return at::kHalf;
    case PT_BF16: return at::kBFloat16;
    case PT_F32: return at::kFloat;
    case PT_F64: return at::kDouble;
    case PT_BOOL: return at::kBool;
    }
    throw std::invalid_argument("unknown pt_dtype " + std::to_string((int)dt));
}

pt_dtype from_scalar_type(at::ScalarType st)
{
    switch (st) {
    case at::kByte: return PT_U8;
    case at::kChar: return PT_I8;
    case at::kShort: return PT_I16;
    case at::kInt: return PT_I32;
    case at::kLong: return PT_I64;
    case at::kHalf: return PT_F16;
    case at::kBFloat16: return PT_BF16;
    case at::kFloat: return PT_F32;
    case at::kDouble: return PT_F64;
    case at::kBool: return PT_BOOL;
    default: break;
    }
    throw std::invalid_argument(std::string("dtype ") + c10::toString(st) +
                                " has no pt_dtype");
}

c10::optional<at::Generator> gen_of(pt_generator *g)
{
    if (!g)
        return c10::nullopt;
    return g->g;
}

at::IntArrayRef dims_of(const int64_t *v, int n)
{
    if (n < 0 || (n > 0 && !v))
        throw std::invalid_argument("bad dimension list (n=" + std::to_string(n) + ")");
    return at::IntArrayRef(v, (size_t)n);
}

} // namespace pictor

using namespace pictor;

/* ------------------------------------------------------------------ scopes and handles */

namespace {
void register_in_scope(pt_tensor *h)
{
    if (g_scope_depth == 0)
        return;
    h->scope_slot = (long)g_scope.size();
    g_scope.push_back(h);
}

void destroy(pt_tensor *h)
{
    delete h;
    g_live.fetch_sub(1, std::memory_order_relaxed);
}
} // namespace

extern "C" {

size_t pt_scope_begin(void)
{
    g_scope_depth++;
    return g_scope.size();
}

void pt_scope_end(size_t mark)
{
    if (g_scope_depth == 0)
        return;
    for (size_t i = g_scope.size(); i > mark; i--) {
        pt_tensor *h = g_scope[i - 1];
        if (h)
            destroy(h);
    }
    if (mark < g_scope.size())
        g_scope.resize(mark);
    g_scope_depth--;
}

pt_tensor *pt_scope_return(size_t mark, pt_tensor *keep)
{
    if (keep && keep->scope_slot >= 0) {
        g_scope[(size_t)keep->scope_slot] = nullptr;
        keep->scope_slot = -1;
    }
    pt_scope_end(mark);
    if (keep)
        register_in_scope(keep);
    return keep;
}

void pt_scope_return_n(size_t mark, pt_tensor *const *keep, int n)
{
    for (int i = 0; keep && i < n; i++)
        if (keep[i] && keep[i]->scope_slot >= 0) {
            g_scope[(size_t)keep[i]->scope_slot] = nullptr;
            keep[i]->scope_slot = -1;
        }
    pt_scope_end(mark);
    for (int i = 0; keep && i < n; i++)
        if (keep[i] && keep[i]->scope_slot < 0) /* < 0: a repeated handle is registered once */
            register_in_scope(keep[i]);
}

pt_tensor *pt_keep(pt_tensor *t)
{
    if (t && t->scope_slot >= 0) {
        if ((size_t)t->scope_slot < g_scope.size() && g_scope[(size_t)t->scope_slot] == t)
            g_scope[(size_t)t->scope_slot] = nullptr;
        t->scope_slot = -1;
    }
    return t;
}

void pt_free(pt_tensor *t)
{
    if (!t)
        return;
    pt_keep(t);
    destroy(t);
}

long pt_live_tensors(void) { return g_live.load(); }

/* ------------------------------------------------------------------ errors and settings */

const char *pt_error(void) { return g_error.c_str(); }
int pt_error_pending(void) { return g_pending ? 1 : 0; }
void pt_error_clear(void)
{
    g_error.clear();
    g_pending = false;
}

void pt_error_set(const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    set_error(buf);
}

const char *pt_version(void) { return TORCH_VERSION; }

int pt_num_cores(void)
{
    unsigned n = std::thread::hardware_concurrency();
    return n ? (int)n : 1;
}

pt_status pt_set_num_threads(int n)
{
    PT_TRY_STATUS({ at::set_num_threads(n <= 0 ? pt_num_cores() : n); })
}

int pt_get_num_threads(void) { return at::get_num_threads(); }

void pt_manual_seed(uint64_t seed) { torch::manual_seed(seed); }

pt_status pt_set_deterministic(int on)
{
    PT_TRY_STATUS({ at::globalContext().setDeterministicAlgorithms(on != 0, false); })
}

int pt_cuda_available(void)
{
    try {
        return torch::cuda::is_available() ? 1 : 0;
    } catch (...) {
        return 0;
    }
}

/* ------------------------------------------------------------------ generators */

pt_generator *pt_generator_new(uint64_t seed)
{
    try {
        auto g = at::make_generator<at::CPUGeneratorImpl>(seed);
        return new pt_generator{g};
    } catch (const std::exception &e) {
        set_error(std::string("pt_generator_new: ") + first_line(e.what()));
        return nullptr;
    }
}

void pt_generator_free(pt_generator *g) { delete g; }

pt_status pt_generator_seed(pt_generator *g, uint64_t seed)
{
    PT_TRY_STATUS({
        at::Generator gen = g ? g->g : at::detail::getDefaultCPUGenerator();
        std::lock_guard<std::mutex> lock(gen.mutex());
        gen.set_current_seed(seed);
    })
}

pt_tensor *pt_generator_get_state(pt_generator *g)
{
    PT_TRY_TENSOR(([&] {
        at::Generator gen = g ? g->g : at::detail::getDefaultCPUGenerator();
        std::lock_guard<std::mutex> lock(gen.mutex());
        return gen.get_state();
    }()))
}

pt_status pt_generator_set_state(pt_generator *g, const pt_tensor *state)
{
    PT_TRY_STATUS({
        at::Generator gen = g ? g->g : at::detail::getDefaultCPUGenerator();
        std::lock_guard<std::mutex> lock(gen.mutex());
        gen.set_state(T(state));
    })
}

/* ------------------------------------------------------------------ queries */

const char *pt_dtype_name(pt_dtype dt)
{
    static const char *names[] = {"uint8",   "int8",     "int16",   "int32",   "int64",
                                  "float16", "bfloat16", "float32", "float64", "bool"};
    if ((int)dt < 0 || (size_t)dt >= sizeof names / sizeof names[0])
        return "unknown";
    return names[dt];
}

size_t pt_dtype_size(pt_dtype dt)
{
    static const size_t sizes[] = {1, 1, 2, 4, 8, 2, 2, 4, 8, 1};
    if ((int)dt < 0 || (size_t)dt >= sizeof sizes / sizeof sizes[0])
        return 0;
    return sizes[dt];
}

pt_dtype pt_dtype_of(const pt_tensor *t)
{
    try {
        return from_scalar_type(T(t).scalar_type());
    } catch (const null_arg &) {
        on_null(__func__);
    } catch (const std::exception &e) {
        set_error(std::string("pt_dtype_of: ") + first_line(e.what()));
    }
    return PT_F32;
}

int pt_device_of(const pt_tensor *t)
{
    if (!t)
        return PT_CPU;
    return t->t.is_cuda() ? (int)t->t.device().index() : PT_CPU;
}

int pt_ndim(const pt_tensor *t) { return t ? (int)t->t.dim() : -1; }

int64_t pt_size(const pt_tensor *t, int dim)
{
    if (!t) {
        on_null(__func__);
        return -1;
    }
    int64_t nd = t->t.dim();
    int64_t d = dim < 0 ? dim + nd : dim;
    if (d < 0 || d >= nd) {
        set_error("pt_size: dim " + std::to_string(dim) + " out of range for " +
                  describe(t->t));
        return -1;
    }
    return t->t.size(d);
}

int pt_shape(const pt_tensor *t, int64_t *out, int max_dims)
{
    if (!t) {
        on_null(__func__);
        return -1;
    }
    int nd = (int)t->t.dim();
    for (int i = 0; i < nd && i < max_dims; i++)
        out[i] = t->t.size(i);
    return nd;
}

int64_t pt_numel(const pt_tensor *t) { return t ? t->t.numel() : -1; }
int pt_is_contiguous(const pt_tensor *t) { return t && t->t.is_contiguous() ? 1 : 0; }
int pt_requires_grad(const pt_tensor *t) { return t && t->t.requires_grad() ? 1 : 0; }

char *pt_describe(const pt_tensor *t, char *buf, size_t n)
{
    if (!buf || n == 0)
        return buf;
    std::string s = t ? describe(t->t) : std::string("NULL");
    snprintf(buf, n, "%s", s.c_str());
    return buf;
}

void *pt_data_ptr(const pt_tensor *t)
{
    if (!t) {
        on_null(__func__);
        return nullptr;
    }
    if (!t->t.defined() || t->t.is_cuda() || !t->t.is_contiguous() || t->t.is_sparse()) {
        set_error("pt_data_ptr: need a contiguous dense CPU tensor, got " + describe(t->t) +
                  (t->t.is_contiguous() ? "" : " (not contiguous)"));
        return nullptr;
    }
    return t->t.data_ptr();
}

pt_status pt_copy_to(const pt_tensor *t, void *buf, size_t nbytes)
{
    PT_TRY_STATUS({
        const at::Tensor &x = T(t);
        size_t need = (size_t)x.numel() * x.element_size();
        if (nbytes != need)
            throw std::invalid_argument("buffer of " + std::to_string(nbytes) + " bytes for " +
                                        describe(x) + " which needs " + std::to_string(need));
        at::Tensor c = x.detach().to(at::kCPU).contiguous();
        if (need)
            std::memcpy(buf, c.data_ptr(), need);
    })
}

pt_status pt_item(const pt_tensor *t, double *out)
{
    PT_TRY_STATUS({
        const at::Tensor &x = T(t);
        if (x.numel() != 1)
            throw std::invalid_argument("need one element, got " + describe(x));
        *out = x.item<double>();
    })
}

double pt_item_or_nan(const pt_tensor *t)
{
    double v;
    return pt_item(t, &v) == PT_OK ? v : NAN;
}

/* ------------------------------------------------------------------ creation */

static at::TensorOptions opts_of(pt_dtype dt) { return at::TensorOptions().dtype(to_scalar_type(dt)); }

pt_tensor *pt_from_blob(void *data, const int64_t *shape, int ndim, pt_dtype dt,
                        void (*deleter)(void *ctx), void *ctx)
{
    PT_TRY_TENSOR(([&] {
        if (!data && ndim > 0)
            throw std::invalid_argument("data is NULL");
        if (deleter)
            return at::from_blob(data, dims_of(shape, ndim), [deleter, ctx](void *) { deleter(ctx); },
                                 opts_of(dt));
        return at::from_blob(data, dims_of(shape, ndim), opts_of(dt));
    }()))
}

pt_tensor *pt_from_data(const void *data, const int64_t *shape, int ndim, pt_dtype dt)
{
    PT_TRY_TENSOR(([&] {
        at::Tensor t = at::empty(dims_of(shape, ndim), opts_of(dt));
        size_t n = (size_t)t.numel() * t.element_size();
        if (n && !data)
            throw std::invalid_argument("data is NULL");
        if (n)
            std::memcpy(t.data_ptr(), data, n);
        return t;
    }()))
}

pt_tensor *pt_scalar(double v, pt_dtype dt) { PT_TRY_TENSOR(at::scalar_tensor(v, opts_of(dt))) }
pt_tensor *pt_empty(const int64_t *s, int n, pt_dtype dt) { PT_TRY_TENSOR(at::empty(dims_of(s, n), opts_of(dt))) }
pt_tensor *pt_zeros(const int64_t *s, int n, pt_dtype dt) { PT_TRY_TENSOR(at::zeros(dims_of(s, n), opts_of(dt))) }
pt_tensor *pt_ones(const int64_t *s, int n, pt_dtype dt) { PT_TRY_TENSOR(at::ones(dims_of(s, n), opts_of(dt))) }
pt_tensor *pt_full(const int64_t *s, int n, double v, pt_dtype dt) { PT_TRY_TENSOR(at::full(dims_of(s, n), v, opts_of(dt))) }
pt_tensor *pt_zeros_like(const pt_tensor *t) { PT_TRY_TENSOR(at::zeros_like(T(t))) }
pt_tensor *pt_ones_like(const pt_tensor *t) { PT_TRY_TENSOR(at::ones_like(T(t))) }
pt_tensor *pt_full_like(const pt_tensor *t, double v) { PT_TRY_TENSOR(at::full_like(T(t), v)) }
pt_tensor *pt_arange(double a, double b, double s, pt_dtype dt) { PT_TRY_TENSOR(at::arange(a, b, s, opts_of(dt))) }
pt_tensor *pt_linspace(double a, double b, int64_t n, pt_dtype dt) { PT_TRY_TENSOR(at::linspace(a, b, n, opts_of(dt))) }
pt_tensor *pt_eye(int64_t n, pt_dtype dt) { PT_TRY_TENSOR(at::eye(n, opts_of(dt))) }

pt_tensor *pt_randn(const int64_t *s, int n, pt_dtype dt, pt_generator *g)
{
    PT_TRY_TENSOR(at::randn(dims_of(s, n), gen_of(g), opts_of(dt)))
}
pt_tensor *pt_rand(const int64_t *s, int n, pt_dtype dt, pt_generator *g)
{
    PT_TRY_TENSOR(at::rand(dims_of(s, n), gen_of(g), opts_of(dt)))
}
pt_tensor *pt_randint(int64_t low, int64_t high, const int64_t *s, int n, pt_generator *g)
{
    PT_TRY_TENSOR(at::randint(low, high, dims_of(s, n), gen_of(g), at::TensorOptions().dtype(at::kLong)))
}
pt_tensor *pt_randperm(int64_t n, pt_generator *g)
{
    PT_TRY_TENSOR(at::randperm(n, gen_of(g), at::TensorOptions().dtype(at::kLong)))
}

pt_tensor *pt_clone(const pt_tensor *t) { PT_TRY_TENSOR(T(t).clone()) }
pt_tensor *pt_contiguous(const pt_tensor *t) { PT_TRY_TENSOR(T(t).contiguous()) }
pt_tensor *pt_to_dtype(const pt_tensor *t, pt_dtype dt) { PT_TRY_TENSOR(T(t).to(to_scalar_type(dt))) }
pt_tensor *pt_to_device(const pt_tensor *t, int device)
{
    PT_TRY_TENSOR(T(t).to(device < 0 ? at::Device(at::kCPU) : at::Device(at::kCUDA, (c10::DeviceIndex)device)))
}
pt_tensor *pt_alias(const pt_tensor *t) { PT_TRY_TENSOR(T(t)) }

/* ------------------------------------------------------------------ in place */

pt_status pt_copy_(pt_tensor *dst, const pt_tensor *src) { PT_TRY_STATUS({ T(dst).copy_(T(src)); }) }
pt_status pt_fill_(pt_tensor *t, double v) { PT_TRY_STATUS({ T(t).fill_(v); }) }
pt_status pt_zero_(pt_tensor *t) { PT_TRY_STATUS({ T(t).zero_(); }) }
pt_status pt_add_(pt_tensor *t, const pt_tensor *o, double alpha) { PT_TRY_STATUS({ T(t).add_(T(o), alpha); }) }
pt_status pt_mul_s_(pt_tensor *t, double s) { PT_TRY_STATUS({ T(t).mul_(s); }) }
pt_status pt_uniform_(pt_tensor *t, double lo, double hi, pt_generator *g) { PT_TRY_STATUS({ T(t).uniform_(lo, hi, gen_of(g)); }) }
pt_status pt_normal_(pt_tensor *t, double m, double s, pt_generator *g) { PT_TRY_STATUS({ T(t).normal_(m, s, gen_of(g)); }) }

} /* extern "C" */
