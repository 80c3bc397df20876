/*
 * tbevents.c - TensorBoard event files: CRC32C, protobuf encoding by hand, TFRecord framing.
 *
 * Owns: everything behind tbevents.h. The protobuf messages written (field numbers from
 * tensorflow/core/util/event.proto and framework/summary.proto):
 *
 *   Event      { double wall_time = 1;          tag 0x09, 8 bytes little endian
 *                int64 step = 2;                tag 0x10, varint (two's complement as uint64);
 *                                               left out when 0, as proto3 encoders do
 *                string file_version = 3;       tag 0x1a, varint length, bytes
 *                Summary summary = 5;           tag 0x2a, varint length, message
 *                SessionLog session_log = 7; }  tag 0x3a, varint length, message
 *   Summary    { repeated Value value = 1; }    tag 0x0a, varint length, message
 *   Value      { string tag = 1;                tag 0x0a, varint length, bytes
 *                float simple_value = 2; }      tag 0x15, 4 bytes little endian
 *   SessionLog { SessionStatus status = 1; }    tag 0x08, varint (START = 1)
 *
 * Each event is built in a heap buffer, framed, and written with one write() call. The encoding
 * is the canonical one (tests/reference/tb_read.py re-serializes it with python3-protobuf, when
 * installed, and compares the bytes).
 */
#include "report/tbevents.h"

#include "report/bytebuf.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"

struct tb_writer {
    int fd;
    char *path;
    uint64_t size; /* bytes of complete records in the file */
};

/* ---------------------------------------------------------------- CRC32C */

static uint32_t crc_table[256];
static pthread_once_t crc_table_once = PTHREAD_ONCE_INIT;

/* The byte-at-a-time table of the reflected Castagnoli polynomial, built once per process. */
static void crc_table_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1u) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        crc_table[i] = c;
    }
}

uint32_t tb_crc32c_extend(uint32_t crc, const void *data, size_t len)
{
    pthread_once(&crc_table_once, crc_table_init);
    const uint8_t *p = data;
    uint32_t c = ~crc;
    for (size_t i = 0; i < len; i++)
        c = crc_table[(c ^ p[i]) & 0xffu] ^ (c >> 8);
    return ~c;
}

uint32_t tb_crc32c(const void *data, size_t len)
{
    return tb_crc32c_extend(0, data, len);
}

