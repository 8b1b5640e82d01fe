// requires_grad, gradient read and reset, and backward.
#include "shim.hpp"

extern "C" {

int32_t sn_tensor_requires_grad(const sn_tensor* tensor, int32_t* out) {
  SN_GUARD({ *sn::out_arg(out, "out") = sn::ref(tensor, "tensor").requires_grad() ? 1 : 0; });
}

int32_t sn_tensor_set_requires_grad(sn_tensor* tensor, int32_t requires_grad) {
  SN_GUARD({ sn::mut(tensor, "tensor").set_requires_grad(requires_grad != 0); });
}

int32_t sn_tensor_grad(const sn_tensor* tensor, sn_tensor** out) {
  SN_GUARD({
    sn::out_arg(out, "out");
    const at::Tensor& grad = sn::ref(tensor, "tensor").grad();
    if (grad.defined()) {
      sn::give(grad, out);
    } else {
      *out = nullptr;
    }
  });
}

int32_t sn_tensor_zero_grad(sn_tensor* tensor) {
  SN_GUARD({ sn::mut(tensor, "tensor").mutable_grad().reset(); });
}

int32_t sn_backward(const sn_tensor* tensor, const sn_tensor* grad_output) {
  SN_GUARD({
    const at::Tensor& t = sn::ref(tensor, "tensor");
    if (!t.requires_grad()) {
      throw sn::InvalidArgument(
          "tensor does not require grad: nothing it depends on has requires_grad set, or it was "
          "computed with grad mode off");
    }
    at::Tensor gradient = grad_output == nullptr ? at::Tensor() : sn::ref(grad_output, "grad_output");
    t.backward(gradient);
  });
}

}  // extern "C"
