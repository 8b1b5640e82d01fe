// The shake coefficients (PAPER.md), shared by the shake-shake function and the fused block end.
#pragma once

#include <ATen/ATen.h>
#include <torch/csrc/autograd/custom_function.h>

#include <vector>

namespace sn {

// U(0,1) for SN_SHAKE, 0.5 for SN_EVEN: one per mini-batch, shape (1,1,..), or one per image,
// (N,1,..); in `like`'s dtype and on its device. Drawn in float32 (float64 for float64 tensors)
// so reduced-precision training draws from the same stream.
at::Tensor shake_coefficient(const at::Tensor& like, int64_t mode, int64_t level,
                             const c10::optional<at::Generator>& generator);

// A coefficient of each of `images` images as float (a batch-level coefficient repeated).
std::vector<float> per_image(const at::Tensor& coefficient, int64_t images);

// Throws InvalidArgument naming a forward mode, backward mode or level out of range.
void check_shake_args(int32_t forward_mode, int32_t backward_mode, int32_t level);

// Records in an autograd function's context how its backward pass draws beta.
void save_backward_coefficient(torch::autograd::AutogradContext* ctx, int64_t backward_mode, int64_t level,
                               const c10::optional<at::Generator>& generator, const at::Tensor& alpha);

// beta for the backward pass, shaped for `like`: alpha again (keep), 0.5 (even) or a new draw (shake).
at::Tensor backward_coefficient(torch::autograd::AutogradContext* ctx, const at::Tensor& like);

// The end of a shake block (shake_add_relu.cpp): {out, relu(out)} with out = residual (may be
// undefined) + alpha*a + (1-alpha)*b; what sn_shake_shake_add_relu returns.
std::vector<at::Tensor> shake_add_relu(const at::Tensor& a, const at::Tensor& b, const at::Tensor& residual,
                                       int64_t forward_mode, int64_t backward_mode, int64_t level, bool training,
                                       const c10::optional<at::Generator>& generator);

}  // namespace sn
