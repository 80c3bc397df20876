/*
 * pt_dist.h - the shim's door to PyTorch's c10d (torch.distributed's engine), as thin as pt.h:
 * a TCPStore (the rendezvous, hosted by this process or reached as a client), a process group
 * over it (Gloo on CPU; NCCL only when compiled against a CUDA libtorch, PT_DIST_HAVE_NCCL),
 * collectives on float tensors in place (allreduce sum/average/max/min, broadcast), a barrier,
 * and the store's set/get/add for the caller's own bookkeeping. No training logic here: which
 * tensors, when, and what a failure means are the trainer's business (train/core/ddp.c).
 *
 * Errors follow pt.h: PT_OK or PT_ERR with pt_error() naming the operation and c10d's reason
 * (e.g. "pt_dist_allreduce: ... Connection closed by peer [127.0.0.1]:41234" when a peer
 * died, or a timeout). NULL handles propagate. A collective that failed leaves the group
 * unusable: the caller reports and exits.
 *
 * Collectives block until every rank has joined them or the timeout of pt_dist_options passes;
 * every rank must call the same collectives in the same order with tensors of the same shapes.
 *
 * Thread safety: the store calls may come from another thread than the collectives (c10d's
 * TCPStore serialises them); collectives from one thread at a time.
 */
#ifndef PICTOR_PT_DIST_H
#define PICTOR_PT_DIST_H

#include <stddef.h>
#include <stdint.h>

#include "pt.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pt_dist pt_dist;

typedef enum { PT_DIST_GLOO = 0, PT_DIST_NCCL } pt_dist_backend;
typedef enum { PT_DIST_SUM = 0, PT_DIST_AVG, PT_DIST_MAX, PT_DIST_MIN } pt_dist_op;

typedef struct {
    pt_dist_backend backend;
    int rank, world_size;      /* 0 <= rank < world_size */
    const char *store_host;    /* the TCPStore's address (MASTER_ADDR) */
    int store_port;            /* its port (MASTER_PORT) */
    int host_store;            /* 1: this process runs the store's server (rank 0 without an
                                * agent store); 0: a client */
    const char *store_prefix;  /* NULL, or a key prefix every key is put under (torchrun's
                                * agent store: "/worker/attempt_<restart count>") */
    const char *gloo_ifname;   /* Gloo: the network interface to use (GLOO_SOCKET_IFNAME), or
                                * NULL/"" */
    const char *gloo_host;     /* Gloo: else the address to bind, or NULL/"": this host's name
                                * (loopback when it does not resolve) */
    double timeout_s;          /* rendezvous, store and collective timeout, > 0 */
} pt_dist_options;

/* 1 when this build has NCCL (a CUDA libtorch and PT_DIST_HAVE_NCCL), else 0. */
int pt_dist_nccl_available(void);

/* Rendezvous: opens (or hosts) the store, waits until world_size processes have joined (up to
 * the timeout), and builds the process group. NULL on failure. */
pt_dist *pt_dist_new(const pt_dist_options *o);
void pt_dist_free(pt_dist *d); /* NULL is fine */
int pt_dist_rank(const pt_dist *d);        /* -1 for NULL */
int pt_dist_world_size(const pt_dist *d);  /* -1 for NULL */

/* In place on every rank: ts[i] <- op over the ranks of ts[i]. n > 1 tensors (same dtype and
 * device) go as one coalesced transfer (a bucket). PT_DIST_AVG is the sum divided by the world
 * size (Gloo has no average of its own). */
pt_status pt_dist_allreduce(pt_dist *d, pt_tensor *const *ts, int n, pt_dist_op op);
/* In place: ts[i] on every rank <- ts[i] of rank root. */
pt_status pt_dist_broadcast(pt_dist *d, pt_tensor *const *ts, int n, int root);
pt_status pt_dist_barrier(pt_dist *d);

/* The store (keys live under the prefix of the options, then "pictor/"). */
pt_status pt_dist_store_set(pt_dist *d, const char *key, const void *value, size_t len);
/* The value of key as a malloc'ed, NUL-terminated buffer (free() it; *len may be NULL), waiting
 * for the key up to the timeout. */
pt_status pt_dist_store_get(pt_dist *d, const char *key, char **value, size_t *len);
/* Atomically adds delta to the integer at key (0 when absent); *out (may be NULL) gets the sum. */
pt_status pt_dist_store_add(pt_dist *d, const char *key, int64_t delta, int64_t *out);

#ifdef __cplusplus
}
#endif
#endif /* PICTOR_PT_DIST_H */
