/*
 * leakcheck.c - exercises the C side of pictor (shim handles and scopes, the nn layer, optimizers,
 * dicts, safetensors and torch files, the IDX reader) and frees everything; the suite runs it
 * under valgrind (tests/test_leaks.c) and asserts no definite leak and no live handle at exit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idx.h"
#include "nn.h"
#include "pt.h"
#include "small_cnn.h"

#define CHECK(c)                                                                                 \
    do {                                                                                         \
        if (!(c)) {                                                                              \
            fprintf(stderr, "leakcheck: %s failed at line %d: %s\n", #c, __LINE__, pt_error()); \
            return 1;                                                                            \
        }                                                                                        \
    } while (0)

static int run(const char *dir)
{
    pt_set_num_threads(1);
    nn_store *s = nn_store_new(1);
    small_cnn m;
    CHECK(small_cnn_init(&m, s, (small_cnn_config){1, 4, 16, 10, 8}) == PT_OK);
    pt_optim_options oo = pt_optim_defaults(PT_OPTIM_ADAMW);
    pt_optim *opt = pt_optim_new(&oo);
    int np;
    pt_tensor *const *params = nn_store_params(s, &np);
    CHECK(pt_optim_add_group(opt, params, np, 1e-3, 0.01) == 0);
    pt_generator *g = pt_generator_new(3);
    int64_t xs[4] = {4, 1, 8, 8}, ys[1] = {4};
    for (int step = 0; step < 3; step++) {
        size_t mark = pt_scope_begin();
        pt_tensor *x = pt_randn(xs, 4, PT_F32, g);
        pt_tensor *y = pt_randint(0, 10, ys, 1, g);
        pt_tensor *loss = pt_cross_entropy(small_cnn_forward(&m, x), y, NULL, -100, PT_REDUCE_MEAN, 0);
        CHECK(pt_optim_zero_grad(opt) == PT_OK && pt_backward(loss, NULL, 0) == PT_OK);
        CHECK(pt_clip_grad_norm(params, np, 1.0, 2.0, NULL) == PT_OK);
        CHECK(pt_optim_step(opt) == PT_OK);
        pt_scope_end(mark);
    }
    /* errors must not leak either */
    pt_tensor *bad = pt_matmul(params[0], params[np - 1]);
    CHECK(bad == NULL && pt_error_pending());
    pt_error_clear();

    void *buf;
    size_t len;
    CHECK(pt_optim_save_buffer(opt, &buf, &len) == PT_OK);
    CHECK(pt_optim_load_buffer(opt, buf, len) == PT_OK);
    free(buf);

    char path[4096];
    pt_dict *sd = nn_store_state_dict(s, NULL, 0);
    CHECK(sd != NULL);
    snprintf(path, sizeof path, "%s/w.safetensors", dir);
    CHECK(pt_safetensors_save(sd, path) == PT_OK);
    pt_dict *back = pt_safetensors_load(path);
    CHECK(back && nn_store_load_state_dict(s, back, 1) == PT_OK);
    pt_dict_free(back);
    snprintf(path, sizeof path, "%s/w.pt", dir);
    CHECK(pt_torch_save(sd, path) == PT_OK);
    back = pt_torch_load(path);
    CHECK(back && pt_dict_size(back) == pt_dict_size(sd));
    pt_dict_free(back);
    pt_dict_free(sd);
    CHECK(pt_safetensors_load("/nonexistent/file.safetensors") == NULL);
    pt_error_clear();

    idx_array a = {0};
    char err[256];
    CHECK(idx_read("/nonexistent.idx", &a, err, sizeof err) != 0);
    idx_free(&a);

    pt_generator_free(g);
    pt_optim_free(opt);
    small_cnn_free(&m);
    nn_store_free(s);
    CHECK(pt_live_tensors() == 0);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: leakcheck TMPDIR\n");
        return 2;
    }
    int rc = run(argv[1]);
    if (rc == 0)
        printf("leakcheck: ok, %ld live tensor handles\n", pt_live_tensors());
    return rc;
}
