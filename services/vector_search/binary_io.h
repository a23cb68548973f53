#ifndef QUARRY_SERVICES_VECTOR_SEARCH_BINARY_IO_H_
#define QUARRY_SERVICES_VECTOR_SEARCH_BINARY_IO_H_

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>

#include "absl/status/status.h"
#include "services/common/status/macros.h"

namespace quarry::vector_search {

// The one binary encoding of the on-disk formats (snapshots and their graph
// section): fixed-width little-endian integers and IEEE floats, strings as a
// u32 length then the bytes. Values are copied as they lie in memory, which
// is little-endian on every target Quarry builds for; the assert makes a
// big-endian build fail instead of writing files no other host reads.
static_assert(std::endian::native == std::endian::little,
              "snapshot formats are little-endian; add byte swapping first");

template <typename T>
concept BinaryPod = std::is_arithmetic_v<T>;

// Appends to a string it does not own.
class BinaryWriter {
 public:
  explicit BinaryWriter(std::string* out) : out_(out) {}

  template <BinaryPod T>
  void Put(T value) {
    out_->append(reinterpret_cast<const char*>(&value), sizeof(T));
  }
  // u32 length, then the bytes.
  void PutString(std::string_view s) {
    Put(static_cast<uint32_t>(s.size()));
    out_->append(s.data(), s.size());
  }
  // Bytes without a length (the reader knows how many).
  void PutRaw(const void* data, size_t n) {
    out_->append(static_cast<const char*>(data), n);
  }
  void PutFloats(const float* values, size_t n) { PutRaw(values, n * sizeof(float)); }

 private:
  std::string* out_;
};

// Reads from bytes it does not own. Every read checks the bytes remaining
// first and fails with OUT_OF_RANGE without consuming anything, so a length
// taken from the input can never make it read past the end. Callers usually
// replace that status with one naming what was being read.
class BinaryReader {
 public:
  explicit BinaryReader(std::string_view in) : in_(in) {}

  size_t remaining() const { return in_.size() - pos_; }

  template <BinaryPod T>
  absl::Status Get(T* value) {
    QUARRY_RETURN_IF_ERROR(Need(sizeof(T)));
    std::memcpy(value, in_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return absl::OkStatus();
  }
  // A u32 length, then that many bytes.
  absl::Status GetString(std::string* s);
  // `n` bytes into `dst`; n == 0 never touches `dst` (it may be null).
  absl::Status GetRaw(void* dst, size_t n);
  absl::Status GetFloats(float* dst, size_t n);
  // `n` bytes in place: a view into the input, valid as long as it is.
  absl::Status GetView(size_t n, std::string_view* out);

 private:
  absl::Status Need(size_t n) const;

  std::string_view in_;
  size_t pos_ = 0;
};

}  // namespace quarry::vector_search

#endif  // QUARRY_SERVICES_VECTOR_SEARCH_BINARY_IO_H_
