#ifndef QUARRY_SERVICES_COMMON_MODEL_SCOPES_H_
#define QUARRY_SERVICES_COMMON_MODEL_SCOPES_H_

#include <array>

#include "absl/strings/string_view.h"

namespace quarry::model {

// The API key scopes as api_keys.scopes stores them: the gateway writes them
// from CreateApiKey, quarryctl's admin bootstrap writes all three, and the
// gateway's authentication reads them back. Each of the first three implies
// the ones before it (admin > write > read); the worker scope stands apart:
// only the worker API, and only for the kinds the key names (write and
// admin imply it for every kind). Renaming one locks out stored keys.
inline constexpr absl::string_view kScopeRead = "read";
inline constexpr absl::string_view kScopeWrite = "write";
inline constexpr absl::string_view kScopeAdmin = "admin";
inline constexpr absl::string_view kScopeWorker = "worker";

inline constexpr std::array<absl::string_view, 4> kScopes = {kScopeRead, kScopeWrite,
                                                             kScopeAdmin, kScopeWorker};

}  // namespace quarry::model

#endif  // QUARRY_SERVICES_COMMON_MODEL_SCOPES_H_
