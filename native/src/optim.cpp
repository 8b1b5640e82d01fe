// The SGD update of every parameter in one call (torch.optim.SGD's rule, single-tensor form).
#include "shim.hpp"

extern "C" int32_t sn_sgd_step(sn_tensor* const* params, sn_tensor* const* momentum_buffers,
                               int32_t* buffer_ready, int32_t count, double lr, double momentum,
                               double dampening, double weight_decay, int32_t nesterov) {
  SN_GUARD({
    if (count < 0) throw sn::InvalidArgument("count is negative");
    if (count > 0) sn::out_arg(params, "params");
    if (momentum != 0.0) {
      sn::out_arg(momentum_buffers, "momentum_buffers");
      sn::out_arg(buffer_ready, "buffer_ready");
    }
    if (nesterov && (momentum <= 0.0 || dampening != 0.0)) {
      throw sn::InvalidArgument("Nesterov momentum needs momentum > 0 and dampening 0");
    }
    at::NoGradGuard no_grad;
    for (int32_t i = 0; i < count; ++i) {
      std::string name = "params[" + std::to_string(i) + "]";
      at::Tensor& p = sn::mut(params[i], name.c_str());
      const at::Tensor& grad = p.grad();
      if (!grad.defined()) continue;
      at::Tensor d = weight_decay != 0.0 ? grad.add(p, weight_decay) : grad;
      if (momentum != 0.0) {
        std::string buf_name = "momentum_buffers[" + std::to_string(i) + "]";
        at::Tensor& buf = sn::mut(momentum_buffers[i], buf_name.c_str());
        if (buffer_ready[i] == 0) {
          buf.copy_(d);
          buffer_ready[i] = 1;
        } else {
          buf.mul_(momentum).add_(d, 1.0 - dampening);
        }
        d = nesterov ? d.add(buf, momentum) : buf;
      }
      p.add_(d, -lr);
    }
  });
}
