// Fuzzes the gateway's request validation (services/gateway/validation.h) and
// page tokens (page_token.h): the first byte picks a request type, the rest is
// parsed as that protobuf message exactly as gRPC would, and the validator
// runs on it. Besides "no crash", it asserts the documented contract: every
// rejection is INVALID_ARGUMENT naming a field, and accepted requests really
// are within the limits of limits.h.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "fuzz/fuzz_check.h"
#include "google/protobuf/stubs/logging.h"
#include "quarry/common/v1/paging.pb.h"
#include "quarry/gateway/v1/admin_service.pb.h"
#include "quarry/gateway/v1/collection_service.pb.h"
#include "quarry/gateway/v1/document_service.pb.h"
#include "quarry/gateway/v1/job_service.pb.h"
#include "quarry/gateway/v1/search_service.pb.h"
#include "services/gateway/limits.h"
#include "services/gateway/page_token.h"
#include "services/gateway/validation.h"

namespace quarry::gateway {
namespace {

namespace v1 = ::quarry::gateway::v1;

// What a rejection must look like: INVALID_ARGUMENT, "field: rule".
void CheckRejection(const absl::Status& status) {
  if (status.ok()) return;
  FUZZ_CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  FUZZ_CHECK(status.message().find(": ") != absl::string_view::npos);
  FUZZ_CHECK(status.message().find(": ") > 0);
}

// An independent UTF-8 check (RFC 3629 table 3-7), to cross-check IsValidUtf8.
bool ReferenceUtf8(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
    const unsigned char c = byte(0);
    auto in = [](unsigned char x, unsigned char lo, unsigned char hi) { return x >= lo && x <= hi; };
    size_t n;
    if (c <= 0x7F) {
      n = 1;
    } else if (in(c, 0xC2, 0xDF)) {
      n = 2;
    } else if (in(c, 0xE0, 0xEF)) {
      n = 3;
    } else if (in(c, 0xF0, 0xF4)) {
      n = 4;
    } else {
      return false;
    }
    if (s.size() - i < n) return false;
    if (n >= 2) {
      unsigned char lo = 0x80, hi = 0xBF;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
      if (!in(byte(1), lo, hi)) return false;
      for (size_t k = 2; k < n; ++k) {
        if (!in(byte(k), 0x80, 0xBF)) return false;
      }
    }
    i += n;
  }
  return true;
}

bool ValidId(absl::string_view id) {
  if (id.empty() || id.size() > kMaxDocumentIdBytes) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    absl::string_view("._:/@+=-").find(c) != absl::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

void CheckAcceptedFilter(const quarry::common::v1::Filter& filter) {
  FUZZ_CHECK(filter.all_tags_size() <= kMaxTags);
  FUZZ_CHECK(filter.any_tags_size() <= kMaxTags);
  FUZZ_CHECK(static_cast<int>(filter.metadata_equals().size()) <= kMaxFilterMetadataEntries);
  for (const std::string& tag : filter.all_tags()) FUZZ_CHECK(!tag.empty() && tag.size() <= kMaxTagBytes);
  for (const std::string& tag : filter.any_tags()) FUZZ_CHECK(!tag.empty() && tag.size() <= kMaxTagBytes);
}

template <typename Message>
bool Parse(absl::string_view bytes, Message* message) {
  return message->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
}

void FuzzPageToken(absl::string_view listing, absl::string_view token) {
  absl::StatusOr<std::string> cursor = DecodePageToken("page.page_token", listing, token);
  CheckRejection(cursor.status());
  if (!cursor.ok()) return;
  // Whatever decodes is a cursor this listing issued: re-encoding it decodes to itself.
  absl::StatusOr<std::string> again =
      DecodePageToken("page.page_token", listing, EncodePageToken(listing, *cursor));
  FUZZ_CHECK(again.ok() && *again == *cursor);
}

void FuzzOne(uint8_t selector, absl::string_view bytes) {
  switch (selector % 12) {
    case 0: {
      v1::CreateCollectionRequest request;
      if (!Parse(bytes, &request)) return;
      const absl::Status status = ValidateCreateCollection(request);
      CheckRejection(status);
      if (status.ok()) {
        FUZZ_CHECK(request.collection().dimension() <= static_cast<uint32_t>(kMaxDimension));
        FUZZ_CHECK(request.collection().model().size() <= kMaxModelNameBytes);
      }
      return;
    }
    case 1: {
      v1::UpsertDocumentsRequest request;
      if (!Parse(bytes, &request)) return;
      const absl::Status status = ValidateUpsert(request);
      CheckRejection(status);
      if (status.ok()) {
        FUZZ_CHECK(request.documents_size() >= 1 &&
                   request.documents_size() <= kMaxDocumentsPerRequest);
        absl::flat_hash_set<std::string> ids;
        for (const v1::Document& doc : request.documents()) {
          FUZZ_CHECK(ValidId(doc.id()));
          FUZZ_CHECK(ids.insert(doc.id()).second);
          FUZZ_CHECK(doc.text().size() <= kMaxTextBytes);
          FUZZ_CHECK(doc.has_vector() || !doc.text().empty());
          FUZZ_CHECK(doc.tags_size() <= kMaxTags);
          FUZZ_CHECK(static_cast<int>(doc.metadata().size()) <= kMaxMetadataEntries);
          for (float x : doc.vector().values()) FUZZ_CHECK(std::isfinite(x));
        }
      }
      // The dimension check is separate and must hold for any dimension.
      const int dimension = request.documents_size() > 0 &&
                                    request.documents(0).has_vector()
                                ? request.documents(0).vector().values_size()
                                : 3;
      CheckRejection(ValidateUpsertVectors(request, dimension));
      return;
    }
    case 2: {
      v1::GetDocumentsRequest request;
      if (!Parse(bytes, &request)) return;
      CheckRejection(ValidateCollectionName("collection", request.collection()));
      const absl::Status status = ValidateDocumentIds("ids", request.ids());
      CheckRejection(status);
      if (status.ok()) {
        absl::flat_hash_set<std::string> ids;
        for (const std::string& id : request.ids()) {
          FUZZ_CHECK(ValidId(id));
          FUZZ_CHECK(ids.insert(id).second);
        }
      }
      return;
    }
    case 3: {
      v1::DeleteDocumentsRequest request;
      if (!Parse(bytes, &request)) return;
      CheckRejection(ValidateCollectionName("collection", request.collection()));
      CheckRejection(ValidateDocumentIds("ids", request.ids()));
      return;
    }
    case 4: {
      v1::SearchRequest request;
      if (!Parse(bytes, &request)) return;
      const absl::Status status = ValidateSearch(request);
      CheckRejection(status);
      if (status.ok()) {
        const int top_k = EffectiveTopK(request);
        FUZZ_CHECK(top_k >= 1 && top_k <= kMaxTopK);
        FUZZ_CHECK(request.effort() == 0 ||
                   (request.effort() >= static_cast<uint32_t>(top_k) &&
                    request.effort() <= static_cast<uint32_t>(kMaxEffort)));
        FUZZ_CHECK(request.has_text() != request.has_vector());
        FUZZ_CHECK(!request.has_min_score() || std::isfinite(request.min_score()));
        CheckAcceptedFilter(request.filter());
      }
      if (request.has_vector()) {
        CheckRejection(ValidateVector("vector", request.vector(), 384));
        CheckRejection(ValidateVector("vector", request.vector(), request.vector().values_size()));
      }
      return;
    }
    case 5: {
      v1::SubmitJobRequest request;
      if (!Parse(bytes, &request)) return;
      const absl::Status status = ValidateSubmitJob(request);
      CheckRejection(status);
      if (status.ok()) {
        FUZZ_CHECK(request.payload_json().size() <= kMaxPayloadBytes);
        FUZZ_CHECK(request.priority() >= kMinPriority && request.priority() <= kMaxPriority);
        FUZZ_CHECK(request.max_attempts() >= 0 && request.max_attempts() <= kMaxMaxAttempts);
      }
      return;
    }
    case 6: {
      v1::GetJobRequest request;
      if (!Parse(bytes, &request)) return;
      CheckRejection(ValidateJobId("id", request.id()));
      return;
    }
    case 7: {
      v1::CreateApiKeyRequest request;
      if (!Parse(bytes, &request)) return;
      const absl::Status status = ValidateCreateApiKey(request);
      CheckRejection(status);
      if (status.ok()) {
        FUZZ_CHECK(request.key().burst() >= 0 && request.key().burst() <= kMaxBurst);
        const double rate = request.key().rate_limit_per_second();
        FUZZ_CHECK(rate == 0 || (rate >= 1 && rate <= kMaxRateLimitPerSecond));
      }
      return;
    }
    case 8: {
      v1::ListCollectionsRequest request;
      if (!Parse(bytes, &request)) return;
      absl::StatusOr<int> size = PageSize("page", request.page());
      CheckRejection(size.status());
      if (size.ok()) FUZZ_CHECK(*size >= 1 && *size <= kMaxPageSize);
      FuzzPageToken("collections", request.page().page_token());
      return;
    }
    case 9: {
      v1::ListJobsRequest request;
      if (!Parse(bytes, &request)) return;
      CheckRejection(PageSize("page", request.page()).status());
      FuzzPageToken("jobs", request.page().page_token());
      return;
    }
    case 10: {
      // Raw strings: the checks gRPC's UTF-8 validation never lets reach the
      // validators through a parsed message.
      FUZZ_CHECK(IsValidUtf8(bytes) == ReferenceUtf8(bytes));
      const absl::Status name = ValidateCollectionName("collection", bytes);
      CheckRejection(name);
      if (name.ok()) FUZZ_CHECK(!bytes.empty() && bytes.size() <= kMaxCollectionNameBytes);
      const absl::Status job = ValidateJobId("id", bytes);
      CheckRejection(job);
      if (job.ok()) FUZZ_CHECK(!bytes.empty() && bytes.size() <= kMaxJobIdBytes);
      return;
    }
    case 11: {
      // A raw token, and a token minted for a fuzzed cursor.
      FuzzPageToken("jobs", bytes);
      const std::string token = EncodePageToken("collections", bytes);
      absl::StatusOr<std::string> cursor = DecodePageToken("page.page_token", "collections", token);
      if (token.size() <= 2048) {
        FUZZ_CHECK(cursor.ok() && *cursor == bytes);
      } else {
        CheckRejection(cursor.status());
      }
      // A token of one listing is no good in another.
      FUZZ_CHECK(!DecodePageToken("page.page_token", "jobs", token).ok());
      return;
    }
  }
}

}  // namespace
}  // namespace quarry::gateway

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Protobuf logs every string field that is not UTF-8; the fuzzer makes many.
  static const bool quiet = [] {
    google::protobuf::SetLogHandler(nullptr);
    return true;
  }();
  (void)quiet;
  if (size == 0) return 0;
  quarry::gateway::FuzzOne(data[0],
                           absl::string_view(reinterpret_cast<const char*>(data) + 1, size - 1));
  return 0;
}
