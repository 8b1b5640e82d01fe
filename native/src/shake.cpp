// The shake-shake combination (PAPER.md) as one custom autograd function:
//   forward  out    = alpha*a + (1-alpha)*b
//   backward grad_a = beta*g, grad_b = (1-beta)*g
// alpha and beta are drawn per mini-batch or per image, on the tensors' device.
#include <torch/csrc/autograd/custom_function.h>

#include "shake.hpp"
#include "shim.hpp"

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// One coefficient per mini-batch is shape (1,1,..); per image (N,1,..), broadcast over the rest.
std::vector<int64_t> coefficient_shape(const at::Tensor& like, int64_t level) {
  std::vector<int64_t> shape(static_cast<size_t>(like.dim()), 1);
  if (level == SN_LEVEL_IMAGE) shape[0] = like.size(0);
  return shape;
}

void check_mode(int32_t mode, bool keep_allowed, const char* which) {
  bool ok = mode == SN_SHAKE || mode == SN_EVEN || (keep_allowed && mode == SN_KEEP_FORWARD);
  if (!ok) {
    throw sn::InvalidArgument(std::string(which) + " mode " + std::to_string(mode) + " is not one of " +
                              (keep_allowed ? "0 = shake, 1 = even, 2 = keep" : "0 = shake, 1 = even"));
  }
}

}  // namespace

at::Tensor sn::shake_coefficient(const at::Tensor& like, int64_t mode, int64_t level,
                                 const c10::optional<at::Generator>& generator) {
  at::ScalarType draw = like.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
  at::TensorOptions options = at::TensorOptions().dtype(draw).device(like.device());
  std::vector<int64_t> shape = coefficient_shape(like, level);
  at::Tensor c = mode == SN_SHAKE ? at::rand(shape, generator, options) : at::full(shape, 0.5, options);
  return c.to(like.scalar_type());
}

std::vector<float> sn::per_image(const at::Tensor& coefficient, int64_t images) {
  at::Tensor c = coefficient.to(at::kFloat).contiguous();
  std::vector<float> out(static_cast<size_t>(images));
  for (int64_t n = 0; n < images; n++) out[n] = c.data_ptr<float>()[c.numel() == 1 ? 0 : n];
  return out;
}

void sn::check_shake_args(int32_t forward_mode, int32_t backward_mode, int32_t level) {
  check_mode(forward_mode, false, "forward");
  check_mode(backward_mode, true, "backward");
  if (level != SN_LEVEL_BATCH && level != SN_LEVEL_IMAGE) {
    throw sn::InvalidArgument("level " + std::to_string(level) + " is not one of 0 = batch, 1 = image");
  }
}

void sn::save_backward_coefficient(AutogradContext* ctx, int64_t backward_mode, int64_t level,
                                   const c10::optional<at::Generator>& generator, const at::Tensor& alpha) {
  ctx->saved_data["backward_mode"] = backward_mode;
  ctx->saved_data["level"] = level;
  if (generator.has_value()) ctx->saved_data["generator"] = *generator;
  if (backward_mode == SN_KEEP_FORWARD) ctx->saved_data["alpha"] = alpha;
}

at::Tensor sn::backward_coefficient(AutogradContext* ctx, const at::Tensor& like) {
  int64_t mode = ctx->saved_data["backward_mode"].toInt();
  if (mode == SN_KEEP_FORWARD) return ctx->saved_data["alpha"].toTensor().to(like.scalar_type());
  c10::optional<at::Generator> generator;
  auto it = ctx->saved_data.find("generator");
  if (it != ctx->saved_data.end()) generator = it->second.toGenerator();
  return sn::shake_coefficient(like, mode, ctx->saved_data["level"].toInt(), generator);
}

namespace {

struct ShakeShake : public torch::autograd::Function<ShakeShake> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& a, const at::Tensor& b,
                            const at::Tensor& alpha, int64_t backward_mode, int64_t level,
                            c10::optional<at::Generator> generator) {
    sn::save_backward_coefficient(ctx, backward_mode, level, generator, alpha);
    // lerp(b, a, alpha) = b + alpha*(a - b): one fused kernel instead of three.
    return at::lerp(b, a, alpha);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const at::Tensor& g = grad_outputs[0];
    at::Tensor beta = sn::backward_coefficient(ctx, g);
    at::Tensor grad_a = g * beta;
    at::Tensor grad_b = g - grad_a;  // (1-beta)*g, so that grad_a + grad_b reproduces g
    return {grad_a, grad_b, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};


}  // namespace

extern "C" int32_t sn_shake_shake(const sn_tensor* a, const sn_tensor* b, int32_t forward_mode,
                                  int32_t backward_mode, int32_t level, int32_t training,
                                  sn_generator* generator, sn_tensor** out) {
  SN_GUARD({
    sn::out_arg(out, "out");
    const at::Tensor& x1 = sn::ref(a, "a");
    const at::Tensor& x2 = sn::ref(b, "b");
    sn::check_shake_args(forward_mode, backward_mode, level);
    if (!x1.sizes().equals(x2.sizes())) {
      throw sn::InvalidArgument("branch outputs differ in shape: a " + c10::str(x1.sizes()) + ", b " +
                                c10::str(x2.sizes()));
    }
    if (x1.dim() < 1) throw sn::InvalidArgument("branch outputs must have a batch dimension");
    if (!training) {
      sn::give(at::add(x1, x2).mul_(0.5), out);
      return;
    }
    c10::optional<at::Generator> gen = sn::optional_generator(generator);
    at::Tensor alpha = sn::shake_coefficient(x1, forward_mode, level, gen);
    sn::give(ShakeShake::apply(x1, x2, alpha, static_cast<int64_t>(backward_mode), static_cast<int64_t>(level), gen),
             out);
  });
}
