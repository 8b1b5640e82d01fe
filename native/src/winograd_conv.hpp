// Winograd convolutions for float32 on the CPU (winograd_conv.cpp).
#pragma once

#include <ATen/ATen.h>

namespace sn {

// Runs conv2d(x, w) with oneDNN's Winograd kernels and returns true when they are switched on
// and apply (float32 CPU tensors outside autocast, 3x3 kernel, stride 1, padding 1, no bias or
// groups, channels in multiples of 16); else returns false and leaves `out` alone. x may be
// blocked (blocked_layout.hpp); the result is blocked when `blocked_out`, else x's layout
// (channels_last for a blocked x).
bool winograd_conv2d(const at::Tensor& x, const at::Tensor& w, bool has_bias, const int64_t stride[2],
                     const int64_t padding[2], int64_t groups, bool blocked_out, at::Tensor& out);

}  // namespace sn
