#include "services/embedding/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <limits>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "services/common/status/macros.h"

namespace quarry::embedding {
namespace {

// Bounds the JSON header so a corrupt length cannot make us parse gigabytes.
constexpr uint64_t kMaxHeaderBytes = 100 << 20;

struct DTypeName {
  const char* name;
  TensorDType dtype;
  size_t bytes;
};

constexpr DTypeName kDTypes[] = {
    {"F32", TensorDType::kF32, 4}, {"F16", TensorDType::kF16, 2}, {"BF16", TensorDType::kBF16, 2},
    {"F64", TensorDType::kF64, 8}, {"I64", TensorDType::kI64, 8}, {"I32", TensorDType::kI32, 4},
    {"I16", TensorDType::kI16, 2}, {"I8", TensorDType::kI8, 1},   {"U8", TensorDType::kU8, 1},
    {"BOOL", TensorDType::kBool, 1},
};

size_t DTypeBytes(TensorDType dtype) {
  for (const DTypeName& d : kDTypes) {
    if (d.dtype == dtype) return d.bytes;
  }
  return 0;
}

float HalfToFloat(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  const uint32_t exponent = (h >> 10) & 0x1F;
  uint32_t mantissa = h & 0x3FF;
  uint32_t bits;
  if (exponent == 0) {
    if (mantissa == 0) {
      bits = sign;
    } else {  // subnormal: renormalise
      int e = -1;
      do {
        ++e;
        mantissa <<= 1;
      } while ((mantissa & 0x400) == 0);
      bits = sign | static_cast<uint32_t>(127 - 15 - e) << 23 | (mantissa & 0x3FF) << 13;
    }
  } else if (exponent == 0x1F) {
    bits = sign | 0x7F800000 | mantissa << 13;
  } else {
    bits = sign | (exponent + 127 - 15) << 23 | mantissa << 13;
  }
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}

}  // namespace

FloatTensor& FloatTensor::operator=(FloatTensor&& other) noexcept {
  const bool owns = !other.storage.empty() && other.data == other.storage.data();
  shape = std::move(other.shape);
  size = other.size;
  storage = std::move(other.storage);
  data = owns ? storage.data() : other.data;
  other.data = nullptr;
  other.size = 0;
  return *this;
}

absl::StatusOr<std::unique_ptr<SafetensorsFile>> SafetensorsFile::Open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a regular file"));
  }
  auto file = std::unique_ptr<SafetensorsFile>(new SafetensorsFile());
  file->map_size_ = static_cast<size_t>(st.st_size);
  if (file->map_size_ > 0) {
    void* map = ::mmap(nullptr, file->map_size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) {
      ::close(fd);
      return absl::InternalError(absl::StrCat(path, ": mmap failed"));
    }
    file->map_ = map;
    file->bytes_ = static_cast<const unsigned char*>(map);
  }
  ::close(fd);  // the mapping stays valid
  file->size_ = file->map_size_;
  QUARRY_RETURN_IF_ERROR(file->Parse(path));
  return file;
}

absl::StatusOr<std::unique_ptr<SafetensorsFile>> SafetensorsFile::FromBytes(std::string bytes) {
  auto file = std::unique_ptr<SafetensorsFile>(new SafetensorsFile());
  file->owned_ = std::move(bytes);
  file->bytes_ = reinterpret_cast<const unsigned char*>(file->owned_.data());
  file->size_ = file->owned_.size();
  QUARRY_RETURN_IF_ERROR(file->Parse("safetensors buffer"));
  return file;
}

SafetensorsFile::~SafetensorsFile() {
  if (map_ != nullptr) ::munmap(map_, map_size_);
}

