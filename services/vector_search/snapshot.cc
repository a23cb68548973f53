#include "services/vector_search/snapshot.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "services/common/model/finite.h"
#include "services/vector_search/binary_io.h"
#include "services/vector_search/crc32c.h"

namespace quarry::vector_search {
namespace {

constexpr char kMagic[8] = {'Q', 'V', 'S', 'N', 'A', 'P', '0', '1'};
constexpr uint32_t kVersion = 1;
constexpr size_t kHeaderBytes = 8 + 4 * 4 + 8 * 3;
constexpr size_t kTrailerBytes = 4;
// live byte, id length, vector length, tag count, metadata count, seq.
constexpr size_t kMinDocBytes = 1 + 4 + 4 + 4 + 4 + 8;
constexpr uint32_t kMaxDimension = 4096;

absl::Status Truncated(const char* what) {
  return absl::DataLossError(absl::StrCat("snapshot: truncated or corrupt ", what));
}

absl::Status ErrnoStatus(const char* what, const std::string& path) {
  return absl::UnavailableError(
      absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

absl::Status WriteAll(int fd, std::string_view bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::UnavailableError(absl::StrCat("write: ", std::strerror(errno)));
    }
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

}  // namespace

std::string EncodeSnapshot(const SnapshotData& data) {
  std::string out;
  BinaryWriter w(&out);
  w.PutRaw(kMagic, sizeof(kMagic));
  w.Put(kVersion);
  w.Put(static_cast<uint32_t>(data.metric));
  w.Put(data.dimension);
  w.Put(uint32_t{0});
  w.Put(data.watermark);
  w.Put(static_cast<uint64_t>(data.docs.size()));
  w.Put(static_cast<uint64_t>(data.graph.size()));
  for (const SnapshotDoc& doc : data.docs) {
    w.Put(static_cast<uint8_t>(doc.live ? 1 : 0));
    w.PutString(doc.id);
    w.Put(static_cast<uint32_t>(doc.vector.size()));
    w.PutFloats(doc.vector.data(), doc.vector.size());
    w.Put(static_cast<uint32_t>(doc.tags.size()));
    for (const std::string& tag : doc.tags) w.PutString(tag);
    w.Put(static_cast<uint32_t>(doc.metadata.size()));
    for (const auto& [key, value] : doc.metadata) {
      w.PutString(key);
      w.PutString(value);
    }
    w.Put(doc.seq);
  }
  w.PutRaw(data.graph.data(), data.graph.size());
  w.Put(Crc32c(out.data(), out.size()));
  return out;
}

absl::StatusOr<SnapshotData> DecodeSnapshot(std::string_view bytes) {
  if (bytes.size() < sizeof(kMagic) ||
      std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) {
    return absl::InvalidArgumentError("snapshot: bad magic, not a snapshot");
  }
  if (bytes.size() < kHeaderBytes + kTrailerBytes) return Truncated("header");
  const std::string_view body = bytes.substr(0, bytes.size() - kTrailerBytes);
  uint32_t stored_crc = 0;
  std::memcpy(&stored_crc, bytes.data() + body.size(), sizeof(stored_crc));
  if (Crc32c(body.data(), body.size()) != stored_crc) {
    return absl::DataLossError("snapshot: checksum mismatch");
  }

  BinaryReader r(body.substr(sizeof(kMagic)));
  uint32_t version = 0, metric = 0, dimension = 0, reserved = 0;
  uint64_t doc_count = 0, graph_bytes = 0;
  SnapshotData data;
  if (!r.Get(&version).ok() || !r.Get(&metric).ok() || !r.Get(&dimension).ok() ||
      !r.Get(&reserved).ok() || !r.Get(&data.watermark).ok() || !r.Get(&doc_count).ok() ||
      !r.Get(&graph_bytes).ok()) {
    return Truncated("header");
  }
  if (version != kVersion) {
    return absl::InvalidArgumentError(
        absl::StrCat("snapshot: unsupported version ", version));
  }
  if (metric < static_cast<uint32_t>(Metric::kCosine) ||
      metric > static_cast<uint32_t>(Metric::kL2)) {
    return absl::DataLossError(absl::StrCat("snapshot: bad metric ", metric));
  }
  if (dimension == 0 || dimension > kMaxDimension) {
    return absl::DataLossError(absl::StrCat("snapshot: bad dimension ", dimension));
  }
  data.metric = static_cast<Metric>(metric);
  data.dimension = dimension;
  if (graph_bytes > r.remaining() ||
      doc_count > (r.remaining() - graph_bytes) / kMinDocBytes) {
    return Truncated("counts");
  }
  data.docs.resize(doc_count);
  for (SnapshotDoc& doc : data.docs) {
    uint8_t live = 0;
    uint32_t vector_len = 0, tag_count = 0, meta_count = 0;
    if (!r.Get(&live).ok() || live > 1 || !r.GetString(&doc.id).ok() || !r.Get(&vector_len).ok()) {
      return Truncated("document");
    }
    doc.live = live == 1;
    if (doc.live == doc.id.empty()) return Truncated("document id");
    if (vector_len != 0 && vector_len != dimension) return Truncated("vector length");
    doc.vector.resize(vector_len);
    if (!r.GetFloats(doc.vector.data(), vector_len).ok()) {
      return Truncated("vector");
    }
    if (!model::AllFinite(doc.vector)) return Truncated("vector value");
    // Without a graph the index is rebuilt from the documents, so each must be
    // a live one with its vector (a dead slot there would be loaded as a live
    // document with an empty id); with a graph, dead slots carry no vector.
    if (graph_bytes == 0 ? !doc.live || vector_len == 0 : !doc.live && vector_len != 0) {
      return absl::DataLossError(
          "snapshot: inconsistent document (without a graph section every document is live "
          "with a vector; with one, dead slots have no vector)");
    }
    // Each tag needs at least its 4-byte length.
    if (!r.Get(&tag_count).ok() || tag_count > r.remaining() / 4) return Truncated("tags");
    doc.tags.resize(tag_count);
    for (std::string& tag : doc.tags) {
      if (!r.GetString(&tag).ok()) return Truncated("tag");
    }
    if (!r.Get(&meta_count).ok() || meta_count > r.remaining() / 8) {
      return Truncated("metadata");
    }
    for (uint32_t i = 0; i < meta_count; ++i) {
      std::string key, value;
      if (!r.GetString(&key).ok() || !r.GetString(&value).ok()) return Truncated("metadata entry");
      doc.metadata.emplace(std::move(key), std::move(value));
    }
    if (!r.Get(&doc.seq).ok()) return Truncated("seq");
  }
  if (r.remaining() != graph_bytes) return Truncated("graph length");
  data.graph.resize(graph_bytes);
  if (!r.GetRaw(data.graph.data(), graph_bytes).ok()) return Truncated("graph");
  return data;
}

absl::Status WriteSnapshotFile(const std::string& path,
                               const SnapshotData& data) {
  return WriteFileAtomically(path, EncodeSnapshot(data));
}

absl::Status WriteFileAtomically(const std::string& path, std::string_view bytes) {
  const std::string tmp = absl::StrCat(path, ".tmp.", getpid());
  const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus("open", tmp);
  absl::Status status = WriteAll(fd, bytes);
  if (status.ok() && fsync(fd) != 0) status = ErrnoStatus("fsync", tmp);
  if (close(fd) != 0 && status.ok()) status = ErrnoStatus("close", tmp);
  if (status.ok() && rename(tmp.c_str(), path.c_str()) != 0) {
    status = ErrnoStatus("rename", tmp);
  }
  if (!status.ok()) {
    unlink(tmp.c_str());
    return status;
  }
  // The rename is durable only once the directory entry is.
  const size_t slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash + 1);
  const int dir_fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return ErrnoStatus("open dir", dir);
  const bool synced = fsync(dir_fd) == 0;
  close(dir_fd);
  if (!synced) return ErrnoStatus("fsync dir", dir);
  return absl::OkStatus();
}

absl::StatusOr<SnapshotData> ReadSnapshotFile(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return absl::NotFoundError(absl::StrCat("no snapshot at ", path));
    return ErrnoStatus("open", path);
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    close(fd);
    return ErrnoStatus("stat", path);
  }
  std::string bytes(static_cast<size_t>(st.st_size), '\0');
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = read(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  close(fd);
  bytes.resize(done);
  return DecodeSnapshot(bytes);
}

}  // namespace quarry::vector_search
