/* cmd_launch.h - `pictor train ... --nproc N` (tools/cmd_launch.c): N local ranks, torchrun's
 * environment. */
#ifndef PICTOR_CMD_LAUNCH_H
#define PICTOR_CMD_LAUNCH_H

/* Run `pictor train argv...` as nproc processes with RANK/WORLD_SIZE/MASTER_* set, supervise
 * them, and return the exit status (0, or the first failure's). argv must not hold --nproc. */
int launch_local(int nproc, int argc, char **argv);

#endif
