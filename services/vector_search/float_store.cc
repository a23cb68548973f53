#include "services/vector_search/float_store.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace quarry::vector_search {
namespace {

class HeapFloatStore : public FloatStore {
 public:
  explicit HeapFloatStore(size_t dimension) : dimension_(dimension) {}
  absl::Status Reserve(size_t slots) override {
    if (slots * dimension_ > data_.size()) data_.resize(slots * dimension_);
    return absl::OkStatus();
  }
  void Set(size_t slot, const float* vector) override {
    std::memcpy(&data_[slot * dimension_], vector, dimension_ * sizeof(float));
  }
  const float* Get(size_t slot) const override {
    return &data_[slot * dimension_];
  }
  size_t HeapBytes() const override { return data_.capacity() * sizeof(float); }
  size_t MappedBytes() const override { return 0; }

 private:
  size_t dimension_;
  std::vector<float> data_;
};

class MappedFloatStore : public FloatStore {
 public:
  MappedFloatStore(size_t dimension, int fd) : dimension_(dimension), fd_(fd) {}
  ~MappedFloatStore() override {
    if (base_ != nullptr) munmap(base_, mapped_bytes_);
    close(fd_);
  }
  absl::Status Reserve(size_t slots) override {
    const size_t bytes = slots * dimension_ * sizeof(float);
    if (bytes <= mapped_bytes_) return absl::OkStatus();
    // Grow geometrically so a stream of inserts remaps O(log n) times.
    const size_t target = std::max(bytes, mapped_bytes_ * 2);
    if (ftruncate(fd_, static_cast<off_t>(target)) != 0) {
      return absl::ResourceExhaustedError(
          absl::StrCat("float store ftruncate: ", std::strerror(errno)));
    }
    void* fresh = mremap_or_map(target);
    if (fresh == MAP_FAILED) {
      return absl::ResourceExhaustedError(
          absl::StrCat("float store mmap: ", std::strerror(errno)));
    }
    base_ = static_cast<float*>(fresh);
    mapped_bytes_ = target;
    return absl::OkStatus();
  }
  void Set(size_t slot, const float* vector) override {
    std::memcpy(base_ + slot * dimension_, vector, dimension_ * sizeof(float));
  }
  const float* Get(size_t slot) const override {
    return base_ + slot * dimension_;
  }
  size_t HeapBytes() const override { return 0; }
  size_t MappedBytes() const override { return mapped_bytes_; }

 private:
  void* mremap_or_map(size_t target) {
    if (base_ == nullptr) {
      return mmap(nullptr, target, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
    }
    return mremap(base_, mapped_bytes_, target, MREMAP_MAYMOVE);
  }

  size_t dimension_;
  int fd_;
  float* base_ = nullptr;
  size_t mapped_bytes_ = 0;
};

}  // namespace

std::unique_ptr<FloatStore> NewHeapFloatStore(size_t dimension) {
  return std::make_unique<HeapFloatStore>(dimension);
}

absl::StatusOr<std::unique_ptr<FloatStore>> NewMappedFloatStore(
    size_t dimension, const std::string& directory) {
  static std::atomic<uint64_t> counter{0};
  const std::string path =
      absl::StrCat(directory, "/floats-", getpid(), "-", counter++, ".tmp");
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("float store open ", path, ": ", std::strerror(errno)));
  }
  // Unlinked now: the inode lives while the descriptor is open, and a crash
  // leaves nothing behind to clean up.
  unlink(path.c_str());
  return std::make_unique<MappedFloatStore>(dimension, fd);
}

}  // namespace quarry::vector_search
