#include "services/vector_search/index_state.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <exception>
#include <new>
#include <utility>

#include "absl/strings/str_cat.h"
#include "services/common/model/shard_answer.h"
#include "services/common/status/macros.h"
#include "services/vector_search/exact_search.h"
#include "services/vector_search/graph_codec.h"
#include "services/vector_search/graph_search.h"
#include "services/vector_search/hnswlib_include.h"

namespace quarry::vector_search::internal {
namespace {

using hnswlib::tableint;

// graph_codec.cc reads hnswlib's link lists as u32 counts and ids.
static_assert(sizeof(tableint) == sizeof(uint32_t) &&
              sizeof(hnswlib::linklistsizeint) == sizeof(uint32_t) &&
              sizeof(hnswlib::labeltype) == sizeof(size_t));

// hnswlib distance space over int8 codes, decoded with the quantizer.
class Int8Space : public hnswlib::SpaceInterface<float> {
 public:
  Int8Space(const ScalarQuantizer* quantizer, Metric metric)
      : quantizer_(quantizer), metric_(metric) {}
  size_t get_data_size() override { return quantizer_->dimension(); }
  hnswlib::DISTFUNC<float> get_dist_func() override {
    return metric_ == Metric::kL2 ? &ScalarQuantizer::L2Distance
                                  : &ScalarQuantizer::IpDistance;
  }
  void* get_dist_func_param() override {
    return const_cast<ScalarQuantizer*>(quantizer_);
  }

 private:
  const ScalarQuantizer* quantizer_;
  Metric metric_;
};

// hnswlib distance space over float vectors, using the widest SIMD kernel
// the CPU runs (distance.h). hnswlib's own spaces pick theirs at compile
// time, which for an x86-64-v2 build means SSE only.
class FloatSpaceImpl : public hnswlib::SpaceInterface<float> {
 public:
  FloatSpaceImpl(Metric metric, size_t dim)
      : dim_(dim), func_(metric == Metric::kL2 ? L2DistanceFn() : InnerProductDistanceFn()) {}
  size_t get_data_size() override { return dim_ * sizeof(float); }
  hnswlib::DISTFUNC<float> get_dist_func() override { return func_; }
  void* get_dist_func_param() override { return &dim_; }

