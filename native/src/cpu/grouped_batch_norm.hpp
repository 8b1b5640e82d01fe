// Batch norm (+ReLU) over 16-channel groups, for CPU training (grouped_batch_norm.cpp).
#pragma once

#include <ATen/ATen.h>

#include <vector>

namespace sn {

// Runs training-mode batch norm (+ReLU when `relu`) and returns true where it applies: CPU
// activations with a multiple of 16 channels, float32 blocked (blocked_layout.hpp) or float32 or
// bfloat16 channels_last, and float32 parameters and running statistics. The result has x's
// dtype; it is blocked for float32 with `blocked_out`, else channels_last; with `split`, it is the
// two channel halves as separate tensors. Returns false, leaving `out` alone, where it does not
// apply (batch_norm.cpp's normalize then uses its other kernels).
bool grouped_batch_norm(const at::Tensor& x, const c10::optional<at::Tensor>& weight,
                        const c10::optional<at::Tensor>& bias, const c10::optional<at::Tensor>& running_mean,
                        const c10::optional<at::Tensor>& running_var, bool training, bool relu, double momentum,
                        double eps, bool split, bool blocked_out, std::vector<at::Tensor>& out);

}  // namespace sn
