// Batch norm (+ReLU) for CPU training (batch_norm.cpp), as the CPU-kernels engine's stage runs it.
#pragma once

#include <ATen/ATen.h>

#include <vector>

namespace sn {

// A batch norm's affine parameters and running statistics (updated in place in training).
struct BatchNormTensors {
  at::Tensor weight, bias, running_mean, running_var;
};

// Batch norm of x, then ReLU when `relu`; in training, with the batch statistics, updating the
// running ones. With `split`, the result is the two channel halves as separate tensors.
// `blocked`: the caller works in the blocked layout (blocked_layout.hpp): a blocked x is read as
// such, and the result may be blocked. Hand-written kernels where they apply, else libtorch.
std::vector<at::Tensor> normalize(const at::Tensor& x, const c10::optional<at::Tensor>& weight,
                                  const c10::optional<at::Tensor>& bias, const c10::optional<at::Tensor>& running_mean,
                                  const c10::optional<at::Tensor>& running_var, bool training, bool relu,
                                  double momentum, double eps, bool split, bool blocked);

// Two training-mode batch norms, each followed by ReLU, side by side: x (N,2C,H,W) holds the
// first's C channels, then the second's (two branches' conv1 run as one convolution); each half
// comes out as its own tensor, blocked where `blocked` allows.
std::vector<at::Tensor> batch_norm_relu_pair(const at::Tensor& x, const BatchNormTensors& first,
                                             const BatchNormTensors& second, double momentum, double eps,
                                             bool blocked);

}  // namespace sn
