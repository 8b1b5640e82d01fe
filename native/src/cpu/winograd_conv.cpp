// Winograd convolutions for float32 on the CPU, through oneDNN's F(4x4, 3x3) kernels.
//
// Why: libtorch runs every CPU convolution with oneDNN's direct algorithm. For the 3x3,
// stride-1 convolutions that make up most of a Shake-Shake step, Winograd F(4x4, 3x3) needs a
// quarter of the multiplications, and oneDNN's kernels for it (forward, backward data, backward
// weights) ran 1.7-2.1x faster than the direct ones on this machine for the network's three
// stage shapes. They want oneDNN's blocked layout (nChw16c): a tensor already in it (a blocked
// tensor, blocked_layout.hpp, which the caller may also ask for as the result) is read and
// written where it lies; any other is reordered from and back to its own layout, a chunk of
// images at a time. In a 2x32d training step the branches keep their activations blocked
// between convolutions and batch norms, so few reorders remain. Only built where oneDNN's
// headers are found (libdnnl-dev: the same libdnnl that Debian's libtorch links), and only by the
// CPU-kernels engine. Winograd rounds differently from the direct algorithm (errors around 1e-6
// of the result's scale in float32); the reference engine gives libtorch's results bit for bit.
#include <ATen/record_function.h>
#include <oneapi/dnnl/dnnl.hpp>
#include <torch/csrc/autograd/custom_function.h>

#include "blocked_layout.hpp"
#include "shim.hpp"
#include "winograd_conv.hpp"

#include <algorithm>
#include <cstring>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace {

using dnnl::memory;

// The header this file was compiled against must be the library loaded beside libtorch.
bool library_matches() {
  const dnnl_version_t* v = dnnl_version();
  return v->major == DNNL_VERSION_MAJOR && v->minor == DNNL_VERSION_MINOR;
}

dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

// One convolution shape: batch, input and output channels, height, width.
struct Shape {
  int64_t n, c, o, h, w;
  bool operator==(const Shape& b) const { return n == b.n && c == b.c && o == b.o && h == b.h && w == b.w; }
};

// oneDNN's three Winograd primitives for one shape, made once (making them takes longer than
// running them on small inputs).
struct Primitives {
  dnnl::convolution_forward::primitive_desc forward_pd;
  dnnl::convolution_backward_data::primitive_desc data_pd;
  dnnl::convolution_backward_weights::primitive_desc weights_pd;
  dnnl::convolution_forward forward;
  dnnl::convolution_backward_data data;
  dnnl::convolution_backward_weights weights;
};

std::mutex cache_mutex;
std::vector<std::pair<Shape, std::shared_ptr<Primitives>>> primitives_cache;  // null: no kernel
std::vector<std::pair<std::pair<memory::desc, memory::desc>, dnnl::reorder>> reorder_cache;

std::shared_ptr<Primitives> make_primitives(const Shape& s) {
  memory::dims src = {s.n, s.c, s.h, s.w}, weights = {s.o, s.c, 3, 3}, dst = {s.n, s.o, s.h, s.w};
  memory::dims stride = {1, 1}, pad = {1, 1};
  auto any = memory::format_tag::any;
  memory::desc src_md(src, memory::data_type::f32, any), weights_md(weights, memory::data_type::f32, any),
      dst_md(dst, memory::data_type::f32, any);
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);  // scratch comes from libtorch's allocator
  auto algo = dnnl::algorithm::convolution_winograd;
  try {
    dnnl::convolution_forward::primitive_desc fwd(
        {dnnl::prop_kind::forward_training, algo, src_md, weights_md, dst_md, stride, pad, pad}, attr, cpu_engine());
    dnnl::convolution_backward_data::primitive_desc bwd_data(
        {algo, src_md, weights_md, dst_md, stride, pad, pad}, attr, cpu_engine(), fwd);
    dnnl::convolution_backward_weights::primitive_desc bwd_weights(
        {algo, src_md, weights_md, dst_md, stride, pad, pad}, attr, cpu_engine(), fwd);
    return std::make_shared<Primitives>(Primitives{fwd, bwd_data, bwd_weights, dnnl::convolution_forward(fwd),
                                                   dnnl::convolution_backward_data(bwd_data),
                                                   dnnl::convolution_backward_weights(bwd_weights)});
  } catch (const dnnl::error&) {
    return nullptr;  // no Winograd kernel for this shape or this CPU
  }
}

