/*
 * pictor.c - the `pictor` command line: one binary, subcommands. Exit status 0 on success, 1 on a
 * user error (bad arguments, missing data) with one message, 2 on an internal error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "models/classifier/demo_fmnist.h"
#include "pt.h"


static void usage(FILE *f)
{
    fprintf(f,
            "usage: pictor <command> [options]\n"
            "\n"
            "commands:\n"
            "  train CONFIG.yaml [--set key.path=value ...] [--resume auto|PATH] [--nproc N]\n"
            "                          --nproc N: N data-parallel processes here (or torchrun)\n"
            "                          --accept-config-change: resume although the config changed\n"
            "  eval CONFIG.yaml --weights FILE [--set ...]   prints one JSON line of metrics\n"
            "  predict CONFIG.yaml --weights FILE --out DIR [--n N] [--set ...]\n"
            "                          draw the predictions on the first N (16) val images\n"
            "  segment CONFIG.yaml --weights FILE --image IMG [--box x,y,w,h] [--tap +x,y|-x,y ...]\n"
            "          --out MASK.png [--cutout OUT.png]   interactive model: a rectangle and taps\n"
            "  portrait CONFIG.yaml --weights FILE --image IMG --out DIR [--depth FILE]\n"
            "          [--background blur|colour|image]   portrait model: mask, depth, picture\n"
            "  portrait synth --people DIR --backgrounds DIR --out FILE.h5   synthetic RGB-D set\n"
            "  export RUN_DIR|CHECKPOINT --format safetensors|torch|hdf5 --out FILE\n"
            "  fetch URL --sha256 HEX [--cache DIR] [--out FILE]   download, check, cache\n"
            "  config show CONFIG.yaml [--set ...]          the resolved config, with defaults\n"
            "  data info|import-idx|import-folder|import-masks ...   (pictor data help)\n"
            "  demo [--epochs N] [--batch N] [--lr X] [--threads N] [--seed N] [--max-steps N]\n"
            "       [--data-dir DIR]   train the small CNN on Fashion-MNIST, print test accuracy\n"
            "  version                 print pictor's and libtorch's versions\n"
            "  help                    this text\n");
}

/* Parse a numeric option value; on failure print which option and what was expected. */
static int parse_num(const char *opt, const char *val, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = val ? strtod(val, &end) : 0;
    if (!val || errno || end == val || *end || v < lo || v > hi) {
        fprintf(stderr, "pictor: %s expects a number in [%g, %g], got '%s'\n", opt, lo, hi,
                val ? val : "(nothing)");
        return -1;
    }
    *out = v;
    return 0;
}

static int cmd_demo(int argc, char **argv)
{
    demo_fmnist_opts o = {.epochs = 1, .batch_size = 64, .lr = 1e-3, .threads = 0, .seed = 0};
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        double x;
        if (!strcmp(a, "--epochs")) {
            if (parse_num(a, v, 1, 1000, &x)) return 1;
            o.epochs = (int)x, i++;
        } else if (!strcmp(a, "--batch")) {
            if (parse_num(a, v, 1, 65536, &x)) return 1;
            o.batch_size = (int)x, i++;
        } else if (!strcmp(a, "--lr")) {
            if (parse_num(a, v, 1e-9, 10, &x)) return 1;
            o.lr = x, i++;
        } else if (!strcmp(a, "--threads")) {
            if (parse_num(a, v, 0, 1024, &x)) return 1;
            o.threads = (int)x, i++;
        } else if (!strcmp(a, "--seed")) {
            if (parse_num(a, v, 0, 1e15, &x)) return 1;
            o.seed = (uint64_t)x, i++;
        } else if (!strcmp(a, "--max-steps")) {
            if (parse_num(a, v, 0, 1e12, &x)) return 1;
            o.max_steps = (int64_t)x, i++;
        } else if (!strcmp(a, "--data-dir")) {
            if (!v) { fprintf(stderr, "pictor: --data-dir expects a directory\n"); return 1; }
            o.data_dir = v, i++;
        } else {
            fprintf(stderr, "pictor demo: unknown option '%s'\n", a);
            return 1;
        }
    }
    double acc = 0;
    return demo_fmnist_run(&o, &acc);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 1;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "train"))
        return cmd_train(argc - 2, argv + 2);
    if (!strcmp(cmd, "eval"))
        return cmd_eval(argc - 2, argv + 2);
    if (!strcmp(cmd, "predict"))
        return cmd_predict(argc - 2, argv + 2);
    if (!strcmp(cmd, "segment"))
        return cmd_segment(argc - 2, argv + 2);
    if (!strcmp(cmd, "portrait"))
        return cmd_portrait(argc - 2, argv + 2);
    if (!strcmp(cmd, "export"))
        return cmd_export(argc - 2, argv + 2);
    if (!strcmp(cmd, "fetch"))
        return cmd_fetch(argc - 2, argv + 2);
    if (!strcmp(cmd, "config"))
        return cmd_config(argc - 2, argv + 2);
    if (!strcmp(cmd, "data"))
        return cmd_data(argc - 2, argv + 2);
    if (!strcmp(cmd, "demo"))
        return cmd_demo(argc - 2, argv + 2);
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        printf("pictor %s (libtorch %s)\n", PICTOR_VERSION, pt_version());
        return 0;
    }
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "pictor: unknown command '%s' (try 'pictor help')\n", cmd);
    return 1;
}

#ifdef PICTOR_SANITIZED
/* LeakSanitizer: fontconfig (loaded by cairo to draw plot text) keeps its parsed configuration
 * for the life of the process; that is not pictor's memory. Neither are two leaks of the
 * libraries on malformed files that the fuzzers found (tests/fuzz/README.md): libtorch 1.13's
 * zip reader when a torch file's archive is bad (PyTorchStreamReader's constructor throws before
 * mz_zip_reader_end), and HDF5 1.10's H5Fopen on a corrupt superblock or root group. Pictor's own
 * allocations are in pictor's frames and stay checked. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libfontconfig.so\nleak:libtorch_cpu.so\nleak:libhdf5_serial.so\n";
}
#endif
