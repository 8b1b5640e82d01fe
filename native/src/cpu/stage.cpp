// The CPU-kernels engine's coarse call: the training forward of one stage of shake blocks, the
// same arithmetic as the reference ops (shakenet.h) arranged for the CPU:
//  - both branches' conv1 as one convolution with twice the filters, their bn1 (+ReLU) as one
//    batch-norm pass handing each branch its half (fewer, wider ops);
//  - 3x3 stride-1 float32 convolutions with oneDNN's Winograd kernels, activations kept in
//    oneDNN's blocked layout from one convolution to the next and between the stage's blocks;
//  - each block's end (both bn2s, the shake combination, the shortcut's add and the next ReLU)
//    as one pass each way;
//  - the projection shortcut's two 1x1 convolutions as one, with a block-diagonal weight.
// The blocked layout never leaves this file's callees: the stage's output is channels_last.
// Backward runs through the autograd functions of those ops.
#include <ATen/ATen.h>

#include <string>
#include <vector>

#include "block_end.hpp"
#include "blocked_layout.hpp"
#include "nn_ops.hpp"
#include "normalize.hpp"
#include "shim.hpp"
#include "winograd_conv.hpp"

namespace {

// One branch's tensors, in sn_cpu_shake_stage's order.
struct Branch {
  at::Tensor conv1;
  sn::BatchNormTensors bn1;
  at::Tensor conv2;
  sn::BatchNormTensors bn2;
};

struct Block {
  Branch branch[2];
  bool projection = false;
  at::Tensor shortcut_conv1, shortcut_conv2;
  sn::BatchNormTensors shortcut_bn;
  at::Tensor alpha, beta;
};

// Reads block `index`'s SN_CPU_BLOCK_TENSORS handles.
Block read_block(sn_tensor* const* tensors, int32_t index) {
  sn_tensor* const* h = tensors + static_cast<int64_t>(index) * SN_CPU_BLOCK_TENSORS;
  auto name = [&](int slot) { return "tensors[" + std::to_string(index * SN_CPU_BLOCK_TENSORS + slot) + "]"; };
  auto get = [&](int slot) { return sn::mut(h[slot], name(slot).c_str()); };
  auto norm = [&](int slot) { return sn::BatchNormTensors{get(slot), get(slot + 1), get(slot + 2), get(slot + 3)}; };
  Block block;
  for (int b = 0; b < 2; b++) {
    int base = 10 * b;
    block.branch[b] = Branch{get(base), norm(base + 1), get(base + 5), norm(base + 6)};
  }
  block.projection = h[20] != nullptr;
  if (block.projection) {
    block.shortcut_conv1 = get(20);
    block.shortcut_conv2 = get(21);
    block.shortcut_bn = norm(22);
  } else {
    for (int slot = 21; slot < 26; slot++) {
      if (h[slot] != nullptr) throw sn::InvalidArgument(name(slot) + " must be NULL with an identity shortcut (tensors[" +
                                                        std::to_string(index * SN_CPU_BLOCK_TENSORS + 20) + "] is NULL)");
    }
  }
  block.alpha = get(26);
  block.beta = get(27);
  return block;
}

// The shake coefficients must be one per image of the batch, or one in all.
void check_coefficients(const Block& block, int64_t images, int32_t index) {
  for (const at::Tensor* c : {&block.alpha, &block.beta}) {
    if (c->numel() != 1 && c->numel() != images) {
      throw sn::InvalidArgument("block " + std::to_string(index) + "'s shake coefficients must number 1 or " +
                                std::to_string(images) + " (one per image), got shape " + c10::str(c->sizes()));
    }
  }
}

// conv2d without bias: Winograd where it applies (reading and, with `blocked`, writing the
// blocked layout), else libtorch's direct algorithm on the ordinary layout.
at::Tensor conv(const at::Tensor& x, const at::Tensor& w, int64_t stride, int64_t padding, bool blocked) {
  const int64_t strides[2] = {stride, stride};
  const int64_t paddings[2] = {padding, padding};
  at::Tensor y;
  if (sn::winograd_conv2d(x, w, false, strides, paddings, 1, blocked, y)) return y;
  return at::conv2d(sn::blocked::to_standard(x), w, {}, stride, padding);
}

// bn(concat(conv1(samples of h), conv2(shifted samples of h))), both 1x1 convolutions as one
// with the block-diagonal weight [[conv1, 0], [0, conv2]].
at::Tensor projection(const Block& block, const at::Tensor& h, int64_t stride, double momentum, double eps) {
  const at::Tensor& w1 = block.shortcut_conv1;
  at::Tensor zero = at::zeros_like(w1);
  at::Tensor weight = at::cat({at::cat({w1, zero}, 1), at::cat({zero, block.shortcut_conv2}, 1)}, 0);
  at::Tensor both = at::conv2d(sn::shortcut_samples(h, stride), weight);
  const sn::BatchNormTensors& bn = block.shortcut_bn;
  return sn::normalize(both, bn.weight, bn.bias, bn.running_mean, bn.running_var, true, false, momentum, eps, false,
                       false)[0];
}

// One block: {out, relu(out)}, blocked where `blocked_out` allows (a next block in this stage).
std::vector<at::Tensor> block_forward(const Block& block, const at::Tensor& x, const at::Tensor& h, int64_t stride,
                                      double momentum, double eps, bool blocked_out) {
  const Branch &first = block.branch[0], &second = block.branch[1];
  at::Tensor c1 = conv(h, at::cat({first.conv1, second.conv1}), stride, 1, true);
  std::vector<at::Tensor> h1 = sn::batch_norm_relu_pair(c1, first.bn1, second.bn1, momentum, eps, true);
  c1.reset();
  at::Tensor a = conv(h1[0], first.conv2, 1, 1, true);
  at::Tensor b = conv(h1[1], second.conv2, 1, 1, true);
  h1.clear();
  at::Tensor residual = block.projection ? projection(block, h, stride, momentum, eps) : x;
  return sn::shake_batch_norm_add_relu(a, b, residual, first.bn2, second.bn2, momentum, eps, block.alpha, block.beta,
                                       blocked_out);
}

// The engine's calls take CPU activations (N,C,H,W).
void require_cpu_activation(const at::Tensor& x) {
  if (x.dim() != 4 || !x.device().is_cpu()) {
    throw sn::InvalidArgument("input must be a CPU tensor (N,C,H,W), got shape " + c10::str(x.sizes()) + " on " +
                              x.device().str());
  }
}

void check_kernels_loaded() {
  if (!sn::onednn_matches()) {
    throw sn::InvalidArgument(
        "the CPU kernels need the oneDNN this library was built against, but another is loaded beside libtorch; "
        "rebuild native/ (bin/setup), or use engine \"reference\"");
  }
}

}  // namespace

