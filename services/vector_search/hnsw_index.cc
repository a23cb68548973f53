#include "services/vector_search/hnsw_index.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <limits>
#include <queue>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "services/vector_search/distance.h"
#include "services/vector_search/float_store.h"
#include "services/vector_search/hnswlib_include.h"
#include "services/vector_search/quantizer.h"

namespace quarry::vector_search {
namespace internal {
namespace {

using Graph = hnswlib::HierarchicalNSW<float>;
using hnswlib::tableint;

constexpr uint32_t kGraphFormat = 1;
constexpr int kMaxLevel = 64;

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

std::string TagKey(const std::string& tag) { return absl::StrCat("t", tag); }
std::string MetaKey(const std::string& key, const std::string& value) {
  return absl::StrCat("m", key, std::string(1, '\0'), value);
}

// Minimal bounds-checked reader for the graph section.
class BlobReader {
 public:
  explicit BlobReader(std::string_view in) : in_(in) {}
  template <typename T>
  bool Pod(T* v) {
    if (in_.size() - pos_ < sizeof(T)) return false;
    std::memcpy(v, in_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return true;
  }
  bool View(size_t n, std::string_view* out) {
    if (in_.size() - pos_ < n) return false;
    *out = in_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  size_t remaining() const { return in_.size() - pos_; }

 private:
  std::string_view in_;
  size_t pos_ = 0;
};

template <typename T>
void PutPod(std::string* out, T v) {
  out->append(reinterpret_cast<const char*>(&v), sizeof(T));
}

}  // namespace

// The index proper, not thread-safe: HnswIndex adds locking, watermark and
// rebuilds. Invariant: when the graph exists it holds exactly the slots
// [0, slots_.size()) and graph internal id == label == slot, so vectors and
// results need no translation table.
class IndexState {
 public:
  struct Slot {
    std::string id;
    Tags tags;
    Metadata metadata;
    int64_t seq = 0;
    bool live = false;
  };

  explicit IndexState(const HnswOptions& options)
      : options_(options), dim_(options.dimension) {}

  static absl::StatusOr<std::unique_ptr<IndexState>> Create(
      const HnswOptions& options, size_t capacity) {
    auto state = std::make_unique<IndexState>(options);
    if (options.quantize_int8) {
      if (options.float_store_dir.empty()) {
        state->floats_ = NewHeapFloatStore(options.dimension);
      } else {
        auto store = NewMappedFloatStore(options.dimension, options.float_store_dir);
        if (!store.ok()) return store.status();
        state->floats_ = *std::move(store);
      }
    } else {
      state->space_ = FloatSpace(options.metric, options.dimension);
      if (absl::Status s = state->NewGraph(capacity); !s.ok()) return s;
    }
    return state;
  }

  // Bulk build from live documents (rebuilds, snapshot loads without graph).
  // int8 trains on all of them first instead of on the first few.
  static absl::StatusOr<std::unique_ptr<IndexState>> Build(
      const HnswOptions& options, std::vector<SnapshotDoc> docs) {
    auto state = Create(options, std::max(options.initial_capacity, docs.size()));
    if (!state.ok()) return state.status();
    IndexState& s = **state;
    if (options.quantize_int8 && docs.size() >= options.quantizer_train_size) {
      s.quantizer_ = std::make_unique<ScalarQuantizer>(ScalarQuantizer::Train(
          options.dimension, docs.size(),
          [&](size_t i) { return docs[i].vector.data(); }));
      s.space_ = std::make_unique<Int8Space>(s.quantizer_.get(), options.metric);
      if (absl::Status st = s.NewGraph(docs.size()); !st.ok()) return st;
      if (absl::Status st = s.floats_->Reserve(docs.size()); !st.ok()) return st;
    }
    s.slots_.reserve(docs.size());
    for (SnapshotDoc& doc : docs) {
      if (doc.vector.size() != options.dimension) {
        return absl::DataLossError("document without a vector");
      }
      absl::Status st = s.Upsert(doc.id, doc.vector.data(), doc.tags,
                                 doc.metadata, doc.seq);
      if (!st.ok()) return st;
      std::vector<float>().swap(doc.vector);  // keep peak memory down
    }
    return state;
  }

