/*
 * fuzz_h5file.c - libFuzzer harness of the HDF5 store reader on raw file bytes (seeds: stores
 * pictor and h5py wrote, make_seeds.py): what HDF5's own parser makes of a mutated file, then
 * pictor's checks. store_open validates the layout; then every part of the first items is read,
 * the summary computed and the file names listed, as `pictor data info` and the loader do.
 * HDF5 1.10.8 itself has memory errors on crafted files (tests/fuzz/README.md): run.sh runs this
 * one with -ignore_crashes and counts them apart; pictor's own checks are fuzzed by fuzz_store,
 * which mutates the values of valid files.
 */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[600], err[1024];
    fuzz_write(fuzz_path("input.h5", path, sizeof path), data, size);
    store_reader *r = store_open(path, err, sizeof err);
    if (!r)
        return 0;
    fuzz_read_store(r);
    return 0;
}

/* Library leaks on malformed files, not pictor's memory: HDF5 1.10's H5Fopen leaks on a corrupt
 * superblock or root group (H5G_mkroot). Pictor's own allocations are in pictor's frames and
 * stay checked.
 */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) { return "leak:libhdf5_serial.so\n"; }
