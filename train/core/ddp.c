/*
 * ddp.c - see ddp.h: the environment, the rendezvous, the heartbeat, the collectives the loop
 * needs (broadcast of the store, averaged gradients in buckets, summed step statistics), and
 * the diagnosis of a lost rank.
 */
#include "core/ddp.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"
#include "pt_dist.h"

#define HEARTBEAT_S 0.5
#define DEFAULT_TIMEOUT_S 1800.0
#define DEFAULT_BUCKET_MB 25.0

struct ddp {
    pt_dist *pg;
    int rank, world;
    int agent_store;
    char store_addr[320];
    /* heartbeat */
    pthread_t hb_thread;
    int hb_started;
    atomic_int hb_stop;
    /* buckets of parameter indices (reverse order), built at the first average */
    int n_params, n_buckets;
    int *bucket_start; /* n_buckets + 1 offsets into order */
    int *order;
    double bucket_bytes;
};

/* ------------------------------------------------------------------ environment */

static int env_int(const char *name, long lo, long hi, long dflt, long *out, char *err,
                   size_t errlen)
{
    const char *v = getenv(name);
    if (!v || !*v) {
        *out = dflt;
        return 0;
    }
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || *end || x < lo || x > hi) {
        err_fail(err, errlen, "environment variable %s='%s': expected an integer in [%ld, %ld]",
                 name, v, lo, hi);
        return -1;
    }
    *out = x;
    return 0;
}

static double env_double(const char *name, double dflt)
{
    const char *v = getenv(name);
    char *end;
    double x = v && *v ? strtod(v, &end) : dflt;
    return v && *v && (*end || !(x > 0)) ? -1.0 : x;
}

int ddp_local_world_size(void)
{
    long n;
    if (env_int("LOCAL_WORLD_SIZE", 1, 65536, 1, &n, NULL, 0) != 0)
        return 1;
    return (int)n;
}

int ddp_env_rank(void)
{
    long r;
    if (env_int("RANK", 0, 1 << 24, 0, &r, NULL, 0) != 0)
        return 0;
    return (int)r;
}

int ddp_rank(const ddp *d) { return d ? d->rank : 0; }
int ddp_world_size(const ddp *d) { return d ? d->world : 1; }

static int is_loopback(const char *host)
{
    return !strcmp(host, "localhost") || !strncmp(host, "127.", 4) || !strcmp(host, "::1");
}

/* ------------------------------------------------------------------ heartbeat */

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static void *heartbeat_main(void *arg)
{
    ddp *d = arg;
    char key[64];
    snprintf(key, sizeof key, "hb/%d", d->rank);
    while (!atomic_load(&d->hb_stop)) {
        if (pt_dist_store_add(d->pg, key, 1, NULL) != PT_OK)
            break; /* the store is gone (its host exited); collectives will say so */
        for (int i = 0; i < 10 && !atomic_load(&d->hb_stop); i++)
            sleep_s(HEARTBEAT_S / 10);
    }
    return NULL;
}

/* Every rank's heartbeat counter; -1 if the store cannot be reached. */
static int read_heartbeats(ddp *d, int64_t *v)
{
    char key[64];
    for (int r = 0; r < d->world; r++) {
        snprintf(key, sizeof key, "hb/%d", r);
        if (pt_dist_store_add(d->pg, key, 0, &v[r]) != PT_OK)
            return -1;
    }
    return 0;
}

/* "host h, pid p" of rank r, as it recorded at the start. */
static void rank_info(ddp *d, int r, char *buf, size_t n)
{
    char key[64], *v = NULL;
    snprintf(key, sizeof key, "who/%d", r);
    if (pt_dist_store_get(d->pg, key, &v, NULL) == PT_OK)
        snprintf(buf, n, "%s", v);
    else
        snprintf(buf, n, "unknown host");
    free(v);
}

