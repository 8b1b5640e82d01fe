// Element-wise arithmetic, reductions and concatenation.
#include <cmath>

#include "shim.hpp"

namespace {
// A whole-number scalar stays an integer for integer tensors (counters such as BatchNorm's
// num_batches_tracked), so in-place arithmetic keeps their dtype.
at::Scalar scalar_for(const at::Tensor& t, double value) {
  if (at::isIntegralType(t.scalar_type(), /*includeBool=*/false) && std::floor(value) == value) {
    return at::Scalar(static_cast<int64_t>(value));
  }
  return at::Scalar(value);
}
}  // namespace

extern "C" {

int32_t sn_add(const sn_tensor* a, const sn_tensor* b, sn_tensor** out) {
  SN_GUARD({
    sn::out_arg(out, "out");
    sn::give(at::add(sn::ref(a, "a"), sn::ref(b, "b")), out);
  });
}

int32_t sn_sub(const sn_tensor* a, const sn_tensor* b, sn_tensor** out) {
  SN_GUARD({
    sn::out_arg(out, "out");
    sn::give(at::sub(sn::ref(a, "a"), sn::ref(b, "b")), out);
  });
}

int32_t sn_mul(const sn_tensor* a, const sn_tensor* b, sn_tensor** out) {
  SN_GUARD({
    sn::out_arg(out, "out");
    sn::give(at::mul(sn::ref(a, "a"), sn::ref(b, "b")), out);
  });
}

int32_t sn_add_(sn_tensor* a, const sn_tensor* b) {
  SN_GUARD({ sn::mut(a, "a").add_(sn::ref(b, "b")); });
}

int32_t sn_add_scalar(const sn_tensor* a, double value, sn_tensor** out) {
  SN_GUARD({
    sn::out_arg(out, "out");
    const at::Tensor& t = sn::ref(a, "a");
    sn::give(at::add(t, scalar_for(t, value)), out);
  });
}

int32_t sn_mul_scalar(const sn_tensor* a, double value, sn_tensor** out) {
  SN_GUARD({
    sn::out_arg(out, "out");
    const at::Tensor& t = sn::ref(a, "a");
    sn::give(at::mul(t, scalar_for(t, value)), out);
  });
}

int32_t sn_add_scalar_(sn_tensor* a, double value) {
  SN_GUARD({
    at::Tensor& t = sn::mut(a, "a");
    t.add_(scalar_for(t, value));
  });
}

int32_t sn_sum(const sn_tensor* tensor, sn_tensor** out) {
  SN_GUARD({
    sn::out_arg(out, "out");
    sn::give(sn::ref(tensor, "tensor").sum(), out);
  });
}

int32_t sn_mean(const sn_tensor* tensor, sn_tensor** out) {
  SN_GUARD({
    sn::out_arg(out, "out");
    sn::give(sn::ref(tensor, "tensor").mean(), out);
  });
}

int32_t sn_cat(const sn_tensor* const* tensors, int32_t count, int64_t dim, sn_tensor** out) {
  SN_GUARD({
    sn::out_arg(out, "out");
    if (count < 1) throw sn::InvalidArgument("cat needs at least one tensor, got " + std::to_string(count));
    sn::out_arg(tensors, "tensors");
    std::vector<at::Tensor> parts;
    parts.reserve(static_cast<size_t>(count));
    for (int32_t i = 0; i < count; ++i) {
      std::string name = "tensors[" + std::to_string(i) + "]";
      parts.push_back(sn::ref(tensors[i], name.c_str()));
    }
    sn::give(at::cat(parts, dim), out);
  });
}

}  // extern "C"
