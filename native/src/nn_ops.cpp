// The network ops of a Shake-Shake ResNet: convolution, batch norm, ReLU, the projection
// shortcut's samples, pooling, linear, cross-entropy and accuracy counting.
#include <torch/csrc/autograd/custom_function.h>

#include "nn_ops.hpp"
#include "shim.hpp"

namespace {

// Both inputs of a projection shortcut's 1x1 convolutions in one tensor (N,2C,ceil(H/s),ceil(W/s)):
// channels [0,C) are x[:, :, ::s, ::s], channels [C,2C) are shift_pixel(x)[:, :, ::s, ::s], that
// is x[:, :, 1::s, 1::s] with zeros past the last row and column. One strided copy per half
// where a shift, two average pools and a concatenation take five passes, and a backward that
// writes the input's gradient once, in the input's memory layout.
struct ShortcutSamples : public torch::autograd::Function<ShortcutSamples> {
  // How many of the shifted path's samples fall inside a side of `size` pixels: i*s + 1 < size.
  static int64_t inside(int64_t size, int64_t stride) { return size < 2 ? 0 : (size - 2) / stride + 1; }

  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, int64_t stride) {
    int64_t c = x.size(1), h = x.size(2), w = x.size(3);
    int64_t ho = (h + stride - 1) / stride, wo = (w + stride - 1) / stride;
    int64_t hv = inside(h, stride), wv = inside(w, stride);
    at::Tensor y = at::empty({x.size(0), 2 * c, ho, wo}, x.options().memory_format(x.suggest_memory_format()));
    y.narrow(1, 0, c).copy_(x.slice(2, 0, h, stride).slice(3, 0, w, stride));
    at::Tensor shifted = y.narrow(1, c, c);
    if (hv < ho) shifted.narrow(2, hv, ho - hv).zero_();
    if (wv < wo) shifted.narrow(3, wv, wo - wv).zero_();
    shifted.narrow(2, 0, hv).narrow(3, 0, wv).copy_(x.slice(2, 1, h, stride).slice(3, 1, w, stride));
    ctx->saved_data["stride"] = stride;
    ctx->saved_data["shape"] = x.sizes().vec();
    return y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const at::Tensor& g = grads[0];
    int64_t stride = ctx->saved_data["stride"].toInt();
    std::vector<int64_t> shape = ctx->saved_data["shape"].toIntVector();
    int64_t c = shape[1], h = shape[2], w = shape[3];
    int64_t hv = inside(h, stride), wv = inside(w, stride);
    at::Tensor gx = at::empty(shape, g.options().memory_format(g.suggest_memory_format()));
    at::Tensor g_shifted = g.narrow(1, c, c).narrow(2, 0, hv).narrow(3, 0, wv);
    if (stride == 2 && h % 2 == 0 && w % 2 == 0) {
      // The two paths take the (even, even) and (odd, odd) pixels: zero only the others.
      gx.slice(2, 0, h, 2).slice(3, 1, w, 2).zero_();
      gx.slice(2, 1, h, 2).slice(3, 0, w, 2).zero_();
      gx.slice(2, 0, h, 2).slice(3, 0, w, 2).copy_(g.narrow(1, 0, c));
      gx.slice(2, 1, h, 2).slice(3, 1, w, 2).copy_(g_shifted);
    } else {
      gx.zero_();
      gx.slice(2, 0, h, stride).slice(3, 0, w, stride).copy_(g.narrow(1, 0, c));
      gx.slice(2, 1, h, stride).slice(3, 1, w, stride).add_(g_shifted);
    }
    return {gx, at::Tensor()};
  }
};

void require_dim(const at::Tensor& t, int64_t dim, const char* name, const char* layout) {
  if (t.dim() != dim) {
    throw sn::InvalidArgument(std::string(name) + " must be " + std::to_string(dim) + "-d " + layout +
                              ", got shape " + c10::str(t.sizes()));
  }
}
}  // namespace

at::Tensor sn::shortcut_samples(const at::Tensor& x, int64_t stride) { return ShortcutSamples::apply(x, stride); }

extern "C" {

int32_t sn_conv2d(const sn_tensor* input, const sn_tensor* weight, const sn_tensor* bias,
                  int64_t stride_h, int64_t stride_w, int64_t pad_h, int64_t pad_w, int64_t groups,
                  sn_tensor** out) {
  SN_GUARD({
    sn::out_arg(out, "out");
    const at::Tensor& x = sn::ref(input, "input");
    const at::Tensor& w = sn::ref(weight, "weight");
    require_dim(x, 4, "input", "(N,C,H,W)");
    require_dim(w, 4, "weight", "(out_channels,in_channels/groups,kH,kW)");
    int64_t stride[2] = {stride_h, stride_w};
    int64_t padding[2] = {pad_h, pad_w};
    int64_t dilation[2] = {1, 1};
    sn::give(at::conv2d(x, w, sn::optional_ref(bias), stride, padding, dilation, groups), out);
  });
}

int32_t sn_batch_norm(const sn_tensor* input, const sn_tensor* weight, const sn_tensor* bias,
                      sn_tensor* running_mean, sn_tensor* running_var, int32_t training, double momentum,
                      double eps, sn_tensor** out) {
  SN_GUARD({
    sn::out_arg(out, "out");
    const at::Tensor& x = sn::ref(input, "input");
    if (x.dim() < 2) throw sn::InvalidArgument("input must be (N,C,...), got shape " + c10::str(x.sizes()));
    if (!training && (running_mean == nullptr || running_var == nullptr)) {
      throw sn::InvalidArgument("evaluation mode needs running_mean and running_var");
    }
    sn::give(at::batch_norm(x, sn::optional_ref(weight), sn::optional_ref(bias), sn::optional_ref(running_mean),
                            sn::optional_ref(running_var), training != 0, momentum, eps, /*cudnn_enabled=*/true),
             out);
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

int32_t sn_shortcut_samples(const sn_tensor* input, int64_t stride, sn_tensor** out) {
  SN_GUARD({
    sn::out_arg(out, "out");
    const at::Tensor& x = sn::ref(input, "input");
    require_dim(x, 4, "input", "(N,C,H,W)");
    if (stride < 1) throw sn::InvalidArgument("stride must be at least 1, got " + std::to_string(stride));
    sn::give(sn::shortcut_samples(x, stride), out);
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
