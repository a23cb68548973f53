#include "services/gateway/api_key.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/common/crypto/sha256.h"

namespace quarry::gateway {
namespace {

constexpr absl::string_view kIdPrefix = "qk_";
constexpr size_t kMaxSecretBytes = 256;

}  // namespace

NewApiKey GenerateApiKey() {
  NewApiKey key;
  key.id = absl::StrCat(kIdPrefix, absl::BytesToHexString(crypto::RandomBytes(8)));
  key.secret = absl::StrCat(key.id, ".", absl::WebSafeBase64Escape(crypto::RandomBytes(32)));
  key.hash = HashApiKey(key.secret);
  return key;
}

absl::StatusOr<std::string> ParseBearer(absl::string_view authorization) {
  if (authorization.empty()) {
    return absl::UnauthenticatedError(
        "missing API key: send metadata \"authorization: Bearer <api key>\"");
  }
  constexpr absl::string_view kScheme = "bearer ";
  if (authorization.size() <= kScheme.size() ||
      !absl::EqualsIgnoreCase(authorization.substr(0, kScheme.size()), kScheme)) {
    return absl::UnauthenticatedError("authorization must be \"Bearer <api key>\"");
  }
  absl::string_view secret = absl::StripAsciiWhitespace(authorization.substr(kScheme.size()));
  if (secret.empty() || secret.size() > kMaxSecretBytes ||
      !absl::StartsWith(secret, kIdPrefix) || secret.find('.') == absl::string_view::npos) {
    return absl::UnauthenticatedError("malformed API key");
  }
  return std::string(secret);
}

absl::string_view ApiKeyId(absl::string_view secret) {
  return secret.substr(0, secret.find('.'));
}

std::string HashApiKey(absl::string_view secret) { return crypto::Sha256(secret); }

}  // namespace quarry::gateway
