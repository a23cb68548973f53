#ifndef QUARRY_SERVICES_COMMON_MODEL_INDEX_DOCUMENTS_PAYLOAD_H_
#define QUARRY_SERVICES_COMMON_MODEL_INDEX_DOCUMENTS_PAYLOAD_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace quarry::model {

// The payload of an index_documents job, written by the gateway (upserts and
// SubmitJob) and read by the worker. Stored as JSON in jobs.payload, so the
// encoding is an on-disk format: {"collection_id":7,"ids":["a","b"]}.
struct IndexDocumentsPayload {
  int64_t collection_id = 0;
  // The documents to index; absent means every pending document.
  std::optional<std::vector<std::string>> ids;

  friend bool operator==(const IndexDocumentsPayload&, const IndexDocumentsPayload&) = default;
};

// Compact JSON, keys in the order above; "ids" only when set.
std::string EncodeIndexDocumentsPayload(const IndexDocumentsPayload& payload);

// INVALID_ARGUMENT naming the field ("payload.collection_id: must be an
// integer"). Keys other than collection_id and ids are ignored, as a payload
// from SubmitJob may carry them.
absl::StatusOr<IndexDocumentsPayload> DecodeIndexDocumentsPayload(absl::string_view json);

}  // namespace quarry::model

#endif  // QUARRY_SERVICES_COMMON_MODEL_INDEX_DOCUMENTS_PAYLOAD_H_
