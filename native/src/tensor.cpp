// Tensor handles: creation from host data and constants, random tensors, transfer between
// devices / dtypes / memory formats, and shape, dtype and device queries.
#include <cstring>

#include "shim.hpp"

namespace {

at::TensorOptions options(int32_t dtype, int32_t device_type, int32_t device_index) {
  return at::TensorOptions().dtype(sn::scalar_type(dtype)).device(sn::device(device_type, device_index));
}

// Random draws in reduced precision lose most of the distribution's resolution, so they are
// made in float32 and rounded once.
at::ScalarType draw_type(at::ScalarType target) {
  return (target == at::kHalf || target == at::kBFloat16) ? at::kFloat : target;
}

void check_nbytes(const at::Tensor& tensor, int64_t nbytes) {
  int64_t expected = tensor.numel() * static_cast<int64_t>(tensor.element_size());
  if (nbytes != expected) {
    throw sn::InvalidArgument("buffer has " + std::to_string(nbytes) + " bytes but the tensor of shape " +
                              c10::str(tensor.sizes()) + " and dtype " +
                              c10::toString(tensor.scalar_type()) + " needs " +
                              std::to_string(expected));
  }
}

}  // namespace

extern "C" {

int32_t sn_tensor_free(sn_tensor* tensor) {
  SN_GUARD({ delete tensor; });
}

int32_t sn_tensor_from_data(const void* data, int64_t nbytes, int32_t dtype, const int64_t* shape,
                            int32_t ndim, sn_tensor** out) {
  SN_GUARD({
    sn::out_arg(out, "out");
    at::Tensor tensor = at::empty(sn::shape(shape, ndim), at::TensorOptions().dtype(sn::scalar_type(dtype)));
    check_nbytes(tensor, nbytes);
    if (nbytes > 0) {
      if (data == nullptr) throw sn::InvalidArgument("data pointer is NULL");
      std::memcpy(tensor.data_ptr(), data, static_cast<size_t>(nbytes));
    }
    sn::give(std::move(tensor), out);
  });
}

int32_t sn_tensor_copy_to_host(const sn_tensor* tensor, void* data, int64_t nbytes) {
  SN_GUARD({
    const at::Tensor& t = sn::ref(tensor, "tensor");
    check_nbytes(t, nbytes);
    if (nbytes == 0) return;
    if (data == nullptr) throw sn::InvalidArgument("data pointer is NULL");
    at::Tensor host = t.detach().to(at::kCPU).contiguous();
    std::memcpy(data, host.data_ptr(), static_cast<size_t>(nbytes));
  });
}

int32_t sn_zeros(const int64_t* shape, int32_t ndim, int32_t dtype, int32_t device_type,
                 int32_t device_index, sn_tensor** out) {
  SN_GUARD({
    sn::out_arg(out, "out");
    sn::give(at::zeros(sn::shape(shape, ndim), options(dtype, device_type, device_index)), out);
  });
}

int32_t sn_zeros_like(const sn_tensor* tensor, sn_tensor** out) {
  SN_GUARD({
    sn::out_arg(out, "out");
    sn::give(at::zeros_like(sn::ref(tensor, "tensor"), c10::MemoryFormat::Preserve), out);
  });
}

int32_t sn_ones(const int64_t* shape, int32_t ndim, int32_t dtype, int32_t device_type,
                int32_t device_index, sn_tensor** out) {
  SN_GUARD({
    sn::out_arg(out, "out");
    sn::give(at::ones(sn::shape(shape, ndim), options(dtype, device_type, device_index)), out);
  });
}

int32_t sn_full(const int64_t* shape, int32_t ndim, double value, int32_t dtype,
                int32_t device_type, int32_t device_index, sn_tensor** out) {
  SN_GUARD({
    sn::out_arg(out, "out");
    sn::give(at::full(sn::shape(shape, ndim), value, options(dtype, device_type, device_index)), out);
  });
}

int32_t sn_randn(const int64_t* shape, int32_t ndim, double mean, double std, int32_t dtype,
                 int32_t device_type, int32_t device_index, sn_generator* generator,
                 sn_tensor** out) {
  SN_GUARD({
    sn::out_arg(out, "out");
    if (!(std >= 0.0)) throw sn::InvalidArgument("std must be >= 0, got " + std::to_string(std));
    at::TensorOptions target = options(dtype, device_type, device_index);
    at::Tensor tensor = at::empty(sn::shape(shape, ndim), target.dtype(draw_type(target.dtype().toScalarType())));
    tensor.normal_(mean, std, sn::optional_generator(generator));
    sn::give(tensor.to(target.dtype()), out);
  });
}

int32_t sn_rand_uniform(const int64_t* shape, int32_t ndim, double low, double high,
                        int32_t dtype, int32_t device_type, int32_t device_index,
                        sn_generator* generator, sn_tensor** out) {
  SN_GUARD({
    sn::out_arg(out, "out");
    if (!(low <= high)) {
      throw sn::InvalidArgument("low (" + std::to_string(low) + ") must not exceed high (" +
                                std::to_string(high) + ")");
    }
    at::TensorOptions target = options(dtype, device_type, device_index);
    at::Tensor tensor = at::empty(sn::shape(shape, ndim), target.dtype(draw_type(target.dtype().toScalarType())));
    tensor.uniform_(low, high, sn::optional_generator(generator));
    sn::give(tensor.to(target.dtype()), out);
  });
}

int32_t sn_bernoulli(const int64_t* shape, int32_t ndim, double p, int32_t dtype, int32_t device_type,
                     int32_t device_index, sn_generator* generator, sn_tensor** out) {
  SN_GUARD({
    sn::out_arg(out, "out");
    if (!(p >= 0.0 && p <= 1.0)) throw sn::InvalidArgument("p must lie in [0, 1], got " + std::to_string(p));
    at::TensorOptions target = options(dtype, device_type, device_index);
    at::Tensor tensor = at::empty(sn::shape(shape, ndim), target.dtype(draw_type(target.dtype().toScalarType())));
    tensor.bernoulli_(p, sn::optional_generator(generator));
    sn::give(tensor.to(target.dtype()), out);
  });
}

int32_t sn_to(const sn_tensor* tensor, int32_t device_type, int32_t device_index, int32_t dtype,
              int32_t memory_format, int32_t non_blocking, sn_tensor** out) {
  SN_GUARD({
    sn::out_arg(out, "out");
    const at::Tensor& t = sn::ref(tensor, "tensor");
    at::Device target_device = device_type == SN_KEEP ? t.device() : sn::device(device_type, device_index);
    at::ScalarType target_type = dtype == SN_KEEP ? t.scalar_type() : sn::scalar_type(dtype);
    c10::MemoryFormat format = sn::memory_format(memory_format);
    if (format == c10::MemoryFormat::ChannelsLast && t.dim() != 4) {
      throw sn::InvalidArgument("channels_last needs a 4-d tensor, got shape " + c10::str(t.sizes()));
    }
    sn::give(t.to(target_device, target_type, non_blocking != 0, false, format), out);
  });
}

int32_t sn_copy_(sn_tensor* dst, const sn_tensor* src) {
  SN_GUARD({ sn::mut(dst, "dst").copy_(sn::ref(src, "src")); });
}

int32_t sn_clone(const sn_tensor* tensor, sn_tensor** out) {
  SN_GUARD({
    sn::out_arg(out, "out");
    sn::give(sn::ref(tensor, "tensor").clone(), out);
  });
}

int32_t sn_detach(const sn_tensor* tensor, sn_tensor** out) {
  SN_GUARD({
    sn::out_arg(out, "out");
    sn::give(sn::ref(tensor, "tensor").detach(), out);
  });
}

int32_t sn_reshape(const sn_tensor* tensor, const int64_t* shape, int32_t ndim, sn_tensor** out) {
  SN_GUARD({
    sn::out_arg(out, "out");
    // -1 is allowed here (inferred dimension), so the sizes are not checked for sign.
    if (ndim < 0 || (ndim > 0 && shape == nullptr)) throw sn::InvalidArgument("bad shape");
    sn::give(sn::ref(tensor, "tensor").reshape(at::IntArrayRef(shape, static_cast<size_t>(ndim))), out);
  });
}

int32_t sn_as_strided(const sn_tensor* tensor, const int64_t* sizes, const int64_t* strides, int32_t ndim, int64_t offset,
                      sn_tensor** out) {
  SN_GUARD({
    sn::out_arg(out, "out");
    std::vector<int64_t> size = sn::shape(sizes, ndim), stride = sn::shape(strides, ndim);
    if (offset < 0) throw sn::InvalidArgument("offset is negative");
    const at::Tensor& t = sn::ref(tensor, "tensor");
    int64_t last = offset;  // the furthest element the view reaches must lie inside the storage
    for (int32_t i = 0; i < ndim; ++i) if (size[i] > 0) last += (size[i] - 1) * stride[i];
    int64_t available = static_cast<int64_t>(t.storage().nbytes() / t.element_size());
    if (last >= available && t.numel() > 0) {
      throw sn::InvalidArgument("the view reaches element " + std::to_string(last) + " of a storage of " + std::to_string(available));
    }
    sn::give(t.as_strided(size, stride, offset), out);
  });
}

int32_t sn_tensor_ndim(const sn_tensor* tensor, int32_t* out) {
  SN_GUARD({ *sn::out_arg(out, "out") = static_cast<int32_t>(sn::ref(tensor, "tensor").dim()); });
}

int32_t sn_tensor_shape(const sn_tensor* tensor, int64_t* out, int32_t capacity) {
  SN_GUARD({
    const at::Tensor& t = sn::ref(tensor, "tensor");
    int64_t n = std::min<int64_t>(t.dim(), capacity);
    if (n > 0) sn::out_arg(out, "out");
    for (int64_t i = 0; i < n; ++i) out[i] = t.size(i);
  });
}

int32_t sn_tensor_numel(const sn_tensor* tensor, int64_t* out) {
  SN_GUARD({ *sn::out_arg(out, "out") = sn::ref(tensor, "tensor").numel(); });
}

int32_t sn_tensor_dtype(const sn_tensor* tensor, int32_t* out) {
  SN_GUARD({ *sn::out_arg(out, "out") = sn::dtype_code(sn::ref(tensor, "tensor").scalar_type()); });
}

int32_t sn_tensor_device(const sn_tensor* tensor, int32_t* device_type, int32_t* device_index) {
  SN_GUARD({
    const at::Device d = sn::ref(tensor, "tensor").device();
    sn::out_arg(device_type, "device_type");
    sn::out_arg(device_index, "device_index");
    if (d.is_cpu()) {
      *device_type = SN_CPU;
    } else if (d.is_cuda()) {
      *device_type = SN_CUDA;
    } else {
      throw sn::InvalidArgument("tensor lives on " + d.str() + ", which ShakeNet does not expose");
    }
    *device_index = d.has_index() ? d.index() : -1;
  });
}

int32_t sn_tensor_is_contiguous(const sn_tensor* tensor, int32_t memory_format, int32_t* out) {
  SN_GUARD({
    sn::out_arg(out, "out");
    c10::MemoryFormat format = sn::memory_format(memory_format);
    if (format == c10::MemoryFormat::Preserve) {
      throw sn::InvalidArgument("ask about contiguous or channels_last, not preserve");
    }
    *out = sn::ref(tensor, "tensor").is_contiguous(format) ? 1 : 0;
  });
}

int32_t sn_tensor_item(const sn_tensor* tensor, double* out) {
  SN_GUARD({ *sn::out_arg(out, "out") = sn::ref(tensor, "tensor").item<double>(); });
}

}  // extern "C"