absl::Status SafetensorsFile::Parse(const std::string& origin) {
  const auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(origin, ": invalid safetensors: ", why));
  };
  if (size_ < 8) return bad("shorter than the 8-byte header length");
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = header_len << 8 | bytes_[i];
  if (header_len > kMaxHeaderBytes) return bad(absl::StrCat("header length ", header_len));
  if (header_len > size_ - 8) {
    return bad(absl::StrCat("header length ", header_len, " exceeds the file size ", size_));
  }
  const absl::string_view header(reinterpret_cast<const char*>(bytes_ + 8), header_len);
  data_ = bytes_ + 8 + header_len;
  data_size_ = size_ - 8 - header_len;

  const nlohmann::json root =
      nlohmann::json::parse(header, /*cb=*/nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) return bad("header is not valid JSON");
  if (!root.is_object()) return bad("header is not a JSON object");
  for (auto it = root.begin(); it != root.end(); ++it) {
    const std::string& name = it.key();
    if (name == "__metadata__") continue;
    const nlohmann::json& entry = it.value();
    const auto bad_tensor = [&](absl::string_view why) {
      return bad(absl::StrCat("tensor \"", name, "\": ", why));
    };
    if (!entry.is_object()) return bad_tensor("entry is not an object");
    auto dtype_it = entry.find("dtype");
    auto shape_it = entry.find("shape");
    auto offsets_it = entry.find("data_offsets");
    if (dtype_it == entry.end() || !dtype_it->is_string()) return bad_tensor("no dtype");
    if (shape_it == entry.end() || !shape_it->is_array()) return bad_tensor("no shape");
    if (offsets_it == entry.end() || !offsets_it->is_array() || offsets_it->size() != 2) {
      return bad_tensor("data_offsets is not [begin, end]");
    }
    TensorInfo info;
    const std::string& dtype_name = dtype_it->get_ref<const std::string&>();
    size_t element_bytes = 0;
    for (const DTypeName& d : kDTypes) {
      if (dtype_name == d.name) info.dtype = d.dtype, element_bytes = d.bytes;
    }
    if (element_bytes == 0) return bad_tensor(absl::StrCat("unsupported dtype ", dtype_name));
    // Element count with overflow checks: shapes come from untrusted input.
    uint64_t elements = 1;
    for (const nlohmann::json& dim : *shape_it) {
      if (!dim.is_number_unsigned()) return bad_tensor("shape has a non-natural dimension");
      const uint64_t d = dim.get<uint64_t>();
      if (d != 0 && elements > std::numeric_limits<uint64_t>::max() / d) {
        return bad_tensor("shape overflows");
      }
      elements *= d;
      info.shape.push_back(static_cast<int64_t>(d));
    }
    if (elements > std::numeric_limits<uint64_t>::max() / element_bytes) {
      return bad_tensor("shape overflows");
    }
    const nlohmann::json& b = (*offsets_it)[0];
    const nlohmann::json& e = (*offsets_it)[1];
    if (!b.is_number_unsigned() || !e.is_number_unsigned()) {
      return bad_tensor("data_offsets are not natural numbers");
    }
    const uint64_t begin = b.get<uint64_t>();
    const uint64_t end = e.get<uint64_t>();
    if (begin > end || end > data_size_) {
      return bad_tensor(absl::StrCat("data_offsets [", begin, ", ", end,
                                     "] outside the data section of ", data_size_, " bytes"));
    }
    if (end - begin != elements * element_bytes) {
      return bad_tensor(absl::StrCat("holds ", end - begin, " bytes, shape and dtype need ",
                                     elements * element_bytes));
    }
    info.begin = static_cast<size_t>(begin);
    info.end = static_cast<size_t>(end);
    tensors_.emplace(name, std::move(info));
  }
  return absl::OkStatus();
}

const TensorInfo* SafetensorsFile::Find(absl::string_view name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

std::vector<std::string> SafetensorsFile::Names() const {
  std::vector<std::string> names;
  for (const auto& [name, info] : tensors_) names.push_back(name);
  return names;
}

absl::StatusOr<FloatTensor> SafetensorsFile::GetFloat(absl::string_view name) const {
  const TensorInfo* info = Find(name);
  if (info == nullptr) return absl::NotFoundError(absl::StrCat("no tensor \"", name, "\""));
  FloatTensor out;
  out.shape = info->shape;
  const unsigned char* src = data_ + info->begin;
  const size_t bytes = info->end - info->begin;
  out.size = bytes / DTypeBytes(info->dtype);
  switch (info->dtype) {
    case TensorDType::kF32:
      if (reinterpret_cast<uintptr_t>(src) % alignof(float) == 0) {
        out.data = reinterpret_cast<const float*>(src);
        return out;
      }
      out.storage.resize(out.size);
      // An empty vector's data() is null, and memcpy's pointers must be valid
      // even for zero bytes (found by //fuzz:safetensors_fuzzer under UBSan).
      if (bytes > 0) std::memcpy(out.storage.data(), src, bytes);
      break;
    case TensorDType::kF16:
    case TensorDType::kBF16: {
      out.storage.resize(out.size);
      for (size_t i = 0; i < out.size; ++i) {
        const uint16_t v = static_cast<uint16_t>(src[2 * i] | src[2 * i + 1] << 8);
        if (info->dtype == TensorDType::kF16) {
          out.storage[i] = HalfToFloat(v);
        } else {
          const uint32_t bits = static_cast<uint32_t>(v) << 16;
          std::memcpy(&out.storage[i], &bits, sizeof(float));
        }
      }
      break;
    }
    case TensorDType::kF64:
      out.storage.resize(out.size);
      for (size_t i = 0; i < out.size; ++i) {
        double d;
        std::memcpy(&d, src + 8 * i, sizeof(d));
        out.storage[i] = static_cast<float>(d);
      }
      break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("tensor \"", name, "\" is not floating point"));
  }
  out.data = out.storage.data();
  return out;
}

}  // namespace quarry::embedding
