/* export.c - see export.h. */
#include "core/export.h"

#include <errno.h>
#include <hdf5.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/checkpoint.h"
#include "core/session.h"
#include "fileio.h"

#ifndef PICTOR_VERSION
#define PICTOR_VERSION "dev"
#endif

static int excluded(const driver *drv, const char *name)
{
    for (int i = 0; drv->export_exclude && drv->export_exclude[i]; i++)
        if (strncmp(name, drv->export_exclude[i], strlen(drv->export_exclude[i])) == 0)
            return 1;
    return 0;
}

/* The exported subset of weights (aliases) with its metadata. */
static pt_dict *select_weights(const pt_dict *w, const driver *drv, const char *hash, int64_t step)
{
    pt_dict *d = pt_dict_new();
    char stepbuf[32];
    snprintf(stepbuf, sizeof stepbuf, "%" PRId64, step);
    if (!d || pt_dict_set_meta(d, "format", "pictor-weights-1") ||
        pt_dict_set_meta(d, "model_type", drv->type) ||
        pt_dict_set_meta(d, "config_hash", hash ? hash : "") ||
        pt_dict_set_meta(d, "pictor_version", PICTOR_VERSION) ||
        pt_dict_set_meta(d, "step", stepbuf)) {
        pt_dict_free(d);
        return NULL;
    }
    for (int i = 0; i < pt_dict_size(w); i++) {
        const char *n = pt_dict_name(w, i);
        if (!excluded(drv, n) && pt_dict_put(d, n, pt_detach(pt_dict_tensor(w, i))) != PT_OK) {
            pt_dict_free(d);
            return NULL;
        }
    }
    return d;
}

static hid_t h5_type_of(pt_dtype dt)
{
    switch (dt) {
    case PT_U8: case PT_BOOL: return H5T_NATIVE_UINT8;
    case PT_I8: return H5T_NATIVE_INT8;
    case PT_I16: return H5T_NATIVE_INT16;
    case PT_I32: return H5T_NATIVE_INT32;
    case PT_I64: return H5T_NATIVE_INT64;
    case PT_F32: return H5T_NATIVE_FLOAT;
    case PT_F64: return H5T_NATIVE_DOUBLE;
    default: return -1; /* F16/BF16 are written as float32 */
    }
}

