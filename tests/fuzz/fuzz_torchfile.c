/*
 * fuzz_torchfile.c - libFuzzer harness of the torch.save reader (pt_torch_load, through
 * nn_weights_read's sniffing): the input is the file, a zip archive with a pickle inside.
 * Whatever libtorch's unpickler refuses must come back as an error, not a crash.
 */
#include "fuzz_common.h"
#include "nn/nn.h"
#include "pt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[600];
    fuzz_write(fuzz_path("input.pt", path, sizeof path), data, size);
    pt_dict *d = nn_weights_read(path);
    for (int i = 0; d && i < pt_dict_size(d); i++)
        if (!pt_dict_name(d, i) || !pt_dict_tensor(d, i))
            abort();
    pt_dict_free(d);
    return 0;
}

/* Library leaks on malformed files, not pictor's memory: libtorch 1.13's PyTorchStreamReader
 * leaks its miniz state when its constructor throws on a bad archive. Pictor's own allocations
 * are in pictor's frames and stay checked.
 */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) { return "leak:libtorch_cpu.so\n"; }