  absl::Status Upsert(const std::string& id, const float* vector,
                      const Tags& tags, const Metadata& metadata, int64_t seq) {
    try {
      return UpsertImpl(id, vector, tags, metadata, seq);
    } catch (const std::exception& e) {
      return FromException(e);
    }
  }

  absl::Status Delete(const std::string& id, int64_t seq) {
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

  SearchResult Search(const SearchRequest& request, const float* query) const {
    SearchResult result;
    const size_t k = request.k;
    const size_t ef = std::max(request.effort != 0 ? request.effort
                                                   : options_.default_ef, k);
    const bool small = graph_ == nullptr || live_ <= options_.exact_below;
    std::vector<std::pair<float, uint32_t>> scored;  // (score, slot)
    if (request.filter.Empty()) {
      if (request.exact || small) {
        result.exact_used = true;
        scored = ExactAll(query, k);
      } else {
        scored = GraphSearch(query, ef, k, [this](uint32_t s) { return slots_[s].live; });
      }
    } else {
      const Filter& filter = request.filter;
      std::vector<const std::vector<uint32_t>*> lists;
      size_t estimate = 0;
      if (!CandidateLists(filter, &lists, &estimate)) {
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
        scored = GraphSearch(query, ef, k, matches);
      }
      // The graph can strand a filtered search in a region with too few
      // matches; the exact pass over the candidates then restores recall.
      if (scored.size() < k) {
        result.exact_used = true;
        scored = ExactOver(query, k, lists, matches);
      }
    }
    for (auto& [score, slot] : scored) {
      if (request.min_score.has_value() && score < *request.min_score) continue;
      result.hits.push_back(Hit{slots_[slot].id, score});
    }
    std::sort(result.hits.begin(), result.hits.end(), [](const Hit& a, const Hit& b) {
      return a.score != b.score ? a.score > b.score : a.id < b.id;
    });
    if (result.hits.size() > k) result.hits.resize(k);
    return result;
  }

  size_t live() const { return live_; }
  size_t slots() const { return slots_.size(); }

  size_t MemoryBytes() const {
    size_t bytes = slots_.capacity() * sizeof(Slot);
    for (const Slot& slot : slots_) {
      if (slot.id.capacity() > 15) bytes += slot.id.capacity() + 1;
      for (const std::string& tag : slot.tags) bytes += sizeof(tag) + tag.capacity();
      // std::map node: header plus two strings.
      for (const auto& [k, v] : slot.metadata) bytes += 48 + 2 * sizeof(std::string) + k.capacity() + v.capacity();
    }
    bytes += by_id_.capacity() * (sizeof(std::pair<std::string, uint32_t>) + 1);
    bytes += postings_.capacity() * (sizeof(std::pair<std::string, std::vector<uint32_t>>) + 1);
    for (const auto& [key, list] : postings_) bytes += key.capacity() + list.capacity() * sizeof(uint32_t);
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

  size_t MappedBytes() const { return floats_ != nullptr ? floats_->MappedBytes() : 0; }

  std::vector<SnapshotDoc> LiveDocs() const {
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

  SnapshotData Export(bool include_graph) const {
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
    data.graph = EncodeGraph();
    return data;
  }

  // Restores a state whose snapshot carries a graph section.
  static absl::StatusOr<std::unique_ptr<IndexState>> Import(
      const HnswOptions& options, SnapshotData data) {
    auto created = Create(options, options.initial_capacity);
    if (!created.ok()) return created.status();
    std::unique_ptr<IndexState> state = *std::move(created);
    try {
      if (absl::Status s = state->DecodeGraph(data.graph, data.docs.size()); !s.ok()) return s;
      if (absl::Status s = state->RestoreSlots(std::move(data.docs)); !s.ok()) return s;
    } catch (const std::exception& e) {
      return FromException(e);
    }
    return state;
  }

 private:
  const float* FloatVector(uint32_t slot) const {
    if (floats_ != nullptr) return floats_->Get(slot);
    return reinterpret_cast<const float*>(graph_->getDataByInternalId(slot));
  }

  absl::Status NewGraph(size_t capacity) {
    try {
      graph_ = std::make_unique<Graph>(space_.get(), std::max<size_t>(capacity, 1),
                                       options_.m, options_.ef_construction,
                                       options_.seed);
    } catch (const std::exception& e) {
      return FromException(e);
    }
    return absl::OkStatus();
  }

  void EnsureGraphCapacity(size_t n) {
    if (n > graph_->max_elements_) {
      graph_->resizeIndex(std::max(n, graph_->max_elements_ * 2));
    }
  }

  // What the graph stores for a float vector: itself, or its codes.
  const void* GraphPoint(const float* vector, std::vector<uint8_t>* codes) const {
    if (quantizer_ == nullptr) return vector;
    codes->resize(dim_);
    quantizer_->Encode(vector, codes->data());
    return codes->data();
  }

  absl::Status AddToGraph(uint32_t slot, const float* vector) {
    std::vector<uint8_t> codes;
    EnsureGraphCapacity(size_t{slot} + 1);
    const tableint internal = graph_->addPoint(GraphPoint(vector, &codes), slot, -1);
    if (internal != slot) {
      return absl::InternalError("hnsw: graph slot out of step with the index");
    }
    return absl::OkStatus();
  }

  absl::Status UpsertImpl(const std::string& id, const float* vector,
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
      AddPostings(s, tags, metadata, &slot.tags, &slot.metadata);
      slot.tags = tags;
      slot.metadata = metadata;
      slot.seq = seq;
      return absl::OkStatus();
    }
    const uint32_t s = static_cast<uint32_t>(slots_.size());
    if (floats_ != nullptr) {
      if (absl::Status st = floats_->Reserve(size_t{s} + 1); !st.ok()) return st;
      floats_->Set(s, vector);
    }
    if (graph_ != nullptr) {
      if (absl::Status st = AddToGraph(s, vector); !st.ok()) return st;
    }
    slots_.push_back(Slot{id, tags, metadata, seq, true});
    by_id_.emplace(id, s);
    ++live_;
    AddPostings(s, tags, metadata, nullptr, nullptr);
    if (graph_ == nullptr && live_ >= options_.quantizer_train_size) {
      return TrainAndBuildGraph();
    }
    return absl::OkStatus();
  }

  // int8 only: the quantizer needs data before codes mean anything.
  absl::Status TrainAndBuildGraph() {
    std::vector<uint32_t> live_slots;
    for (uint32_t s = 0; s < slots_.size(); ++s) {
      if (slots_[s].live) live_slots.push_back(s);
    }
    quantizer_ = std::make_unique<ScalarQuantizer>(ScalarQuantizer::Train(
        dim_, live_slots.size(),
        [&](size_t i) { return floats_->Get(live_slots[i]); }));
    space_ = std::make_unique<Int8Space>(quantizer_.get(), options_.metric);
    if (absl::Status st = NewGraph(std::max(options_.initial_capacity, slots_.size() * 2)); !st.ok()) {
      return st;
    }
    for (uint32_t s = 0; s < slots_.size(); ++s) {
      if (absl::Status st = AddToGraph(s, floats_->Get(s)); !st.ok()) return st;
      if (!slots_[s].live) graph_->markDelete(s);
    }
    return absl::OkStatus();
  }

  // Adds posting entries for terms the slot did not already carry.
  void AddPostings(uint32_t s, const Tags& tags, const Metadata& metadata,
                   const Tags* old_tags, const Metadata* old_metadata) {
    for (const std::string& tag : tags) {
      if (old_tags != nullptr &&
          std::find(old_tags->begin(), old_tags->end(), tag) != old_tags->end()) {
        continue;
      }
      postings_[TagKey(tag)].push_back(s);
    }
    for (const auto& [key, value] : metadata) {
      if (old_metadata != nullptr) {
        auto it = old_metadata->find(key);
        if (it != old_metadata->end() && it->second == value) continue;
      }
      postings_[MetaKey(key, value)].push_back(s);
    }
  }

  // The posting lists to scan for `filter`: the shortest conjunctive one, or
  // every any_tags list when there is no conjunctive term. `estimate` bounds
  // the match count from above (lists keep stale entries until a rebuild).
  // False when the filter provably matches nothing.
  bool CandidateLists(const Filter& filter,
                      std::vector<const std::vector<uint32_t>*>* lists,
                      size_t* estimate) const {
    const std::vector<uint32_t>* best = nullptr;
    auto consider = [&](const std::string& key) {
      auto it = postings_.find(key);
      if (it == postings_.end()) return false;
      if (best == nullptr || it->second.size() < best->size()) best = &it->second;
      return true;
    };
    for (const std::string& tag : filter.all_tags) {
      if (!consider(TagKey(tag))) return false;
    }
    for (const auto& [key, value] : filter.metadata_equals) {
      if (!consider(MetaKey(key, value))) return false;
    }
    if (best != nullptr) {
      lists->push_back(best);
      *estimate = best->size();
      return true;
    }
    *estimate = 0;
    for (const std::string& tag : filter.any_tags) {
      auto it = postings_.find(TagKey(tag));
      if (it == postings_.end()) continue;
      lists->push_back(&it->second);
      *estimate += it->second.size();
    }
    return !lists->empty();
  }

  // Keeps the k best (score, slot) pairs; worst at the top of the heap.
  struct TopK {
    explicit TopK(size_t k) : k(k) {}
    void Offer(float score, uint32_t slot) {
      if (heap.size() < k) {
        heap.emplace(score, slot);
      } else if (score > heap.top().first) {
        heap.pop();
        heap.emplace(score, slot);
      }
    }
    std::vector<std::pair<float, uint32_t>> Take() {
      std::vector<std::pair<float, uint32_t>> out;
      while (!heap.empty()) {
        out.push_back(heap.top());
        heap.pop();
      }
      return out;
    }
    size_t k;
    std::priority_queue<std::pair<float, uint32_t>,
                        std::vector<std::pair<float, uint32_t>>,
                        std::greater<std::pair<float, uint32_t>>>
        heap;
  };

  std::vector<std::pair<float, uint32_t>> ExactAll(const float* query, size_t k) const {
    TopK top(k);
    for (uint32_t s = 0; s < slots_.size(); ++s) {
      if (slots_[s].live) top.Offer(Score(options_.metric, query, FloatVector(s), dim_), s);
    }
    return top.Take();
  }

  template <typename Pred>
  std::vector<std::pair<float, uint32_t>> ExactOver(
      const float* query, size_t k,
      const std::vector<const std::vector<uint32_t>*>& lists,
      const Pred& matches) const {
    std::vector<uint32_t> candidates;
    for (const auto* list : lists) candidates.insert(candidates.end(), list->begin(), list->end());
    // Lists may repeat a slot (union of any_tags, re-added terms).
    std::sort(candidates.begin(), candidates.end());
    candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
    TopK top(k);
    for (uint32_t s : candidates) {
      if (matches(s)) top.Offer(Score(options_.metric, query, FloatVector(s), dim_), s);
    }
    return top.Take();
  }

  // Best-first search of hnswlib's graph through its public members, so ef
  // is per query (hnswlib's searchKnn reads a shared ef_) and the filter is
  // applied during traversal: non-matching nodes are walked through but never
  // returned (0.6.2 has no filter functor). Candidates are re-scored with the
  // float vectors, which for int8 is the re-ranking step.
  template <typename Pred>
  std::vector<std::pair<float, uint32_t>> GraphSearch(const float* query, size_t ef,
                                                      size_t k, const Pred& accept) const {
    const Graph& g = *graph_;
    if (g.cur_element_count == 0) return {};
    // int8: asymmetric distance, the float query against decoded codes, so
    // the query loses no precision: for inner product
    // q.(o + s*c) = q.o + (q*s).c, one multiply-add per dimension.
    std::vector<float> qs;
    float q_offset = 0;
    if (quantizer_ != nullptr) {
      const float* o = quantizer_->offset().data();
      const float* sc = quantizer_->scale().data();
      qs.resize(dim_);
      if (options_.metric == Metric::kL2) {
        for (size_t d = 0; d < dim_; ++d) qs[d] = query[d] - o[d];
      } else {
        for (size_t d = 0; d < dim_; ++d) {
          qs[d] = query[d] * sc[d];
          q_offset += query[d] * o[d];
        }
      }
    }
    const float* scale = quantizer_ != nullptr ? quantizer_->scale().data() : nullptr;
    const bool l2 = options_.metric == Metric::kL2;
    auto dist = [&](tableint id) -> float {
      const char* point = g.getDataByInternalId(id);
      if (scale == nullptr) return g.fstdistfunc_(query, point, g.dist_func_param_);
      // The kernels are chosen at run time (distance.h); a plain loop here
      // would be vectorised for x86-64-v2's 128-bit SSE only.
      const auto* codes = reinterpret_cast<const uint8_t*>(point);
      if (l2) return L2U8(qs.data(), scale, codes, dim_);
      return 1.0f - (q_offset + DotU8(qs.data(), codes, dim_));
    };
    tableint current = g.enterpoint_node_;
    float current_dist = dist(current);
    for (int level = g.maxlevel_; level > 0; --level) {
      bool changed = true;
      while (changed) {
        changed = false;
        const hnswlib::linklistsizeint* list = g.get_linklist(current, level);
        const int size = g.getListCount(const_cast<hnswlib::linklistsizeint*>(list));
        const tableint* links = reinterpret_cast<const tableint*>(list + 1);
        for (int i = 0; i < size; ++i) {
          const float d = dist(links[i]);
          if (d < current_dist) {
            current_dist = d;
            current = links[i];
            changed = true;
          }
        }
      }
    }

    hnswlib::VisitedList* visited = g.visited_list_pool_->getFreeVisitedList();
    hnswlib::vl_type* mark = visited->mass;
    const hnswlib::vl_type tag = visited->curV;
    using Entry = std::pair<float, tableint>;
    std::priority_queue<Entry> found;  // accepted, worst (largest distance) on top
    std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> frontier;
    float bound = std::numeric_limits<float>::max();
    if (accept(current)) {
      found.emplace(current_dist, current);
      bound = current_dist;
    }
    frontier.emplace(current_dist, current);
    mark[current] = tag;
    // A node's links and its neighbours' vectors are random accesses, mostly
    // cache misses. Each expansion first claims its unvisited neighbours (the
    // same visited set and order as scoring them one by one) and starts
    // loading each one's vector, so the misses overlap rather than come one
    // after another; then it scores them. One line each is enough: the
    // hardware prefetcher streams the rest of a vector once it is read. On
    // 100k x 384 this is 5-10% faster than prefetching one neighbour ahead;
    // prefetching every line of the vectors was 5-15% slower.
    std::vector<tableint> unvisited;
    unvisited.reserve(g.maxM0_);
    while (!frontier.empty()) {
      const Entry next = frontier.top();
      if (next.first > bound && found.size() >= ef) break;
      frontier.pop();
      const hnswlib::linklistsizeint* list = g.get_linklist0(next.second);
      const size_t size = g.getListCount(const_cast<hnswlib::linklistsizeint*>(list));
      const tableint* links = reinterpret_cast<const tableint*>(list + 1);
      unvisited.clear();
      for (size_t j = 0; j < size; ++j) {
        const tableint id = links[j];
        if (mark[id] == tag) continue;
        mark[id] = tag;
        __builtin_prefetch(g.getDataByInternalId(id));
        unvisited.push_back(id);
      }
      for (const tableint id : unvisited) {
        const float d = dist(id);
        if (found.size() < ef || d < bound) {
          frontier.emplace(d, id);
          if (accept(id)) {
            found.emplace(d, id);
            if (found.size() > ef) found.pop();
          }
          if (!found.empty()) bound = found.top().first;
        }
      }
      // The node expanded next is known now: start loading its links (they
      // precede its vector in hnswlib's layout, so scoring it did not).
      if (!frontier.empty()) {
        const char* next_links =
            reinterpret_cast<const char*>(g.get_linklist0(frontier.top().second));
        for (size_t offset = 0; offset < g.size_links_level0_; offset += 64) {
          __builtin_prefetch(next_links + offset);
        }
      }
    }
    g.visited_list_pool_->releaseVisitedList(visited);

    std::vector<uint32_t> candidates;
    candidates.reserve(found.size());
    while (!found.empty()) {
      candidates.push_back(found.top().second);
      found.pop();
    }
    // int8: the float vectors live in their own (mapped) store, which the
    // walk never touched. Loading all of them at once overlaps the misses
    // that scoring one after another would wait out in turn.
    if (floats_ != nullptr) {
      for (uint32_t s : candidates) {
        const char* v = reinterpret_cast<const char*>(FloatVector(s));
        for (size_t offset = 0; offset < dim_ * sizeof(float); offset += 64) {
          __builtin_prefetch(v + offset);
        }
      }
    }
    TopK top(k);
    for (uint32_t s : candidates) top.Offer(Score(options_.metric, query, FloatVector(s), dim_), s);
    return top.Take();
  }

  // Graph section: format, quantizer, hnswlib's structure parameters, the
  // level-0 block (links, stored point, label per node), upper-level links.
  std::string EncodeGraph() const {
    const Graph& g = *graph_;
    std::string out;
    PutPod(&out, kGraphFormat);
    PutPod(&out, static_cast<uint8_t>(quantizer_ != nullptr));
    if (quantizer_ != nullptr) {
      out.append(reinterpret_cast<const char*>(quantizer_->offset().data()), dim_ * sizeof(float));
      out.append(reinterpret_cast<const char*>(quantizer_->scale().data()), dim_ * sizeof(float));
    }
    PutPod(&out, static_cast<uint64_t>(g.M_));
    PutPod(&out, static_cast<uint64_t>(g.ef_construction_));
    PutPod(&out, static_cast<uint64_t>(g.cur_element_count));
    PutPod(&out, static_cast<int32_t>(g.maxlevel_));
    PutPod(&out, static_cast<uint32_t>(g.enterpoint_node_));
    PutPod(&out, static_cast<uint64_t>(g.size_data_per_element_));
    out.append(g.data_level0_memory_, g.cur_element_count * g.size_data_per_element_);
    for (size_t i = 0; i < g.cur_element_count; ++i) {
      const int32_t level = g.element_levels_[i];
      PutPod(&out, level);
      if (level > 0) out.append(g.linkLists_[i], g.size_links_per_element_ * level);
    }
    return out;
  }

  absl::Status DecodeGraph(std::string_view blob, size_t doc_count) {
    auto bad = [](const char* what) {
      return absl::DataLossError(absl::StrCat("snapshot graph: ", what));
    };
    BlobReader r(blob);
    uint32_t format;
    uint8_t has_quantizer;
    if (!r.Pod(&format) || format != kGraphFormat) return bad("format");
    if (!r.Pod(&has_quantizer) || has_quantizer != (options_.quantize_int8 ? 1 : 0)) {
      return bad("quantization does not match the options");
    }
    if (has_quantizer) {
      std::string_view raw;
      std::vector<float> offset(dim_), scale(dim_);
      if (!r.View(dim_ * sizeof(float), &raw)) return bad("quantizer");
      std::memcpy(offset.data(), raw.data(), raw.size());
      if (!r.View(dim_ * sizeof(float), &raw)) return bad("quantizer");
      std::memcpy(scale.data(), raw.data(), raw.size());
      for (size_t d = 0; d < dim_; ++d) {
        if (!std::isfinite(offset[d]) || !std::isfinite(scale[d]) || scale[d] < 0) {
          return bad("quantizer values");
        }
      }
      quantizer_ = std::make_unique<ScalarQuantizer>(std::move(offset), std::move(scale));
      space_ = std::make_unique<Int8Space>(quantizer_.get(), options_.metric);
    }
    uint64_t m, ef_construction, count, element_bytes;
    int32_t max_level;
    uint32_t entry;
    if (!r.Pod(&m) || !r.Pod(&ef_construction) || !r.Pod(&count) ||
        !r.Pod(&max_level) || !r.Pod(&entry) || !r.Pod(&element_bytes)) {
      return bad("header");
    }
    if (!ValidateM(m).ok() || !ValidateEfConstruction(ef_construction).ok()) {
      return bad("parameters");
    }
    if (count != doc_count) return bad("node count differs from document count");
    if (count > std::numeric_limits<uint32_t>::max() || (count > 0 && (entry >= count || max_level < 0 || max_level > kMaxLevel))) {
      return bad("entry point");
    }
    HnswOptions graph_options = options_;
    graph_options.m = m;
    graph_options.ef_construction = ef_construction;
    options_ = graph_options;
    if (absl::Status s = NewGraph(std::max<size_t>(count, options_.initial_capacity)); !s.ok()) return s;
    Graph& g = *graph_;
    if (element_bytes != g.size_data_per_element_) return bad("element size");
    if (count > r.remaining() / std::max<uint64_t>(element_bytes, 1)) return bad("level 0 truncated");
    std::string_view level0;
    r.View(count * element_bytes, &level0);
    std::vector<int32_t> levels(count);
    std::vector<std::string_view> upper(count);
    for (size_t i = 0; i < count; ++i) {
      if (!r.Pod(&levels[i]) || levels[i] < 0 || levels[i] > max_level) return bad("level");
      if (!r.View(g.size_links_per_element_ * levels[i], &upper[i])) return bad("links truncated");
    }
    if (r.remaining() != 0) return bad("trailing bytes");
    if (count > 0 && levels[entry] != max_level) return bad("entry point level");
    // Every link must name an existing node that lives on that level, or a
    // search would read outside hnswlib's arrays.
    auto check_list = [&](const char* list, size_t max_links, int level) {
      uint16_t n;
      std::memcpy(&n, list, sizeof(n));
      if (n > max_links) return false;
      for (size_t j = 0; j < n; ++j) {
        uint32_t id;
        std::memcpy(&id, list + sizeof(hnswlib::linklistsizeint) + j * sizeof(tableint), sizeof(id));
        if (id >= count || levels[id] < level) return false;
      }
      return true;
    };
    for (size_t i = 0; i < count; ++i) {
      const char* element = level0.data() + i * element_bytes;
      hnswlib::labeltype label;
      std::memcpy(&label, element + g.label_offset_, sizeof(label));
      if (label != i) return bad("label");
      if (!check_list(element + g.offsetLevel0_, g.maxM0_, 0)) return bad("level-0 links");
      for (int32_t level = 1; level <= levels[i]; ++level) {
        if (!check_list(upper[i].data() + (level - 1) * g.size_links_per_element_, g.maxM_, level)) {
          return bad("upper links");
        }
      }
    }
    std::memcpy(g.data_level0_memory_, level0.data(), level0.size());
    for (size_t i = 0; i < count; ++i) {
      g.element_levels_[i] = levels[i];
      if (levels[i] > 0) {
        g.linkLists_[i] = static_cast<char*>(malloc(g.size_links_per_element_ * levels[i] + 1));
        if (g.linkLists_[i] == nullptr) throw std::bad_alloc();
        std::memcpy(g.linkLists_[i], upper[i].data(), upper[i].size());
      }
      g.cur_element_count = i + 1;  // the destructor frees up to here
      g.label_lookup_[i] = static_cast<tableint>(i);
    }
    if (count > 0) {
      g.enterpoint_node_ = entry;
      g.maxlevel_ = max_level;
    }
    return absl::OkStatus();
  }

  absl::Status RestoreSlots(std::vector<SnapshotDoc> docs) {
    Graph& g = *graph_;
    if (floats_ != nullptr) {
      if (absl::Status s = floats_->Reserve(docs.size()); !s.ok()) return s;
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
      AddPostings(s, doc.tags, doc.metadata, nullptr, nullptr);
      slots_.push_back(Slot{std::move(doc.id), std::move(doc.tags), std::move(doc.metadata), doc.seq, true});
      ++live_;
    }
    return absl::OkStatus();
  }

  HnswOptions options_;
  const size_t dim_;
  std::unique_ptr<ScalarQuantizer> quantizer_;
  std::unique_ptr<hnswlib::SpaceInterface<float>> space_;
  std::unique_ptr<Graph> graph_;
  std::unique_ptr<FloatStore> floats_;  // int8 only
  std::vector<Slot> slots_;
  absl::flat_hash_map<std::string, uint32_t> by_id_;  // live ids only
  absl::flat_hash_map<std::string, std::vector<uint32_t>> postings_;
  size_t live_ = 0;
};

}  // namespace internal

namespace {

constexpr size_t kMaxDimension = 4096;

absl::Status CheckVector(absl::Span<const float> v, size_t dimension) {
  if (v.size() != dimension) {
    return absl::InvalidArgumentError(absl::StrCat(
        "vector has ", v.size(), " values, the index dimension is ", dimension));
  }
  for (float x : v) {
    if (!std::isfinite(x)) return absl::InvalidArgumentError("vector values must be finite");
  }
  return absl::OkStatus();
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
  auto state = internal::IndexState::Create(options, options.initial_capacity);
  if (!state.ok()) return state.status();
  std::unique_ptr<HnswIndex> index(new HnswIndex(options));
  absl::MutexLock lock(&index->mu_);
  index->state_ = *std::move(state);
  return index;
}

absl::StatusOr<std::unique_ptr<HnswIndex>> HnswIndex::FromSnapshot(
    const HnswOptions& options, SnapshotData snapshot) {
  if (snapshot.metric != options.metric || snapshot.dimension != options.dimension) {
    return absl::FailedPreconditionError(
        "snapshot metric or dimension differs from the collection's");
  }
  auto index = Create(options);
  if (!index.ok()) return index.status();
  const int64_t watermark = snapshot.watermark;
  absl::StatusOr<std::unique_ptr<internal::IndexState>> state =
      snapshot.graph.empty()
          ? internal::IndexState::Build(options, std::move(snapshot.docs))
          : internal::IndexState::Import(options, std::move(snapshot));
  if (!state.ok()) return state.status();
  absl::MutexLock lock(&(*index)->mu_);
  (*index)->state_ = *std::move(state);
  (*index)->watermark_ = watermark;
  return index;
}

HnswIndex::~HnswIndex() { WaitForRebuild(); }

absl::Status HnswIndex::Upsert(const std::string& id, absl::Span<const float> vector,
                               const Tags& tags, const Metadata& metadata, int64_t seq) {
  if (id.empty()) return absl::InvalidArgumentError("id must not be empty");
  if (absl::Status s = CheckVector(vector, options_.dimension); !s.ok()) return s;
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
  absl::Status status =
      op.is_delete ? state_->Delete(op.id, op.seq)
                   : state_->Upsert(op.id, op.vector.data(), op.tags, op.metadata, op.seq);
  if (!status.ok()) return status;
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
      std::fprintf(stderr, "vector_search: background rebuild failed: %s\n",
                   status.ToString().c_str());
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
      absl::Status s = op.is_delete ? state.Delete(op.id, op.seq)
                                    : state.Upsert(op.id, op.vector.data(), op.tags,
                                                   op.metadata, op.seq);
      if (!s.ok()) return s;
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
  if (absl::Status s = CheckVector(request.query, options_.dimension); !s.ok()) return s;
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
