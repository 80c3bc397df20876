/*
 * cmd_data_internal.h - what the files of `pictor data` share (tools/cmd_data.c parses and runs
 * the subcommands, tools/cmd_data_info.c prints `info`). Not used outside them.
 */
#ifndef PICTOR_CMD_DATA_INTERNAL_H
#define PICTOR_CMD_DATA_INTERNAL_H

#include "store/store.h"

/* The report of `pictor data info` on stdout; file_size < 0: unknown. */
void data_print_info(const char *path, const store_reader *r, const store_summary *s,
                     long long file_size);

/* tools/cmd_data_ratios.c: area-ratio labels (ratios, import-ratios, tissue). */
int cmd_ratios(int argc, char **argv);
int cmd_import_ratios(int argc, char **argv);
int cmd_tissue(int argc, char **argv);

#endif
