/*
 * runlock.h - one training per run directory at a time, and no leftovers of killed ones.
 *
 * runlock_acquire takes an exclusive POSIX record lock (fcntl F_SETLK) on byte RANK of
 * <run_dir>/train.lock (RANK from the environment, as torchrun sets it; 0 when unset) and rank 0
 * writes its pid into the file. The ranks of one data-parallel job share the directory (each
 * holds its own byte); a second job, or a second single-process training, collides on byte 0. The kernel drops the lock when the
 * holder exits in any way (kill -9 included), so a lock is never stale; the file itself stays
 * (it only names the last holder). A second training on the same directory fails at once with a
 * message naming the directory, the lock file and the pid that holds it. On a read-only or full
 * file system the lock file cannot be created, and the message says why (strerror).
 *
 * runlock_clean_temps, called by the holder only (and a no-op on ranks other than 0), removes the temp files "<name>.tmp.<pid>" that
 * an atomic write (shim/fileio.h) of a killed process left in the run directory and its
 * checkpoints/ and plots/ folders: under the lock no other writer can be using them.
 */
#ifndef PICTOR_RUNLOCK_H
#define PICTOR_RUNLOCK_H

#include <stddef.h>

#define RUNLOCK_FILE "train.lock"

/* The descriptor that holds the lock (>= 0), or -1 with a message in err. */
int runlock_acquire(const char *run_dir, char *err, size_t errlen);
/* Unlock and close (fd < 0 is fine). */
void runlock_release(int fd);
/* The number of stale temp files removed (see above). */
int runlock_clean_temps(const char *run_dir);

#endif
