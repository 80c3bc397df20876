/*
 * tbevents.h - a TensorBoard event-file writer in plain C (scalars only, no protobuf library).
 *
 * Owns: the file RUN_DIR/events.out.tfevents.<unix time>.<hostname> that `tensorboard --logdir`
 * reads, its TFRecord framing, the hand-encoded protobuf messages in it, and CRC32C.
 *
 * FILE FORMAT (what TensorBoard expects; see tbevents.c for the byte layout)
 *   A sequence of records, each:  uint64 length (little endian)
 *                                 uint32 masked CRC32C of those 8 length bytes
 *                                 length bytes of data (one serialized tensorflow.Event)
 *                                 uint32 masked CRC32C of the data
 *   masked(crc) = ((crc >> 15) | (crc << 17)) + 0xa282ead8 (mod 2^32).
 *   Record 1 is Event{wall_time, file_version: "brain.Event:2"}. With a purge step p >= 0 (a
 *   resumed run), record 2 is Event{wall_time, step: p, session_log: SessionLog{status: START}}:
 *   TensorBoard then drops the events with step >= p that earlier files of the run hold, so the
 *   curve of a resumed run has no doubled tail. Every later record is one
 *   Event{wall_time, step, summary: Summary{value: [{tag, simple_value}, ...]}}.
 *
 * WRITES
 *   Each event is encoded in memory and handed to the kernel with write() at once (nothing is
 *   buffered in the process), so a killed run keeps every complete event. If a write fails (disk
 *   full) the file is cut back to the last complete record, the call returns PT_ERR with the file
 *   name and strerror in pt_error(), and the writer stays usable. tb_writer_close() fsyncs.
 *
 * Values are stored as float32 (TensorBoard's simple_value); NaN and Inf are written as they are.
 */
#ifndef PICTOR_TBEVENTS_H
#define PICTOR_TBEVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "pt.h"

typedef struct tb_writer tb_writer;

/* Creates a new event file in dir (which must exist), named
 * events.out.tfevents.<unix seconds>.<hostname>; if that name is taken, ".<pid>.<n>" is
 * appended. purge_step < 0: no purge record. Returns NULL with a message on failure. */
tb_writer *tb_writer_open(const char *dir, int64_t purge_step);

/* Same, at an explicit path (created, or truncated if it exists). */
tb_writer *tb_writer_open_file(const char *path, int64_t purge_step);

/* One event at step holding n scalars tags[i] = values[i]. wall_time is seconds since the Unix
 * epoch (tb_wall_time() for now). n == 0 writes nothing. Tags must be non-empty. */
pt_status tb_writer_add_scalars(tb_writer *w, int64_t step, double wall_time,
                                const char *const *tags, const double *values, int n);
pt_status tb_writer_add_scalar(tb_writer *w, int64_t step, double wall_time, const char *tag,
                               double value);

/* The path of the event file (owned by w). */
const char *tb_writer_path(const tb_writer *w);

/* fsync, close, free. PT_ERR if the fsync or close failed (the writer is freed anyway).
 * NULL is fine. */
pt_status tb_writer_close(tb_writer *w);

/* Seconds since the Unix epoch, with sub-second precision. */
double tb_wall_time(void);

/* CRC32C (Castagnoli, reflected polynomial 0x82F63B78, init and final xor 0xFFFFFFFF):
 * tb_crc32c("123456789", 9) == 0xE3069283. tb_crc32c_extend continues a running crc
 * (start with 0). */
uint32_t tb_crc32c_extend(uint32_t crc, const void *data, size_t len);
uint32_t tb_crc32c(const void *data, size_t len);
/* The TFRecord mask applied to a CRC before it is stored. */
uint32_t tb_crc_mask(uint32_t crc);

#endif
