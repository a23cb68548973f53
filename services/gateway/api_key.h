#ifndef QUARRY_SERVICES_GATEWAY_API_KEY_H_
#define QUARRY_SERVICES_GATEWAY_API_KEY_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace quarry::gateway {

// An API key's bearer secret is "<id>.<secret part>": the id is public (it
// names the key in listings and logs), the secret part is 32 random bytes in
// URL-safe base64. Only SHA-256 of the whole secret is stored, so a database
// leak does not leak usable keys.
struct NewApiKey {
  std::string id;      // "qk_" + 16 hex characters
  std::string secret;  // shown to the user once
  std::string hash;    // SHA-256(secret), 32 raw bytes, what is stored
};

NewApiKey GenerateApiKey();

// The secret from an "authorization" metadata value "Bearer <secret>".
// UNAUTHENTICATED, without echoing the value, when it is missing or malformed.
absl::StatusOr<std::string> ParseBearer(absl::string_view authorization);

// The public id part of a well-formed secret, for logs.
absl::string_view ApiKeyId(absl::string_view secret);

// What is stored for a secret.
std::string HashApiKey(absl::string_view secret);

}  // namespace quarry::gateway

#endif  // QUARRY_SERVICES_GATEWAY_API_KEY_H_