std::shared_ptr<Primitives> primitives_for(const Shape& s) {
  std::lock_guard<std::mutex> lock(cache_mutex);
  for (auto& [shape, p] : primitives_cache) {
    if (shape == s) return p;
  }
  primitives_cache.emplace_back(s, make_primitives(s));
  return primitives_cache.back().second;
}

dnnl::reorder reorder_for(const memory::desc& from, const memory::desc& to) {
  std::lock_guard<std::mutex> lock(cache_mutex);
  for (auto& [descs, r] : reorder_cache) {
    if (descs.first == from && descs.second == to) return r;
  }
  dnnl::reorder r(dnnl::reorder::primitive_desc(cpu_engine(), from, cpu_engine(), to));
  reorder_cache.push_back({{from, to}, r});
  return r;
}

// A dense tensor's layout as oneDNN sees it: nChw16c for a blocked one, else its sizes and strides.
memory::desc layout_of(const at::Tensor& t) {
  if (sn::blocked::is_blocked(t)) {
    auto s = sn::blocked::nchw(t);
    return memory::desc({s[0], s[1], s[2], s[3]}, memory::data_type::f32, memory::format_tag::nChw16c);
  }
  return memory::desc(memory::dims(t.sizes().begin(), t.sizes().end()), memory::data_type::f32,
                      memory::dims(t.strides().begin(), t.strides().end()));
}

// t itself if layout_of can describe it, else a dense copy.
at::Tensor dense(const at::Tensor& t) {
  if (sn::blocked::is_blocked(t)) return t.contiguous();
  return t.is_non_overlapping_and_dense() ? t : t.contiguous(t.suggest_memory_format());
}

// A new (N,C,H,W) result: blocked when asked, else in the memory format of `like`.
at::Tensor empty_result(const std::array<int64_t, 4>& s, const at::Tensor& like, bool blocked) {
  if (blocked) return sn::blocked::empty(s[0], s[1], s[2], s[3]);
  return at::empty({s[0], s[1], s[2], s[3]}, at::TensorOptions(at::kFloat).memory_format(like.suggest_memory_format()));
}

// Images per oneDNN call: about 4 MB of input or output, whichever is larger. A chunk's blocked
// copies are still in cache when the kernel reads them (and its result when it is reordered
// back), and the buffers kept between calls stay small (about 37 MB in all for Shake-Shake-26
// 2x32d). Measured on a 2x32d training step: 4 MB chunks ran as fast as 8 or 16 MB ones with
// 20-70 MB less peak memory; 2 MB chunks were 8% slower.
constexpr int64_t kChunkBytes = 4 << 20;

int64_t chunk_images(const at::Tensor& x, const at::Tensor& w) {
  auto s = sn::blocked::nchw(x);
  int64_t per_image = std::max(s[1], w.size(0)) * s[2] * s[3] * static_cast<int64_t>(sizeof(float));
  return std::max<int64_t>(1, std::min<int64_t>(s[0], kChunkBytes / per_image));
}

Shape chunk_shape(const at::Tensor& x, const at::Tensor& w, int64_t images) {
  auto s = sn::blocked::nchw(x);
  return {images, s[1], w.size(0), s[2], s[3]};
}

// The primitives for every chunk of the batch (the last one may be smaller), or false if oneDNN
// has no Winograd kernel for one of them.
bool have_primitives(const at::Tensor& x, const at::Tensor& w) {
  int64_t chunk = chunk_images(x, w), rest = x.size(0) % chunk;
  return primitives_for(chunk_shape(x, w, chunk)) && (rest == 0 || primitives_for(chunk_shape(x, w, rest)));
}

// The oneDNN-layout buffers a convolution needs, kept per thread from call to call (fresh ones
// would cost page faults every time); each grows to the largest chunk it has served.
enum Slot { kSrc, kWeights, kDst, kDiffDst, kDiffDstForWeights, kDiffWeights, kScratch, kSlots };

memory slot(Slot which, const memory::desc& desc) {
  static thread_local at::Tensor slots[kSlots];
  at::Tensor& t = slots[which];
  int64_t bytes = static_cast<int64_t>(desc.get_size());
  if (!t.defined() || t.numel() < bytes) {
    t = at::Tensor();  // free the old one first
    t = at::empty({bytes}, at::kByte);
  }
  return memory(desc, cpu_engine(), t.data_ptr());
}

