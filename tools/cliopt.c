/*
 * cliopt.c - see cliopt.h: table-driven option parsing and usage text for the subcommands
 * (named cmd_* so that the build's tools/cmd_*.c glob compiles it into pictor).
 */
#include "cliopt.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/strdist.h"

/* ---------------------------------------------------------------- the table */

static int n_rows(const clicmd *c)
{
    int n = 0;
    while (c->opts && c->opts[n].name)
        n++;
    return n;
}

static int find_row(const clicmd *c, const char *name, size_t len)
{
    for (int k = 0; c->opts && c->opts[k].name; k++)
        if (strlen(c->opts[k].name) == len && !strncmp(c->opts[k].name, name, len))
            return k;
    return -1;
}

const char *cliopt_given(const clicmd *c, const cliopt_result *res, const char *name)
{
    int k = find_row(c, name, strlen(name));
    return k >= 0 ? res->given[k] : NULL;
}

const char *cliopt_suggest(const clicmd *c, const char *unknown)
{
    const char *best = NULL;
    int best_score = 1 << 20, n = n_rows(c);
    size_t ul = strlen(unknown);
    int threshold = ul / 4 > 2 ? (int)(ul / 4) : 2;
    for (int k = 0; k <= n; k++) {
        const char *name = k < n ? c->opts[k].name : "--help";
        int d = strdist_osa(unknown, name), score = -1;
        if (d <= threshold && d < (int)ul)
            score = 2 * d;
        else if (ul >= 4 && !strncmp(name, unknown, ul))
            score = 2 * threshold + 1; /* a prefix: after every close spelling */
        if (score >= 0 && score < best_score)
            best = name, best_score = score;
    }
    return best;
}

/* ---------------------------------------------------------------- values */

/* "a|b|c" as "a, b or c" into buf. */
static void choices_text(const char *choices, char *buf, size_t len)
{
    size_t at = 0;
    buf[0] = 0;
    const char *p = choices;
    while (*p && at + 1 < len) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);
        const char *sep = p == choices ? "" : bar ? ", " : " or ";
        int w = snprintf(buf + at, len - at, "%s%.*s", sep, (int)n, p);
        at += w > 0 ? (size_t)w : 0;
        if (at >= len)
            break;
        p = bar ? bar + 1 : p + n;
    }
}

/* Index of v among the choices, or -1. */
static int choice_index(const char *choices, const char *v)
{
    size_t lv = strlen(v);
    int k = 0;
    for (const char *p = choices; p;) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);
        if (n == lv && !strncmp(p, v, n))
            return k;
        p = bar ? bar + 1 : NULL;
        k++;
    }
    return -1;
}

static int has_range(const cliopt *o)
{
    return !(o->min == 0 && o->max == 0);
}

/* "an integer in [1, 100]", "a number in (0, 1)", "train or test", or the row's wording. */
static void expects_text(const cliopt *o, char *buf, size_t len)
{
    if (o->expects) {
        snprintf(buf, len, "%s", o->expects);
    } else if (o->kind == CLIOPT_ENUM) {
        choices_text(o->choices, buf, len);
    } else if (o->kind == CLIOPT_INT) {
        if (has_range(o))
            snprintf(buf, len, "an integer in [%lld, %lld]", (long long)o->min,
                     o->max >= 9.2e18 ? (long long)INT64_MAX : (long long)o->max);
        else
            snprintf(buf, len, "an integer");
    } else if (o->kind == CLIOPT_DOUBLE) {
        if (has_range(o))
            snprintf(buf, len, "a number in %c%g, %g%c", o->flags & CLIOPT_OPEN_MIN ? '(' : '[',
                     o->min, o->max, o->flags & CLIOPT_OPEN_MAX ? ')' : ']');
        else
            snprintf(buf, len, "a number");
    } else {
        snprintf(buf, len, "a value");
    }
}

static int bad_value(const cliopt *o, const char *v, char *err, size_t errlen)
{
    char what[256];
    expects_text(o, what, sizeof what);
    return err_fail(err, errlen, "%s expects %s, got '%s'", o->name, what, v);
}

static int parse_int(const cliopt *o, const char *v, int64_t *out, char *err, size_t errlen)
{
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    int in_range = !has_range(o) || ((double)n >= o->min && (double)n <= o->max);
    if (errno || end == v || *end || !in_range)
        return bad_value(o, v, err, errlen);
    *out = n;
    return 0;
}

static int parse_double(const cliopt *o, const char *v, double *out, char *err, size_t errlen)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    int ok = !errno && end != v && !*end && !isnan(d);
    if (ok && has_range(o))
        ok = (o->flags & CLIOPT_OPEN_MIN ? d > o->min : d >= o->min) &&
             (o->flags & CLIOPT_OPEN_MAX ? d < o->max : d <= o->max);
    if (!ok)
        return bad_value(o, v, err, errlen);
    *out = d;
    return 0;
}

