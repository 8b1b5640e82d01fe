// The shake-shake combination (PAPER.md) as one custom autograd function:
//   forward  out    = alpha*a + (1-alpha)*b
//   backward grad_a = beta*g, grad_b = (1-beta)*g
// The coefficients come from the caller (ShakeNet draws them in Java, per mini-batch or per
// image, from the run's shake generator), so every mode and level is one function.
#include <torch/csrc/autograd/custom_function.h>

#include "shim.hpp"

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct ShakeShake : public torch::autograd::Function<ShakeShake> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& a, const at::Tensor& b, const at::Tensor& alpha,
                            const at::Tensor& beta) {
    ctx->saved_data["beta"] = beta;
    // lerp(b, a, alpha) = b + alpha*(a - b): one fused kernel instead of three.
    return at::lerp(b, a, alpha.to(a.scalar_type()));
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const at::Tensor& g = grad_outputs[0];
    at::Tensor grad_a = g * ctx->saved_data["beta"].toTensor().to(g.scalar_type());
    at::Tensor grad_b = g - grad_a;  // (1-beta)*g, so that grad_a + grad_b reproduces g
    return {grad_a, grad_b, at::Tensor(), at::Tensor()};
  }
};

void check_coefficient(const at::Tensor& c, const at::Tensor& like, const char* name) {
  bool per_batch = c.numel() == 1;
  bool per_image = c.dim() == like.dim() && c.size(0) == like.size(0) && c.numel() == like.size(0);
  if (!per_batch && !per_image) {
    throw sn::InvalidArgument(std::string(name) + " must hold one coefficient per image (shape (" +
                              std::to_string(like.size(0)) + ",1,...)) or one in all, got shape " + c10::str(c.sizes()));
  }
  if (c.device() != like.device()) {
    throw sn::InvalidArgument(std::string(name) + " is on " + c.device().str() + ", the branches on " + like.device().str());
  }
}

// a and b of one shape with a batch dimension; alpha and beta one per image or one in all.
void check_shake_args(const at::Tensor& a, const at::Tensor& b, const at::Tensor& alpha, const at::Tensor& beta) {
  if (!a.sizes().equals(b.sizes())) {
    throw sn::InvalidArgument("branch outputs differ in shape: a " + c10::str(a.sizes()) + ", b " + c10::str(b.sizes()));
  }
  if (a.dim() < 1) throw sn::InvalidArgument("branch outputs must have a batch dimension");
  check_coefficient(alpha, a, "alpha");
  check_coefficient(beta, a, "beta");
}

}  // namespace

extern "C" int32_t sn_shake_shake(const sn_tensor* a, const sn_tensor* b, const sn_tensor* alpha, const sn_tensor* beta,
                                  sn_tensor** out) {
  SN_GUARD({
    sn::out_arg(out, "out");
    const at::Tensor& x1 = sn::ref(a, "a");
    const at::Tensor& x2 = sn::ref(b, "b");
    const at::Tensor& ca = sn::ref(alpha, "alpha");
    const at::Tensor& cb = sn::ref(beta, "beta");
    check_shake_args(x1, x2, ca, cb);
    sn::give(ShakeShake::apply(x1, x2, ca.detach(), cb.detach()), out);
  });
}
