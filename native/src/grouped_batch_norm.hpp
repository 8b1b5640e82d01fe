// Batch norm (+ReLU) over 16-channel groups, for float32 CPU training in the blocked layout
// (grouped_batch_norm.cpp).
#pragma once

#include <ATen/ATen.h>

#include <vector>

namespace sn {

// Runs training-mode batch norm (+ReLU when `relu`) and returns true where it applies: CPU
// float32 activations with a multiple of 16 channels, blocked (blocked_layout.hpp) or
// channels_last, and float32 parameters and running statistics. The result is blocked; with
// `split`, it is the two channel halves as separate tensors. Returns false, leaving `out` alone,
// where it does not apply. For callers working in the blocked layout (batch_norm.cpp's
// normalize with `blocked`).
bool grouped_batch_norm(const at::Tensor& x, const c10::optional<at::Tensor>& weight,
                        const c10::optional<at::Tensor>& bias, const c10::optional<at::Tensor>& running_mean,
                        const c10::optional<at::Tensor>& running_var, bool training, bool relu, double momentum,
                        double eps, bool split, std::vector<at::Tensor>& out);

}  // namespace sn
