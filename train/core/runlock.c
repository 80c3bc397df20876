/* runlock.c - see runlock.h: the run directory's lock file and the removal of stale temp files. */
#include "core/runlock.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/err.h"
#include "fileio.h"

/* RANK of a torchrun launch; 0 when unset or not a number. */
static long env_rank(void)
{
    const char *r = getenv("RANK");
    char *end;
    long v = r && *r ? strtol(r, &end, 10) : 0;
    return r && *r && !*end && v > 0 && v < 1L << 20 ? v : 0;
}

int runlock_acquire(const char *run_dir, char *err, size_t errlen)
{
    const long rank = env_rank();
    char path[4200];
    snprintf(path, sizeof path, "%s/" RUNLOCK_FILE, run_dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0)
        return err_fail(err, errlen, "cannot lock the run directory '%s': creating '%s' failed: %s",
                        run_dir, path, strerror(errno));
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = rank, .l_len = 1};
    if (fcntl(fd, F_SETLK, &fl) != 0) {
        int e = errno;
        struct flock who = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = rank, .l_len = 1};
        long pid = fcntl(fd, F_GETLK, &who) == 0 && who.l_type != F_UNLCK ? (long)who.l_pid : -1;
        close(fd);
        if (e == EACCES || e == EAGAIN)
            return err_fail(err, errlen, "the run directory '%s' is in use by another training "
                            "(pid %ld holds %s); wait for it to end or choose another run.name",
                            run_dir, pid, path);
        return err_fail(err, errlen, "cannot lock '%s': %s", path, strerror(e));
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (rank == 0 && (ftruncate(fd, 0) != 0 || pt_write_all(fd, pid, (size_t)n) != 0)) {
        int e = errno;
        close(fd);
        return err_fail(err, errlen, "cannot write the lock file '%s': %s", path, strerror(e));
    }
    return fd;
}

void runlock_release(int fd)
{
    if (fd >= 0)
        close(fd); /* closing drops the process's record locks on the file */
}

/* name ends in ".tmp.<digits>": the temp file of an atomic write (fileio.h). */
static int is_temp_name(const char *name)
{
    const char *t = strstr(name, ".tmp.");
    if (!t)
        return 0;
    const char *d = t + 5;
    if (!*d)
        return 0;
    for (; *d; d++)
        if (!isdigit((unsigned char)*d))
            return is_temp_name(t + 1);
    return 1;
}

static int clean_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int removed = 0;
    char path[4600];
    for (struct dirent *e; (e = readdir(d));) {
        if (!is_temp_name(e->d_name))
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        removed += unlink(path) == 0;
    }
    closedir(d);
    return removed;
}

int runlock_clean_temps(const char *run_dir)
{
    static const char *const sub[] = {"", "/checkpoints", "/plots"};
    char dir[4200];
    int removed = 0;
    if (env_rank() != 0)
        return 0; /* rank 0 writes the run directory */
    for (size_t i = 0; i < sizeof sub / sizeof sub[0]; i++) {
        snprintf(dir, sizeof dir, "%s%s", run_dir, sub[i]);
        removed += clean_dir(dir);
    }
    return removed;
}
