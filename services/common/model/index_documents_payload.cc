#include "services/common/model/index_documents_payload.h"

#include "absl/status/status.h"
#include "nlohmann/json.hpp"

namespace quarry::model {

std::string EncodeIndexDocumentsPayload(const IndexDocumentsPayload& payload) {
  nlohmann::json json = {{"collection_id", payload.collection_id}};
  if (payload.ids.has_value()) json["ids"] = *payload.ids;
  return json.dump();
}

absl::StatusOr<IndexDocumentsPayload> DecodeIndexDocumentsPayload(absl::string_view json) {
  const nlohmann::json parsed =
      nlohmann::json::parse(json.begin(), json.end(), nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_object()) {
    return absl::InvalidArgumentError("payload: must be a JSON object");
  }
  auto collection_id = parsed.find("collection_id");
  if (collection_id == parsed.end() || !collection_id->is_number_integer()) {
    return absl::InvalidArgumentError("payload.collection_id: must be an integer");
  }
  IndexDocumentsPayload payload;
  payload.collection_id = collection_id->get<int64_t>();
  if (auto ids = parsed.find("ids"); ids != parsed.end()) {
    if (!ids->is_array()) {
      return absl::InvalidArgumentError("payload.ids: must be an array of strings");
    }
    payload.ids.emplace();
    for (const auto& id : *ids) {
      if (!id.is_string()) return absl::InvalidArgumentError("payload.ids: must be strings");
      payload.ids->push_back(id.get<std::string>());
    }
  }
  return payload;
}

}  // namespace quarry::model
