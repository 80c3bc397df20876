/*
 * strdist.c - see strdist.h: the optimal-string-alignment distance by dynamic programming over
 * three rows (i - 2, i - 1, i) of the edit table.
 */
#include "base/strdist.h"

#include <string.h>

int strdist_osa(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > STRDIST_MAX || lb > STRDIST_MAX)
        return STRDIST_MAX + 1;
    int rows[3][STRDIST_MAX + 1]; /* i - 2, i - 1, i */
    int *pp = rows[0], *prev = rows[1], *cur = rows[2];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int v = prev[j - 1] + (a[i - 1] != b[j - 1]);
            if (prev[j] + 1 < v)
                v = prev[j] + 1;
            if (cur[j - 1] + 1 < v)
                v = cur[j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                pp[j - 2] + 1 < v)
                v = pp[j - 2] + 1;
            cur[j] = v;
        }
        int *t = pp;
        pp = prev;
        prev = cur;
        cur = t;
    }
    return prev[lb];
}
