/*
 * fuzz_safetensors.c - libFuzzer harness of the weight-file readers: pt_safetensors_load (the
 * header rules: length bound, JSON, dtypes, shapes, offsets contiguous and in range), and on the
 * same bytes nn_weights_read (the content sniffing) and ckpt_read_weights (a checkpoint's
 * metadata). A file that loads must save and load again to the same names and sizes.
 */
#include "core/checkpoint.h"
#include "fuzz_common.h"
#include "nn/nn.h"
#include "pt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[600], again[600];
    fuzz_write(fuzz_path("input.safetensors", path, sizeof path), data, size);
    pt_dict *d = pt_safetensors_load(path);
    if (d) {
        fuzz_path("again.safetensors", again, sizeof again);
        if (pt_safetensors_save(d, again) != PT_OK)
            abort();
        pt_dict *e = pt_safetensors_load(again);
        if (!e || pt_dict_size(e) != pt_dict_size(d))
            abort();
        for (int i = 0; i < pt_dict_size(d); i++)
            if (strcmp(pt_dict_name(d, i), pt_dict_name(e, i)) != 0 ||
                pt_numel(pt_dict_tensor(d, i)) != pt_numel(pt_dict_tensor(e, i)))
                abort();
        pt_dict_free(e);
        pt_dict_free(d);
        ckpt_state st;
        pt_dict *w = ckpt_read_weights(path, &st);
        pt_dict_free(w);
    }
    pt_dict *n = nn_weights_read(path);
    pt_dict_free(n);
    return 0;
}
