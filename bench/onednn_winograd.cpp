// oneDNN alone, no libtorch: one 3x3 convolution (batch 128, padding 1) per stage shape of
// Shake-Shake 2x32d, forward, input gradient and weight gradient, in float32 with the direct
// algorithm and with Winograd F(4x4,3x3), and in bfloat16 (direct; weight gradients in float32),
// each in the layout oneDNN prefers. Prints JSON: best-of-5 milliseconds per pass. Built and run
// by bench/onednn_winograd.sh.
#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>

using namespace dnnl;
using tag = memory::format_tag;

namespace {

double seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Best of 5 runs after 2 warm-ups, in milliseconds.
template <typename F>
double best_ms(stream& s, F run) {
  for (int i = 0; i < 2; i++) run();
  s.wait();
  double best = 1e9;
  for (int i = 0; i < 5; i++) {
    double start = seconds();
    run();
    s.wait();
    best = std::min(best, seconds() - start);
  }
  return best * 1e3;
}

// Values in [-0.5, 0.5); bfloat16 elements are the upper halves of the float32 ones.
memory filled(const memory::desc& d, engine& eng) {
  memory m(d, eng);
  bool bf16 = d.data.data_type == dnnl_bf16;  // oneDNN 2.x
  size_t count = d.get_size() / (bf16 ? 2 : 4);
  for (size_t i = 0; i < count; i++) {
    float v = static_cast<float>((i * 2654435761u) % 1000) / 1000.f - 0.5f;
    if (bf16) {
      uint32_t bits;
      std::memcpy(&bits, &v, 4);
      static_cast<uint16_t*>(m.get_data_handle())[i] = static_cast<uint16_t>(bits >> 16);
    } else {
      static_cast<float*>(m.get_data_handle())[i] = v;
    }
  }
  return m;
}

void measure(engine& eng, stream& s, int n, int c, int h, algorithm algo, memory::data_type type, bool first) {
  memory::dims src = {n, c, h, h}, weights = {c, c, 3, 3}, st = {1, 1}, pad = {1, 1};
  memory::desc sd(src, type, tag::any), wd(weights, type, tag::any);
  // Weight gradients in float32, as autocast keeps the parameters.
  memory::desc dwd(weights, memory::data_type::f32, tag::any);
  convolution_forward::primitive_desc fwd({prop_kind::forward_training, algo, sd, wd, sd, st, pad, pad}, eng);
  convolution_backward_data::primitive_desc data({algo, sd, wd, sd, st, pad, pad}, eng, fwd);
  convolution_backward_weights::primitive_desc wgt({algo, sd, dwd, sd, st, pad, pad}, eng, fwd);
  memory x = filled(fwd.src_desc(), eng), w = filled(fwd.weights_desc(), eng), y = filled(fwd.dst_desc(), eng);
  memory dy = filled(data.diff_dst_desc(), eng), dx = filled(data.diff_src_desc(), eng), wd2 = filled(data.weights_desc(), eng);
  memory xw = filled(wgt.src_desc(), eng), dyw = filled(wgt.diff_dst_desc(), eng), dw = filled(wgt.diff_weights_desc(), eng);
  convolution_forward f(fwd);
  convolution_backward_data bd(data);
  convolution_backward_weights bw(wgt);
  double tf = best_ms(s, [&] { f.execute(s, {{DNNL_ARG_SRC, x}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DST, y}}); });
  double td = best_ms(s, [&] { bd.execute(s, {{DNNL_ARG_DIFF_DST, dy}, {DNNL_ARG_WEIGHTS, wd2}, {DNNL_ARG_DIFF_SRC, dx}}); });
  double tw = best_ms(s, [&] { bw.execute(s, {{DNNL_ARG_DIFF_DST, dyw}, {DNNL_ARG_SRC, xw}, {DNNL_ARG_DIFF_WEIGHTS, dw}}); });
  std::printf("%s    {\"channels\": %d, \"size\": %d, \"batch\": %d, \"dtype\": \"%s\", \"algorithm\": \"%s\", \"kernel\": \"%s\", "
              "\"forward_ms\": %.2f, \"input_gradient_ms\": %.2f, \"weight_gradient_ms\": %.2f, \"total_ms\": %.2f}",
              first ? "" : ",\n", c, h, n, type == memory::data_type::bf16 ? "bf16" : "fp32",
              algo == algorithm::convolution_winograd ? "winograd" : "direct",
              fwd.impl_info_str(), tf, td, tw, tf + td + tw);
}

}  // namespace

int main() {
  engine eng(engine::kind::cpu, 0);
  stream s(eng);
  const dnnl_version_t* v = dnnl_version();
  std::printf("{\n  \"onednn\": \"%d.%d.%d\",\n  \"convolutions\": [\n", v->major, v->minor, v->patch);
  int shapes[3][2] = {{32, 32}, {64, 16}, {128, 8}};
  bool first = true;
  for (auto& shape : shapes) {
    for (algorithm algo : {algorithm::convolution_direct, algorithm::convolution_winograd}) {
      measure(eng, s, 128, shape[0], shape[1], algo, memory::data_type::f32, first);
      first = false;
    }
    // bf16 has no Winograd in oneDNN: direct only.
    measure(eng, s, 128, shape[0], shape[1], algorithm::convolution_direct, memory::data_type::bf16, false);
  }
  std::printf("\n  ]\n}\n");
}