/* A collective `what` failed (pt_error() holds c10d's reason): name the lost rank(s). */
static int lost_rank_fail(ddp *d, const char *what, char *err, size_t errlen)
{
    char reason[1024];
    snprintf(reason, sizeof reason, "%s", pt_error());
    int64_t *a = calloc((size_t)d->world, sizeof *a), *b = calloc((size_t)d->world, sizeof *b);
    if (!a || !b) {
        free(a), free(b);
        return err_fail(err, errlen, "rank %d: %s failed: %s", d->rank, what, reason);
    }
    int store_ok = read_heartbeats(d, a) == 0;
    if (store_ok) {
        sleep_s(4 * HEARTBEAT_S);
        store_ok = read_heartbeats(d, b) == 0;
    }
    if (!store_ok) {
        if (d->agent_store)
            err_fail(err, errlen, "rank %d: %s failed and torchrun's store at %s is unreachable "
                     "(the agent is gone?): %s", d->rank, what, d->store_addr, reason);
        else
            err_fail(err, errlen, "rank %d: lost rank 0 (it hosts the store at %s, which is "
                     "unreachable): %s failed: %s", d->rank, d->store_addr, what, reason);
        free(a), free(b);
        return -1;
    }
    char lost[1024] = "";
    int n_lost = 0;
    for (int r = 0; r < d->world; r++) {
        if (r == d->rank || b[r] != a[r])
            continue;
        char who[256];
        rank_info(d, r, who, sizeof who);
        size_t len = strlen(lost);
        snprintf(lost + len, sizeof lost - len, "%s%d (%s)", n_lost ? ", " : "", r, who);
        n_lost++;
    }
    if (n_lost)
        err_fail(err, errlen, "rank %d: lost rank%s %s: its heartbeat stopped; %s failed: %s",
                 d->rank, n_lost > 1 ? "s" : "", lost, what, reason);
    else
        err_fail(err, errlen, "rank %d: %s failed while every rank's heartbeat is alive (a "
                 "timeout, PICTOR_DIST_TIMEOUT, or a rank stopped elsewhere): %s", d->rank, what,
                 reason);
    free(a), free(b);
    return -1;
}

/* ------------------------------------------------------------------ open and close */

void ddp_close(ddp *d)
{
    if (!d)
        return;
    if (d->hb_started) {
        atomic_store(&d->hb_stop, 1);
        pthread_join(d->hb_thread, NULL);
    }
    pt_dist_free(d->pg);
    free(d->bucket_start);
    free(d->order);
    free(d);
}

