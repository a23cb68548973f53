#include "services/vector_search/binary_io.h"

#include <limits>

#include "absl/strings/str_cat.h"

namespace quarry::vector_search {

absl::Status BinaryReader::Need(size_t n) const {
  if (n <= remaining()) return absl::OkStatus();
  return absl::OutOfRangeError(
      absl::StrCat("binary: need ", n, " bytes, ", remaining(), " left"));
}

absl::Status BinaryReader::GetString(std::string* s) {
  const size_t start = pos_;
  uint32_t n = 0;
  QUARRY_RETURN_IF_ERROR(Get(&n));
  if (absl::Status status = Need(n); !status.ok()) {
    pos_ = start;  // a failed read consumes nothing
    return status;
  }
  s->assign(in_.data() + pos_, n);
  pos_ += n;
  return absl::OkStatus();
}

absl::Status BinaryReader::GetRaw(void* dst, size_t n) {
  QUARRY_RETURN_IF_ERROR(Need(n));
  // A document without a vector reads zero bytes into an empty vector whose
  // data() is null; memcpy wants valid pointers even then (found by
  // //fuzz:snapshot_fuzzer under UBSan).
  if (n == 0) return absl::OkStatus();
  std::memcpy(dst, in_.data() + pos_, n);
  pos_ += n;
  return absl::OkStatus();
}

absl::Status BinaryReader::GetFloats(float* dst, size_t n) {
  if (n > std::numeric_limits<size_t>::max() / sizeof(float)) {
    return absl::OutOfRangeError("binary: float count overflows");
  }
  return GetRaw(dst, n * sizeof(float));
}

absl::Status BinaryReader::GetView(size_t n, std::string_view* out) {
  QUARRY_RETURN_IF_ERROR(Need(n));
  *out = in_.substr(pos_, n);
  pos_ += n;
  return absl::OkStatus();
}

}  // namespace quarry::vector_search
