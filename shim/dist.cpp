/*
 * dist.cpp - pt_dist.h over c10d: TCPStore (+ PrefixStore), ProcessGroupGloo (ProcessGroupNCCL
 * with PT_DIST_HAVE_NCCL), collectives in place. One c10d call per entry point, plus the two
 * things c10d leaves to its callers: the average (sum, then divide) and the flattening of a
 * broadcast's tensors into one buffer per dtype.
 */
/* c10d's Gloo header is behind USE_C10D_GLOO (Debian's libtorch_cpu has the backend). Defined
 * here, not on the command line, so that the shim's precompiled header stays valid. */
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO 1
#endif
#include "internal.h"

#include "pt_dist.h"

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef PT_DIST_HAVE_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <chrono>
#include <cstdlib>
#include <cstring>

using namespace pictor;

struct pt_dist {
    c10::intrusive_ptr<c10d::Store> base;   /* the TCPStore, under the options' prefix */
    c10::intrusive_ptr<c10d::Store> keys;   /* base + "pictor/": the caller's keys */
    c10::intrusive_ptr<c10d::ProcessGroup> pg;
    int rank, world;
};

namespace {

std::vector<at::Tensor> list_of(pt_tensor *const *ts, int n)
{
    if (n <= 0 || !ts)
        throw std::invalid_argument("need at least one tensor (n=" + std::to_string(n) + ")");
    std::vector<at::Tensor> v;
    v.reserve((size_t)n);
    for (int i = 0; i < n; i++)
        v.push_back(T(ts[i]));
    return v;
}

pt_dist &D(pt_dist *d)
{
    if (!d)
        throw null_arg{};
    return *d;
}

c10d::ReduceOp reduce_op(pt_dist_op op)
{
    switch (op) {
    case PT_DIST_SUM:
    case PT_DIST_AVG: return c10d::ReduceOp::SUM;
    case PT_DIST_MAX: return c10d::ReduceOp::MAX;
    case PT_DIST_MIN: return c10d::ReduceOp::MIN;
    }
    throw std::invalid_argument("unknown pt_dist_op " + std::to_string((int)op));
}

void wait(const c10::intrusive_ptr<c10d::Work> &w)
{
    w->wait();
}

} // namespace

extern "C" {

int pt_dist_nccl_available(void)
{
#ifdef PT_DIST_HAVE_NCCL
    return 1;
#else
    return 0;
#endif
}

pt_dist *pt_dist_new(const pt_dist_options *o)
{
    try {
        if (!o)
            throw std::invalid_argument("no options");
        if (o->world_size < 1 || o->rank < 0 || o->rank >= o->world_size)
            throw std::invalid_argument("rank " + std::to_string(o->rank) + " is not in [0, " +
                                        std::to_string(o->world_size) + ")");
        if (!o->store_host || !*o->store_host || o->store_port < 1 || o->store_port > 65535)
            throw std::invalid_argument("the store needs a host and a port in [1, 65535]");
        if (!(o->timeout_s > 0))
            throw std::invalid_argument("the timeout must be > 0 s");
        auto timeout = std::chrono::milliseconds((int64_t)(o->timeout_s * 1000.0));
        c10d::TCPStoreOptions so;
        so.port = (std::uint16_t)o->store_port;
        so.isServer = o->host_store != 0;
        /* every process counts itself in (as torch.distributed does); the server waits for all */
        so.numWorkers = (std::size_t)o->world_size;
        so.waitWorkers = true;
        so.timeout = timeout;
        auto d = std::make_unique<pt_dist>();
        d->rank = o->rank;
        d->world = o->world_size;
        c10::intrusive_ptr<c10d::Store> tcp =
            c10::make_intrusive<c10d::TCPStore>(std::string(o->store_host), so);
        d->base = tcp;
        if (o->store_prefix && *o->store_prefix)
            d->base = c10::make_intrusive<c10d::PrefixStore>(o->store_prefix, tcp);
        d->keys = c10::make_intrusive<c10d::PrefixStore>("pictor", d->base);
        auto pg_store = c10::make_intrusive<c10d::PrefixStore>("pictor_pg", d->base);
        if (o->backend == PT_DIST_NCCL) {
#ifdef PT_DIST_HAVE_NCCL
            auto no = c10d::ProcessGroupNCCL::Options::create();
            no->timeout = timeout;
            d->pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(pg_store, o->rank, o->world_size, no);
#else
            throw std::invalid_argument("NCCL is not in this build (a CPU libtorch); use gloo");
#endif
        } else {
            auto go = c10d::ProcessGroupGloo::Options::create(timeout);
            if (o->gloo_ifname && *o->gloo_ifname)
                go->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(o->gloo_ifname));
            else if (o->gloo_host && *o->gloo_host)
                go->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(o->gloo_host));
            else
                go->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
            go->threads = 2;
            d->pg = c10::make_intrusive<c10d::ProcessGroupGloo>(pg_store, o->rank, o->world_size, go);
        }
        return d.release();
    } catch (const std::exception &e) {
        set_error(std::string("pt_dist_new: ") + first_line(e.what()));
    } catch (...) {
        set_error("pt_dist_new: unknown C++ exception");
    }
    return nullptr;
}

