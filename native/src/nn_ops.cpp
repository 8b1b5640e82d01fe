// The network ops of a Shake-Shake ResNet: convolution, batch norm, ReLU, the shortcut's pixel
// shift, pooling, linear, cross-entropy and accuracy counting.
#include <torch/csrc/autograd/custom_function.h>

#include "blocked_layout.hpp"
#include "shim.hpp"
#include "winograd_conv.hpp"

namespace {

// The one-pixel shift, with a backward that is the opposite shift: the gradient keeps the
// activations' memory layout. (Autograd's own backward of pad-of-slice builds a contiguous
// gradient, and adding it to the channels_last gradients of the other paths costs ~6x an add.)
struct ShiftPixel : public torch::autograd::Function<ShiftPixel> {
  // Drop the first row and column, zero-pad the last: pad order is (left, right, top, bottom).
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x) {
    return at::constant_pad_nd(x.slice(2, 1).slice(3, 1), {0, 1, 0, 1}, 0);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const at::Tensor& g = grads[0];
    return {at::constant_pad_nd(g.slice(2, 0, g.size(2) - 1).slice(3, 0, g.size(3) - 1), {1, 0, 1, 0}, 0)};
  }
};

void require_dim(const at::Tensor& t, int64_t dim, const char* name, const char* layout) {
  if (t.dim() != dim) {
    throw sn::InvalidArgument(std::string(name) + " must be " + std::to_string(dim) + "-d " + layout +
                              ", got shape " + c10::str(t.sizes()));
  }
}
}  // namespace

extern "C" {

int32_t sn_conv2d(const sn_tensor* input, const sn_tensor* weight, const sn_tensor* bias,
                  int64_t stride_h, int64_t stride_w, int64_t pad_h, int64_t pad_w, int64_t groups,
                  int32_t blocked, sn_tensor** out) {
  SN_GUARD({
    sn::out_arg(out, "out");
    const at::Tensor& input_tensor = sn::ref(input, "input");
    const at::Tensor& w = sn::ref(weight, "weight");
    // Only a caller working in the blocked layout passes 5-d blocked inputs.
    if (blocked == 0 || !sn::blocked::is_blocked(input_tensor)) require_dim(input_tensor, 4, "input", "(N,C,H,W)");
    require_dim(w, 4, "weight", "(out_channels,in_channels/groups,kH,kW)");
    int64_t stride[2] = {stride_h, stride_w};
    int64_t padding[2] = {pad_h, pad_w};
    int64_t dilation[2] = {1, 1};
    at::Tensor y;
    if (sn::winograd_conv2d(input_tensor, w, bias != nullptr, stride, padding, groups, blocked != 0, y)) {
      sn::give(std::move(y), out);
      return;
    }
    const at::Tensor x = sn::blocked::to_standard(input_tensor);  // libtorch takes ordinary layouts only
    sn::give(at::conv2d(x, w, sn::optional_ref(bias), stride, padding, dilation, groups), out);
  });
}

int32_t sn_relu(const sn_tensor* input, sn_tensor** out) {
  SN_GUARD({
    sn::out_arg(out, "out");
    sn::give(at::relu(sn::ref(input, "input")), out);
  });
}

int32_t sn_relu_(sn_tensor* tensor) {
  SN_GUARD({ at::relu_(sn::mut(tensor, "tensor")); });
}

int32_t sn_shift_pixel(const sn_tensor* input, sn_tensor** out) {
  SN_GUARD({
    sn::out_arg(out, "out");
    const at::Tensor& x = sn::ref(input, "input");
    require_dim(x, 4, "input", "(N,C,H,W)");
    sn::give(ShiftPixel::apply(x), out);
  });
}

int32_t sn_avg_pool2d(const sn_tensor* input, int64_t kernel_h, int64_t kernel_w, int64_t stride_h,
                      int64_t stride_w, int64_t pad_h, int64_t pad_w, sn_tensor** out) {
  SN_GUARD({
    sn::out_arg(out, "out");
    const at::Tensor& x = sn::ref(input, "input");
    require_dim(x, 4, "input", "(N,C,H,W)");
    int64_t kernel[2] = {kernel_h, kernel_w};
    int64_t stride[2] = {stride_h, stride_w};
    int64_t padding[2] = {pad_h, pad_w};
    sn::give(at::avg_pool2d(x, kernel, stride, padding), out);
  });
}

int32_t sn_global_avg_pool2d(const sn_tensor* input, sn_tensor** out) {
  SN_GUARD({
    sn::out_arg(out, "out");
    const at::Tensor& x = sn::ref(input, "input");
    require_dim(x, 4, "input", "(N,C,H,W)");
    sn::give(x.mean({2, 3}), out);
  });
}

int32_t sn_linear(const sn_tensor* input, const sn_tensor* weight, const sn_tensor* bias,
                  sn_tensor** out) {
  SN_GUARD({
    sn::out_arg(out, "out");
    sn::give(at::linear(sn::ref(input, "input"), sn::ref(weight, "weight"), sn::optional_ref(bias)), out);
  });
}

int32_t sn_cross_entropy(const sn_tensor* logits, const sn_tensor* targets, sn_tensor** out) {
  SN_GUARD({
    sn::out_arg(out, "out");
    const at::Tensor& z = sn::ref(logits, "logits");
    const at::Tensor& y = sn::ref(targets, "targets");
    require_dim(z, 2, "logits", "(N,classes)");
    require_dim(y, 1, "targets", "(N) class indices");
    if (y.scalar_type() != at::kLong) {
      throw sn::InvalidArgument(std::string("targets must be int64 class indices, got ") +
                                c10::toString(y.scalar_type()));
    }
    sn::give(at::nll_loss(at::log_softmax(z, 1), y), out);
  });
}

int32_t sn_argmax(const sn_tensor* input, int64_t dim, sn_tensor** out) {
  SN_GUARD({
    sn::out_arg(out, "out");
    sn::give(sn::ref(input, "input").argmax(dim), out);
  });
}

int32_t sn_count_correct(const sn_tensor* logits, const sn_tensor* targets, sn_tensor** out) {
  SN_GUARD({
    sn::out_arg(out, "out");
    const at::Tensor& z = sn::ref(logits, "logits");
    const at::Tensor& y = sn::ref(targets, "targets");
    require_dim(z, 2, "logits", "(N,classes)");
    require_dim(y, 1, "targets", "(N) class indices");
    sn::give(z.detach().argmax(1).eq(y).sum(), out);
  });
}

}  // extern "C"
