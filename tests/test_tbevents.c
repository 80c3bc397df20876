/* test_tbevents.c - Criterion tests for train/tbevents.c, the TensorBoard event-file writer.
 *
 * Owns: the CRC32C check values (the standard "123456789" one and the iSCSI vectors of RFC 3720),
 * the TFRecord mask, a small independent decoder of event files written here in C (framing, both
 * CRCs of every record, the protobuf fields), the same files checked again by
 * tests/reference/tb_read.py (its own bitwise CRC, and python3-protobuf when installed), the
 * purge record of resumed runs, file naming, and the failure paths (disk full, empty tag).
 */
#include <criterion/criterion.h>

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"
#include "report/tbevents.h"

/* ---------------------------------------------------------------- fixture */

static char *g_dir;

static void setup(void)
{
    pt_error_clear();
    g_dir = tst_tmpdir();
    cr_assert_not_null(g_dir);
}

static void teardown(void)
{
    tst_rmtree(g_dir);
    g_dir = NULL;
}

TestSuite(tbevents, .init = setup, .fini = teardown);

/* ---------------------------------------------------------------- CRC32C */

Test(tbevents, crc32c_standard_check_value)
{
    cr_assert_eq(tb_crc32c("123456789", 9), 0xE3069283u);
    cr_assert_eq(tb_crc32c("", 0), 0u);
}

Test(tbevents, crc32c_rfc3720_vectors)
{
    uint8_t zeros[32] = {0}, ones[32], up[32], down[32];
    for (int i = 0; i < 32; i++) {
        ones[i] = 0xff;
        up[i] = (uint8_t)i;
        down[i] = (uint8_t)(31 - i);
    }
    cr_assert_eq(tb_crc32c(zeros, 32), 0x8A9136AAu);
    cr_assert_eq(tb_crc32c(ones, 32), 0x62A8AB43u);
    cr_assert_eq(tb_crc32c(up, 32), 0x46DD794Eu);
    cr_assert_eq(tb_crc32c(down, 32), 0x113FDB5Cu);
}

Test(tbevents, crc32c_extend_equals_whole)
{
    const char *s = "The quick brown fox jumps over the lazy dog";
    size_t n = strlen(s);
    for (size_t cut = 0; cut <= n; cut += 7) {
        uint32_t part = tb_crc32c_extend(tb_crc32c(s, cut), s + cut, n - cut);
        cr_assert_eq(part, tb_crc32c(s, n), "split at %zu", cut);
    }
}

Test(tbevents, crc_mask_matches_formula)
{
    cr_assert_eq(tb_crc_mask(0), 0xa282ead8u);
    cr_assert_eq(tb_crc_mask(0x12345678u), 0x4F730F40u);
    cr_assert_eq(tb_crc_mask(0xE3069283u), 0xC78AB0E5u);
}

/* ---------------------------------------------------------------- an independent decoder */

typedef struct {
    double wall;
    int64_t step;
    char version[32];
    int session_status; /* -1 when the event has no session_log */
    int nvals;
    char tag[8][64];
    uint32_t bits[8];   /* simple_value as float bits */
} tb_event;

