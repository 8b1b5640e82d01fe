// The SGD update of every parameter in one call (torch.optim.SGD's rule), with PyTorch's
// multi-tensor (_foreach_) ops: on CUDA a handful of fused launches instead of several per
// parameter; on the CPU the same arithmetic tensor by tensor.
#include <c10/core/GradMode.h>

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
    c10::NoGradGuard no_grad;
    // Parameters without a gradient are skipped, as in PyTorch.
    std::vector<at::Tensor> p, g, buf;
    std::vector<int32_t> index;
    for (int32_t i = 0; i < count; ++i) {
      std::string name = "params[" + std::to_string(i) + "]";
      at::Tensor& param = sn::mut(params[i], name.c_str());
      if (!param.grad().defined()) continue;
      p.push_back(param);
      g.push_back(param.grad());
      index.push_back(i);
      if (momentum != 0.0) {
        std::string buf_name = "momentum_buffers[" + std::to_string(i) + "]";
        buf.push_back(sn::mut(momentum_buffers[i], buf_name.c_str()));
      }
    }
    if (p.empty()) return;
    std::vector<at::Tensor> d = weight_decay != 0.0 ? at::_foreach_add(g, p, weight_decay) : g;  // grad + wd*p
    if (momentum != 0.0) {
      std::vector<at::Tensor> running_buf, running_d;
      for (size_t k = 0; k < p.size(); ++k) {
        if (buffer_ready[index[k]] == 0) {
          buf[k].copy_(d[k]);  // first step: the buffer starts as the gradient
          buffer_ready[index[k]] = 1;
        } else {
          running_buf.push_back(buf[k]);
          running_d.push_back(d[k]);
        }
      }
      if (!running_buf.empty()) {
        at::_foreach_mul_(running_buf, momentum);                       // buf = momentum*buf
        at::_foreach_add_(running_buf, running_d, 1.0 - dampening);     //     + (1-dampening)*d
      }
      d = nesterov ? at::_foreach_add(d, buf, momentum) : buf;          // d + momentum*buf, or buf
    }
    at::_foreach_add_(p, d, -lr);                                       // p -= lr*d
  });
}
