/* test_fileio.c - Criterion tests (suite `fileio`) for the project's one atomic writer
 * (shim/fileio.h): a write that fails at any step leaves no temp file and keeps the previous file
 * byte for byte, whoever calls it (pt_write_file_atomic, the streamed pt_atomic_*, a temp file
 * filled by HDF5 and committed with pt_commit_temp_file, the data/ adapter, the HDF5 export).
 *
 * The failures are real ones that also happen as root (the tests may run as root, for whom a
 * read-only directory is writable): a directory a non-root user cannot write (checked in a child
 * that drops to user nobody when run as root), a file size limit (RLIMIT_FSIZE, the "disk full"
 * of a test) and a destination that is a non-empty directory (the rename fails).
 */
#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "codec/image.h"
#include "core/driver.h"
#include "core/export.h"
#include "fileio.h"
#include "helpers.h"
#include "pt.h"

static char *g_dir;

static void setup(void)
{
    tst_setup();
    g_dir = tst_tmpdir();
}

static void teardown(void)
{
    chmod(g_dir, 0700);
    tst_rmtree(g_dir);
}

TestSuite(fileio, .init = setup, .fini = teardown);

static const char *in_dir(const char *name)
{
    static char path[4200];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    return path;
}

static void put_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "cannot create %s", path);
    fputs(text, f);
    cr_assert_eq(fclose(f), 0);
}

/* The whole content of path (NUL-terminated); caller frees. */
static char *content(const char *path)
{
    void *data;
    size_t len;
    cr_assert_eq(pt_read_file(path, &data, &len), PT_OK, "%s", pt_error());
    return data;
}

/* How many entries the test directory holds, and whether one is a temp file. */
static int entries(int *temps)
{
    DIR *d = opendir(g_dir);
    cr_assert_not_null(d);
    int n = 0;
    *temps = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        n++;
        *temps += strstr(e->d_name, ".tmp.") != NULL;
    }
    closedir(d);
    return n;
}

static void expect_only_old(const char *path, const char *old)
{
    int temps;
    cr_expect_eq(entries(&temps), 1, "the directory should hold only the old file");
    cr_expect_eq(temps, 0, "a temp file was left behind");
    char *now = content(path);
    cr_expect_str_eq(now, old);
    free(now);
}

/* Run the write of "new" into an unwritable directory: as root in a child that is user nobody
 * (root may write anywhere), else directly. 0 when the write failed with "Permission denied". */
static int write_into_readonly_dir(const char *path)
{
    if (geteuid() != 0) {
        if (pt_write_file_atomic(path, "new", 3) != PT_ERR)
            return 1;
        return strstr(pt_error(), "Permission denied") && strstr(pt_error(), path) ? 0 : 2;
    }
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        if (setgid(65534) != 0 || setuid(65534) != 0)
            _exit(3);
        if (pt_write_file_atomic(path, "new", 3) != PT_ERR)
            _exit(1);
        _exit(strstr(pt_error(), "Permission denied") && strstr(pt_error(), path) ? 0 : 2);
    }
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 4;
}

Test(fileio, unwritable_directory_keeps_the_old_file_and_leaves_no_temp)
{
    const char *path = in_dir("weights.bin");
    cr_assert_eq(pt_write_file_atomic(path, "old", 3), PT_OK, "%s", pt_error());
    cr_assert_eq(chmod(g_dir, 0555), 0);
    cr_expect_eq(write_into_readonly_dir(path), 0,
                 "the write must fail with a message naming the file and EACCES");
    cr_assert_eq(chmod(g_dir, 0700), 0);
    expect_only_old(path, "old");
}

/* Writing fails half way (the file size limit: a full disk for this process). */
Test(fileio, failed_write_keeps_the_old_file_and_leaves_no_temp)
{
    const char *path = in_dir("big.bin");
    put_file(path, "old");
    size_t len = 1 << 20;
    char *big = calloc(1, len);
    cr_assert_not_null(big);
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit was, lim;
    cr_assert_eq(getrlimit(RLIMIT_FSIZE, &was), 0);
    lim = was;
    lim.rlim_cur = 64 * 1024;
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    pt_status st = pt_write_file_atomic(path, big, len);
    char err[512];
    int rc = image_write_file_atomic(path, big, len, err, sizeof err); /* data/'s adapter */
    pt_atomic_file f;
    pt_status opened = pt_atomic_open(&f, path);
    pt_status streamed = opened == PT_OK ? pt_atomic_write(&f, big, len) : PT_ERR;
    setrlimit(RLIMIT_FSIZE, &was);
    free(big);
    cr_expect_eq(st, PT_ERR);
    cr_expect_eq(rc, -1);
    cr_expect(strstr(err, "big.bin") && strstr(err, "File too large"), "%s", err);
    cr_expect_eq(opened, PT_OK);
    cr_expect_eq(streamed, PT_ERR);
    cr_expect(strstr(pt_error(), "writing") && strstr(pt_error(), "File too large"), "%s",
              pt_error());
    expect_only_old(path, "old");
}

/* A temp file filled by someone else (the HDF5 writers): committed, it replaces the old file;
 * when the rename fails it is removed and the destination stays as it was. */
