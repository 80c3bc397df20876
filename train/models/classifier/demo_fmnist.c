/* demo_fmnist.c - see demo_fmnist.h. One readable loop: data -> forward -> loss -> backward -> step. */
#include "models/classifier/demo_fmnist.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "codec/idx.h"
#include "nn/nn.h"
#include "models/classifier/small_cnn.h"

/* Fashion-MNIST train-set pixel mean and std (of x/255). */
#define FMNIST_MEAN 0.2860
#define FMNIST_STD 0.3530

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* u8 [N, 28, 28] -> normalised float32 [N, 1, 28, 28]; labels -> int64 [N]. */
static int to_tensors(const idx_array *img, const idx_array *lab, pt_tensor **x, pt_tensor **y)
{
    int64_t shape[4] = {img->dims[0], 1, 28, 28};
    size_t mark = pt_scope_begin();
    pt_tensor *raw = pt_from_blob(img->data, shape, 4, PT_U8, NULL, NULL);
    pt_tensor *f = pt_div_s(pt_to_dtype(raw, PT_F32), 255.0);
    pt_tensor *xn = pt_div_s(pt_sub_s(f, FMNIST_MEAN), FMNIST_STD);
    pt_tensor *rl = pt_from_blob(lab->data, &shape[0], 1, PT_U8, NULL, NULL);
    pt_tensor *yl = pt_to_dtype(rl, PT_I64);
    *x = pt_keep(xn);
    *y = pt_keep(yl);
    pt_scope_end(mark);
    return *x && *y ? 0 : -1;
}

static double evaluate(small_cnn *m, nn_store *s, pt_tensor *x, pt_tensor *y)
{
    int64_t n = pt_size(x, 0), correct = 0;
    nn_store_set_training(s, 0);
    pt_no_grad_begin();
    for (int64_t i = 0; i < n; i += 1000) {
        int64_t b = n - i < 1000 ? n - i : 1000;
        size_t mark = pt_scope_begin();
        pt_tensor *logits = small_cnn_forward(m, pt_narrow(x, 0, i, b));
        pt_tensor *hits = pt_sum(pt_eq(pt_argmax(logits, 1, 0), pt_narrow(y, 0, i, b)));
        double h = pt_item_or_nan(hits);
        pt_scope_end(mark);
        if (h != h) {
            correct = -1;
            break;
        }
        correct += (int64_t)h;
    }
    pt_no_grad_end();
    nn_store_set_training(s, 1);
    return correct < 0 ? -1.0 : (double)correct / (double)n;
}

int demo_fmnist_run(const demo_fmnist_opts *o, double *accuracy)
{
    char err[1024];
    idx_array tr_img = {0}, tr_lab = {0}, te_img = {0}, te_lab = {0};
    if (idx_load_fashion_mnist(o->data_dir, 1, &tr_img, &tr_lab, err, sizeof err) != 0 ||
        idx_load_fashion_mnist(o->data_dir, 0, &te_img, &te_lab, err, sizeof err) != 0) {
        fprintf(stderr, "pictor demo: %s\n(install Debian's dataset-fashion-mnist: make deps)\n", err);
        idx_free(&tr_img), idx_free(&tr_lab), idx_free(&te_img), idx_free(&te_lab);
        return 1;
    }
    int rc = 2;
    int epochs = o->epochs > 0 ? o->epochs : 1, bs = o->batch_size > 0 ? o->batch_size : 64;
    pt_set_num_threads(o->threads);
    pt_manual_seed(o->seed);
    pt_tensor *xtr = NULL, *ytr = NULL, *xte = NULL, *yte = NULL;
    nn_store *s = nn_store_new(o->seed);
    pt_generator *g = pt_generator_new(o->seed + 1);
    small_cnn m = {0};
    pt_optim *opt = NULL;
    if (to_tensors(&tr_img, &tr_lab, &xtr, &ytr) || to_tensors(&te_img, &te_lab, &xte, &yte) ||
        !s || !g || small_cnn_init(&m, s, (small_cnn_config){1, 32, 128, 10, 28}) != PT_OK)
        goto done;
    pt_optim_options oo = pt_optim_defaults(PT_OPTIM_ADAM);
    oo.lr = o->lr > 0 ? o->lr : 1e-3;
    int np;
    pt_tensor *const *params = nn_store_params(s, &np);
    if (!(opt = pt_optim_new(&oo)) || pt_optim_add_group(opt, params, np, oo.lr, 0.0) < 0)
        goto done;

    int64_t n = pt_size(xtr, 0), steps_per_epoch = (n + bs - 1) / bs, step = 0;
    int64_t total = o->max_steps > 0 ? o->max_steps : steps_per_epoch * epochs;
    if (!o->quiet)
        printf("pictor demo: small CNN (%lld parameters) on Fashion-MNIST, %lld train / %lld test "
               "images, batch %d, Adam lr %g, %d thread(s)\n",
               (long long)nn_store_num_scalars(s, 1), (long long)n, (long long)pt_size(xte, 0), bs,
               oo.lr, pt_get_num_threads());
    double t0 = now_s(), loss_sum = 0;
    int loss_n = 0;
    for (int e = 0; e < epochs && step < total; e++) {
        pt_tensor *perm = pt_randperm(n, g);
        for (int64_t i = 0; i < steps_per_epoch && step < total; i++, step++) {
            size_t mark = pt_scope_begin();
            int64_t b = n - i * bs < bs ? n - i * bs : bs;
            pt_tensor *idx = pt_narrow(perm, 0, i * bs, b);
            pt_tensor *logits = small_cnn_forward(&m, pt_index_select(xtr, 0, idx));
            pt_tensor *loss = pt_cross_entropy(logits, pt_index_select(ytr, 0, idx), NULL, -100,
                                               PT_REDUCE_MEAN, 0.0);
            double lv = pt_item_or_nan(loss);
            int ok = lv == lv && pt_optim_zero_grad(opt) == PT_OK &&
                     pt_backward(loss, NULL, 0) == PT_OK && pt_optim_step(opt) == PT_OK;
            pt_scope_end(mark);
            if (!ok) {
                if (lv != lv && !pt_error_pending())
                    pt_error_set("loss is NaN at step %lld", (long long)step);
                pt_free(perm);
                goto done;
            }
            loss_sum += lv, loss_n++;
            if (!o->quiet && ((step + 1) % 100 == 0 || step + 1 == total)) {
                double dt = now_s() - t0;
                printf("step %5lld/%lld  loss %.4f  %.0f images/s\n", (long long)step + 1,
                       (long long)total, loss_sum / loss_n, (double)(step + 1) * bs / dt);
                fflush(stdout);
                loss_sum = 0, loss_n = 0;
            }
        }
        pt_free(perm);
    }
    double acc = evaluate(&m, s, xte, yte);
    if (acc < 0)
        goto done;
    *accuracy = acc;
    if (!o->quiet)
        printf("test accuracy: %.4f (%lld images, %.1f s)\n", acc, (long long)pt_size(xte, 0),
               now_s() - t0);
    rc = 0;
done:
    if (rc)
        fprintf(stderr, "pictor demo: internal error: %s\n", pt_error());
    pt_optim_free(opt);
    small_cnn_free(&m);
    nn_store_free(s);
    pt_generator_free(g);
    pt_free(xtr), pt_free(ytr), pt_free(xte), pt_free(yte);
    idx_free(&tr_img), idx_free(&tr_lab), idx_free(&te_img), idx_free(&te_lab);
    return rc;
}