void pt_dist_free(pt_dist *d)
{
    try {
        delete d;
    } catch (...) {
    }
}

int pt_dist_rank(const pt_dist *d) { return d ? d->rank : -1; }
int pt_dist_world_size(const pt_dist *d) { return d ? d->world : -1; }

pt_status pt_dist_allreduce(pt_dist *d, pt_tensor *const *ts, int n, pt_dist_op op)
{
    PT_TRY_STATUS({
        pt_dist &g = D(d);
        std::vector<at::Tensor> v = list_of(ts, n);
        if (n == 1) {
            c10d::AllreduceOptions ao;
            ao.reduceOp = reduce_op(op);
            wait(g.pg->allreduce(v, ao));
        } else {
            c10d::AllreduceCoalescedOptions ao;
            ao.reduceOp = reduce_op(op);
            wait(g.pg->allreduce_coalesced(v, ao));
        }
        if (op == PT_DIST_AVG && g.world > 1)
            for (auto &t : v)
                t.div_(g.world);
    })
}

pt_status pt_dist_broadcast(pt_dist *d, pt_tensor *const *ts, int n, int root)
{
    PT_TRY_STATUS({
        pt_dist &g = D(d);
        std::vector<at::Tensor> v = list_of(ts, n);
        if (root < 0 || root >= g.world)
            throw std::invalid_argument("root " + std::to_string(root) + " is not a rank");
        c10d::BroadcastOptions bo;
        bo.rootRank = root;
        /* one flat buffer per dtype, in the order the dtypes first appear */
        std::vector<bool> done(v.size(), false);
        for (size_t i = 0; i < v.size(); i++) {
            if (done[i])
                continue;
            std::vector<at::Tensor> same;
            for (size_t j = i; j < v.size(); j++)
                if (!done[j] && v[j].scalar_type() == v[i].scalar_type()) {
                    same.push_back(v[j]);
                    done[j] = true;
                }
            at::NoGradGuard ng;
            std::vector<at::Tensor> flat{at::flatten_dense_tensors(same)};
            wait(g.pg->broadcast(flat, bo));
            auto back = at::unflatten_dense_tensors(flat[0], same);
            for (size_t k = 0; k < same.size(); k++)
                same[k].copy_(back[k]);
        }
    })
}

pt_status pt_dist_barrier(pt_dist *d)
{
    PT_TRY_STATUS({ wait(D(d).pg->barrier()); })
}

pt_status pt_dist_store_set(pt_dist *d, const char *key, const void *value, size_t len)
{
    PT_TRY_STATUS({
        if (!key || (!value && len))
            throw std::invalid_argument("no key or no value");
        const uint8_t *p = (const uint8_t *)value;
        D(d).keys->set(key, std::vector<uint8_t>(p, p + len));
    })
}

pt_status pt_dist_store_get(pt_dist *d, const char *key, char **value, size_t *len)
{
    PT_TRY_STATUS({
        if (!key || !value)
            throw std::invalid_argument("no key or no output");
        std::vector<uint8_t> v = D(d).keys->get(key);
        char *buf = (char *)malloc(v.size() + 1);
        if (!buf)
            throw std::bad_alloc();
        if (!v.empty())
            memcpy(buf, v.data(), v.size());
        buf[v.size()] = '\0';
        *value = buf;
        if (len)
            *len = v.size();
    })
}

pt_status pt_dist_store_add(pt_dist *d, const char *key, int64_t delta, int64_t *out)
{
    PT_TRY_STATUS({
        if (!key)
            throw std::invalid_argument("no key");
        int64_t v = D(d).keys->add(key, delta);
        if (out)
            *out = v;
    })
}

} /* extern "C" */