Test(fileio, commit_temp_file_replaces_or_removes_the_temp)
{
    const char *path = in_dir("store.h5");
    put_file(path, "old");
    char *tmp = pt_atomic_temp_path(path);
    cr_assert_not_null(tmp, "%s", pt_error());
    char want[4300];
    snprintf(want, sizeof want, "%s.tmp.%ld", path, (long)getpid());
    cr_expect_str_eq(tmp, want);
    put_file(tmp, "new");
    cr_assert_eq(pt_commit_temp_file(tmp, path), PT_OK, "%s", pt_error());
    expect_only_old(path, "new");

    /* the destination is a non-empty directory: rename fails */
    char dir[4300], inside[4400];
    snprintf(dir, sizeof dir, "%s/out.h5", g_dir);
    cr_assert_eq(mkdir(dir, 0700), 0);
    snprintf(inside, sizeof inside, "%s/keep", dir);
    put_file(inside, "kept");
    free(tmp);
    tmp = pt_atomic_temp_path(dir);
    put_file(tmp, "new");
    cr_expect_eq(pt_commit_temp_file(tmp, dir), PT_ERR);
    cr_expect(strstr(pt_error(), "renaming") && strstr(pt_error(), "out.h5"), "%s", pt_error());
    cr_expect_neq(access(tmp, F_OK), 0, "the temp file must be removed");
    char *k = content(inside);
    cr_expect_str_eq(k, "kept");
    free(k);
    free(tmp);
}

/* The HDF5 export goes through the same writer: a good export replaces the old file, a failed one
 * (the destination is a non-empty directory) leaves no temp file. */
Test(fileio, hdf5_export_is_atomic)
{
    pt_dict *w = pt_dict_new();
    float v[3] = {1, 2, 3};
    cr_assert_eq(pt_dict_put(w, "fc.weight", tst_f32(v, (const int64_t[]){3}, 1)), PT_OK);
    driver drv;
    memset(&drv, 0, sizeof drv);
    drv.type = "classifier";
    const char *path = in_dir("w.h5");
    put_file(path, "old");
    cr_assert_eq(export_dict(w, &drv, "abc", 7, "hdf5", path), PT_OK, "%s", pt_error());
    int temps;
    cr_expect_eq(entries(&temps), 1);
    cr_expect_eq(temps, 0);
    char *h5 = content(path);
    cr_expect_eq(memcmp(h5, "\x89HDF\r\n\x1a\n", 8), 0, "not an HDF5 file");
    free(h5);

    char dir[4300], inside[4400];
    snprintf(dir, sizeof dir, "%s/x.h5", g_dir);
    cr_assert_eq(mkdir(dir, 0700), 0);
    snprintf(inside, sizeof inside, "%s/keep", dir);
    put_file(inside, "kept");
    cr_expect_eq(export_dict(w, &drv, "abc", 7, "hdf5", dir), PT_ERR);
    cr_expect(strstr(pt_error(), "x.h5") != NULL, "%s", pt_error());
    cr_expect_eq(entries(&temps), 2, "w.h5 and x.h5 only");
    cr_expect_eq(temps, 0, "a temp file was left behind");
    pt_dict_free(w);
}

/* mkdir -p: missing parents made, an existing directory fine, a component that is a file named
 * in the error; the directory part of a file path. A dataset written into a folder that does not
 * exist yet (runs/data/... in a fresh clone) is refused with the command that makes it. */
Test(fileio, make_dirs_and_parent_dir)
{
    char p[4300], d[64];
    struct stat st;
    snprintf(p, sizeof p, "%s/a/b/c", g_dir);
    cr_assert_eq(pt_make_dirs(p), PT_OK, "%s", pt_error());
    cr_expect(stat(p, &st) == 0 && S_ISDIR(st.st_mode) && pt_is_dir(p));
    cr_expect_eq(pt_make_dirs(p), PT_OK, "an existing directory is fine");
    cr_expect(pt_parent_dir("runs/data/x.h5", d, sizeof d) && strcmp(d, "runs/data") == 0, "%s", d);
    cr_expect_eq(pt_parent_dir("x.h5", d, sizeof d), 0);
    cr_expect_eq(pt_parent_dir("/x.h5", d, sizeof d), 0);
    FILE *f = fopen(in_dir("plain"), "w");
    cr_assert_not_null(f);
    fclose(f);
    cr_expect_eq(pt_is_dir(in_dir("plain")), 0);
    snprintf(p, sizeof p, "%s/plain/sub", g_dir);
    cr_expect_eq(pt_make_dirs(p), PT_ERR);
    cr_expect(strstr(pt_error(), "plain") && strstr(pt_error(), "not a directory"), "%s",
              pt_error());
    pt_error_clear();
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s/pictor' data synth shapes --n 2 --size 32 "
             "--out new/data/s.h5 >out.txt 2>&1", g_dir, PICTOR_BINARY_DIR);
    int rc = system(cmd);
    cr_expect(WIFEXITED(rc) && WEXITSTATUS(rc) == 1, "status %d", rc);
    f = fopen(in_dir("out.txt"), "r");
    char out[2048] = "";
    if (f) {
        size_t n = fread(out, 1, sizeof out - 1, f);
        out[n] = '\0';
        fclose(f);
    }
    cr_expect(strstr(out, "new/data/s.h5: its folder new/data does not exist (make it first: "
                          "mkdir -p new/data)"), "%s", out);
    cr_expect(!pt_is_dir(in_dir("new")), "nothing made on failure");
}
