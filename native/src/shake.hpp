// The shake-shake combination (PAPER.md), for the fused CPU block ends that fall back to it.
#pragma once

#include <ATen/ATen.h>

namespace sn {

// Throws InvalidArgument unless a and b have one shape with a batch dimension and alpha and beta
// each hold one coefficient per image of that batch, or one for the whole of it.
void check_shake_args(const at::Tensor& a, const at::Tensor& b, const at::Tensor& alpha, const at::Tensor& beta);

// alpha*a + (1-alpha)*b, with gradients beta*g and (1-beta)*g: the autograd function behind
// sn_shake_shake.
at::Tensor shake_shake(const at::Tensor& a, const at::Tensor& b, const at::Tensor& alpha, const at::Tensor& beta);

}  // namespace sn
