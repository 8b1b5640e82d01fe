// Batch norm (+ReLU) as the shim's entry points run it (batch_norm.cpp), for the fused ops that
// fall back to it.
#pragma once

#include <ATen/ATen.h>

#include <vector>

namespace sn {

// Batch norm of x, then ReLU when `relu`; in training, with the batch statistics, updating the
// running ones. With `split`, the result is the two channel halves as separate tensors.
// `blocked`: the caller works in the blocked layout (blocked_layout.hpp): a blocked x is read as
// such, and the result may be blocked.
std::vector<at::Tensor> normalize(const at::Tensor& x, const c10::optional<at::Tensor>& weight,
                                  const c10::optional<at::Tensor>& bias, const c10::optional<at::Tensor>& running_mean,
                                  const c10::optional<at::Tensor>& running_var, bool training, bool relu,
                                  double momentum, double eps, bool split, bool blocked);

}  // namespace sn
