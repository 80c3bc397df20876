/* idx.h - reader for IDX files, the array format of MNIST and Fashion-MNIST.
 *
 * Owns: parsing one IDX file (plain or gzip-compressed, detected by zlib) into a host-order array
 * in memory, and loading the Fashion-MNIST image/label pair with its shape checks. It does not own
 * conversion to tensors or to the HDF5 store; importers build on this.
 *
 * Format: two zero bytes, a type byte, a byte with the number of dimensions; then one big-endian
 * u32 per dimension; then the elements, row-major and big-endian. The file must end right after
 * the last element.
 */
#ifndef PICTOR_DATA_IDX_H
#define PICTOR_DATA_IDX_H

#include <stddef.h>
#include <stdint.h>

#define IDX_MAX_DIMS 8

/* Element type codes (the third byte of the file). */
enum {
    IDX_U8  = 0x08,
    IDX_I8  = 0x09,
    IDX_I16 = 0x0B,
    IDX_I32 = 0x0C,
    IDX_F32 = 0x0D,
    IDX_F64 = 0x0E
};

/* Where Debian's dataset-fashion-mnist package installs the files. */
#define IDX_FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"

typedef struct {
    int ndim;                     /* 1..IDX_MAX_DIMS */
    int64_t dims[IDX_MAX_DIMS];   /* dims[0] is the outermost (item) dimension; unused ones are 0 */
    uint8_t type_code;            /* one of IDX_U8 .. IDX_F64 */
    size_t elem_size;             /* bytes per element: 1, 2, 4 or 8 */
    size_t count;                 /* product of dims */
    void *data;                   /* count * elem_size bytes, host byte order; NULL if count == 0 */
} idx_array;

/* Read the IDX file at path (plain or gzip) into *out. Returns 0 on success; on failure returns -1,
 * leaves *out empty (safe to idx_free) and writes a message naming the file into err (if err is
 * not NULL and errlen > 0). */
int idx_read(const char *path, idx_array *out, char *err, size_t errlen);

/* Release the data of a and reset it to empty. Safe on an empty or already freed array. */
void idx_free(idx_array *a);

/* Bytes per element of a type code, or 0 if the code is not a known IDX type. */
size_t idx_elem_size(uint8_t type_code);

/* Short name of a type code ("u8", "i8", "i16", "i32", "f32", "f64"), or "unknown". */
const char *idx_type_name(uint8_t type_code);

/* Load the Fashion-MNIST train (train != 0) or test (t10k) pair from dir (NULL: the Debian
 * default IDX_FASHION_MNIST_DIR). Each file is looked for as "<name>.gz" first, then "<name>".
 * Checks images are [N,28,28] u8, labels are [N] u8 with the same N, and every label is < 10.
 * Returns 0 on success; on failure -1, both arrays empty, and a message naming the file in err. */
int idx_load_fashion_mnist(const char *dir, int train, idx_array *images, idx_array *labels,
                           char *err, size_t errlen);

#endif