static int h5_string_attr(hid_t obj, const char *name, const char *value)
{
    hid_t t = H5Tcopy(H5T_C_S1), sp = H5Screate(H5S_SCALAR);
    H5Tset_size(t, strlen(value) + 1);
    hid_t a = H5Acreate2(obj, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    int rc = a >= 0 && H5Awrite(a, t, value) >= 0 ? 0 : -1;
    if (a >= 0)
        H5Aclose(a);
    H5Sclose(sp);
    H5Tclose(t);
    return rc;
}

/* One dataset per tensor at the root, named by its dotted name; metadata as root attributes. */
static pt_status write_hdf5(const pt_dict *d, const char *out)
{
    char *tmp = pt_atomic_temp_path(out);
    if (!tmp)
        return PT_ERR;
    store_h5_lock();
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    int bad = f < 0;
    const char *what = bad ? "cannot create the file" : "";
    for (int i = 0; !bad && i < pt_dict_meta_size(d); i++) {
        const char *k = pt_dict_meta_key(d, i);
        bad = h5_string_attr(f, k, pt_dict_meta(d, k)) != 0;
        what = "cannot write an attribute";
    }
    for (int i = 0; !bad && i < pt_dict_size(d); i++) {
        pt_tensor *t = pt_dict_tensor(d, i);
        pt_dtype dt = pt_dtype_of(t);
        hid_t ht = h5_type_of(dt);
        pt_tensor *c = ht < 0 ? pt_to_dtype(t, PT_F32) : pt_contiguous(t);
        pt_tensor *cc = pt_contiguous(c);
        if (ht < 0)
            ht = H5T_NATIVE_FLOAT;
        hsize_t dims[16];
        int64_t shape[16];
        int nd = pt_shape(cc, shape, 16);
        for (int k = 0; k < nd; k++)
            dims[k] = (hsize_t)shape[k];
        hid_t sp = nd == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(nd, dims, NULL);
        hid_t ds = H5Dcreate2(f, pt_dict_name(d, i), ht, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        void *data = pt_data_ptr(cc);
        bad = ds < 0 || !data || (pt_numel(cc) > 0 && H5Dwrite(ds, ht, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0);
        if (!bad && dt == PT_BOOL)
            bad = h5_string_attr(ds, "dtype", "bool") != 0;
        what = "cannot write a dataset";
        if (ds >= 0)
            H5Dclose(ds);
        H5Sclose(sp);
        pt_free(cc);
        pt_free(c);
    }
    if (f >= 0 && H5Fclose(f) < 0 && !bad)
        bad = 1, what = "cannot close the file";
    store_h5_unlock();
    if (bad) {
        unlink(tmp);
        free(tmp);
        pt_error_set("export to '%s' (hdf5): %s", out, what);
        return PT_ERR;
    }
    pt_status st = pt_commit_temp_file(tmp, out); /* fsync, rename, fsync the directory */
    free(tmp);
    return st;
}

pt_status export_dict(const pt_dict *weights, const driver *drv, const char *config_hash,
                      int64_t step, const char *format, const char *out)
{
    pt_dict *d = select_weights(weights, drv, config_hash, step);
    if (!d)
        return PT_ERR;
    pt_status rc;
    if (strcmp(format, "safetensors") == 0)
        rc = pt_safetensors_save(d, out);
    else if (strcmp(format, "torch") == 0)
        rc = pt_torch_save(d, out); /* a plain dict of tensors: load_state_dict(strict=True) */
    else if (strcmp(format, "hdf5") == 0)
        rc = write_hdf5(d, out);
    else {
        pt_error_set("unknown export format '%s' (expected safetensors, torch or hdf5)", format);
        rc = PT_ERR;
    }
    pt_dict_free(d);
    return rc;
}

pt_status export_store(const nn_store *s, const driver *drv, const char *config_hash, int64_t step,
                       const char *format, const char *out)
{
    pt_dict *w = nn_store_state_dict(s, NULL, 0);
    if (!w)
        return PT_ERR;
    pt_status rc = export_dict(w, drv, config_hash, step, format, out);
    pt_dict_free(w);
    return rc;
}

pt_status load_weights_for_eval(nn_store *s, const driver *drv, const pt_dict *w, const char *path)
{
    if (nn_store_load_prefix(s, "", w, "", drv->export_exclude, 1) >= 0)
        return PT_OK;
    char msg[2048];
    snprintf(msg, sizeof msg, "%s", pt_error());
    pt_error_set("weights '%s' do not fit this model (a different model or model config?): %s",
                 path, msg);
    return PT_ERR;
}

/* ------------------------------------------------------------------ pictor export */

int trainer_export(const char *src, const char *format, const char *out)
{
    char path[4200];
    struct stat st;
    if (stat(src, &st) != 0)
        return core_fail(EXIT_USER, "'%s': %s", src, strerror(errno));
    if (S_ISDIR(st.st_mode)) {
        snprintf(path, sizeof path, "%s/checkpoints/best.ckpt", src);
        if (!core_file_exists(path))
            snprintf(path, sizeof path, "%s/checkpoints/last.ckpt", src);
        if (!core_file_exists(path))
            return core_fail(EXIT_USER, "'%s' has no checkpoints/best.ckpt or last.ckpt", src);
    } else {
        snprintf(path, sizeof path, "%s", src);
    }
    ckpt_state cs;
    pt_dict *w = ckpt_read_weights(path, &cs);
    if (!w)
        return core_fail(EXIT_USER, "%s", pt_error());
    const driver *drv = driver_find(cs.model_type);
    if (!drv) {
        pt_dict_free(w);
        return core_fail(EXIT_USER, "checkpoint '%s' has unknown model type '%s' (known: %s)", path,
                    cs.model_type, driver_names());
    }
    pt_status rc = export_dict(w, drv, cs.config_hash, cs.step, format, out);
    pt_dict_free(w);
    if (rc != PT_OK)
        return core_fail(EXIT_USER, "%s", pt_error());
    printf("exported %s (step %" PRId64 ", model %s) -> %s\n", path, cs.step, cs.model_type, out);
    return EXIT_OK;
}
