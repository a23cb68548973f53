#ifndef QUARRY_SERVICES_GATEWAY_PAGE_TOKEN_H_
#define QUARRY_SERVICES_GATEWAY_PAGE_TOKEN_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace quarry::gateway {

// Opaque page tokens: the cursor of a listing (e.g. the last name or job id
// returned) bound to the listing it came from and checksummed, so a token
// from another listing, a truncated or an edited token is rejected with
// INVALID_ARGUMENT naming `field` instead of silently paging wrongly. They are
// not secret: listings are scoped by tenant in the query itself.
std::string EncodePageToken(absl::string_view listing, absl::string_view cursor);

// The cursor; an empty token is the first page (empty cursor).
absl::StatusOr<std::string> DecodePageToken(absl::string_view field, absl::string_view listing,
                                            absl::string_view token);

}  // namespace quarry::gateway

#endif  // QUARRY_SERVICES_GATEWAY_PAGE_TOKEN_H_
