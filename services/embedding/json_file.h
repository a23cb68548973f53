#ifndef QUARRY_SERVICES_EMBEDDING_JSON_FILE_H_
#define QUARRY_SERVICES_EMBEDDING_JSON_FILE_H_

// Non-throwing access to the small JSON files of a model directory
// (config.json, tokenizer_config.json, 1_Pooling/config.json, ...).

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace quarry::embedding {

// Reads the whole file. NOT_FOUND if it does not exist.
absl::StatusOr<std::string> ReadFileToString(const std::string& path);

// Reads and parses a JSON object. NOT_FOUND if the file does not exist,
// INVALID_ARGUMENT (naming the path) if it is not a JSON object.
absl::StatusOr<nlohmann::json> ReadJsonObject(const std::string& path);

// Typed lookups: nullopt when the key is absent, null or of another type.
std::optional<bool> JsonBool(const nlohmann::json& object, const char* key);
std::optional<int64_t> JsonInt(const nlohmann::json& object, const char* key);
std::optional<double> JsonNumber(const nlohmann::json& object, const char* key);
std::optional<std::string> JsonString(const nlohmann::json& object, const char* key);

}  // namespace quarry::embedding

#endif  // QUARRY_SERVICES_EMBEDDING_JSON_FILE_H_
