/*
 * internal.h - what the shim's C++ files share: the handle type, error capture, and the macros
 * that make each entry point one line of libtorch wrapped in a catch-all. Never included from C.
 */
#ifndef PICTOR_SHIM_INTERNAL_H
#define PICTOR_SHIM_INTERNAL_H

#include <torch/torch.h>

#include <string>

#include "pt.h"

struct pt_tensor {
    at::Tensor t;
    long scope_slot; /* index in the thread's scope stack, -1 when owned directly by the caller */
};

struct pt_generator {
    at::Generator g;
};

namespace pictor {

/* Record a failure for pt_error(). */
void set_error(const std::string &msg);
/* Wrap a new at::Tensor in a handle (registered in the current scope, if any). */
pt_tensor *wrap(at::Tensor t);
/* "float32[2, 3]" for messages. */
std::string describe(const at::Tensor &t);
at::ScalarType to_scalar_type(pt_dtype dt);
pt_dtype from_scalar_type(at::ScalarType st);
c10::optional<at::Generator> gen_of(pt_generator *g);
at::IntArrayRef dims_of(const int64_t *v, int n);

/* Thrown internally when an argument is NULL; the entry point names itself when it catches. */
struct null_arg {
    int unused;
};

} // namespace pictor

/* An input tensor: a NULL handle makes the op fail, keeping any pending message. */
#define T(x) ((x) ? (x)->t : throw pictor::null_arg{})
/* An optional input tensor (NULL means "none"). */
#define OPT(x) ((x) ? c10::optional<at::Tensor>((x)->t) : c10::optional<at::Tensor>())

/* Body of an entry point that returns a new tensor. */
#define PT_TRY_TENSOR(...)                                                                       \
    try {                                                                                        \
        return pictor::wrap(__VA_ARGS__);                                                             \
    } catch (const pictor::null_arg &) {                                                         \
        pictor::on_null(__func__);                                                                   \
    } catch (const std::exception &e) {                                                          \
        pictor::set_error(std::string(__func__) + ": " + pictor::first_line(e.what()));          \
    } catch (...) {                                                                              \
        pictor::set_error(std::string(__func__) + ": unknown C++ exception");                    \
    }                                                                                            \
    return nullptr;

/* Body of an entry point that returns pt_status. `stmts` is a block of statements. */
#define PT_TRY_STATUS(...)                                                                       \
    try {                                                                                        \
        __VA_ARGS__;                                                                             \
        return PT_OK;                                                                            \
    } catch (const pictor::null_arg &) {                                                         \
        pictor::on_null(__func__);                                                                   \
    } catch (const std::exception &e) {                                                          \
        pictor::set_error(std::string(__func__) + ": " + pictor::first_line(e.what()));          \
    } catch (...) {                                                                              \
        pictor::set_error(std::string(__func__) + ": unknown C++ exception");                    \
    }                                                                                            \
    return PT_ERR;

namespace pictor {
/* A NULL argument: keep a pending message (the first failure), else say which op got NULL. */
void on_null(const char *op);
/* libtorch messages carry a C++ backtrace after the first line(s); keep the useful part. */
std::string first_line(const char *what);
} // namespace pictor

#endif