static uint64_t le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint64_t varint(const uint8_t **p, const uint8_t *end)
{
    uint64_t v = 0;
    for (int shift = 0; *p < end && shift < 64; shift += 7) {
        uint8_t b = *(*p)++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
    cr_assert_fail("varint runs past its message");
    return 0;
}

/* Calls fn(field, wire, value, payload, payload_len) for each field of a message. */
typedef void (*field_fn)(void *ctx, unsigned field, unsigned wire, uint64_t v, const uint8_t *p,
                         size_t n);

static void each_field(const uint8_t *p, size_t len, field_fn fn, void *ctx)
{
    const uint8_t *end = p + len;
    while (p < end) {
        uint64_t key = varint(&p, end);
        unsigned field = (unsigned)(key >> 3), wire = (unsigned)(key & 7);
        size_t n = 0;
        uint64_t v = 0;
        if (wire == 0) {
            v = varint(&p, end);
        } else if (wire == 1 || wire == 5) {
            n = wire == 1 ? 8 : 4;
            cr_assert_leq(n, (size_t)(end - p));
            v = le(p, (int)n);
        } else if (wire == 2) {
            n = (size_t)varint(&p, end);
            cr_assert_leq(n, (size_t)(end - p), "field %u: length past the message", field);
        } else {
            cr_assert_fail("unexpected wire type %u", wire);
        }
        fn(ctx, field, wire, v, p, n);
        p += n;
    }
}

static void value_field(void *ctx, unsigned field, unsigned wire, uint64_t v, const uint8_t *p,
                        size_t n)
{
    tb_event *ev = ctx;
    int i = ev->nvals;
    if (field == 1 && wire == 2) {
        cr_assert_lt(n, sizeof ev->tag[i]);
        memcpy(ev->tag[i], p, n);
        ev->tag[i][n] = '\0';
    } else if (field == 2 && wire == 5) {
        ev->bits[i] = (uint32_t)v;
    } else {
        cr_assert_fail("Summary.Value: unexpected field %u", field);
    }
}

static void summary_field(void *ctx, unsigned field, unsigned wire, uint64_t v, const uint8_t *p,
                          size_t n)
{
    (void)v;
    tb_event *ev = ctx;
    cr_assert(field == 1 && wire == 2, "Summary: unexpected field %u", field);
    cr_assert_lt(ev->nvals, 8);
    each_field(p, n, value_field, ev);
    ev->nvals++;
}

static void session_field(void *ctx, unsigned field, unsigned wire, uint64_t v, const uint8_t *p,
                          size_t n)
{
    (void)p, (void)n;
    tb_event *ev = ctx;
    if (field == 1 && wire == 0)
        ev->session_status = (int)v;
}

static void event_field(void *ctx, unsigned field, unsigned wire, uint64_t v, const uint8_t *p,
                        size_t n)
{
    tb_event *ev = ctx;
    if (field == 1 && wire == 1) {
        memcpy(&ev->wall, &v, sizeof ev->wall);
    } else if (field == 2 && wire == 0) {
        ev->step = (int64_t)v;
    } else if (field == 3 && wire == 2) {
        cr_assert_lt(n, sizeof ev->version);
        memcpy(ev->version, p, n);
        ev->version[n] = '\0';
    } else if (field == 5 && wire == 2) {
        each_field(p, n, summary_field, ev);
    } else if (field == 7 && wire == 2) {
        ev->session_status = 0;
        each_field(p, n, session_field, ev);
    } else {
        cr_assert_fail("Event: unexpected field %u (wire %u)", field, wire);
    }
}

/* Decodes every record of path into ev[0..max); every CRC must verify. Returns the count. */
static int decode_file(const char *path, tb_event *ev, int max)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    static uint8_t buf[1 << 16];
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    cr_assert_lt(len, sizeof buf);
    int count = 0;
    for (size_t at = 0; at < len; count++) {
        cr_assert_lt(count, max);
        cr_assert_geq(len - at, 12u, "torn record header at %zu", at);
        uint64_t n = le(buf + at, 8);
        cr_assert_eq((uint32_t)le(buf + at + 8, 4), tb_crc_mask(tb_crc32c(buf + at, 8)),
                     "length CRC of record %d", count);
        cr_assert_geq(len - at - 12, n + 4, "torn record data at %zu", at);
        const uint8_t *data = buf + at + 12;
        cr_assert_eq((uint32_t)le(data + n, 4), tb_crc_mask(tb_crc32c(data, (size_t)n)),
                     "data CRC of record %d", count);
        memset(&ev[count], 0, sizeof ev[count]);
        ev[count].session_status = -1;
        each_field(data, (size_t)n, event_field, &ev[count]);
        at += 12 + n + 4;
    }
    return count;
}

static uint32_t fbits(double v)
{
    float f = (float)v;
    uint32_t b;
    memcpy(&b, &f, sizeof b);
    return b;
}

/* ---------------------------------------------------------------- writing and reading back */

Test(tbevents, file_name_and_version_record)
{
    double before = tb_wall_time();
    tb_writer *w = tb_writer_open(g_dir, -1);
    cr_assert_not_null(w, "%s", pt_error());
    const char *path = tb_writer_path(w);
    char prefix[4200];
    snprintf(prefix, sizeof prefix, "%s/events.out.tfevents.", g_dir);
    cr_assert_eq(strncmp(path, prefix, strlen(prefix)), 0, "path %s", path);
    char *end = NULL;
    long long t = strtoll(path + strlen(prefix), &end, 10);
    cr_assert(t > 1000000000LL && *end == '.', "time part of %s", path);
    char host[256] = "";
    gethostname(host, sizeof host);
    cr_assert_str_eq(end + 1, host);

    char *copy = strdup(path);
    cr_assert_eq(tb_writer_close(w), PT_OK, "%s", pt_error());
    tb_event ev[2];
    cr_assert_eq(decode_file(copy, ev, 2), 1);
    cr_assert_str_eq(ev[0].version, "brain.Event:2");
    cr_assert(ev[0].wall >= before - 1 && ev[0].wall <= tb_wall_time() + 1);
    cr_assert_eq(ev[0].step, 0);
    cr_assert_eq(ev[0].nvals, 0);
    free(copy);
}

