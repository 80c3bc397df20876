/*
 * commands.h - the subcommands of `pictor` that live in their own tools/cmd_*.c files. Each
 * takes the arguments after its name (argv[0] is the first of them) and returns the exit status:
 * 0 success, 1 user error (one message on stderr), 2 internal error.
 */
#ifndef PICTOR_COMMANDS_H
#define PICTOR_COMMANDS_H

/* `pictor config show CONFIG.yaml [--set key.path=value ...]` (tools/cmd_config.c) */
int cmd_config(int argc, char **argv);

/* `pictor data info|import-idx|import-folder|import-masks ...` (tools/cmd_data.c) */
int cmd_data(int argc, char **argv);

/* `pictor train CONFIG [--set k=v ...] [--resume auto|PATH]` (tools/cmd_train.c) */
int cmd_train(int argc, char **argv);
/* `pictor eval CONFIG --weights FILE [--set k=v ...]` (tools/cmd_train.c) */
int cmd_eval(int argc, char **argv);
/* `pictor predict CONFIG --weights FILE --out DIR [--n N] [--set k=v ...]` (tools/cmd_train.c) */
int cmd_predict(int argc, char **argv);
/* `pictor export RUN_DIR|CHECKPOINT --format safetensors|torch|hdf5 --out FILE` */
int cmd_export(int argc, char **argv);

/* `pictor segment CONFIG --weights W --image IMG [--box x,y,w,h] [--tap +x,y ...] --out MASK.png
 * [--cutout OUT.png] [--set k=v ...]` (tools/cmd_segment.c): the interactive model on one image */
int cmd_segment(int argc, char **argv);

/* `pictor fetch URL --sha256 HEX [--cache DIR] [--out FILE] ...` (tools/cmd_fetch.c) */
int cmd_fetch(int argc, char **argv);

/* `pictor portrait CONFIG --weights W --image IMG --out DIR [--depth FILE] ...` and `pictor
 * portrait synth ...` (tools/cmd_portrait.c): the portrait model on one photo; its data set */
int cmd_portrait(int argc, char **argv);

#endif
