/*
 * cliopt.h - one table per subcommand from which both its option parsing and its usage text are
 * made (the command-line twin of the config descriptor tables, train/config/config.h).
 *
 * A command is a clicmd: its name, an optional positional argument, a summary, and a table of
 * cliopt rows ending with a row whose name is NULL. Each row says the option's name ("--out"),
 * its kind, where the value goes (offsetof into the caller's struct, or a setter), its value's
 * name in the usage ("FILE.h5"), its range or choices, a one-line doc, and whether it is required.
 *
 *   typedef struct { const char *out; int64_t n; int grey; } my_args;
 *   static const cliopt MY_OPTS[] = {
 *       {"--n", CLIOPT_INT, offsetof(my_args, n), "N", .min = 1, .max = 100, .doc = "items"},
 *       {"--grey", CLIOPT_FLAG, offsetof(my_args, grey), .doc = "one channel"},
 *       {"--out", CLIOPT_STRING, offsetof(my_args, out), "FILE.h5", .flags = CLIOPT_REQUIRED},
 *       {0}};
 *   static const clicmd MY = {"my-cmd", NULL, NULL, "what it does", MY_OPTS};
 *   my_args a = {.n = 10};                               defaults: whatever the caller sets
 *   cliopt_result res;
 *   switch (cliopt_parse(&MY, argc, argv, &a, &res, err, sizeof err)) { ... }
 *
 * PARSING (argv[0] is the command's name and is skipped)
 *   - "--name VALUE" or "--name=VALUE"; a flag takes no value ("--grey=1" is an error). The value
 *     is always the next argument, even when it starts with '-' (so "--tolerance -1" reaches the
 *     range check, which names the option).
 *   - Kinds: FLAG sets an int to 1; INT (int64_t, decimal, within [min, max]); DOUBLE (double,
 *     within [min, max], an end excluded with CLIOPT_OPEN_MIN / CLIOPT_OPEN_MAX; NaN refused);
 *     STRING (const char *, pointing into argv); ENUM (int: the index of the value among the
 *     '|'-separated choices, exactly); REPEAT (cliopt_list: every occurrence, in order; free it
 *     with cliopt_list_free). A row with a setter calls it instead of storing (any kind but
 *     FLAG): the setter checks the text and stores it; its message follows "--name: ".
 *   - Messages (err, without the command's name, which the caller prefixes):
 *       unknown option '--claas' (did you mean '--class'?)      or (see --help)
 *       --out expects a value
 *       --n expects an integer in [1, 100], got '0'             (or the row's own .expects
 *       --val expects a number in (0, 1), got '1.5'              wording: "a count >= 0")
 *       --split expects train or test, got 'dev'
 *       --grey takes no value
 *       unexpected argument 'x'                                   (a second positional)
 *       which folder? (ROOT)                                      (clicmd.missing)
 *       --out FILE.h5 is required     /   --json FILE and --images DIR are required
 *     A suggestion is the known option (or --help) at the smallest optimal-string-alignment
 *     distance within max(2, length / 4), or one that the unknown name starts ("--class" ->
 *     "--class-from-prefix").
 *   - "--help" or "-h" anywhere: CLIOPT_HELP, nothing else checked.
 *   - An option given twice: the last value wins (REPEAT: all are kept).
 *
 * USAGE
 *   cliopt_usage prints "  NAME POSITIONAL --required VALUE [--optional VALUE] ...", wrapped at
 *   CLIOPT_WIDTH columns, the summary, then (unless brief) one line per option, wrapped: its
 *   name and value, its doc, its range and, for required options, "(required)".
 */
#ifndef PICTOR_TOOLS_CLIOPT_H
#define PICTOR_TOOLS_CLIOPT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum {
    CLIOPT_FLAG,   /* int: set to 1 */
    CLIOPT_INT,    /* int64_t */
    CLIOPT_DOUBLE, /* double */
    CLIOPT_STRING, /* const char * */
    CLIOPT_ENUM,   /* int: index into choices */
    CLIOPT_REPEAT  /* cliopt_list: every value given */
} cliopt_kind;

enum {
    CLIOPT_REQUIRED = 1u << 0,
    CLIOPT_OPEN_MIN = 1u << 1, /* DOUBLE: min itself is refused */
    CLIOPT_OPEN_MAX = 1u << 2  /* DOUBLE: max itself is refused */
};

/* Checks and stores a value itself (e.g. a regular expression that must compile) at field, the
 * address dest + offset; returns 0, or -1 with a message in err (the parser prefixes
 * "--name: "). */
typedef int (*cliopt_setter)(void *field, const char *value, char *err, size_t errlen);

typedef struct {
    const char *name;      /* "--out"; NULL ends the table */
    cliopt_kind kind;
    size_t offset;         /* offsetof(the caller's struct, member) */
    const char *metavar;   /* the value in the usage: "FILE.h5", "N"; ENUM: NULL = its choices */
    double min, max;       /* INT, DOUBLE: inclusive range (see flags); min == max == 0: none */
    const char *choices;   /* ENUM: "train|test" */
    const char *doc;       /* one line */
    unsigned flags;        /* CLIOPT_REQUIRED | CLIOPT_OPEN_MIN | CLIOPT_OPEN_MAX */
    const char *expects;   /* optional wording of a bad value: "--limit expects <this>, got 'x'" */
    cliopt_setter set;     /* optional: replaces storing at offset */
} cliopt;

typedef struct {
    const char *name;       /* "import-masks" */
    const char *positional; /* its one positional argument in the usage ("ROOT"), or NULL */
    const char *missing;    /* message when the positional is absent ("which folder? (ROOT)");
                               NULL: the positional is optional */
    const char *summary;    /* what the command does; may hold '\n' */
    const cliopt *opts;     /* ends with {0} */
} clicmd;

#define CLIOPT_MAX 48   /* rows per table */
#define CLIOPT_WIDTH 100
#define CLIOPT_INT64_MAX 9223372036854775807.0 /* .max of an INT without an upper bound */

typedef struct {
    const char *positional;        /* the positional argument, or NULL */
    const char *given[CLIOPT_MAX]; /* per row: the option as written last ("--dir"), or NULL */
} cliopt_result;

typedef struct {
    int n;
    const char **v; /* malloc'ed array of pointers into argv */
} cliopt_list;

enum { CLIOPT_OK = 0, CLIOPT_ERROR = 1, CLIOPT_HELP = 2 };

/* Parse argv[1..argc) into dest (see above). Returns CLIOPT_OK, CLIOPT_HELP, or CLIOPT_ERROR
 * with the message in err. REPEAT lists in dest may hold values even after an error: free them. */
int cliopt_parse(const clicmd *c, int argc, char **argv, void *dest, cliopt_result *res,
                 char *err, size_t errlen);

/* The option as written if row `name` of c was given, else NULL. */
const char *cliopt_given(const clicmd *c, const cliopt_result *res, const char *name);

/* The closest option name of c to an unknown one (or "--help"), or NULL. */
const char *cliopt_suggest(const clicmd *c, const char *unknown);

/* The usage block of one command (see above); brief: the synopsis and summary only (a list of
 * several commands), without the line per option. */
void cliopt_usage(FILE *f, const clicmd *c, int brief);

void cliopt_list_free(cliopt_list *l);

#endif
