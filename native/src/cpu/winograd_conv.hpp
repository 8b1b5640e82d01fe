// Winograd convolutions for float32 on the CPU (winograd_conv.cpp).
#pragma once

#include <ATen/ATen.h>

namespace sn {

// Runs conv2d(x, w) with oneDNN's Winograd kernels and returns true where they apply (float32
// CPU tensors outside autocast, 3x3 kernel, stride 1, padding 1, no bias or groups, channels in
// multiples of 16); else returns false and leaves `out` alone. With
// `blocked_out` (the caller works in the blocked layout, blocked_layout.hpp) x may be blocked
// and the result is; else both are ordinary, the result in x's memory format.
bool winograd_conv2d(const at::Tensor& x, const at::Tensor& w, bool has_bias, const int64_t stride[2],
                     const int64_t padding[2], int64_t groups, bool blocked_out, at::Tensor& out);

// Whether the oneDNN loaded beside libtorch is the one these kernels were compiled against.
bool onednn_matches();

}  // namespace sn