Test(tbevents, scalars_roundtrip_tags_steps_values)
{
    tb_writer *w = tb_writer_open(g_dir, -1);
    cr_assert_not_null(w, "%s", pt_error());
    const char *tags[] = {"loss", "loss/cls", "lr", "zero"};
    const double v1[] = {2.5, 1.25, 1e-3, 0.0};
    const double v2[] = {NAN, INFINITY, -1e30, -0.0};
    cr_assert_eq(tb_writer_add_scalars(w, 1, 1700000000.5, tags, v1, 4), PT_OK, "%s", pt_error());
    cr_assert_eq(tb_writer_add_scalars(w, (int64_t)1 << 40, 1700000001.25, tags, v2, 4), PT_OK);
    cr_assert_eq(tb_writer_add_scalar(w, 0, 1700000002.0, "eval/accuracy", 0.875), PT_OK);
    cr_assert_eq(tb_writer_add_scalars(w, 7, 1700000003.0, tags, v1, 0), PT_OK); /* nothing */
    char *path = strdup(tb_writer_path(w));
    cr_assert_eq(tb_writer_close(w), PT_OK);

    tb_event ev[8];
    cr_assert_eq(decode_file(path, ev, 8), 4);
    cr_assert_eq(ev[1].step, 1);
    cr_assert_eq(ev[1].wall, 1700000000.5);
    cr_assert_eq(ev[1].nvals, 4);
    for (int i = 0; i < 4; i++) {
        cr_assert_str_eq(ev[1].tag[i], tags[i]);
        cr_assert_eq(ev[1].bits[i], fbits(v1[i]), "value %d", i);
        cr_assert_str_eq(ev[2].tag[i], tags[i]);
    }
    cr_assert_eq(ev[2].step, (int64_t)1 << 40);
    float nan_back;
    memcpy(&nan_back, &ev[2].bits[0], 4);
    cr_assert(isnan(nan_back));
    cr_assert_eq(ev[2].bits[1], fbits(INFINITY));
    cr_assert_eq(ev[2].bits[2], fbits(-1e30));
    cr_assert_eq(ev[2].bits[3], 0x80000000u); /* -0.0 */
    cr_assert_eq(ev[3].step, 0);
    cr_assert_eq(ev[3].nvals, 1);
    cr_assert_str_eq(ev[3].tag[0], "eval/accuracy");
    cr_assert_eq(ev[3].bits[0], fbits(0.875));
    free(path);
}

Test(tbevents, purge_record_for_resumed_runs)
{
    tb_writer *w = tb_writer_open(g_dir, 51);
    cr_assert_not_null(w, "%s", pt_error());
    cr_assert_eq(tb_writer_add_scalar(w, 52, tb_wall_time(), "loss", 0.5), PT_OK);
    char *path = strdup(tb_writer_path(w));
    cr_assert_eq(tb_writer_close(w), PT_OK);
    tb_event ev[4];
    cr_assert_eq(decode_file(path, ev, 4), 3);
    cr_assert_str_eq(ev[0].version, "brain.Event:2");
    cr_assert_eq(ev[1].session_status, 1, "SessionLog.START");
    cr_assert_eq(ev[1].step, 51);
    cr_assert_eq(ev[2].step, 52);
    cr_assert_eq(ev[2].session_status, -1);
    free(path);
}

Test(tbevents, two_writers_get_two_files)
{
    tb_writer *a = tb_writer_open(g_dir, -1);
    tb_writer *b = tb_writer_open(g_dir, -1);
    cr_assert(a && b, "%s", pt_error());
    cr_assert_str_neq(tb_writer_path(a), tb_writer_path(b));
    cr_assert_not_null(strstr(tb_writer_path(b), "events.out.tfevents."));
    cr_assert_eq(tb_writer_close(a), PT_OK);
    cr_assert_eq(tb_writer_close(b), PT_OK);
}

/* Writes the expected contents as JSON for tb_read.py. */
static void write_expect(const char *path, const char *json)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(json, f);
    fclose(f);
}

