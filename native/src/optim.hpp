// torch.optim.SGD's update over a list of parameters, shared by sn_sgd_step (optim.cpp) and the
// CPU-kernels engine's one-pass version (cpu/sgd.cpp).
#pragma once

#include <ATen/ATen.h>

#include <vector>

#include "shakenet.h"

namespace sn {

// The parameters that have a gradient (PyTorch skips the others), with their gradients, their
// momentum buffers (when momentum != 0) and their positions in the caller's arrays.
struct SgdBatch {
  std::vector<at::Tensor> params, grads, buffers;
  std::vector<int32_t> index;
};

// Checks sn_sgd_step's arguments and gathers the parameters that take part.
SgdBatch sgd_batch(sn_tensor* const* params, sn_tensor* const* momentum_buffers, int32_t* buffer_ready, int32_t count,
                   double momentum, double dampening, int32_t nesterov);

// The update with PyTorch's multi-tensor (_foreach_) ops: on CUDA a handful of fused launches.
void sgd_foreach(SgdBatch& batch, int32_t* buffer_ready, double lr, double momentum, double dampening,
                 double weight_decay, bool nesterov);

}  // namespace sn
