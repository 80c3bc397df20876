/*
 * strdist.h - how far apart two short strings are, for "did you mean" suggestions (option names,
 * keys).
 *
 * strdist_osa: the optimal-string-alignment distance: the fewest insertions, deletions,
 * substitutions and swaps of two adjacent characters turning a into b, no substring edited twice
 * ("--lenght" -> "--length" is 1, "abc" -> "ca" is 3). Bytes are compared, so a multi-byte UTF-8
 * character counts as several. Strings longer than STRDIST_MAX bytes are STRDIST_MAX + 1 away
 * from everything (suggestions are for short names; the cost is O(len a * len b) time and
 * O(len b) memory on the stack).
 */
#ifndef PICTOR_DATA_STRDIST_H
#define PICTOR_DATA_STRDIST_H

#define STRDIST_MAX 127

int strdist_osa(const char *a, const char *b);

#endif