Test(tbevents, python_reader_agrees)
{
    tb_writer *w = tb_writer_open(g_dir, 10);
    cr_assert_not_null(w, "%s", pt_error());
    const char *tags[] = {"loss", "loss/box", "lr"};
    for (int step = 11; step <= 13; step++) {
        double v[] = {1.0 / step, step == 12 ? NAN : 0.25 * step, 0.1};
        cr_assert_eq(tb_writer_add_scalars(w, step, tb_wall_time(), tags, v, 3), PT_OK);
    }
    cr_assert_eq(tb_writer_add_scalar(w, 13, tb_wall_time(), "eval/miou", 0.0), PT_OK);
    char events[4200], expect[4200], args[9000];
    snprintf(events, sizeof events, "%s", tb_writer_path(w));
    cr_assert_eq(tb_writer_close(w), PT_OK);
    snprintf(expect, sizeof expect, "%s/expect.json", g_dir);
    write_expect(expect,
                 "{\"purge_step\": 10, \"events\": ["
                 "{\"step\": 11, \"values\": {\"loss\": 0.09090909090909091, \"loss/box\": 2.75,"
                 " \"lr\": 0.1}},"
                 "{\"step\": 12, \"values\": {\"loss\": 0.08333333333333333, \"loss/box\": \"nan\","
                 " \"lr\": 0.1}},"
                 "{\"step\": 13, \"values\": {\"loss\": 0.07692307692307693, \"loss/box\": 3.25,"
                 " \"lr\": 0.1}},"
                 "{\"step\": 13, \"values\": {\"eval/miou\": 0.0}}]}");
    snprintf(args, sizeof args, "'%s' '%s'", events, expect);
    cr_assert_eq(tst_python("tb_read.py", args), 0, "tb_read.py rejected %s", events);
}

Test(tbevents, python_reader_rejects_a_corrupted_file)
{
    tb_writer *w = tb_writer_open(g_dir, -1);
    cr_assert_not_null(w);
    cr_assert_eq(tb_writer_add_scalar(w, 3, tb_wall_time(), "loss", 1.5), PT_OK);
    char events[4200], expect[4200], args[9000];
    snprintf(events, sizeof events, "%s", tb_writer_path(w));
    cr_assert_eq(tb_writer_close(w), PT_OK);
    FILE *f = fopen(events, "r+b");
    cr_assert_not_null(f);
    fseek(f, -6, SEEK_END); /* inside the float of the last record */
    int c = fgetc(f);
    fseek(f, -6, SEEK_END);
    fputc(c ^ 0x01, f);
    fclose(f);
    snprintf(expect, sizeof expect, "%s/expect.json", g_dir);
    write_expect(expect, "{\"purge_step\": null, \"events\": [{\"step\": 3, \"values\": "
                         "{\"loss\": 1.5}}]}");
    snprintf(args, sizeof args, "'%s' '%s'", events, expect);
    cr_assert_eq(tst_python("tb_read.py", args), 1, "a flipped bit must fail the data CRC");
}

/* ---------------------------------------------------------------- failures */

Test(tbevents, disk_full_is_reported_not_fatal)
{
    if (access("/dev/full", W_OK) != 0)
        cr_skip_test("no /dev/full");
    tb_writer *w = tb_writer_open_file("/dev/full", -1);
    cr_assert_null(w);
    cr_assert_not_null(strstr(pt_error(), "/dev/full"), "%s", pt_error());
    cr_assert_not_null(strstr(pt_error(), "No space left"), "%s", pt_error());
}

Test(tbevents, missing_directory_is_reported)
{
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/no/such/dir", g_dir);
    cr_assert_null(tb_writer_open(dir, -1));
    cr_assert_not_null(strstr(pt_error(), "no/such/dir"), "%s", pt_error());
}

Test(tbevents, empty_tag_is_rejected_and_nothing_written)
{
    tb_writer *w = tb_writer_open(g_dir, -1);
    cr_assert_not_null(w);
    const char *tags[] = {"ok", ""};
    const double v[] = {1, 2};
    cr_assert_eq(tb_writer_add_scalars(w, 1, tb_wall_time(), tags, v, 2), PT_ERR);
    cr_assert_not_null(strstr(pt_error(), "empty tag"), "%s", pt_error());
    char *path = strdup(tb_writer_path(w));
    cr_assert_eq(tb_writer_close(w), PT_OK);
    tb_event ev[2];
    cr_assert_eq(decode_file(path, ev, 2), 1);
    free(path);
}
