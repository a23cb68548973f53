#include "services/vector_search/hnsw_index.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "services/common/model/finite.h"
#include "services/common/status/macros.h"
#include "services/common/telemetry/logger.h"
#include "services/vector_search/distance.h"
#include "services/vector_search/index_state.h"

namespace quarry::vector_search {
namespace {

constexpr size_t kMaxDimension = 4096;

absl::Status CheckVector(absl::Span<const float> v, size_t dimension) {
  if (v.size() != dimension) {
    return absl::InvalidArgumentError(absl::StrCat(
        "vector has ", v.size(), " values, the index dimension is ", dimension));
  }
  if (!model::AllFinite(v)) return absl::InvalidArgumentError("vector values must be finite");
  return absl::OkStatus();
}

// A background rebuild has no caller to hand its status to (RebuildNow's
// callers get it returned; LastRebuildStatus keeps it), so its failure is
// logged here, as a JSON line like the rest of the service's logs. The index
// has no handle on the service's Runtime logger, hence one of its own under
// the same service name; never destroyed, as rebuild threads may outlive
// static destruction order.
telemetry::Logger& RebuildLogger() {
  static telemetry::Logger* const logger = new telemetry::Logger("vector-search");
  return *logger;
}

}  // namespace

HnswIndex::HnswIndex(const HnswOptions& options) : options_(options) {}

absl::Status ValidateM(size_t m) {
  if (m >= 2 && m <= 256) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("must be in [2, 256], got ", m));
}

absl::Status ValidateEfConstruction(size_t ef_construction) {
  if (ef_construction >= 1 && ef_construction <= 100000) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("must be in [1, 100000], got ", ef_construction));
}

absl::StatusOr<std::unique_ptr<HnswIndex>> HnswIndex::Create(const HnswOptions& options) {
  if (options.dimension == 0 || options.dimension > kMaxDimension) {
    return absl::InvalidArgumentError(absl::StrCat(
        "dimension must be in [1, ", kMaxDimension, "], got ", options.dimension));
  }
  if (options.metric != Metric::kCosine && options.metric != Metric::kDot &&
      options.metric != Metric::kL2) {
    return absl::InvalidArgumentError("unknown metric");
  }
  if (absl::Status status = ValidateM(options.m); !status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("m: ", status.message()));
  }
  if (absl::Status status = ValidateEfConstruction(options.ef_construction); !status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("ef_construction: ", status.message()));
  }
  if (!(options.rebuild_tombstone_fraction > 0 && options.rebuild_tombstone_fraction <= 1)) {
    return absl::InvalidArgumentError("rebuild_tombstone_fraction must be in (0, 1]");
  }
  QUARRY_ASSIGN_OR_RETURN(auto state,
                          internal::IndexState::Create(options, options.initial_capacity));
  std::unique_ptr<HnswIndex> index(new HnswIndex(options));
  absl::MutexLock lock(&index->mu_);
  index->state_ = std::move(state);
  return index;
}

absl::StatusOr<std::unique_ptr<HnswIndex>> HnswIndex::FromSnapshot(
    const HnswOptions& options, SnapshotData snapshot) {
  if (snapshot.metric != options.metric || snapshot.dimension != options.dimension) {
    return absl::FailedPreconditionError(
        "snapshot metric or dimension differs from the collection's");
  }
  QUARRY_ASSIGN_OR_RETURN(std::unique_ptr<HnswIndex> index, Create(options));
  const int64_t watermark = snapshot.watermark;
  QUARRY_ASSIGN_OR_RETURN(std::unique_ptr<internal::IndexState> state,
                          snapshot.graph.empty()
                              ? internal::IndexState::Build(options, std::move(snapshot.docs))
                              : internal::IndexState::Import(options, std::move(snapshot)));
  absl::MutexLock lock(&index->mu_);
  index->state_ = std::move(state);
  index->watermark_ = watermark;
  return index;
}

HnswIndex::~HnswIndex() { WaitForRebuild(); }

absl::Status HnswIndex::Upsert(const std::string& id, absl::Span<const float> vector,
                               const Tags& tags, const Metadata& metadata, int64_t seq) {
  if (id.empty()) return absl::InvalidArgumentError("id must not be empty");
  QUARRY_RETURN_IF_ERROR(CheckVector(vector, options_.dimension));
  PendingOp op{false, id, std::vector<float>(vector.begin(), vector.end()), tags, metadata, seq};
  if (options_.metric == Metric::kCosine) NormalizeInPlace(op.vector.data(), op.vector.size());
  return ApplyAndLog(std::move(op));
}

absl::Status HnswIndex::Delete(const std::string& id, int64_t seq) {
  if (id.empty()) return absl::InvalidArgumentError("id must not be empty");
  return ApplyAndLog(PendingOp{true, id, {}, {}, {}, seq});
}

absl::Status HnswIndex::ApplyAndLog(PendingOp op) {
  absl::MutexLock lock(&mu_);
  QUARRY_RETURN_IF_ERROR(op.is_delete ? state_->Delete(op.id, op.seq)
                                      : state_->Upsert(op.id, op.vector.data(), op.tags,
                                                       op.metadata, op.seq));
  if (op.seq > watermark_.load()) watermark_ = op.seq;
  {
    absl::MutexLock log_lock(&log_mu_);
    if (logging_) log_.push_back(std::move(op));
  }
  MaybeStartRebuild();
  return absl::OkStatus();
}

