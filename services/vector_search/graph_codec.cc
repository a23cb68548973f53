#include "services/vector_search/graph_codec.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "services/common/status/macros.h"
#include "services/vector_search/binary_io.h"
#include "services/vector_search/hnsw_index.h"

namespace quarry::vector_search::internal {
namespace {

constexpr uint32_t kGraphFormat = 1;
constexpr int kMaxLevel = 64;

}  // namespace

std::string EncodeGraph(const GraphLayout& g, const ScalarQuantizer* quantizer, size_t dim) {
  const size_t count = *g.count;
  std::string out;
  BinaryWriter w(&out);
  w.Put(kGraphFormat);
  w.Put(static_cast<uint8_t>(quantizer != nullptr));
  if (quantizer != nullptr) {
    w.PutFloats(quantizer->offset().data(), dim);
    w.PutFloats(quantizer->scale().data(), dim);
  }
  w.Put(static_cast<uint64_t>(g.m));
  w.Put(static_cast<uint64_t>(g.ef_construction));
  w.Put(static_cast<uint64_t>(count));
  w.Put(static_cast<int32_t>(*g.max_level));
  w.Put(static_cast<uint32_t>(*g.entry));
  w.Put(static_cast<uint64_t>(g.element_bytes));
  w.PutRaw(g.level0, count * g.element_bytes);
  for (size_t i = 0; i < count; ++i) {
    const int32_t level = (*g.levels)[i];
    w.Put(level);
    if (level > 0) w.PutRaw(g.upper_links[i], g.upper_links_bytes * level);
  }
  return out;
}

absl::Status DecodeGraph(std::string_view blob, size_t doc_count, size_t dim, bool quantized,
                         MakeGraph make_graph) {
  auto bad = [](const char* what) {
    return absl::DataLossError(absl::StrCat("snapshot graph: ", what));
  };
  BinaryReader r(blob);
  uint32_t format = 0;
  uint8_t has_quantizer = 0;
  if (!r.Get(&format).ok() || format != kGraphFormat) return bad("format");
  if (!r.Get(&has_quantizer).ok() || has_quantizer != (quantized ? 1 : 0)) {
    return bad("quantization does not match the options");
  }
  std::unique_ptr<ScalarQuantizer> quantizer;
  if (has_quantizer) {
    std::vector<float> offset(dim), scale(dim);
    if (!r.GetFloats(offset.data(), dim).ok()) return bad("quantizer");
    if (!r.GetFloats(scale.data(), dim).ok()) return bad("quantizer");
    for (size_t d = 0; d < dim; ++d) {
      if (!std::isfinite(offset[d]) || !std::isfinite(scale[d]) || scale[d] < 0) {
        return bad("quantizer values");
      }
    }
    quantizer = std::make_unique<ScalarQuantizer>(std::move(offset), std::move(scale));
  }
  uint64_t m = 0, ef_construction = 0, count = 0, element_bytes = 0;
  int32_t max_level = 0;
  uint32_t entry = 0;
  if (!r.Get(&m).ok() || !r.Get(&ef_construction).ok() || !r.Get(&count).ok() ||
      !r.Get(&max_level).ok() || !r.Get(&entry).ok() || !r.Get(&element_bytes).ok()) {
    return bad("header");
  }
  if (!ValidateM(m).ok() || !ValidateEfConstruction(ef_construction).ok()) {
    return bad("parameters");
  }
  if (count != doc_count) return bad("node count differs from document count");
  if (count > std::numeric_limits<uint32_t>::max() || (count > 0 && (entry >= count || max_level < 0 || max_level > kMaxLevel))) {
    return bad("entry point");
  }
  QUARRY_ASSIGN_OR_RETURN(GraphLayout g,
                          make_graph(std::move(quantizer), m, ef_construction, count));
  if (element_bytes != g.element_bytes) return bad("element size");
  if (count > r.remaining() / std::max<uint64_t>(element_bytes, 1)) return bad("level 0 truncated");
  std::string_view level0;
  // Cannot fail: the check above bounds count * element_bytes.
  r.GetView(count * element_bytes, &level0).IgnoreError();
  std::vector<int32_t> levels(count);
  std::vector<std::string_view> upper(count);
  for (size_t i = 0; i < count; ++i) {
    if (!r.Get(&levels[i]).ok() || levels[i] < 0 || levels[i] > max_level) return bad("level");
    if (!r.GetView(g.upper_links_bytes * levels[i], &upper[i]).ok()) return bad("links truncated");
  }
  if (r.remaining() != 0) return bad("trailing bytes");
  if (count > 0 && levels[entry] != max_level) return bad("entry point level");
  // Every link must name an existing node that lives on that level, or a
  // search would read outside hnswlib's arrays.
  auto check_list = [&](const char* list, size_t max_links, int level) {
    uint16_t n = 0;
    std::memcpy(&n, list, sizeof(n));
    if (n > max_links) return false;
    for (size_t j = 0; j < n; ++j) {
      uint32_t id = 0;
      std::memcpy(&id, list + sizeof(uint32_t) + j * sizeof(uint32_t), sizeof(id));
      if (id >= count || levels[id] < level) return false;
    }
    return true;
  };
  for (size_t i = 0; i < count; ++i) {
    const char* element = level0.data() + i * element_bytes;
    size_t label = 0;
    std::memcpy(&label, element + g.label_offset, sizeof(label));
    if (label != i) return bad("label");
    if (!check_list(element + g.links0_offset, g.max_links0, 0)) return bad("level-0 links");
    for (int32_t level = 1; level <= levels[i]; ++level) {
      if (!check_list(upper[i].data() + (level - 1) * g.upper_links_bytes, g.max_links, level)) {
        return bad("upper links");
      }
    }
  }
  std::memcpy(g.level0, level0.data(), level0.size());
  for (size_t i = 0; i < count; ++i) {
    (*g.levels)[i] = levels[i];
    if (levels[i] > 0) {
      g.upper_links[i] = static_cast<char*>(malloc(g.upper_links_bytes * levels[i] + 1));
      if (g.upper_links[i] == nullptr) throw std::bad_alloc();
      std::memcpy(g.upper_links[i], upper[i].data(), upper[i].size());
    }
    *g.count = i + 1;  // the destructor frees up to here
    (*g.label_lookup)[i] = static_cast<unsigned int>(i);
  }
  if (count > 0) {
    *g.entry = entry;
    *g.max_level = max_level;
  }
  return absl::OkStatus();
}

}  // namespace quarry::vector_search::internal
