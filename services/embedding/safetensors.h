#ifndef QUARRY_SERVICES_EMBEDDING_SAFETENSORS_H_
#define QUARRY_SERVICES_EMBEDDING_SAFETENSORS_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace quarry::embedding {

enum class TensorDType { kF32, kF16, kBF16, kF64, kI64, kI32, kI16, kI8, kU8, kBool };

struct TensorInfo {
  TensorDType dtype = TensorDType::kF32;
  std::vector<int64_t> shape;
  // Byte range inside the data section (after the header).
  size_t begin = 0;
  size_t end = 0;
};

// A float32 view of one tensor. Points into the mapped file when the tensor is
// stored as aligned F32 (zero copy); otherwise `data` points into `storage`
// (F16/BF16/F64 converted, or unaligned F32 copied). A view must not outlive
// the SafetensorsFile it came from.
struct FloatTensor {
  std::vector<int64_t> shape;
  const float* data = nullptr;
  size_t size = 0;  // number of elements
  std::vector<float> storage;

  FloatTensor() = default;
  FloatTensor(FloatTensor&& other) noexcept { *this = std::move(other); }
  FloatTensor& operator=(FloatTensor&& other) noexcept;
  FloatTensor(const FloatTensor&) = delete;
  FloatTensor& operator=(const FloatTensor&) = delete;
};

// A .safetensors file: 8-byte little-endian header length, a JSON header
// {"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__":
// {...}}, then the raw little-endian data. Every offset and size is checked
// against the file, so a truncated or hostile file yields a status, never a
// crash or an out-of-bounds read.
class SafetensorsFile {
 public:
  // Memory-maps `path` read-only. NOT_FOUND if it cannot be opened;
  // INVALID_ARGUMENT (naming the path and the problem) if it is malformed.
  static absl::StatusOr<std::unique_ptr<SafetensorsFile>> Open(const std::string& path);
  // Parses an in-memory copy (tests, fuzzing). Same checks as Open.
  static absl::StatusOr<std::unique_ptr<SafetensorsFile>> FromBytes(std::string bytes);

  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  // nullptr if there is no tensor of that name.
  const TensorInfo* Find(absl::string_view name) const;
  std::vector<std::string> Names() const;
  size_t tensor_count() const { return tensors_.size(); }

  // The tensor as float32. NOT_FOUND if absent; INVALID_ARGUMENT for a dtype
  // that is not floating point.
  absl::StatusOr<FloatTensor> GetFloat(absl::string_view name) const;

 private:
  SafetensorsFile() = default;
  absl::Status Parse(const std::string& origin);

  // The whole file: either mapped (map_ != nullptr) or owned_.
  void* map_ = nullptr;
  size_t map_size_ = 0;
  std::string owned_;
  const unsigned char* bytes_ = nullptr;
  size_t size_ = 0;
  const unsigned char* data_ = nullptr;  // start of the data section
  size_t data_size_ = 0;
  absl::flat_hash_map<std::string, TensorInfo> tensors_;
};

}  // namespace quarry::embedding

#endif  // QUARRY_SERVICES_EMBEDDING_SAFETENSORS_H_
