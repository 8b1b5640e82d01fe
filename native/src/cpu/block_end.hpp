// The end of a shake block in one autograd function, for CPU training: the shake-shake
// combination, the shortcut's add and the ReLU the next block starts with.
#pragma once

#include <ATen/ATen.h>

#include <vector>

#include "normalize.hpp"

namespace sn {

// {out, relu(out)} with out = residual + alpha*a + (1-alpha)*b (shake_add_relu.cpp); backward,
// with t = grad_out + grad_out_relu*(out > 0): beta*t, (1-beta)*t and t. One pass each way for
// float32/bfloat16 tensors sharing a dense layout, else ATen ops.
std::vector<at::Tensor> shake_add_relu(const at::Tensor& a, const at::Tensor& b, const at::Tensor& residual,
                                       const at::Tensor& alpha, const at::Tensor& beta);

// The same with both branches' last batch norms folded in (shake_batch_norm_add_relu.cpp):
// out = residual + alpha*bn_a(a) + (1-alpha)*bn_b(b), training-mode batch norms, without ever
// making their outputs. a, b and residual may be blocked; with `blocked_out` so may the results.
std::vector<at::Tensor> shake_batch_norm_add_relu(const at::Tensor& a, const at::Tensor& b, const at::Tensor& residual,
                                                  const BatchNormTensors& norm_a, const BatchNormTensors& norm_b,
                                                  double momentum, double eps, const at::Tensor& alpha,
                                                  const at::Tensor& beta, bool blocked_out);

// A coefficient of each of `images` images as float (a batch-level coefficient repeated).
std::vector<float> per_image(const at::Tensor& coefficient, int64_t images);

}  // namespace sn
