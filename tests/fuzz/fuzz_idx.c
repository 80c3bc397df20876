/*
 * fuzz_idx.c - libFuzzer harness of the IDX reader (data/codec/idx.h): the input is the file
 * (plain, or gzip: zlib tells them apart). A successful read must describe its own buffer.
 */
#include "codec/idx.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[600], err[512];
    fuzz_write(fuzz_path("input.idx", path, sizeof path), data, size);
    idx_array a;
    if (idx_read(path, &a, err, sizeof err) == 0) {
        size_t count = 1;
        for (int i = 0; i < a.ndim; i++)
            count *= (size_t)a.dims[i];
        if (count != a.count || (count && !a.data))
            abort();
        if (count) /* every byte is readable */
            ((volatile uint8_t *)a.data)[count * a.elem_size - 1];
    }
    idx_free(&a);
    return 0;
}
