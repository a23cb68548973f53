// Fuzzes the embedding model's weights loader (services/embedding/
// safetensors.h): any bytes go through SafetensorsFile::FromBytes, the same
// parser Open() uses on a mapped file. For every tensor it accepts, the
// whole float view is read (so an out-of-bounds offset shows up under ASan)
// and its size is checked against the shape.

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "fuzz/fuzz_check.h"
#include "services/embedding/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using quarry::embedding::FloatTensor;
  using quarry::embedding::SafetensorsFile;
  using quarry::embedding::TensorDType;
  using quarry::embedding::TensorInfo;

  auto file = SafetensorsFile::FromBytes(std::string(reinterpret_cast<const char*>(data), size));
  if (!file.ok()) {
    FUZZ_CHECK(file.status().code() == absl::StatusCode::kInvalidArgument);
    return 0;
  }
  FUZZ_CHECK((*file)->Names().size() == (*file)->tensor_count());
  for (const std::string& name : (*file)->Names()) {
    const TensorInfo* info = (*file)->Find(name);
    FUZZ_CHECK(info != nullptr);
    FUZZ_CHECK(info->begin <= info->end && info->end <= size);
    uint64_t elements = 1;
    for (int64_t d : info->shape) elements *= static_cast<uint64_t>(d);

    auto tensor = (*file)->GetFloat(name);
    const bool floating = info->dtype == TensorDType::kF32 || info->dtype == TensorDType::kF16 ||
                          info->dtype == TensorDType::kBF16 || info->dtype == TensorDType::kF64;
    FUZZ_CHECK(tensor.ok() == floating);
    if (!tensor.ok()) {
      FUZZ_CHECK(tensor.status().code() == absl::StatusCode::kInvalidArgument);
      continue;
    }
    FUZZ_CHECK(tensor->shape == info->shape);
    FUZZ_CHECK(tensor->size == elements);
    FUZZ_CHECK(tensor->size == 0 || tensor->data != nullptr);
    // Touch every element; the bit pattern is arbitrary, so only compare bits.
    uint32_t mix = 0;
    for (size_t i = 0; i < tensor->size; ++i) {
      uint32_t bits;
      __builtin_memcpy(&bits, &tensor->data[i], sizeof(bits));
      mix ^= bits;
    }
    // Moving keeps the view valid (storage-backed views must follow the move).
    FloatTensor moved = *std::move(tensor);
    FUZZ_CHECK(moved.size == elements);
    uint32_t mix_after = 0;
    for (size_t i = 0; i < moved.size; ++i) {
      uint32_t bits;
      __builtin_memcpy(&bits, &moved.data[i], sizeof(bits));
      mix_after ^= bits;
    }
    FUZZ_CHECK(mix == mix_after);
  }
  FUZZ_CHECK((*file)->Find("__metadata__") == nullptr);
  FUZZ_CHECK(!(*file)->GetFloat("\xff no such tensor").ok());
  return 0;
}