dnnl::stream& cpu_stream() {
  static thread_local dnnl::stream stream(cpu_engine());
  return stream;
}

// `tensor` in oneDNN layout `want`: its own memory if it already has it, else a copy in slot
// `which`. A view that is not dense is made dense first; that temporary is never handed out.
memory in_layout(const at::Tensor& tensor, const memory::desc& want, Slot which) {
  at::Tensor t = dense(tensor);
  memory own(layout_of(t), cpu_engine(), t.data_ptr());
  if (own.get_desc() == want && t.is_same(tensor)) return own;
  RECORD_FUNCTION("shakenet::winograd_reorder_in", c10::ArrayRef<const c10::IValue>{});
  memory copy = slot(which, want);
  reorder_for(own.get_desc(), want).execute(cpu_stream(), own, copy);
  return copy;
}

// The weights in layout `want`, reordered once per call: `cached` keeps them for later chunks.
const memory& weights_in(memory& cached, const at::Tensor& w, const memory::desc& want) {
  if (!cached || cached.get_desc() != want) cached = in_layout(w, want, kWeights);
  return cached;
}

// Where a primitive writes its result in layout `want` for the dense tensor (or chunk) `t`:
// t's own memory if it has that layout, else slot `which` (then `store` copies it over).
memory out_layout(const at::Tensor& t, const memory::desc& want, Slot which) {
  if (layout_of(t) == want) return memory(want, cpu_engine(), t.data_ptr());
  return slot(which, want);
}

// Writes `result` into the dense tensor (or chunk) `t`, unless it is already there.
void store(memory result, const at::Tensor& t) {
  if (result.get_data_handle() == t.data_ptr()) return;
  RECORD_FUNCTION("shakenet::winograd_reorder_out", c10::ArrayRef<const c10::IValue>{});
  memory target(layout_of(t), cpu_engine(), t.data_ptr());
  if (result.get_desc() == target.get_desc()) {
    std::memcpy(t.data_ptr(), result.get_data_handle(), result.get_desc().get_size());
  } else {
    reorder_for(result.get_desc(), target.get_desc()).execute(cpu_stream(), result, target);
  }
}

// Runs one primitive with the scratchpad it asks for; oneDNN's CPU primitives return when done.
template <typename Primitive, typename Pd>
void run(const char* name, const Primitive& primitive, const Pd& pd, std::unordered_map<int, memory> args) {
  RECORD_FUNCTION(name, c10::ArrayRef<const c10::IValue>{});  // named in profiles
  args.insert({DNNL_ARG_SCRATCHPAD, slot(kScratch, pd.scratchpad_desc())});
  primitive.execute(cpu_stream(), args);
  cpu_stream().wait();
}

// Calls `body(first image, images, primitives)` for each chunk of x's batch.
template <typename Body>
void for_each_chunk(const at::Tensor& x, const at::Tensor& w, Body&& body) {
  int64_t n = sn::blocked::nchw(x)[0], chunk = chunk_images(x, w);
  for (int64_t first = 0; first < n; first += chunk) {
    int64_t images = std::min(chunk, n - first);
    body(first, images, *primitives_for(chunk_shape(x, w, images)));
  }
}

at::Tensor run_forward(const at::Tensor& x, const at::Tensor& w, bool blocked_out) {
  auto s = sn::blocked::nchw(x);
  at::Tensor y = empty_result({s[0], w.size(0), s[2], s[3]}, x, blocked_out);
  memory weights;
  for_each_chunk(x, w, [&](int64_t first, int64_t images, const Primitives& p) {
    memory src = in_layout(x.narrow(0, first, images), p.forward_pd.src_desc(), kSrc);
    memory dst = out_layout(y.narrow(0, first, images), p.forward_pd.dst_desc(), kDst);
    run("shakenet::winograd_forward", p.forward, p.forward_pd,
        {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights_in(weights, w, p.forward_pd.weights_desc())}, {DNNL_ARG_DST, dst}});
    store(dst, y.narrow(0, first, images));
  });
  return y;
}