/* Store value v of row o into dest. */
static int store_value(const cliopt *o, const char *v, void *dest, char *err, size_t errlen)
{
    char *at = (char *)dest + o->offset;
    if (o->set) {
        char why[768];
        if (o->set(at, v, why, sizeof why))
            return err_fail(err, errlen, "%s: %s", o->name, why);
        return 0;
    }
    switch (o->kind) {
    case CLIOPT_FLAG:
        *(int *)at = 1;
        return 0;
    case CLIOPT_INT:
        return parse_int(o, v, (int64_t *)at, err, errlen);
    case CLIOPT_DOUBLE:
        return parse_double(o, v, (double *)at, err, errlen);
    case CLIOPT_STRING:
        *(const char **)at = v;
        return 0;
    case CLIOPT_ENUM: {
        int k = choice_index(o->choices, v);
        if (k < 0)
            return bad_value(o, v, err, errlen);
        *(int *)at = k;
        return 0;
    }
    case CLIOPT_REPEAT: {
        cliopt_list *l = (cliopt_list *)at;
        const char **nv = realloc(l->v, ((size_t)l->n + 1) * sizeof *nv);
        if (!nv)
            return err_fail(err, errlen, "out of memory");
        l->v = nv;
        l->v[l->n++] = v;
        return 0;
    }
    }
    return err_fail(err, errlen, "%s: unknown option kind %d", o->name, (int)o->kind);
}

/* ---------------------------------------------------------------- parsing */

/* "--a X", "--a X and --b Y", "--a X, --b Y and --c Z" of the required rows not given. */
static int check_required(const clicmd *c, const cliopt_result *res, char *err, size_t errlen)
{
    char list[1024] = "";
    size_t at = 0;
    int missing[CLIOPT_MAX], n = 0;
    for (int k = 0; c->opts[k].name; k++)
        if ((c->opts[k].flags & CLIOPT_REQUIRED) && !res->given[k])
            missing[n++] = k;
    if (n == 0)
        return 0;
    for (int m = 0; m < n && at < sizeof list; m++) {
        const cliopt *o = &c->opts[missing[m]];
        const char *sep = m == 0 ? "" : m == n - 1 ? " and " : ", ";
        int w = snprintf(list + at, sizeof list - at, "%s%s%s%s", sep, o->name,
                         o->kind == CLIOPT_FLAG ? "" : " ", o->kind == CLIOPT_FLAG ? ""
                         : o->metavar ? o->metavar : "VALUE");
        at += w > 0 ? (size_t)w : 0;
    }
    return err_fail(err, errlen, "%s %s required", list, n == 1 ? "is" : "are");
}

static int parse_args(const clicmd *c, int argc, char **argv, void *dest, cliopt_result *res,
                      char *err, size_t errlen)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || a[1] == 0) {
            if (res->positional || !c->positional)
                return err_fail(err, errlen, "unexpected argument '%s'", a);
            res->positional = a;
            continue;
        }
        const char *eq = a[1] == '-' ? strchr(a, '=') : NULL;
        size_t len = eq ? (size_t)(eq - a) : strlen(a);
        int k = find_row(c, a, len);
        if (k < 0) {
            char name[256];
            snprintf(name, sizeof name, "%.*s", (int)len, a);
            const char *s = cliopt_suggest(c, name);
            if (s)
                return err_fail(err, errlen, "unknown option '%s' (did you mean '%s'?)", name, s);
            return err_fail(err, errlen, "unknown option '%s' (see --help)", name);
        }
        const cliopt *o = &c->opts[k];
        const char *v = eq ? eq + 1 : NULL;
        if (o->kind == CLIOPT_FLAG && v)
            return err_fail(err, errlen, "%s takes no value", o->name);
        if (o->kind != CLIOPT_FLAG && !v) {
            if (i + 1 >= argc)
                return err_fail(err, errlen, "%s expects a value", o->name);
            v = argv[++i];
        }
        if (store_value(o, v, dest, err, errlen))
            return CLIOPT_ERROR;
        res->given[k] = o->name;
    }
    if (!res->positional && c->positional && c->missing)
        return err_fail(err, errlen, "%s", c->missing);
    return check_required(c, res, err, errlen);
}