 private:
  size_t dim_;
  hnswlib::DISTFUNC<float> func_;
};

std::unique_ptr<hnswlib::SpaceInterface<float>> FloatSpace(Metric metric,
                                                           size_t dim) {
  return std::make_unique<FloatSpaceImpl>(metric, dim);
}

absl::Status FromException(const std::exception& e) {
  if (dynamic_cast<const std::bad_alloc*>(&e) != nullptr) {
    return absl::ResourceExhaustedError("hnsw: out of memory");
  }
  return absl::InternalError(absl::StrCat("hnsw: ", e.what()));
}

}  // namespace

IndexState::IndexState(const HnswOptions& options)
    : options_(options), dim_(options.dimension) {}

IndexState::~IndexState() = default;

GraphLayout IndexState::Layout() const {
  // The codec only reads through these when encoding (Export is const).
  Graph& g = *graph_;
  return GraphLayout{g.M_,
                     g.ef_construction_,
                     &g.cur_element_count,
                     g.data_level0_memory_,
                     g.size_data_per_element_,
                     g.label_offset_,
                     g.offsetLevel0_,
                     g.maxM0_,
                     g.maxM_,
                     g.size_links_per_element_,
                     &g.element_levels_,
                     g.linkLists_,
                     &g.maxlevel_,
                     &g.enterpoint_node_,
                     &g.label_lookup_};
}

absl::StatusOr<std::unique_ptr<IndexState>> IndexState::Create(
    const HnswOptions& options, size_t capacity) {
  auto state = std::make_unique<IndexState>(options);
  if (options.quantize_int8) {
    if (options.float_store_dir.empty()) {
      state->floats_ = NewHeapFloatStore(options.dimension);
    } else {
      QUARRY_ASSIGN_OR_RETURN(state->floats_,
                              NewMappedFloatStore(options.dimension, options.float_store_dir));
    }
  } else {
    state->space_ = FloatSpace(options.metric, options.dimension);
    QUARRY_RETURN_IF_ERROR(state->NewGraph(capacity));
  }
  return state;
}

absl::StatusOr<std::unique_ptr<IndexState>> IndexState::Build(
    const HnswOptions& options, std::vector<SnapshotDoc> docs) {
  QUARRY_ASSIGN_OR_RETURN(std::unique_ptr<IndexState> state,
                          Create(options, std::max(options.initial_capacity, docs.size())));
  IndexState& s = *state;
  if (options.quantize_int8 && docs.size() >= options.quantizer_train_size) {
    s.quantizer_ = std::make_unique<ScalarQuantizer>(ScalarQuantizer::Train(
        options.dimension, docs.size(),
        [&](size_t i) { return docs[i].vector.data(); }));
    s.space_ = std::make_unique<Int8Space>(s.quantizer_.get(), options.metric);
    QUARRY_RETURN_IF_ERROR(s.NewGraph(docs.size()));
    QUARRY_RETURN_IF_ERROR(s.floats_->Reserve(docs.size()));
  }
  s.slots_.reserve(docs.size());
  for (SnapshotDoc& doc : docs) {
    if (doc.vector.size() != options.dimension) {
      return absl::DataLossError("document without a vector");
    }
    QUARRY_RETURN_IF_ERROR(s.Upsert(doc.id, doc.vector.data(), doc.tags, doc.metadata, doc.seq));
    std::vector<float>().swap(doc.vector);  // keep peak memory down
  }
  return state;
}

absl::StatusOr<std::unique_ptr<IndexState>> IndexState::Import(
    const HnswOptions& options, SnapshotData data) {
  QUARRY_ASSIGN_OR_RETURN(std::unique_ptr<IndexState> state,
                          Create(options, options.initial_capacity));
  try {
    IndexState& s = *state;
    auto make_graph = [&s](std::unique_ptr<ScalarQuantizer> quantizer, size_t m,
                           size_t ef_construction, size_t count) -> absl::StatusOr<GraphLayout> {
      if (quantizer != nullptr) {
        s.quantizer_ = std::move(quantizer);
        s.space_ = std::make_unique<Int8Space>(s.quantizer_.get(), s.options_.metric);
      }
      // The graph's own parameters win over the options it was loaded with.
      s.options_.m = m;
      s.options_.ef_construction = ef_construction;
      QUARRY_RETURN_IF_ERROR(s.NewGraph(std::max<size_t>(count, s.options_.initial_capacity)));
      return s.Layout();
    };
    QUARRY_RETURN_IF_ERROR(
        DecodeGraph(data.graph, data.docs.size(), s.dim_, options.quantize_int8, make_graph));
    QUARRY_RETURN_IF_ERROR(s.RestoreSlots(std::move(data.docs)));
  } catch (const std::exception& e) {
    return FromException(e);
  }
  return state;
}

absl::Status IndexState::Upsert(const std::string& id, const float* vector,
                    const Tags& tags, const Metadata& metadata, int64_t seq) {
  try {
    return UpsertImpl(id, vector, tags, metadata, seq);
  } catch (const std::exception& e) {
    return FromException(e);
  }
}

absl::Status IndexState::Delete(const std::string& id, int64_t seq) {
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return absl::OkStatus();
  Slot& slot = slots_[it->second];
  if (seq < slot.seq) return absl::OkStatus();
  try {
    if (graph_ != nullptr) graph_->markDelete(it->second);
  } catch (const std::exception& e) {
    return FromException(e);
  }
  // Postings keep the dead slot; searches check liveness and rebuilds drop it.
  slot.live = false;
  slot.seq = seq;
  std::string().swap(slot.id);
  Tags().swap(slot.tags);
  slot.metadata.clear();
  by_id_.erase(it);
  --live_;
  return absl::OkStatus();
}

SearchResult IndexState::Search(const SearchRequest& request, const float* query) const {
  SearchResult result;
  const size_t k = request.k;
  const size_t ef = std::max(request.effort != 0 ? request.effort
                                                 : options_.default_ef, k);
  const bool small = graph_ == nullptr || live_ <= options_.exact_below;
  ScoredSlots scored;
  auto vector_of = [this](uint32_t s) { return FloatVector(s); };
  const GraphView view{graph_.get(), quantizer_.get(), floats_ != nullptr, options_.metric, dim_};
  if (request.filter.Empty()) {
    if (request.exact || small) {
      result.exact_used = true;
      scored = ExactAll(options_.metric, dim_, query, k, static_cast<uint32_t>(slots_.size()),
                        [this](uint32_t s) { return slots_[s].live; }, vector_of);
    } else {
      scored = GraphSearch(view, query, ef, k, [this](uint32_t s) { return slots_[s].live; },
                           vector_of);
    }
  } else {
    const Filter& filter = request.filter;
    std::vector<const std::vector<uint32_t>*> lists;
    size_t estimate = 0;
    if (!postings_.CandidateLists(filter, &lists, &estimate)) {
      result.exact_used = true;
      return result;  // a required term matches nothing
    }
    const double auto_threshold =
        std::sqrt(static_cast<double>(ef) * 2.0 * options_.m * live_);
    const size_t threshold =
        options_.filter_exact_threshold >= 0
            ? static_cast<size_t>(options_.filter_exact_threshold)
            : std::max<size_t>(options_.exact_below, static_cast<size_t>(auto_threshold));
    auto matches = [this, &filter](uint32_t s) {
      const Slot& slot = slots_[s];
      return slot.live && Matches(filter, slot.tags, slot.metadata);
    };
    if (!request.exact && !small && estimate > threshold) {
      scored = GraphSearch(view, query, ef, k, matches, vector_of);
    }
    // The graph can strand a filtered search in a region with too few
    // matches; the exact pass over the candidates then restores recall.
    if (scored.size() < k) {
      result.exact_used = true;
      scored = ExactOver(options_.metric, dim_, query, k, lists, matches, vector_of);
    }
  }
  for (auto& [score, slot] : scored) {
    // The shard owns min_score filtering (see model::BelowMinScore).
    if (model::BelowMinScore(score, request.min_score)) continue;
    result.hits.push_back(Hit{slots_[slot].id, score});
  }
  std::sort(result.hits.begin(), result.hits.end(), [](const Hit& a, const Hit& b) {
    return a.score != b.score ? a.score > b.score : a.id < b.id;
  });
  if (result.hits.size() > k) result.hits.resize(k);
  return result;
}

size_t IndexState::MemoryBytes() const {
  size_t bytes = slots_.capacity() * sizeof(Slot);
  for (const Slot& slot : slots_) {
    if (slot.id.capacity() > 15) bytes += slot.id.capacity() + 1;
    for (const std::string& tag : slot.tags) bytes += sizeof(tag) + tag.capacity();
    // std::map node: header plus two strings.
    for (const auto& [k, v] : slot.metadata) bytes += 48 + 2 * sizeof(std::string) + k.capacity() + v.capacity();
  }
  bytes += by_id_.capacity() * (sizeof(std::pair<std::string, uint32_t>) + 1);
  bytes += postings_.MemoryBytes();
  if (floats_ != nullptr) bytes += floats_->HeapBytes();
  if (quantizer_ != nullptr) bytes += 2 * dim_ * sizeof(float);
  if (graph_ != nullptr) {
    const Graph& g = *graph_;
    bytes += g.max_elements_ * g.size_data_per_element_;  // level 0: links, data, label
    bytes += g.max_elements_ * (sizeof(void*) + sizeof(int) + sizeof(std::mutex));
    bytes += Graph::max_update_element_locks * sizeof(std::mutex);
    bytes += g.max_elements_ * sizeof(hnswlib::vl_type);  // one visited list
    // unordered_map node (next, key, value) + bucket pointer.
    bytes += g.label_lookup_.size() * (sizeof(void*) * 2 + sizeof(hnswlib::labeltype) + sizeof(tableint));
    for (size_t i = 0; i < g.cur_element_count; ++i) {
      if (g.element_levels_[i] > 0) bytes += g.size_links_per_element_ * g.element_levels_[i] + 1;
    }
  }
  return bytes;
}

std::vector<SnapshotDoc> IndexState::LiveDocs() const {
  std::vector<SnapshotDoc> docs;
  docs.reserve(live_);
  for (uint32_t s = 0; s < slots_.size(); ++s) {
    const Slot& slot = slots_[s];
    if (!slot.live) continue;
    const float* v = FloatVector(s);
    docs.push_back(SnapshotDoc{slot.id, std::vector<float>(v, v + dim_),
                               slot.tags, slot.metadata, slot.seq, true});
  }
  return docs;
}

SnapshotData IndexState::Export(bool include_graph) const {
  SnapshotData data;
  data.metric = options_.metric;
  data.dimension = static_cast<uint32_t>(dim_);
  if (!include_graph || graph_ == nullptr) {
    data.docs = LiveDocs();
    return data;
  }
  data.docs.reserve(slots_.size());
  for (uint32_t s = 0; s < slots_.size(); ++s) {
    const Slot& slot = slots_[s];
    SnapshotDoc doc{slot.id, {}, slot.tags, slot.metadata, slot.seq, slot.live};
    // Float graphs carry the vectors themselves; int8 graphs only codes.
    if (slot.live && options_.quantize_int8) {
      const float* v = FloatVector(s);
      doc.vector.assign(v, v + dim_);
    }
    data.docs.push_back(std::move(doc));
  }
  data.graph = EncodeGraph(Layout(), quantizer_.get(), dim_);
  return data;
}

const float* IndexState::FloatVector(uint32_t slot) const {
  if (floats_ != nullptr) return floats_->Get(slot);
  return reinterpret_cast<const float*>(graph_->getDataByInternalId(slot));
}

absl::Status IndexState::NewGraph(size_t capacity) {
  try {
    graph_ = std::make_unique<Graph>(space_.get(), std::max<size_t>(capacity, 1),
                                     options_.m, options_.ef_construction,
                                     options_.seed);
  } catch (const std::exception& e) {
    return FromException(e);
  }
  return absl::OkStatus();
}

void IndexState::EnsureGraphCapacity(size_t n) {
  if (n > graph_->max_elements_) {
    graph_->resizeIndex(std::max(n, graph_->max_elements_ * 2));
  }
}

const void* IndexState::GraphPoint(const float* vector, std::vector<uint8_t>* codes) const {
  if (quantizer_ == nullptr) return vector;
  codes->resize(dim_);
  quantizer_->Encode(vector, codes->data());
  return codes->data();
}

absl::Status IndexState::AddToGraph(uint32_t slot, const float* vector) {
  std::vector<uint8_t> codes;
  EnsureGraphCapacity(size_t{slot} + 1);
  const tableint internal = graph_->addPoint(GraphPoint(vector, &codes), slot, -1);
  if (internal != slot) {
    return absl::InternalError("hnsw: graph slot out of step with the index");
  }
  return absl::OkStatus();
}

absl::Status IndexState::UpsertImpl(const std::string& id, const float* vector,
                        const Tags& tags, const Metadata& metadata, int64_t seq) {
  auto it = by_id_.find(id);
  if (it != by_id_.end()) {
    const uint32_t s = it->second;
    Slot& slot = slots_[s];
    if (seq < slot.seq) return absl::OkStatus();
    if (std::memcmp(FloatVector(s), vector, dim_ * sizeof(float)) != 0) {
      if (floats_ != nullptr) floats_->Set(s, vector);
      if (graph_ != nullptr) {
        // hnswlib 0.6.2 updates an existing label in place (updatePoint),
        // repairing its neighbourhood: no tombstone for a replaced vector.
        std::vector<uint8_t> codes;
        graph_->addPoint(GraphPoint(vector, &codes), s, -1);
      }
    }
    postings_.Add(s, tags, metadata, &slot.tags, &slot.metadata);
    slot.tags = tags;
    slot.metadata = metadata;
    slot.seq = seq;
    return absl::OkStatus();
  }
  const uint32_t s = static_cast<uint32_t>(slots_.size());
  if (floats_ != nullptr) {
    QUARRY_RETURN_IF_ERROR(floats_->Reserve(size_t{s} + 1));
    floats_->Set(s, vector);
  }
  if (graph_ != nullptr) {
    QUARRY_RETURN_IF_ERROR(AddToGraph(s, vector));
  }
  slots_.push_back(Slot{id, tags, metadata, seq, true});
  by_id_.emplace(id, s);
  ++live_;
  postings_.Add(s, tags, metadata, nullptr, nullptr);
  if (graph_ == nullptr && live_ >= options_.quantizer_train_size) {
    return TrainAndBuildGraph();
  }
  return absl::OkStatus();
}

absl::Status IndexState::TrainAndBuildGraph() {
  std::vector<uint32_t> live_slots;
  for (uint32_t s = 0; s < slots_.size(); ++s) {
    if (slots_[s].live) live_slots.push_back(s);
  }
  quantizer_ = std::make_unique<ScalarQuantizer>(ScalarQuantizer::Train(
      dim_, live_slots.size(),
      [&](size_t i) { return floats_->Get(live_slots[i]); }));
  space_ = std::make_unique<Int8Space>(quantizer_.get(), options_.metric);
  QUARRY_RETURN_IF_ERROR(NewGraph(std::max(options_.initial_capacity, slots_.size() * 2)));
  for (uint32_t s = 0; s < slots_.size(); ++s) {
    QUARRY_RETURN_IF_ERROR(AddToGraph(s, floats_->Get(s)));
    if (!slots_[s].live) graph_->markDelete(s);
  }
  return absl::OkStatus();
}

absl::Status IndexState::RestoreSlots(std::vector<SnapshotDoc> docs) {
  Graph& g = *graph_;
  if (floats_ != nullptr) {
    QUARRY_RETURN_IF_ERROR(floats_->Reserve(docs.size()));
  }
  slots_.reserve(docs.size());
  g.num_deleted_ = 0;
  for (uint32_t s = 0; s < docs.size(); ++s) {
    SnapshotDoc& doc = docs[s];
    // The deletion mark is the third byte of the level-0 header.
    auto* mark = reinterpret_cast<unsigned char*>(g.get_linklist0(s)) + 2;
    if (!doc.live) {
      *mark |= Graph::DELETE_MARK;
      ++g.num_deleted_;
      slots_.push_back(Slot{"", {}, {}, doc.seq, false});
      continue;
    }
    *mark &= static_cast<unsigned char>(~Graph::DELETE_MARK);
    if (floats_ != nullptr) {
      if (doc.vector.size() != dim_) return absl::DataLossError("snapshot: int8 document without vector");
      floats_->Set(s, doc.vector.data());
    }
    if (!by_id_.emplace(doc.id, s).second) return absl::DataLossError("snapshot: duplicate id");
    postings_.Add(s, doc.tags, doc.metadata, nullptr, nullptr);
    slots_.push_back(Slot{std::move(doc.id), std::move(doc.tags), std::move(doc.metadata), doc.seq, true});
    ++live_;
  }
  return absl::OkStatus();
}

}  // namespace quarry::vector_search::internal
