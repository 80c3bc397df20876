/*
 * nn_load.c - weights into the parameter store (nn.h): a sub-tree of the store from a dict
 * (nn_store_load_prefix; the whole store, nn_store_load_state_dict, is its case with empty
 * prefixes), and weight files told apart by their content (nn_weights_read).
 *
 * Matching: the store entry dst_prefix + rest pairs with the dict entry src_prefix + rest.
 * Two passes: the first checks every pair (shape, and the kind of dtype: floating or not) and
 * collects the missing names (store side, reported as the file would name them) and the
 * unexpected ones (file side), the second copies
 * under no-grad. A failed check therefore copies nothing. Names whose rest starts with an
 * ignore prefix are optional on both sides (loaded when both have them). The error lists the
 * first LIST_SHOWN names of each kind and says how many there are.
 *
 * File formats: a safetensors file starts with an 8-byte header length and then '{'; a file
 * written by torch.save (since PyTorch 1.6) is a zip archive ("PK\3\4"). Anything else is
 * refused with a message naming the file.
 */
#include "nn/nn.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define LIST_SHOWN 6

typedef struct {
    int n;
    char text[1024];
} name_list;

static void list_add(name_list *l, const char *a, const char *b)
{
    size_t len = strlen(l->text);
    if (l->n++ < LIST_SHOWN)
        snprintf(l->text + len, sizeof l->text - len, "%s%s%s", l->n > 1 ? ", " : "", a, b);
}

/* " (a, b, ... and 3 more)" or "" */
static void list_describe(const name_list *l, char *out, size_t n)
{
    if (!l->n)
        out[0] = '\0';
    else if (l->n > LIST_SHOWN)
        snprintf(out, n, " (%s, ... and %d more)", l->text, l->n - LIST_SHOWN);
    else
        snprintf(out, n, " (%s)", l->text);
}

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int ignored(const char *rest, const char *const *ignore)
{
    for (int i = 0; ignore && ignore[i]; i++)
        if (starts_with(rest, ignore[i]))
            return 1;
    return 0;
}

/* A file entry may feed a store entry when the values keep their kind: floating from floating
 * (the precision converts, as torch's load_state_dict does), integer or bool from integer or
 * bool. Integers into a float parameter (or floats into an integer buffer) are a wrong file. */
static int is_floating(pt_dtype d)
{
    return d == PT_F16 || d == PT_BF16 || d == PT_F32 || d == PT_F64;
}

static int same_kind(const pt_tensor *from, const pt_tensor *to)
{
    return is_floating(pt_dtype_of(from)) == is_floating(pt_dtype_of(to));
}

static int same_shape(const pt_tensor *a, const pt_tensor *b)
{
    int64_t sa[16], sb[16];
    int na = pt_shape(a, sa, 16), nb = pt_shape(b, sb, 16);
    return na >= 0 && na == nb && memcmp(sa, sb, (size_t)na * sizeof sa[0]) == 0;
}

/* "load_state_dict" or "loading 'layer.*' into 'backbone.body.*'" */
static void what(const char *dst, const char *src, char *out, size_t n)
{
    if (!*dst && !*src)
        snprintf(out, n, "load_state_dict");
    else
        snprintf(out, n, "loading '%s*' into '%s*'", src, dst);
}

