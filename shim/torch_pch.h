/* torch_pch.h - the libtorch headers every shim translation unit uses (precompiled once). */
#include <torch/torch.h>
