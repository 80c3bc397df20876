/* header_check.c - built as part of `all` with -std=c11 -pedantic -Werror: the public C headers
 * must compile alone as strict C11 (no C++ or GNU extensions leak through). */
#include "pt.h"
#include "nn.h"
#include "idx.h"

int pictor_header_check(void);
int pictor_header_check(void) { return (int)sizeof(pt_optim_options); }