uint32_t tb_crc_mask(uint32_t crc)
{
    return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

/* ---------------------------------------------------------------- byte encoding */

static void buf_byte(bytebuf *b, uint8_t v)
{
    bb_put(b, &v, 1);
}

static void buf_le32(bytebuf *b, uint32_t v)
{
    uint8_t s[4];
    for (int i = 0; i < 4; i++)
        s[i] = (uint8_t)(v >> (8 * i));
    bb_put(b, s, 4);
}

static void buf_le64(bytebuf *b, uint64_t v)
{
    uint8_t s[8];
    for (int i = 0; i < 8; i++)
        s[i] = (uint8_t)(v >> (8 * i));
    bb_put(b, s, 8);
}

/* ---------------------------------------------------------------- protobuf encoding */

enum { WIRE_VARINT = 0, WIRE_FIXED64 = 1, WIRE_LEN = 2, WIRE_FIXED32 = 5 };

static size_t varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static void pb_varint(bytebuf *b, uint64_t v)
{
    while (v >= 0x80) {
        buf_byte(b, (uint8_t)(v | 0x80));
        v >>= 7;
    }
    buf_byte(b, (uint8_t)v);
}

static void pb_key(bytebuf *b, unsigned field, unsigned wire)
{
    pb_varint(b, ((uint64_t)field << 3) | wire);
}

/* Field header of a length-delimited field of len bytes (the caller appends the bytes). */
static void pb_len_header(bytebuf *b, unsigned field, size_t len)
{
    pb_key(b, field, WIRE_LEN);
    pb_varint(b, (uint64_t)len);
}

static void pb_double(bytebuf *b, unsigned field, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    pb_key(b, field, WIRE_FIXED64);
    buf_le64(b, bits);
}

static void pb_float(bytebuf *b, unsigned field, float v)
{
    uint32_t bits;
    memcpy(&bits, &v, sizeof bits);
    pb_key(b, field, WIRE_FIXED32);
    buf_le32(b, bits);
}

/* Bytes of a length-delimited field with a 1-byte key: key + length varint + payload. */
static size_t len_field_size(size_t payload)
{
    return 1 + varint_len((uint64_t)payload) + payload;
}

/* Summary.Value{tag, simple_value}: its payload size, then its encoding. */
static size_t value_size(const char *tag)
{
    return len_field_size(strlen(tag)) + 1 + 4;
}

static void encode_value(bytebuf *b, const char *tag, float v)
{
    size_t tl = strlen(tag);
    pb_len_header(b, 1, tl);
    bb_put(b, tag, tl);
    pb_float(b, 2, v);
}

/* Event fields 1 and 2, common to every event written. A zero step is left out, as proto3
 * encoders do, so the bytes are the canonical encoding of the message. */
static void encode_event_head(bytebuf *b, double wall_time, int64_t step)
{
    pb_double(b, 1, wall_time);
    if (step != 0) {
        pb_key(b, 2, WIRE_VARINT);
        pb_varint(b, (uint64_t)step);
    }
}

static void encode_file_version(bytebuf *b, double wall_time)
{
    static const char version[] = "brain.Event:2";
    encode_event_head(b, wall_time, 0);
    pb_len_header(b, 3, sizeof version - 1);
    bb_put(b, version, sizeof version - 1);
}

static void encode_session_start(bytebuf *b, double wall_time, int64_t step)
{
    encode_event_head(b, wall_time, step);
    pb_len_header(b, 7, 2);
    pb_key(b, 1, WIRE_VARINT);
    pb_varint(b, 1); /* SessionLog.START */
}

static void encode_summary_event(bytebuf *b, double wall_time, int64_t step,
                                 const char *const *tags, const double *values, int n)
{
    size_t summary = 0;
    for (int i = 0; i < n; i++)
        summary += len_field_size(value_size(tags[i]));
    encode_event_head(b, wall_time, step);
    pb_len_header(b, 5, summary);
    for (int i = 0; i < n; i++) {
        pb_len_header(b, 1, value_size(tags[i]));
        encode_value(b, tags[i], (float)values[i]);
    }
}

/* ---------------------------------------------------------------- TFRecord framing and I/O */

/* Wraps the event in b into a record in rec. */
static void frame_record(bytebuf *rec, const bytebuf *event)
{
    uint8_t len_bytes[8];
    for (int i = 0; i < 8; i++)
        len_bytes[i] = (uint8_t)((uint64_t)event->n >> (8 * i));
    bb_put(rec, len_bytes, 8);
    buf_le32(rec, tb_crc_mask(tb_crc32c(len_bytes, 8)));
    bb_put(rec, event->p, event->n);
    buf_le32(rec, tb_crc_mask(tb_crc32c(event->p, event->n)));
}

/* Frames the event in b and appends it; on failure cuts the file back to its last record. */
static pt_status write_event(tb_writer *w, bytebuf *event)
{
    bytebuf rec = {0};
    if (!event->oom)
        frame_record(&rec, event);
    if (event->oom || rec.oom) {
        free(rec.p);
        pt_error_set("cannot write TensorBoard event to '%s': out of memory", w->path);
        return PT_ERR;
    }
    pt_status st = PT_OK;
    if (pt_write_all(w->fd, rec.p, rec.n) != 0) {
        int err = errno;
        if (ftruncate(w->fd, (off_t)w->size) != 0) {
            /* nothing more to do: the reader stops at the torn record */
        }
        pt_error_set("cannot write TensorBoard event to '%s': %s", w->path, strerror(err));
        st = PT_ERR;
    } else {
        w->size += rec.n;
    }
    free(rec.p);
    return st;
}

double tb_wall_time(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---------------------------------------------------------------- open / add / close */

static void writer_free(tb_writer *w)
{
    if (!w)
        return;
    if (w->fd >= 0)
        close(w->fd);
    free(w->path);
    free(w);
}

/* Writes the file_version record and, for purge_step >= 0, the session-start record. */
static pt_status write_preamble(tb_writer *w, int64_t purge_step)
{
    double now = tb_wall_time();
    bytebuf b = {0};
    encode_file_version(&b, now);
    pt_status st = write_event(w, &b);
    if (st == PT_OK && purge_step >= 0) {
        b.n = 0;
        encode_session_start(&b, now, purge_step);
        st = write_event(w, &b);
    }
    free(b.p);
    return st;
}

/* Opens path with flags (creation flags included); NULL with a message if it cannot. */
static tb_writer *writer_new(const char *path, int flags)
{
    tb_writer *w = calloc(1, sizeof *w);
    char *copy = strdup(path);
    if (!w || !copy) {
        free(w);
        free(copy);
        pt_error_set("cannot create TensorBoard event file '%s': out of memory", path);
        return NULL;
    }
    w->path = copy;
    w->fd = open(path, O_WRONLY | O_CLOEXEC | flags, 0666);
    if (w->fd < 0) {
        int err = errno;
        pt_error_set("cannot create TensorBoard event file '%s': %s", path, strerror(err));
        writer_free(w);
        errno = err;
        return NULL;
    }
    return w;
}

static tb_writer *finish_open(tb_writer *w, int64_t purge_step)
{
    if (!w)
        return NULL;
    if (write_preamble(w, purge_step) != PT_OK) {
        unlink(w->path);
        writer_free(w);
        return NULL;
    }
    return w;
}

tb_writer *tb_writer_open_file(const char *path, int64_t purge_step)
{
    if (!path || !*path) {
        pt_error_set("cannot create TensorBoard event file: empty path");
        return NULL;
    }
    return finish_open(writer_new(path, O_CREAT | O_TRUNC), purge_step);
}

/* The host name with path separators replaced (it becomes part of a file name). */
static void host_name(char *out, size_t cap)
{
    if (gethostname(out, cap) != 0 || !out[0])
        snprintf(out, cap, "localhost");
    out[cap - 1] = '\0';
    for (char *c = out; *c; c++)
        if (*c == '/' || *c == '\\')
            *c = '_';
}

tb_writer *tb_writer_open(const char *dir, int64_t purge_step)
{
    if (!dir || !*dir) {
        pt_error_set("cannot create TensorBoard event file: empty directory name");
        return NULL;
    }
    char host[256];
    host_name(host, sizeof host);
    long long now = (long long)time(NULL);
    size_t cap = strlen(dir) + strlen(host) + 96;
    char *path = malloc(cap);
    if (!path) {
        pt_error_set("cannot create TensorBoard event file in '%s': out of memory", dir);
        return NULL;
    }
    snprintf(path, cap, "%s/events.out.tfevents.%lld.%s", dir, now, host);
    tb_writer *w = writer_new(path, O_CREAT | O_EXCL);
    for (int n = 1; !w && errno == EEXIST && n < 1000; n++) {
        snprintf(path, cap, "%s/events.out.tfevents.%lld.%s.%ld.%d", dir, now, host,
                 (long)getpid(), n);
        w = writer_new(path, O_CREAT | O_EXCL);
    }
    free(path);
    return finish_open(w, purge_step);
}

pt_status tb_writer_add_scalars(tb_writer *w, int64_t step, double wall_time,
                                const char *const *tags, const double *values, int n)
{
    if (!w || n < 0 || (n > 0 && (!tags || !values))) {
        pt_error_set("tb_writer_add_scalars: invalid arguments");
        return PT_ERR;
    }
    for (int i = 0; i < n; i++) {
        if (!tags[i] || !tags[i][0]) {
            pt_error_set("cannot write TensorBoard event to '%s': scalar %d has an empty tag",
                         w->path, i);
            return PT_ERR;
        }
    }
    if (n == 0)
        return PT_OK;
    bytebuf b = {0};
    encode_summary_event(&b, wall_time, step, tags, values, n);
    pt_status st = write_event(w, &b);
    free(b.p);
    return st;
}

pt_status tb_writer_add_scalar(tb_writer *w, int64_t step, double wall_time, const char *tag,
                               double value)
{
    return tb_writer_add_scalars(w, step, wall_time, &tag, &value, 1);
}

const char *tb_writer_path(const tb_writer *w)
{
    return w ? w->path : NULL;
}

pt_status tb_writer_close(tb_writer *w)
{
    if (!w)
        return PT_OK;
    pt_status st = PT_OK;
    if (fsync(w->fd) != 0 && errno != EINVAL && errno != EROFS) {
        pt_error_set("cannot sync TensorBoard event file '%s': %s", w->path, strerror(errno));
        st = PT_ERR;
    }
    if (close(w->fd) != 0 && st == PT_OK) {
        pt_error_set("cannot close TensorBoard event file '%s': %s", w->path, strerror(errno));
        st = PT_ERR;
    }
    w->fd = -1;
    writer_free(w);
    return st;
}
