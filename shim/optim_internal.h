/* optim_internal.h - the optimizer handle shared by autograd.cpp and serialize.cpp. */
#ifndef PICTOR_SHIM_OPTIM_INTERNAL_H
#define PICTOR_SHIM_OPTIM_INTERNAL_H

#include "internal.h"

#include <memory>

struct pt_optim {
    pt_optim_options opts;
    std::unique_ptr<torch::optim::Optimizer> opt; /* created with the first parameter group */
};

namespace pictor {

/* AdamW with torch.optim.AdamW's update (decoupled decay p *= 1 - lr*wd; m = b1 m + (1-b1) g;
 * v = b2 v + (1-b2) g^2; p -= lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps)) done in ONE pass over each
 * parameter's memory, in place, split over the intra-op threads: no temporaries, where libtorch's
 * AdamW makes two full-size ones (sqrt(v), its quotient) and reads and writes the parameter nine
 * times. Same state objects (AdamWParamState) and keys as torch::optim::AdamW, so saving,
 * loading and lr changes are the base class's. Falls back to the tensor-op form (the base class's
 * formula) for amsgrad, dtypes other than float32/float64, non-contiguous tensors and state of
 * another shape (after a bad load the op form fails cleanly). autograd.cpp. */
class FusedAdamW : public torch::optim::AdamW {
  public:
    using torch::optim::AdamW::AdamW;
    torch::Tensor step(LossClosure closure = nullptr) override;
};

inline std::unique_ptr<torch::optim::OptimizerOptions>
optim_group_options(const pt_optim_options &o, double lr, double wd)
{
    switch (o.kind) {
    case PT_OPTIM_SGD:
        return std::make_unique<torch::optim::SGDOptions>(torch::optim::SGDOptions(lr)
                                                              .momentum(o.momentum)
                                                              .dampening(o.dampening)
                                                              .nesterov(o.nesterov != 0)
                                                              .weight_decay(wd));
    case PT_OPTIM_ADAM:
        return std::make_unique<torch::optim::AdamOptions>(torch::optim::AdamOptions(lr)
                                                               .betas({o.beta1, o.beta2})
                                                               .eps(o.eps)
                                                               .amsgrad(o.amsgrad != 0)
                                                               .weight_decay(wd));
    case PT_OPTIM_ADAMW:
        return std::make_unique<torch::optim::AdamWOptions>(torch::optim::AdamWOptions(lr)
                                                                .betas({o.beta1, o.beta2})
                                                                .eps(o.eps)
                                                                .amsgrad(o.amsgrad != 0)
                                                                .weight_decay(wd));
    }
    throw std::invalid_argument("unknown optimizer kind");
}

inline std::unique_ptr<torch::optim::Optimizer>
optim_create(const pt_optim_options &o, std::vector<torch::optim::OptimizerParamGroup> groups)
{
    switch (o.kind) {
    case PT_OPTIM_SGD:
        return std::make_unique<torch::optim::SGD>(
            groups, *static_cast<torch::optim::SGDOptions *>(optim_group_options(o, o.lr, o.weight_decay).get()));
    case PT_OPTIM_ADAM:
        return std::make_unique<torch::optim::Adam>(
            groups, *static_cast<torch::optim::AdamOptions *>(optim_group_options(o, o.lr, o.weight_decay).get()));
    case PT_OPTIM_ADAMW:
        return std::make_unique<FusedAdamW>(
            groups, *static_cast<torch::optim::AdamWOptions *>(optim_group_options(o, o.lr, o.weight_decay).get()));
    }
    throw std::invalid_argument("unknown optimizer kind");
}

} // namespace pictor
#endif
