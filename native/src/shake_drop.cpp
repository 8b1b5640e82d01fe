// ShakeDrop (Yamada et al., 2018) as one custom autograd function, for y = x + G(F(x)):
//   forward  G = (gate + alpha - gate*alpha) * f   (f where gate = 1, alpha*f where gate = 0)
//   backward grad_f = (gate + beta - gate*beta) * g
// The backward coefficient is deliberately not the forward one: that is the method. The caller
// draws gate ~ Bernoulli(p_l), alpha ~ U(-1,1) and beta ~ U(0,1) per image (ShakeDrop.java);
// evaluation's p_l * f is a plain multiply and never comes here.
#include <torch/csrc/autograd/custom_function.h>

#include "shim.hpp"

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// gate + c - gate*c: 1 where gate = 1, c where gate = 0; shaped (N,1,...,1) to broadcast
// against f, in f's dtype (so bf16/fp16 branches under autocast stay in their dtype).
at::Tensor per_image_scale(const at::Tensor& gate, const at::Tensor& c, const at::Tensor& f) {
  std::vector<int64_t> shape(static_cast<size_t>(f.dim()), 1);
  shape[0] = f.size(0);
  return (gate + c - gate * c).reshape(shape).to(f.scalar_type());
}

struct ShakeDrop : public torch::autograd::Function<ShakeDrop> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& f, const at::Tensor& gate, const at::Tensor& alpha,
                            const at::Tensor& beta) {
    ctx->saved_data["backward_scale"] = per_image_scale(gate, beta, f);
    return f * per_image_scale(gate, alpha, f);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const at::Tensor& g = grad_outputs[0];
    at::Tensor grad_f = g * ctx->saved_data["backward_scale"].toTensor().to(g.scalar_type());
    return {grad_f, at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

// One floating-point coefficient per image of f, on f's device: shape (N) or (N,1,...,1).
void check_coefficient(const at::Tensor& c, const at::Tensor& f, const char* name) {
  bool per_image = c.dim() >= 1 && c.dim() <= f.dim() && c.size(0) == f.size(0) && c.numel() == f.size(0);
  if (!per_image) {
    throw sn::InvalidArgument(std::string(name) + " must hold one coefficient per image, shape (" +
                              std::to_string(f.size(0)) + ") or (" + std::to_string(f.size(0)) +
                              ",1,...) for f of shape " + c10::str(f.sizes()) + ", got shape " + c10::str(c.sizes()));
  }
  if (!at::isFloatingType(c.scalar_type())) {
    throw sn::InvalidArgument(std::string(name) + " must be a floating-point tensor, got " +
                              c10::toString(c.scalar_type()));
  }
  if (c.device() != f.device()) {
    throw sn::InvalidArgument(std::string(name) + " is on " + c.device().str() + ", f on " + f.device().str());
  }
}

void check_shake_drop_args(const at::Tensor& f, const at::Tensor& gate, const at::Tensor& alpha, const at::Tensor& beta) {
  if (f.dim() < 1) throw sn::InvalidArgument("f must have a batch dimension, got a 0-d tensor");
  if (!at::isFloatingType(f.scalar_type())) {
    throw sn::InvalidArgument("f must be a floating-point tensor, got " + std::string(c10::toString(f.scalar_type())));
  }
  check_coefficient(gate, f, "gate");
  check_coefficient(alpha, f, "alpha");
  check_coefficient(beta, f, "beta");
}

}  // namespace

extern "C" int32_t sn_shake_drop(const sn_tensor* f, const sn_tensor* gate, const sn_tensor* alpha,
                                 const sn_tensor* beta, sn_tensor** out) {
  SN_GUARD({
    sn::out_arg(out, "out");
    const at::Tensor& branch = sn::ref(f, "f");
    const at::Tensor& b = sn::ref(gate, "gate");
    const at::Tensor& ca = sn::ref(alpha, "alpha");
    const at::Tensor& cb = sn::ref(beta, "beta");
    check_shake_drop_args(branch, b, ca, cb);
    sn::give(ShakeDrop::apply(branch, b.detach(), ca.detach(), cb.detach()), out);
  });
}
