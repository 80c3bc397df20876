/*
 * fuzz_store.c - libFuzzer harness of pictor's checks of its HDF5 layout (data/store): the input
 * mutates the *values* of a valid store pictor wrote (the base files are the .h5 files in
 * $PICTOR_FUZZ_STORE_BASES, make_seeds.py's pictor stores), through the HDF5 API, so the file
 * stays well-formed HDF5 and what is tested is pictor's reading: counts, starts, shapes, labels,
 * byte tables, instance and polygon tables that do not agree.
 *
 * Input: byte 0 picks the base file; then patches of 9 bytes each: a dataset (byte, modulo the
 * number of datasets, in name order), an element (u32 LE, modulo the element count) and a
 * value (i32 LE, written converted to the dataset's type; byte 0 of it for uint8 datasets;
 * bit patterns reinterpreted as float for float datasets). Then the reader runs as in
 * fuzz_h5file: store_open, every part of the first items, the summary, the file names.
 */
#include <dirent.h>
#include <hdf5.h>

#include "fuzz_common.h"

#define MAX_BASES 8
#define MAX_DATASETS 64
#define PATCH_BYTES 9

static uint8_t *g_base[MAX_BASES];
static size_t g_base_len[MAX_BASES];
static int g_n_bases;

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void load_bases(void)
{
    const char *dir = getenv("PICTOR_FUZZ_STORE_BASES");
    DIR *d = dir ? opendir(dir) : NULL;
    if (!d) {
        fprintf(stderr, "fuzz_store: set PICTOR_FUZZ_STORE_BASES to a folder of pictor stores\n");
        abort();
    }
    char *names[64];
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) && n < 64;)
        if (strncmp(e->d_name, "pictor_", 7) == 0 && strstr(e->d_name, ".h5"))
            names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, by_name);
    for (int i = 0; i < n; i++) {
        char p[1024];
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        FILE *f = fopen(p, "rb");
        if (f && g_n_bases < MAX_BASES) {
            fseek(f, 0, SEEK_END);
            long len = ftell(f);
            fseek(f, 0, SEEK_SET);
            uint8_t *b = malloc((size_t)len);
            if (b && fread(b, 1, (size_t)len, f) == (size_t)len) {
                g_base[g_n_bases] = b;
                g_base_len[g_n_bases++] = (size_t)len;
            } else {
                free(b);
            }
        }
        if (f)
            fclose(f);
        free(names[i]);
    }
    if (!g_n_bases) {
        fprintf(stderr, "fuzz_store: no pictor_*.h5 in %s\n", dir);
        abort();
    }
}

typedef struct {
    char *names[MAX_DATASETS];
    int n;
} ds_list;

static herr_t collect(hid_t loc, const char *name, const H5L_info_t *info, void *op)
{
    (void)info;
    ds_list *l = op;
    hid_t ds = l->n < MAX_DATASETS ? H5Dopen2(loc, name, H5P_DEFAULT) : -1;
    if (ds >= 0) { /* a dataset (groups and other objects do not open as one) */
        l->names[l->n++] = strdup(name);
        H5Dclose(ds);
    }
    return 0;
}

/* Write value v into element k (flat, row-major) of dataset name. */
static void patch(hid_t file, const char *name, uint32_t k, int32_t v)
{
    hid_t ds = H5Dopen2(file, name, H5P_DEFAULT);
    if (ds < 0)
        return;
    hid_t space = H5Dget_space(ds), type = H5Dget_type(ds);
    int nd = H5Sget_simple_extent_ndims(space);
    hsize_t dims[8] = {0}, coord[8] = {0}, total = 1;
    if (nd > 0 && nd <= 8) {
        H5Sget_simple_extent_dims(space, dims, NULL);
        for (int i = 0; i < nd; i++)
            total *= dims[i];
    }
    H5T_class_t cls = H5Tget_class(type);
    if (nd > 0 && nd <= 8 && total > 0 && (cls == H5T_INTEGER || cls == H5T_FLOAT)) {
        hsize_t flat = k % total;
        for (int i = nd - 1; i >= 0; i--) {
            coord[i] = flat % dims[i];
            flat /= dims[i];
        }
        hsize_t one = 1;
        hid_t mem = H5Screate_simple(1, &one, NULL);
        H5Sselect_elements(space, H5S_SELECT_SET, 1, coord);
        if (cls == H5T_FLOAT) {
            float f;
            memcpy(&f, &v, sizeof f);
            H5Dwrite(ds, H5T_NATIVE_FLOAT, mem, space, H5P_DEFAULT, &f);
        } else if (H5Tget_size(type) == 1) {
            uint8_t b = (uint8_t)v;
            H5Dwrite(ds, H5T_NATIVE_UINT8, mem, space, H5P_DEFAULT, &b);
        } else {
            int64_t w = v;
            H5Dwrite(ds, H5T_NATIVE_INT64, mem, space, H5P_DEFAULT, &w);
        }
        H5Sclose(mem);
    }
    H5Tclose(type);
    H5Sclose(space);
    H5Dclose(ds);
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g_n_bases) {
        load_bases();
        H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    }
    if (size < 1)
        return 0;
    char path[600], err[1024];
    int b = data[0] % g_n_bases;
    fuzz_write(fuzz_path("patched.h5", path, sizeof path), g_base[b], g_base_len[b]);
    hid_t file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    if (file < 0)
        abort(); /* the base is a valid file */
    ds_list l = {.n = 0};
    H5Literate(file, H5_INDEX_NAME, H5_ITER_INC, NULL, collect, &l);
    for (size_t p = 1; p + PATCH_BYTES <= size && l.n > 0; p += PATCH_BYTES)
        patch(file, l.names[data[p] % l.n], le32(data + p + 1), (int32_t)le32(data + p + 5));
    for (int i = 0; i < l.n; i++)
        free(l.names[i]);
    H5Fclose(file);

    store_reader *r = store_open(path, err, sizeof err);
    if (!r)
        return 0;
    int64_t n = store_count(r);
    int32_t hwc[3 * FUZZ_ITEMS_READ];
    store_image_shapes(r, 0, n < FUZZ_ITEMS_READ ? n : FUZZ_ITEMS_READ, hwc, err, sizeof err);
    fuzz_read_store(r);
    return 0;
}
