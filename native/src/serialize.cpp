// Named tensors to and from files in PyTorch's own format (what torch.save / torch.load use).
#include <torch/serialize.h>

#include <fstream>
#include <iterator>

#include "shim.hpp"

struct sn_tensor_list {
  std::vector<std::string> names;
  std::vector<at::Tensor> tensors;
};

extern "C" {

int32_t sn_save_tensors(const char* path, const char* const* names, const sn_tensor* const* tensors,
                        int32_t count) {
  SN_GUARD({
    sn::out_arg(path, "path");
    if (count < 0) throw sn::InvalidArgument("count is negative");
    if (count > 0) {
      sn::out_arg(names, "names");
      sn::out_arg(tensors, "tensors");
    }
    c10::Dict<std::string, at::Tensor> dict;  // keeps insertion order
    for (int32_t i = 0; i < count; ++i) {
      if (names[i] == nullptr) throw sn::InvalidArgument("names[" + std::to_string(i) + "] is NULL");
      if (dict.contains(names[i])) throw sn::InvalidArgument(std::string("name '") + names[i] + "' appears twice");
      dict.insert(names[i], sn::ref(tensors[i], names[i]).detach().to(at::kCPU).contiguous());
    }
    std::vector<char> bytes = torch::pickle_save(c10::IValue(dict));
    std::ofstream file(path, std::ios::binary | std::ios::trunc);
    if (!file) throw sn::InvalidArgument(std::string("cannot open ") + path + " for writing");
    file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    file.close();
    if (!file) throw sn::InvalidArgument(std::string("writing ") + path + " failed (disk full?)");
  });
}

int32_t sn_load_tensors(const char* path, sn_tensor_list** out) {
  SN_GUARD({
    sn::out_arg(path, "path");
    sn::out_arg(out, "out");
    std::ifstream file(path, std::ios::binary);
    if (!file) throw sn::InvalidArgument(std::string("cannot open ") + path + " for reading");
    std::vector<char> bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    c10::IValue value;
    try {
      value = torch::pickle_load(bytes);
    } catch (const c10::Error& e) {
      throw sn::InvalidArgument(std::string("cannot parse ") + path + " (" + e.what_without_backtrace() +
                                "). It takes files written by ShakeNet (export, checkpoints) or torch::pickle_save, and "
                                "Python's torch.save of a plain dict of two or more tensors: torch.save(dict(model.state_dict()), path); "
                                "libtorch's C++ reader cannot parse an OrderedDict state_dict as torch.save writes it");
    }
    if (!value.isGenericDict()) {
      throw sn::InvalidArgument(std::string(path) + " holds a " + value.tagKind() + ", not a dict of named tensors");
    }
    auto list = std::make_unique<sn_tensor_list>();
    for (const auto& entry : value.toGenericDict()) {
      if (!entry.key().isString()) throw sn::InvalidArgument(std::string(path) + ": a key is not a string");
      const std::string& name = entry.key().toStringRef();
      if (!entry.value().isTensor()) {
        throw sn::InvalidArgument(std::string(path) + ": entry '" + name + "' is a " + entry.value().tagKind() + ", not a tensor");
      }
      list->names.push_back(name);
      list->tensors.push_back(entry.value().toTensor());
    }
    *out = list.release();
  });
}

int32_t sn_tensor_list_size(const sn_tensor_list* list, int32_t* out) {
  SN_GUARD({
    sn::out_arg(list, "list");
    *sn::out_arg(out, "out") = static_cast<int32_t>(list->names.size());
  });
}

int32_t sn_tensor_list_get(const sn_tensor_list* list, int32_t index, const char** name, sn_tensor** tensor) {
  SN_GUARD({
    sn::out_arg(list, "list");
    sn::out_arg(name, "name");
    sn::out_arg(tensor, "tensor");
    if (index < 0 || static_cast<size_t>(index) >= list->names.size()) {
      throw sn::InvalidArgument("index " + std::to_string(index) + " outside 0.." + std::to_string(list->names.size()));
    }
    *name = list->names[static_cast<size_t>(index)].c_str();
    sn::give(list->tensors[static_cast<size_t>(index)], tensor);
  });
}

int32_t sn_tensor_list_free(sn_tensor_list* list) {
  SN_GUARD({ delete list; });
}

}  // extern "C"
