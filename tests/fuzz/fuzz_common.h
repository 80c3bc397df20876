/*
 * fuzz_common.h - what the libFuzzer harnesses of tests/fuzz share: a per-process scratch file
 * (the parsers that take a path get the input through it) in $PICTOR_FUZZ_TMP, else /dev/shm,
 * else /tmp. Header-only; each harness is its own program.
 */
#ifndef PICTOR_FUZZ_COMMON_H
#define PICTOR_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The scratch directory of this process ("<tmp>/pictor-fuzz-<pid>"), created on first use. */
static inline const char *fuzz_dir(void)
{
    static char dir[512];
    if (!dir[0]) {
        const char *base = getenv("PICTOR_FUZZ_TMP");
        struct stat st;
        if (!base || !*base)
            base = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp";
        snprintf(dir, sizeof dir, "%s/pictor-fuzz-%ld", base, (long)getpid());
        mkdir(dir, 0777);
    }
    return dir;
}

/* "<dir>/<name>" in a static buffer (one per call site is enough for the harnesses). */
static inline const char *fuzz_path(const char *name, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s", fuzz_dir(), name);
    return buf;
}

/* Write data to path (truncating); aborts on failure, which is the machine's fault, not the
 * input's. */
static inline void fuzz_write(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(data, 1, n, f) != n) || fclose(f) != 0) {
        perror(path);
        abort();
    }
}

#endif
