// The SGD update of every parameter in one call (torch.optim.SGD's rule), on PyTorch's
// multi-tensor (_foreach_) ops.
#include <c10/core/GradMode.h>

#include "optim.hpp"
#include "shim.hpp"

sn::SgdBatch sn::sgd_batch(sn_tensor* const* params, sn_tensor* const* momentum_buffers, int32_t* buffer_ready,
                           int32_t count, double momentum, double dampening, int32_t nesterov) {
  if (count < 0) throw sn::InvalidArgument("count is negative");
  if (count > 0) sn::out_arg(params, "params");
  if (momentum != 0.0) {
    sn::out_arg(momentum_buffers, "momentum_buffers");
    sn::out_arg(buffer_ready, "buffer_ready");
  }
  if (nesterov && (momentum <= 0.0 || dampening != 0.0)) {
    throw sn::InvalidArgument("Nesterov momentum needs momentum > 0 and dampening 0");
  }
  SgdBatch batch;
  for (int32_t i = 0; i < count; ++i) {
    std::string name = "params[" + std::to_string(i) + "]";
    at::Tensor& param = sn::mut(params[i], name.c_str());
    if (!param.grad().defined()) continue;
    batch.params.push_back(param);
    batch.grads.push_back(param.grad());
    batch.index.push_back(i);
    if (momentum != 0.0) {
      std::string buf_name = "momentum_buffers[" + std::to_string(i) + "]";
      batch.buffers.push_back(sn::mut(momentum_buffers[i], buf_name.c_str()));
    }
  }
  return batch;
}

void sn::sgd_foreach(SgdBatch& batch, int32_t* buffer_ready, double lr, double momentum, double dampening,
                     double weight_decay, bool nesterov) {
  std::vector<at::Tensor>& p = batch.params;
  std::vector<at::Tensor>& buf = batch.buffers;
  std::vector<at::Tensor> d = weight_decay != 0.0 ? at::_foreach_add(batch.grads, p, weight_decay) : batch.grads;
  if (momentum != 0.0) {
    std::vector<at::Tensor> running_buf, running_d;
    for (size_t k = 0; k < p.size(); ++k) {
      if (buffer_ready[batch.index[k]] == 0) {
        buf[k].copy_(d[k]);  // first step: the buffer starts as the gradient
        buffer_ready[batch.index[k]] = 1;
      } else {
        running_buf.push_back(buf[k]);
        running_d.push_back(d[k]);
      }
    }
    if (!running_buf.empty()) {
      at::_foreach_mul_(running_buf, momentum);                    // buf = momentum*buf
      at::_foreach_add_(running_buf, running_d, 1.0 - dampening);  //     + (1-dampening)*d
    }
    d = nesterov ? at::_foreach_add(d, buf, momentum) : buf;       // d + momentum*buf, or buf
  }
  at::_foreach_add_(p, d, -lr);                                    // p -= lr*d
}

extern "C" int32_t sn_sgd_step(sn_tensor* const* params, sn_tensor* const* momentum_buffers, int32_t* buffer_ready,
                               int32_t count, double lr, double momentum, double dampening, double weight_decay,
                               int32_t nesterov) {
  SN_GUARD({
    sn::SgdBatch batch = sn::sgd_batch(params, momentum_buffers, buffer_ready, count, momentum, dampening, nesterov);
    if (batch.params.empty()) return;
    c10::NoGradGuard no_grad;
    sn::sgd_foreach(batch, buffer_ready, lr, momentum, dampening, weight_decay, nesterov != 0);
  });
}