extern "C" {

int32_t sn_cpu_kernels_available(int32_t* out) {
  SN_GUARD({ *sn::out_arg(out, "out") = sn::onednn_matches() ? 1 : 0; });
}

int32_t sn_cpu_batch_norm(const sn_tensor* input, const sn_tensor* weight, const sn_tensor* bias, sn_tensor* running_mean,
                          sn_tensor* running_var, double momentum, double eps, sn_tensor** out) {
  SN_GUARD({
    sn::out_arg(out, "out");
    const at::Tensor& x = sn::ref(input, "input");
    require_cpu_activation(x);
    sn::give(sn::normalize(x, sn::ref(weight, "weight"), sn::ref(bias, "bias"), sn::mut(running_mean, "running_mean"),
                           sn::mut(running_var, "running_var"), true, false, momentum, eps, false, false)[0],
             out);
  });
}

int32_t sn_cpu_shake_stage(const sn_tensor* input, const sn_tensor* input_relu, int32_t blocks, int64_t stride,
                           sn_tensor* const* tensors, double momentum, double eps, sn_tensor** out,
                           sn_tensor** out_relu) {
  SN_GUARD({
    sn::out_arg(out, "out");
    sn::out_arg(out_relu, "out_relu");
    check_kernels_loaded();
    at::Tensor x = sn::ref(input, "input");
    require_cpu_activation(x);
    if (blocks < 1) throw sn::InvalidArgument("blocks must be at least 1, got " + std::to_string(blocks));
    if (stride < 1) throw sn::InvalidArgument("stride must be at least 1, got " + std::to_string(stride));
    sn::out_arg(tensors, "tensors");
    at::Tensor h = input_relu != nullptr ? sn::ref(input_relu, "input_relu") : at::relu(x);
    for (int32_t i = 0; i < blocks; i++) {
      Block block = read_block(tensors, i);
      int64_t s = i == 0 ? stride : 1;
      if (!block.projection && (s != 1 || block.branch[0].conv2.size(0) != sn::blocked::nchw(x)[1])) {
        throw sn::InvalidArgument("block " + std::to_string(i) + " changes width or stride, so it needs a projection "
                                  "shortcut, but its shortcut tensors are NULL");
      }
      check_coefficients(block, x.size(0), i);
      std::vector<at::Tensor> y = block_forward(block, x, h, s, momentum, eps, i + 1 < blocks);
      x = y[0];
      h = y[1];
    }
    sn::give(x, out);
    sn::give(h, out_relu);
  });
}

}  // extern "C"
