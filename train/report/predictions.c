/*
 * predictions.c - see predictions.h.
 */
#include "report/predictions.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "base/err.h"

int predictions_write(const mask_ap *ap, const char *dir, char *err, size_t errlen)
{
    if (!ap)
        return err_fail(err, errlen, "%s: no evaluator (out of memory?)", PREDICTIONS_FILE);
    if (!dir || !*dir)
        return err_fail(err, errlen, "%s: no directory to write it to", PREDICTIONS_FILE);
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        int missing_parent = errno == ENOENT;
        err_fail(err, errlen, "cannot create directory '%s' for %s: %s", dir, PREDICTIONS_FILE,
                 strerror(errno));
        return missing_parent ? 1 : -1;
    }
    char path[4200];
    if (snprintf(path, sizeof path, "%s/%s", dir, PREDICTIONS_FILE) >= (int)sizeof path)
        return err_fail(err, errlen, "%s: the directory name is too long: '%.80s...'",
                        PREDICTIONS_FILE, dir);
    return mask_ap_write_results_json(ap, path, err, errlen);
}
