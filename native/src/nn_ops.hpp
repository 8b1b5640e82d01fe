// Network ops shared with the CPU-kernels engine (cpu/stage.cpp).
#pragma once

#include <ATen/ATen.h>

namespace sn {

// Both inputs of a projection shortcut's 1x1 convolutions, (N,C,H,W) -> (N,2C,ceil(H/s),ceil(W/s)):
// what sn_shortcut_samples returns.
at::Tensor shortcut_samples(const at::Tensor& x, int64_t stride);

}  // namespace sn