int cliopt_parse(const clicmd *c, int argc, char **argv, void *dest, cliopt_result *res,
                 char *err, size_t errlen)
{
    memset(res, 0, sizeof *res);
    if (n_rows(c) > CLIOPT_MAX) {
        err_fail(err, errlen, "%s: more than %d options in its table", c->name, CLIOPT_MAX);
        return CLIOPT_ERROR;
    }
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
            return CLIOPT_HELP;
    return parse_args(c, argc, argv, dest, res, err, errlen) ? CLIOPT_ERROR : CLIOPT_OK;
}

void cliopt_list_free(cliopt_list *l)
{
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

/* ---------------------------------------------------------------- usage */

/* "--name VALUE" of a row: its metavar, or its choices for an ENUM without one. */
static void option_text(const cliopt *o, char *buf, size_t len)
{
    const char *mv = o->metavar ? o->metavar : o->kind == CLIOPT_ENUM ? o->choices : "VALUE";
    if (o->kind == CLIOPT_FLAG)
        snprintf(buf, len, "%s", o->name);
    else
        snprintf(buf, len, "%s %s", o->name, mv);
}

/* Print n bytes of a word after a space, or on a new line indented by indent when it would
 * pass CLIOPT_WIDTH (a line holds at least one word). */
static void put_word(FILE *f, const char *word, int n, int *col, int indent)
{
    if (*col + 1 + n > CLIOPT_WIDTH && *col > indent) {
        fprintf(f, "\n%*s%.*s", indent, "", n, word);
        *col = indent + n;
    } else {
        fprintf(f, " %.*s", n, word);
        *col += 1 + n;
    }
}

/* Text as words, wrapped like the synopsis. */
static void put_text(FILE *f, const char *text, int *col, int indent)
{
    for (const char *p = text; *p;) {
        while (*p == ' ')
            p++;
        int n = (int)strcspn(p, " ");
        if (n > 0)
            put_word(f, p, n, col, indent);
        p += n;
    }
}

static void synopsis(FILE *f, const clicmd *c)
{
    char word[300];
    int indent = 2 + (int)strlen(c->name) + 1, col = indent - 1;
    fprintf(f, "  %s", c->name);
    if (c->positional) {
        snprintf(word, sizeof word, c->missing ? "%s" : "[%s]", c->positional);
        put_word(f, word, (int)strlen(word), &col, indent);
    }
    for (int k = 0; c->opts[k].name; k++) {
        char opt[256];
        option_text(&c->opts[k], opt, sizeof opt);
        snprintf(word, sizeof word, c->opts[k].flags & CLIOPT_REQUIRED ? "%s" : "[%s]", opt);
        if (c->opts[k].kind == CLIOPT_REPEAT)
            snprintf(word + strlen(word), sizeof word - strlen(word), "...");
        put_word(f, word, (int)strlen(word), &col, indent);
    }
    fprintf(f, "\n");
}

/* The summary, each line indented. */
static void summary(FILE *f, const char *text)
{
    for (const char *p = text; p && *p;) {
        const char *nl = strchr(p, '\n');
        int n = nl ? (int)(nl - p) : (int)strlen(p);
        fprintf(f, "      %.*s\n", n, p);
        p = nl ? nl + 1 : p + n;
    }
}

/* The range or choices of a row, for its usage line ("" when none). */
static void range_text(const cliopt *o, char *buf, size_t len)
{
    buf[0] = 0;
    if (o->kind == CLIOPT_INT && has_range(o)) {
        if (o->max >= 9.2e18)
            snprintf(buf, len, "; >= %lld", (long long)o->min);
        else
            snprintf(buf, len, "; %lld..%lld", (long long)o->min, (long long)o->max);
    } else if (o->kind == CLIOPT_DOUBLE && has_range(o)) {
        snprintf(buf, len, "; in %c%g, %g%c", o->flags & CLIOPT_OPEN_MIN ? '(' : '[', o->min,
                 o->max, o->flags & CLIOPT_OPEN_MAX ? ')' : ']');
    }
}

void cliopt_usage(FILE *f, const clicmd *c, int brief)
{
    synopsis(f, c);
    summary(f, c->summary);
    for (int k = 0; !brief && c->opts[k].name; k++) {
        const cliopt *o = &c->opts[k];
        char opt[256], range[96], doc[1024];
        option_text(o, opt, sizeof opt);
        range_text(o, range, sizeof range);
        if (strlen(opt) > 24)
            fprintf(f, "        %s\n%32s", opt, "");
        else
            fprintf(f, "        %-24s", opt);
        snprintf(doc, sizeof doc, "%s%s%s%s", o->doc ? o->doc : "", range,
                 o->kind == CLIOPT_REPEAT ? " (repeatable)" : "",
                 o->flags & CLIOPT_REQUIRED ? " (required)" : "");
        int col = 32;
        put_text(f, doc, &col, 33);
        fprintf(f, "\n");
    }
}