// Input and weight gradients chunk by chunk; the weight gradient sums the chunks' ones.
std::pair<at::Tensor, at::Tensor> run_backward(const at::Tensor& g, const at::Tensor& x, const at::Tensor& w,
                                               bool want_input, bool want_weight) {
  at::Tensor grad_x, grad_w, chunk_grad_w;
  if (want_input) grad_x = empty_result(sn::blocked::nchw(x), x, sn::blocked::is_blocked(x));
  if (want_weight) {
    grad_w = at::empty(w.sizes(), at::TensorOptions(at::kFloat).memory_format(w.suggest_memory_format()));
    if (sn::blocked::nchw(x)[0] > chunk_images(x, w)) chunk_grad_w = at::empty_like(grad_w);
  }
  memory weights;
  for_each_chunk(x, w, [&](int64_t first, int64_t images, const Primitives& p) {
    at::Tensor g_chunk = g.narrow(0, first, images);
    memory diff_dst = in_layout(g_chunk, p.data_pd.diff_dst_desc(), kDiffDst);
    if (want_input) {
      memory diff_src = out_layout(grad_x.narrow(0, first, images), p.data_pd.diff_src_desc(), kDst);
      run("shakenet::winograd_backward_data", p.data, p.data_pd,
          {{DNNL_ARG_DIFF_DST, diff_dst}, {DNNL_ARG_WEIGHTS, weights_in(weights, w, p.data_pd.weights_desc())},
           {DNNL_ARG_DIFF_SRC, diff_src}});
      store(diff_src, grad_x.narrow(0, first, images));
    }
    if (want_weight) {
      memory dst_for_weights = diff_dst.get_desc() == p.weights_pd.diff_dst_desc()
                                   ? diff_dst
                                   : in_layout(g_chunk, p.weights_pd.diff_dst_desc(), kDiffDstForWeights);
      memory src = in_layout(x.narrow(0, first, images), p.weights_pd.src_desc(), kSrc);
      memory diff_weights = slot(kDiffWeights, p.weights_pd.diff_weights_desc());
      run("shakenet::winograd_backward_weights", p.weights, p.weights_pd,
          {{DNNL_ARG_DIFF_DST, dst_for_weights}, {DNNL_ARG_SRC, src}, {DNNL_ARG_DIFF_WEIGHTS, diff_weights}});
      if (first == 0) {
        store(diff_weights, grad_w);
      } else {
        store(diff_weights, chunk_grad_w);
        grad_w.add_(chunk_grad_w);
      }
    }
  });
  return {grad_x, grad_w};
}

// Autograd node: saves the input and weight, and runs oneDNN's Winograd backward kernels.
struct WinogradConv : public torch::autograd::Function<WinogradConv> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, const at::Tensor& w,
                            bool blocked_out) {
    ctx->save_for_backward({x, w});
    return run_forward(x, w, blocked_out);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const at::Tensor& g = grads[0];
    if (!g.defined()) return {at::Tensor(), at::Tensor(), at::Tensor()};
    auto [grad_x, grad_w] = run_backward(g, saved[0], saved[1], ctx->needs_input_grad(0), ctx->needs_input_grad(1));
    return {grad_x, grad_w, at::Tensor()};
  }
};

bool is_float32_cpu(const at::Tensor& t) {
  return t.defined() && t.layout() == at::kStrided && t.device().is_cpu() && t.scalar_type() == at::kFloat &&
         (t.dim() == 4 || sn::blocked::is_blocked(t));
}

}  // namespace

bool sn::winograd_conv2d(const at::Tensor& x, const at::Tensor& w, bool has_bias, const int64_t stride[2],
                         const int64_t padding[2], int64_t groups, bool blocked_out, at::Tensor& out) {
  if (has_bias || groups != 1) return false;
  if (!is_float32_cpu(x) || !is_float32_cpu(w) || w.dim() != 4 || sn::autocast_enabled(at::kCPU)) return false;
  if (stride[0] != 1 || stride[1] != 1 || padding[0] != 1 || padding[1] != 1) return false;
  const int64_t channels = sn::blocked::nchw(x)[1];
  if (w.size(2) != 3 || w.size(3) != 3 || w.size(1) != channels || x.numel() == 0) return false;
  if (channels % 16 != 0 || w.size(0) % 16 != 0) return false;  // oneDNN's kernels work in blocks of 16 channels
  if (!have_primitives(x, w)) return false;
  out = WinogradConv::apply(x, w, blocked_out);
  return true;
}

bool sn::onednn_matches() { return library_matches(); }
