#ifndef QUARRY_SERVICES_COMMON_CRYPTO_SHA256_H_
#define QUARRY_SERVICES_COMMON_CRYPTO_SHA256_H_

#include <string>

#include "absl/strings/string_view.h"

namespace quarry::crypto {

// SHA-256 of `data`: 32 raw bytes. Used for content hashes (documents, the
// embedding cache) and for storing API keys without their secrets.
std::string Sha256(absl::string_view data);

// The same, as 64 lower-case hex characters.
std::string Sha256Hex(absl::string_view data);

// `length` cryptographically random bytes (OpenSSL's RAND_bytes).
std::string RandomBytes(size_t length);

}  // namespace quarry::crypto

#endif  // QUARRY_SERVICES_COMMON_CRYPTO_SHA256_H_
