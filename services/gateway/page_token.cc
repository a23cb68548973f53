#include "services/gateway/page_token.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "services/common/crypto/sha256.h"

namespace quarry::gateway {
namespace {

constexpr size_t kChecksumBytes = 8;
constexpr size_t kMaxTokenBytes = 2048;

std::string Checksum(absl::string_view listing, absl::string_view cursor) {
  return crypto::Sha256(absl::StrCat("quarry-page-v1\n", listing, "\n", cursor))
      .substr(0, kChecksumBytes);
}

}  // namespace

std::string EncodePageToken(absl::string_view listing, absl::string_view cursor) {
  return absl::WebSafeBase64Escape(absl::StrCat(Checksum(listing, cursor), cursor));
}

absl::StatusOr<std::string> DecodePageToken(absl::string_view field, absl::string_view listing,
                                            absl::string_view token) {
  if (token.empty()) return std::string();
  std::string raw;
  if (token.size() > kMaxTokenBytes || !absl::WebSafeBase64Unescape(token, &raw) ||
      raw.size() < kChecksumBytes) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": malformed page token"));
  }
  std::string cursor = raw.substr(kChecksumBytes);
  if (raw.substr(0, kChecksumBytes) != Checksum(listing, cursor)) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": page token does not belong to this listing"));
  }
  return cursor;
}

}  // namespace quarry::gateway