int ddp_open(ddp **out, char *err, size_t errlen)
{
    *out = NULL;
    long world, rank, port;
    if (env_int("WORLD_SIZE", 1, 1 << 24, 1, &world, err, errlen) != 0)
        return -1;
    if (world == 1)
        return 0;
    if (!getenv("RANK"))
        return err_fail(err, errlen, "WORLD_SIZE=%ld but RANK is not set (launch with torchrun, "
                        "or pictor train --nproc N)", world), -1;
    if (env_int("RANK", 0, world - 1, 0, &rank, err, errlen) != 0 ||
        env_int("MASTER_PORT", 1, 65535, 0, &port, err, errlen) != 0)
        return -1;
    const char *addr = getenv("MASTER_ADDR");
    if (!addr || !*addr || port == 0)
        return err_fail(err, errlen, "WORLD_SIZE=%ld needs MASTER_ADDR and MASTER_PORT (the "
                        "rendezvous store)", world), -1;
    double timeout = env_double("PICTOR_DIST_TIMEOUT", DEFAULT_TIMEOUT_S);
    double bucket_mb = env_double("PICTOR_DIST_BUCKET_MB", DEFAULT_BUCKET_MB);
    if (timeout < 0 || bucket_mb < 0)
        return err_fail(err, errlen, "PICTOR_DIST_TIMEOUT and PICTOR_DIST_BUCKET_MB expect a "
                        "number > 0 (seconds, megabytes)"), -1;
    const char *backend = getenv("PICTOR_DIST_BACKEND");
    pt_dist_backend be = PT_DIST_GLOO;
    if (backend && *backend && strcmp(backend, "gloo") != 0) {
        if (strcmp(backend, "nccl") != 0)
            return err_fail(err, errlen, "PICTOR_DIST_BACKEND='%s': expected gloo or nccl",
                            backend), -1;
        if (!pt_dist_nccl_available())
            return err_fail(err, errlen, "PICTOR_DIST_BACKEND=nccl, but this build has no NCCL "
                            "(a CPU libtorch); use gloo"), -1;
        be = PT_DIST_NCCL;
    }
    const char *agent = getenv("TORCHELASTIC_USE_AGENT_STORE");
    const char *attempt = getenv("TORCHELASTIC_RESTART_COUNT");
    char prefix[64] = "";
    int agent_store = agent && !strcmp(agent, "True");
    if (agent_store)
        snprintf(prefix, sizeof prefix, "/worker/attempt_%s", attempt && *attempt ? attempt : "0");

    ddp *d = calloc(1, sizeof *d);
    if (!d)
        return err_fail(err, errlen, "out of memory");
    signal(SIGPIPE, SIG_IGN); /* a peer's closed socket is an error to report, not a death */
    d->rank = (int)rank;
    d->world = (int)world;
    d->agent_store = agent_store;
    d->bucket_bytes = bucket_mb * 1024.0 * 1024.0;
    snprintf(d->store_addr, sizeof d->store_addr, "%s:%ld", addr, port);
    pt_dist_options o = {.backend = be,
                         .rank = (int)rank,
                         .world_size = (int)world,
                         .store_host = addr,
                         .store_port = (int)port,
                         .host_store = !agent_store && rank == 0,
                         .store_prefix = prefix,
                         .gloo_ifname = getenv("GLOO_SOCKET_IFNAME"),
                         .gloo_host = is_loopback(addr) ? "127.0.0.1" : NULL,
                         .timeout_s = timeout};
    if (!(d->pg = pt_dist_new(&o))) {
        err_fail(err, errlen, "rank %ld: rendezvous of %ld processes at %s failed (within "
                 "PICTOR_DIST_TIMEOUT=%g s): %s", rank, world, d->store_addr, timeout, pt_error());
        ddp_close(d);
        return -1;
    }
    char who[256], host[200] = "?";
    gethostname(host, sizeof host - 1);
    snprintf(who, sizeof who, "host %s, pid %ld", host, (long)getpid());
    char key[64];
    snprintf(key, sizeof key, "who/%d", d->rank);
    if (pt_dist_store_set(d->pg, key, who, strlen(who)) != PT_OK ||
        pt_dist_store_add(d->pg, "hb/0", 0, NULL) != PT_OK) {
        err_fail(err, errlen, "rank %d: the store at %s: %s", d->rank, d->store_addr, pt_error());
        ddp_close(d);
        return -1;
    }
    if (pthread_create(&d->hb_thread, NULL, heartbeat_main, d) != 0) {
        err_fail(err, errlen, "rank %d: cannot start the heartbeat thread", d->rank);
        ddp_close(d);
        return -1;
    }
    d->hb_started = 1;
    *out = d;
    return 0;
}

/* ------------------------------------------------------------------ collectives */

/* The store's tensors with is_param/is_frozen/buffer selection: buffers_only picks entries that
 * are neither trainable nor frozen parameters. */
static int broadcast_entries(ddp *d, nn_store *s, int buffers_only, char *err, size_t errlen)
{
    int n = nn_store_size(s), k = 0;
    pt_tensor **ts = calloc((size_t)n + 1, sizeof *ts);
    if (!ts)
        return err_fail(err, errlen, "out of memory");
    for (int i = 0; i < n; i++)
        if (!buffers_only || (!nn_store_is_param(s, i) && !nn_store_is_frozen(s, i)))
            ts[k++] = nn_store_tensor(s, i);
    int rc = 0;
    if (k > 0) {
        pt_no_grad_begin();
        pt_status st = pt_dist_broadcast(d->pg, ts, k, 0);
        pt_no_grad_end();
        if (st != PT_OK)
            rc = lost_rank_fail(d, buffers_only ? "the broadcast of the buffers"
                                                : "the broadcast of the weights", err, errlen);
    }
    free(ts);
    return rc;
}

int ddp_broadcast_store(ddp *d, nn_store *s, char *err, size_t errlen)
{
    return d ? broadcast_entries(d, s, 0, err, errlen) : 0;
}

