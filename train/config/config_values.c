/*
 * config_values.c - YAML scalars <-> the typed values of cfg_field (config.h, VALUES): strict
 * parsing of integers, numbers (.inf yes, NaN and hex no), bools and enum choices; range checks;
 * conversion of a node into a field (lists element by element, with an exact count when the
 * table asks for one); and the texts messages and `config show` use: what a field expects
 * ("an integer in [1, 100000]"), what a node looks like ("the quoted string '10'"), ranges, and
 * the shortest decimal text that reads back as the same double.
 *
 * Quoted scalars are strings: refused for numbers, bools and enums. A failed list conversion
 * leaves the field as it was (nothing half-filled).
 */
#include "config/config_internal.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/err.h"

static int no_range(const cfg_field *f)
{
    return f->min == 0 && f->max == 0;
}

/* Shortest "%g" text that reads back as exactly v, without an exponent for whole numbers below
 * 1e15 ("10", not "1e+01"); ".inf" / "-.inf" for infinities. */
void cfg_fmt_double(double v, char *buf, size_t len)
{
    if (isinf(v)) {
        snprintf(buf, len, "%s", v > 0 ? ".inf" : "-.inf");
        return;
    }
    int prec = 1;
    for (; prec < 17; prec++) {
        snprintf(buf, len, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    double a = fabs(v);
    if (a >= 1 && a < 1e15) {
        int digits = (int)floor(log10(a)) + 1;
        if (digits > prec)
            prec = digits;
    }
    snprintf(buf, len, "%.*g", prec, v);
}

static void fmt_bound(const cfg_field *f, double v, char *buf, size_t len)
{
    if (f->type == CFG_INT || f->type == CFG_INT_LIST)
        snprintf(buf, len, "%.0f", v);
    else
        cfg_fmt_double(v, buf, len);
}

/* " in [a, b]", " >= a", " <= b" or "" */
void cfg_range_text(const cfg_field *f, char *buf, size_t len)
{
    char lo[64], hi[64];
    buf[0] = '\0';
    if (no_range(f) || f->type == CFG_BOOL || f->type == CFG_ENUM || f->type == CFG_STRING ||
        f->type == CFG_STRING_LIST)
        return;
    fmt_bound(f, f->min, lo, sizeof lo);
    fmt_bound(f, f->max, hi, sizeof hi);
    if (isinf(f->max) && isinf(f->min))
        return;
    if (isinf(f->max))
        snprintf(buf, len, " >= %s", lo);
    else if (isinf(f->min))
        snprintf(buf, len, " <= %s", hi);
    else
        snprintf(buf, len, " in [%s, %s]", lo, hi);
}

cfg_type cfg_element_type(cfg_type t)
{
    return t == CFG_INT_LIST ? CFG_INT : t == CFG_FLOAT_LIST ? CFG_FLOAT
                                     : t == CFG_STRING_LIST  ? CFG_STRING
                                                             : t;
}

int cfg_is_list(cfg_type t)
{
    return t == CFG_INT_LIST || t == CFG_FLOAT_LIST || t == CFG_STRING_LIST;
}

/* What a value of f must look like, for messages: "an integer in [1, 100000]". element: describe
 * one element of a list field. */
static void expected_text(const cfg_field *f, int element, char *buf, size_t len)
{
    char range[160];
    cfg_range_text(f, range, sizeof range);
    cfg_type t = element ? cfg_element_type(f->type) : f->type;
    switch (t) {
    case CFG_INT: snprintf(buf, len, "an integer%s", range); break;
    case CFG_FLOAT: snprintf(buf, len, "a number%s", range); break;
    case CFG_BOOL: snprintf(buf, len, "true or false"); break;
    case CFG_STRING: snprintf(buf, len, "a string"); break;
    case CFG_ENUM: snprintf(buf, len, "one of %s", f->choices ? f->choices : "(no choices)"); break;
    default: {
        const char *what = t == CFG_INT_LIST ? "integers" : t == CFG_FLOAT_LIST ? "numbers"
                                                                                 : "strings";
        char count[32] = "";
        if (f->count)
            snprintf(count, sizeof count, "%d ", f->count);
        snprintf(buf, len, "a list of %s%s%s", count, what, range);
    }
    }
}

/* How a node looks, for messages: "'ten'", "the quoted string '10'", "a list". */
void cfg_got_text(const node *n, char *buf, size_t len)
{
    if (n->kind != NODE_SCALAR) {
        snprintf(buf, len, "%s", cfg_kind_name(n));
        return;
    }
    if (cfg_is_null(n)) {
        snprintf(buf, len, "nothing (null)");
        return;
    }
    size_t tl = strlen(n->text);
    int cut = tl > 60;
    snprintf(buf, len, "%s'%.*s%s'", n->plain ? "" : "the quoted string ", cut ? 57 : (int)tl,
             n->text, cut ? "..." : "");
}

/* Strict decimal integer. */
static int parse_int(const char *s, int64_t *out)
{
    const char *p = s + (*s == '+' || *s == '-');
    if (!isdigit((unsigned char)*p))
        return -1;
    for (const char *q = p; *q; q++)
        if (!isdigit((unsigned char)*q))
            return -1;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = (int64_t)v;
    return 0;
}

/* A decimal number or YAML's .inf; NaN and hex are refused. */
static int parse_float(const char *s, double *out)
{
    static const char *const inf[] = {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"};
    static const char *const ninf[] = {"-.inf", "-.Inf", "-.INF"};
    for (size_t i = 0; i < sizeof inf / sizeof *inf; i++)
        if (!strcmp(s, inf[i]))
            return *out = INFINITY, 0;
    for (size_t i = 0; i < sizeof ninf / sizeof *ninf; i++)
        if (!strcmp(s, ninf[i]))
            return *out = -INFINITY, 0;
    int digits = 0;
    for (const char *q = s; *q; q++) {
        if (isdigit((unsigned char)*q))
            digits = 1;
        else if (!strchr("+-.eE", *q))
            return -1;
    }
    if (!digits)
        return -1;
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (*end || errno == ERANGE || isnan(v))
        return -1;
    *out = v;
    return 0;
}

static int parse_bool(const char *s, int *out)
{
    static const char *const yes[] = {"true", "yes", "on"}, *const no[] = {"false", "no", "off"};
    for (int i = 0; i < 3; i++) {
        if (!strcasecmp(s, yes[i]))
            return *out = 1, 0;
        if (!strcasecmp(s, no[i]))
            return *out = 0, 0;
    }
    return -1;
}

static int parse_enum(const char *s, const char *choices, int *out)
{
    size_t sl = strlen(s);
    int idx = 0;
    for (const char *p = choices; p && *p; idx++) {
        const char *bar = strchr(p, '|');
        size_t l = bar ? (size_t)(bar - p) : strlen(p);
        if (l == sl && !memcmp(p, s, l))
            return *out = idx, 0;
        if (!bar)
            break;
        p = bar + 1;
    }
    return -1;
}

/* The idx-th choice (NULL if out of range) and its length. */
const char *cfg_enum_name(const char *choices, int idx, int *len)
{
    const char *p = choices;
    for (int i = 0; p && i < idx; i++) {
        p = strchr(p, '|');
        if (p)
            p++;
    }
    if (!p || idx < 0)
        return NULL;
    const char *bar = strchr(p, '|');
    *len = bar ? (int)(bar - p) : (int)strlen(p);
    return p;
}

static int in_range(const cfg_field *f, double v)
{
    return no_range(f) || (v >= f->min && v <= f->max);
}

/* A converted scalar: one of these is set according to the element type. */
typedef union {
    int64_t i;
    double d;
    int b;
    char *s;
} scalar_val;

/* Context of one conversion, for messages. */
typedef struct {
    const cfg_field *f;
    const char *key;    /* dotted key, with [i] for list elements */
    int element;        /* converting one element of a list */
    char *err;
    size_t errlen;
} conv;

static int conv_fail(const conv *c, const node *n)
{
    char where[LOC_MAX], exp[256], got[160];
    expected_text(c->f, c->element, exp, sizeof exp);
    cfg_got_text(n, got, sizeof got);
    err_fail(c->err, c->errlen, "%s: %s: expected %s, got %s",
             cfg_loc_str(n->loc, where, sizeof where), c->key, exp, got);
    return -1;
}

/* One scalar of type t (the field's element type). */
static int convert_scalar(const conv *c, const node *n, cfg_type t, scalar_val *v)
{
    if (n->kind != NODE_SCALAR)
        return conv_fail(c, n);
    if (t == CFG_STRING) {
        v->s = strdup(cfg_is_null(n) ? "" : n->text);
        if (!v->s)
            err_fail(c->err, c->errlen, "%s: out of memory", c->key);
        return v->s ? 0 : -1;
    }
    if (!n->plain)
        return conv_fail(c, n);
    switch (t) {
    case CFG_INT:
        if (parse_int(n->text, &v->i) || !in_range(c->f, (double)v->i))
            return conv_fail(c, n);
        return 0;
    case CFG_FLOAT:
        if (parse_float(n->text, &v->d) || !in_range(c->f, v->d))
            return conv_fail(c, n);
        return 0;
    case CFG_BOOL:
        return parse_bool(n->text, &v->b) ? conv_fail(c, n) : 0;
    case CFG_ENUM:
        return parse_enum(n->text, c->f->choices, &v->b) ? conv_fail(c, n) : 0;
    default:
        return conv_fail(c, n);
    }
}

void cfg_free_list(cfg_type t, void *at)
{
    if (t == CFG_STRING_LIST) {
        cfg_string_list *l = at;
        for (int i = 0; i < l->n; i++)
            free(l->v[i]);
    }
    /* every list struct starts with {int n; T *v;} */
    if (t == CFG_INT_LIST) {
        free(((cfg_int_list *)at)->v);
        *(cfg_int_list *)at = (cfg_int_list){0, NULL};
    } else if (t == CFG_FLOAT_LIST) {
        free(((cfg_float_list *)at)->v);
        *(cfg_float_list *)at = (cfg_float_list){0, NULL};
    } else if (t == CFG_STRING_LIST) {
        free(((cfg_string_list *)at)->v);
        *(cfg_string_list *)at = (cfg_string_list){0, NULL};
    }
}

/* A list field from a sequence (or a plain null: the empty list); stored into at on success. */
static int convert_list(const conv *c, const node *n, void *at)
{
    int count = n->kind == NODE_SEQ ? n->n : 0;
    if (n->kind != NODE_SEQ && !cfg_is_null(n))
        return conv_fail(c, n);
    if (c->f->count && count != c->f->count) {
        char where[LOC_MAX], exp[256];
        expected_text(c->f, 0, exp, sizeof exp);
        err_fail(c->err, c->errlen, "%s: %s: expected %s, got a list of %d",
                 cfg_loc_str(n->loc, where, sizeof where), c->key, exp, count);
        return -1;
    }
    cfg_type et = cfg_element_type(c->f->type);
    size_t es = et == CFG_INT ? sizeof(int64_t) : et == CFG_FLOAT ? sizeof(double) : sizeof(char *);
    void *arr = count ? calloc((size_t)count, es) : NULL;
    if (count && !arr) {
        err_fail(c->err, c->errlen, "%s: out of memory", c->key);
        return -1;
    }
    for (int i = 0; i < count; i++) {
        char key[512];
        snprintf(key, sizeof key, "%s[%d]", c->key, i);
        conv ce = {c->f, key, 1, c->err, c->errlen};
        scalar_val v;
        if (convert_scalar(&ce, n->items[i], et, &v)) {
            cfg_string_list partial = {i, arr};
            if (et == CFG_STRING)
                cfg_free_list(CFG_STRING_LIST, &partial);
            else
                free(arr);
            return -1;
        }
        if (et == CFG_INT)
            ((int64_t *)arr)[i] = v.i;
        else if (et == CFG_FLOAT)
            ((double *)arr)[i] = v.d;
        else
            ((char **)arr)[i] = v.s;
    }
    cfg_free_list(c->f->type, at);
    if (c->f->type == CFG_INT_LIST)
        *(cfg_int_list *)at = (cfg_int_list){count, arr};
    else if (c->f->type == CFG_FLOAT_LIST)
        *(cfg_float_list *)at = (cfg_float_list){count, arr};
    else
        *(cfg_string_list *)at = (cfg_string_list){count, arr};
    return 0;
}

/* Convert node n into the field f of out. */
int cfg_convert_field(const cfg_field *f, const char *key, const node *n, void *out, char *err,
                      size_t errlen)
{
    void *at = (char *)out + f->offset;
    conv c = {f, key, 0, err, errlen};
    if (cfg_is_list(f->type))
        return convert_list(&c, n, at);
    scalar_val v;
    if (convert_scalar(&c, n, f->type, &v))
        return -1;
    switch (f->type) {
    case CFG_INT: *(int64_t *)at = v.i; break;
    case CFG_FLOAT: *(double *)at = v.d; break;
    case CFG_BOOL:
    case CFG_ENUM: *(int *)at = v.b; break;
    case CFG_STRING:
        free(*(char **)at);
        *(char **)at = v.s;
        break;
    default: break;
    }
    return 0;
}

