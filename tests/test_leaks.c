/*
 * test_leaks.c - runs tests/leakcheck/leakcheck.c (shim, nn layer, optimizers, dicts, files, IDX
 * reader, the polarmask path) under valgrind: no definite or indirect leak, no memory error in
 * pictor's code, and no tensor handle alive at exit. Slow (about two minutes): libtorch is large
 * under valgrind.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    if (buf)
        buf[n] = '\0';
    fclose(f);
    return buf;
}

Test(leaks, c_side_is_clean_under_valgrind, .timeout = 600)
{
#ifdef PICTOR_SANITIZED
    cr_skip_test("sanitizer build: the sanitizers check this build; valgrind checks the plain one");
#endif
    if (system("command -v valgrind >/dev/null 2>&1") != 0)
        cr_assert_fail("valgrind is not installed (make deps installs it)");
    char *dir = tst_tmpdir(), cmd[8192], log[4200];
    cr_assert_not_null(dir);
    snprintf(log, sizeof log, "%s/valgrind.log", dir);
    snprintf(cmd, sizeof cmd,
             "valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect "
             "--show-leak-kinds=definite,indirect --error-exitcode=99 "
             "--suppressions='%s/tests/valgrind.supp' '%s/leakcheck' '%s' >'%s' 2>&1",
             PICTOR_SOURCE_DIR, PICTOR_BINARY_DIR, dir, log);
    int st = system(cmd);
    char *out = slurp(log);
    cr_assert_not_null(out);
    cr_expect_eq(st, 0, "valgrind reported a problem (exit status %d):\n%s", st,
                 strlen(out) > 6000 ? out + strlen(out) - 6000 : out);
    cr_expect(strstr(out, "leakcheck: ok, 0 live tensor handles") != NULL, "%s", out);
    cr_expect(strstr(out, "definitely lost: 0 bytes") || strstr(out, "no leaks are possible"),
              "%s", out);
    cr_expect(strstr(out, "ERROR SUMMARY: 0 errors") != NULL, "%s", out);
    free(out);
    tst_rmtree(dir);
}