int ddp_broadcast_buffers(ddp *d, nn_store *s, char *err, size_t errlen)
{
    return d ? broadcast_entries(d, s, 1, err, errlen) : 0;
}

int ddp_sum(ddp *d, double *v, int n, char *err, size_t errlen)
{
    if (!d || n <= 0)
        return 0;
    pt_tensor *t = pt_from_data(v, (const int64_t[]){n}, 1, PT_F64);
    int rc = 0;
    if (pt_dist_allreduce(d->pg, &t, 1, PT_DIST_SUM) != PT_OK)
        rc = lost_rank_fail(d, "the step's allreduce", err, errlen);
    else if (pt_copy_to(t, v, (size_t)n * sizeof *v) != PT_OK)
        rc = err_fail(err, errlen, "%s", pt_error());
    pt_free(t);
    return rc;
}

int ddp_barrier(ddp *d, char *err, size_t errlen)
{
    if (d && pt_dist_barrier(d->pg) != PT_OK)
        return lost_rank_fail(d, "the barrier", err, errlen);
    return 0;
}

/* Buckets over the parameters in reverse order, each up to bucket_bytes (at least one). */
static int plan_buckets(ddp *d, pt_tensor *const *params, int np)
{
    free(d->order), free(d->bucket_start);
    d->order = malloc(((size_t)np + 1) * sizeof *d->order);
    d->bucket_start = malloc(((size_t)np + 2) * sizeof *d->bucket_start);
    if (!d->order || !d->bucket_start)
        return -1;
    d->n_params = np;
    d->n_buckets = 0;
    double bytes = 0;
    for (int k = 0; k < np; k++) {
        int i = np - 1 - k;
        double b = (double)pt_numel(params[i]) * (double)pt_dtype_size(pt_dtype_of(params[i]));
        if (k == 0 || bytes + b > d->bucket_bytes) {
            d->bucket_start[d->n_buckets++] = k;
            bytes = 0;
        }
        bytes += b;
        d->order[k] = i;
    }
    d->bucket_start[d->n_buckets] = np;
    return 0;
}

int ddp_average_grads(ddp *d, nn_store *s, char *err, size_t errlen)
{
    if (!d)
        return 0;
    int np;
    pt_tensor *const *params = nn_store_params(s, &np);
    if (np <= 0)
        return 0;
    if ((np != d->n_params || !d->order) && plan_buckets(d, params, np) != 0)
        return err_fail(err, errlen, "out of memory");
    /* which parameters have a gradient on any rank */
    double *has = malloc((size_t)np * sizeof *has);
    pt_tensor **bucket = malloc((size_t)np * sizeof *bucket);
    if (!has || !bucket) {
        free(has), free(bucket);
        return err_fail(err, errlen, "out of memory");
    }
    for (int i = 0; i < np; i++)
        has[i] = pt_has_grad(params[i]);
    int rc = ddp_sum(d, has, np, err, errlen);
    for (int b = 0; rc == 0 && b < d->n_buckets; b++) {
        size_t mark = pt_scope_begin();
        int n = 0, bad = 0;
        for (int k = d->bucket_start[b]; k < d->bucket_start[b + 1] && !bad; k++) {
            int i = d->order[k];
            if (has[i] == 0)
                continue;
            if (!pt_has_grad(params[i]) && pt_set_grad(params[i], pt_zeros_like(params[i])) != PT_OK)
                bad = 1;
            else if (!(bucket[n++] = pt_grad(params[i])))
                bad = 1;
        }
        if (bad) {
            rc = err_fail(err, errlen, "gradients: %s", pt_error());
        } else if (n > 0 && pt_dist_allreduce(d->pg, bucket, n, PT_DIST_AVG) != PT_OK) {
            char what[64];
            snprintf(what, sizeof what, "the gradients' allreduce (bucket %d of %d)", b + 1,
                     d->n_buckets);
            rc = lost_rank_fail(d, what, err, errlen);
        }
        pt_scope_end(mark);
    }
    free(has);
    free(bucket);
    return rc;
}
