/*
 * ddp.h - data-parallel training across processes, as PyTorch's DistributedDataParallel does it,
 * on c10d through the shim (shim/pt_dist.h). The trainer calls these at fixed points of its loop;
 * with one process (WORLD_SIZE unset or 1) ddp_open gives NULL and every call is a no-op, so the
 * loop reads the same either way.
 *
 * LAUNCH (torchrun's environment, read by ddp_open)
 *   WORLD_SIZE, RANK (required when WORLD_SIZE > 1), LOCAL_RANK, LOCAL_WORLD_SIZE,
 *   MASTER_ADDR, MASTER_PORT (the TCPStore), TORCHELASTIC_USE_AGENT_STORE=True (torchrun's agent
 *   hosts the store: every rank is a client, keys under /worker/attempt_<TORCHELASTIC_RESTART_
 *   COUNT>); without it rank 0 hosts the store at MASTER_ADDR:MASTER_PORT. GLOO_SOCKET_IFNAME
 *   picks Gloo's interface (else loopback when MASTER_ADDR is a loopback address, else this
 *   host's name). pictor's own: PICTOR_DIST_BACKEND gloo|nccl (gloo), PICTOR_DIST_TIMEOUT
 *   seconds (1800: rendezvous and each collective; a rank evaluating makes the others wait that
 *   long at most), PICTOR_DIST_BUCKET_MB (25).
 *
 * SEMANTICS (DDP's)
 *   - ddp_broadcast_store: every tensor of the store (parameters, frozen ones, buffers) from
 *     rank 0, after the model is built and after a resume, so every rank starts identical.
 *   - ddp_broadcast_buffers: the buffers (BatchNorm running statistics) from rank 0 before each
 *     step's forward (DDP's broadcast_buffers); the forward itself uses per-rank batch statistics.
 *   - ddp_average_grads: after backward (and after the last micro-batch of an accumulation), the
 *     gradients averaged over the ranks, in buckets of PICTOR_DIST_BUCKET_MB (parameters in
 *     reverse order, as backward produces them), one coalesced allreduce per bucket. A parameter
 *     with a gradient on some ranks only counts zeros on the others (find_unused_parameters); one
 *     without a gradient on every rank keeps none (the optimizer skips it, as without DDP).
 *   - ddp_sum: a small float64 vector summed over the ranks (the step's losses and flags: a
 *     non-finite loss or a stop signal on one rank stops or skips the step on all of them).
 *   - the sampler shards each global batch of WORLD_SIZE x train.batch_size items (session.c).
 *
 * FAILURES
 *   Each rank runs a heartbeat thread (a counter in the store every 0.5 s) and records its
 *   host and pid in the store. When a collective fails (a peer's connection closed, a timeout),
 *   ddp_* return -1 with a message naming the lost rank(s): those whose heartbeat stopped, or
 *   rank 0 when the store it hosts is unreachable; the caller exits non-zero.
 */
#ifndef PICTOR_DDP_H
#define PICTOR_DDP_H

#include <stddef.h>

#include "nn/nn.h"

typedef struct ddp ddp;

/* From the environment: 0 with *out NULL (one process) or a ready group; -1 with a message
 * (bad variables, rendezvous failed or timed out). */
int ddp_open(ddp **out, char *err, size_t errlen);
void ddp_close(ddp *d); /* NULL is fine */

int ddp_rank(const ddp *d);        /* 0 for NULL */
int ddp_world_size(const ddp *d);  /* 1 for NULL */
/* Processes on this host (LOCAL_WORLD_SIZE, else 1): the intra-op threads default divides the
 * cores among them. */
int ddp_local_world_size(void);
/* RANK from the environment before ddp_open (0 when unset). */
int ddp_env_rank(void);

/* See SEMANTICS. Each returns 0, or -1 with a message in err (the lost rank when one died). */
int ddp_broadcast_store(ddp *d, nn_store *s, char *err, size_t errlen);
int ddp_broadcast_buffers(ddp *d, nn_store *s, char *err, size_t errlen);
int ddp_average_grads(ddp *d, nn_store *s, char *err, size_t errlen);
int ddp_sum(ddp *d, double *v, int n, char *err, size_t errlen);
int ddp_barrier(ddp *d, char *err, size_t errlen);

#endif