void HnswIndex::MaybeStartRebuild() {
  if (rebuild_running_.load()) return;
  const size_t slots = state_->slots();
  const size_t dead = slots - state_->live();
  if (slots < options_.rebuild_min_slots ||
      static_cast<double>(dead) <= options_.rebuild_tombstone_fraction * slots) {
    return;
  }
  // The previous rebuild thread has finished (the flag is cleared last).
  if (rebuild_thread_.joinable()) rebuild_thread_.join();
  rebuild_running_ = true;
  rebuild_thread_ = std::thread([this] {
    absl::Status status = RunRebuild();
    if (!status.ok()) {
      RebuildLogger().Error("background rebuild failed",
                            {{"error", status.ToString()},
                             {"dimension", absl::StrCat(options_.dimension)}});
    }
    rebuild_running_ = false;
  });
}

absl::Status HnswIndex::RunRebuild() {
  absl::MutexLock rebuild_lock(&rebuild_mu_);
  std::vector<SnapshotDoc> docs;
  {
    absl::ReaderMutexLock lock(&mu_);
    docs = state_->LiveDocs();
    absl::MutexLock log_lock(&log_mu_);
    logging_ = true;
    log_.clear();
  }
  auto apply = [](internal::IndexState& state, std::vector<PendingOp>& ops) {
    for (PendingOp& op : ops) {
      QUARRY_RETURN_IF_ERROR(op.is_delete ? state.Delete(op.id, op.seq)
                                          : state.Upsert(op.id, op.vector.data(), op.tags,
                                                         op.metadata, op.seq));
    }
    return absl::OkStatus();
  };
  auto fail = [&](absl::Status status) {
    absl::MutexLock log_lock(&log_mu_);
    logging_ = false;
    log_.clear();
    absl::MutexLock status_lock(&status_mu_);
    last_rebuild_status_ = status;
    return status;
  };
  auto fresh = internal::IndexState::Build(options_, std::move(docs));
  if (!fresh.ok()) return fail(fresh.status());
  // Catch up outside the index lock while writes keep arriving, so the final
  // catch-up under the exclusive lock (which pauses searches) is short.
  for (int round = 0; round < 8; ++round) {
    std::vector<PendingOp> ops;
    {
      absl::MutexLock log_lock(&log_mu_);
      ops.swap(log_);
    }
    if (ops.empty()) break;
    if (absl::Status s = apply(**fresh, ops); !s.ok()) return fail(s);
  }
  std::shared_ptr<internal::IndexState> old;
  {
    absl::MutexLock lock(&mu_);
    absl::MutexLock log_lock(&log_mu_);
    absl::Status s = apply(**fresh, log_);
    log_.clear();
    logging_ = false;
    if (!s.ok()) {
      absl::MutexLock status_lock(&status_mu_);
      last_rebuild_status_ = s;
      return s;
    }
    old = std::move(state_);
    state_ = *std::move(fresh);
  }
  old.reset();  // freeing the old graph happens outside the lock
  ++rebuild_count_;
  absl::MutexLock status_lock(&status_mu_);
  last_rebuild_status_ = absl::OkStatus();
  return absl::OkStatus();
}

absl::Status HnswIndex::RebuildNow() { return RunRebuild(); }

void HnswIndex::WaitForRebuild() {
  std::thread thread;
  {
    absl::MutexLock lock(&mu_);
    thread = std::move(rebuild_thread_);
  }
  if (thread.joinable()) thread.join();
}

absl::Status HnswIndex::LastRebuildStatus() const {
  absl::MutexLock lock(&status_mu_);
  return last_rebuild_status_;
}

absl::StatusOr<SearchResult> HnswIndex::Search(const SearchRequest& request) const {
  if (request.k == 0) return absl::InvalidArgumentError("k must be >= 1");
  QUARRY_RETURN_IF_ERROR(CheckVector(request.query, options_.dimension));
  std::vector<float> query = request.query;
  if (options_.metric == Metric::kCosine) NormalizeInPlace(query.data(), query.size());
  absl::ReaderMutexLock lock(&mu_);
  SearchResult result = state_->Search(request, query.data());
  result.watermark = watermark_.load();
  return result;
}

size_t HnswIndex::Size() const {
  absl::ReaderMutexLock lock(&mu_);
  return state_->live();
}

size_t HnswIndex::Tombstones() const {
  absl::ReaderMutexLock lock(&mu_);
  return state_->slots() - state_->live();
}

size_t HnswIndex::MemoryBytes() const {
  absl::ReaderMutexLock lock(&mu_);
  return state_->MemoryBytes();
}

size_t HnswIndex::MappedBytes() const {
  absl::ReaderMutexLock lock(&mu_);
  return state_->MappedBytes();
}

int64_t HnswIndex::Watermark() const { return watermark_.load(); }

SnapshotData HnswIndex::ExportSnapshot(bool include_graph) const {
  absl::ReaderMutexLock lock(&mu_);
  SnapshotData data = state_->Export(include_graph);
  data.watermark = watermark_.load();
  return data;
}

}  // namespace quarry::vector_search