int nn_store_load_prefix(nn_store *s, const char *dst_prefix, const pt_dict *d,
                         const char *src_prefix, const char *const *ignore, int strict)
{
    if (!s || !d) {
        pt_error_set("nn_store_load_prefix: a store and a dict are required");
        return -1;
    }
    const char *dst = dst_prefix ? dst_prefix : "", *src = src_prefix ? src_prefix : "";
    const size_t ld = strlen(dst), ls = strlen(src);
    char key[2 * NN_NAME_MAX], head[2 * NN_NAME_MAX + 64];
    what(dst, src, head, sizeof head);
    name_list missing = {0}, unexpected = {0};
    for (int i = 0; i < nn_store_size(s); i++) {
        const char *name = nn_store_name(s, i);
        if (!starts_with(name, dst))
            continue;
        snprintf(key, sizeof key, "%s%s", src, name + ld);
        pt_tensor *from = pt_dict_get(d, key), *to = nn_store_tensor(s, i);
        if (!from) {
            if (!ignored(name + ld, ignore))
                list_add(&missing, src, name + ld);
        } else if (!same_shape(from, to)) {
            char a[128], b[128];
            pt_error_set("%s: '%s' has shape %s in the file but %s in the model ('%s')", head,
                         key, pt_describe(from, a, sizeof a), pt_describe(to, b, sizeof b), name);
            return -1;
        } else if (!same_kind(from, to)) {
            pt_error_set("%s: '%s' is %s in the file but %s in the model ('%s')", head, key,
                         pt_dtype_name(pt_dtype_of(from)), pt_dtype_name(pt_dtype_of(to)), name);
            return -1;
        }
    }
    for (int i = 0; i < pt_dict_size(d); i++) {
        const char *name = pt_dict_name(d, i);
        if (!starts_with(name, src) || ignored(name + ls, ignore))
            continue;
        snprintf(key, sizeof key, "%s%s", dst, name + ls);
        if (!nn_store_find(s, key))
            list_add(&unexpected, name, "");
    }
    if (strict && (missing.n || unexpected.n)) {
        char m[1100], u[1100];
        list_describe(&missing, m, sizeof m);
        list_describe(&unexpected, u, sizeof u);
        pt_error_set("%s: %d missing key(s)%s, %d unexpected key(s)%s", head, missing.n, m,
                     unexpected.n, u);
        return -1;
    }
    int copied = 0;
    pt_status st = PT_OK;
    pt_no_grad_begin();
    for (int i = 0; i < nn_store_size(s) && st == PT_OK; i++) {
        const char *name = nn_store_name(s, i);
        if (!starts_with(name, dst))
            continue;
        snprintf(key, sizeof key, "%s%s", src, name + ld);
        pt_tensor *from = pt_dict_get(d, key);
        if (from && (st = pt_copy_(nn_store_tensor(s, i), from)) == PT_OK)
            copied++;
    }
    pt_no_grad_end();
    return st == PT_OK ? copied : -1;
}

pt_status nn_store_load_state_dict(nn_store *s, const pt_dict *d, int strict)
{
    return nn_store_load_prefix(s, "", d, "", NULL, strict) < 0 ? PT_ERR : PT_OK;
}

pt_dict *nn_weights_read(const char *path)
{
    unsigned char head[9] = {0};
    FILE *f = path ? fopen(path, "rb") : NULL;
    if (!f) {
        pt_error_set("cannot open weights '%s': %s", path ? path : "(null)",
                     path ? strerror(errno) : "no path");
        return NULL;
    }
    size_t n = fread(head, 1, sizeof head, f);
    fclose(f);
    if (n == sizeof head && head[8] == '{')
        return pt_safetensors_load(path);
    if (n >= 4 && memcmp(head, "PK\3\4", 4) == 0)
        return pt_torch_load(path);
    pt_error_set("'%s' is neither a safetensors file nor a torch.save'd dict (a zip archive)",
                 path);
    return NULL;
}

int nn_store_load_file(nn_store *s, const char *dst_prefix, const char *path,
                       const char *src_prefix, const char *const *ignore, int strict)
{
    pt_dict *d = nn_weights_read(path);
    if (!d)
        return -1;
    int n = nn_store_load_prefix(s, dst_prefix, d, src_prefix, ignore, strict);
    pt_dict_free(d);
    if (n < 0) {
        char msg[2048];
        snprintf(msg, sizeof msg, "%s", pt_error());
        pt_error_set("'%s': %s", path, msg);
    }
    return n;
}
