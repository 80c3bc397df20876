/* header_check.c - built as part of `all` with -std=c11 -pedantic -Werror: the public C headers
 * must compile alone as strict C11 (no C++ or GNU extensions leak through). */
#include "pt.h"
#include "nn.h"
#include "idx.h"
#include "sample.h"
#include "source.h"
#include "sampler.h"
#include "augment.h"
#include "collate.h"
#include "loader.h"
#include "store.h"
#include "config.h"
#include "settings.h"
#include "sched.h"
#include "checkpoint.h"
#include "driver.h"
#include "export.h"
#include "trainer.h"
#include "runlog.h"
#include "plot.h"
#include "tbevents.h"

int pictor_header_check(void);
int pictor_header_check(void) { return (int)sizeof(pt_optim_options); }
