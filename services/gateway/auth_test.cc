#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "services/gateway/api_key.h"
#include "services/gateway/auth.h"
#include "services/gateway/page_token.h"
#include "services/gateway/rate_limiter.h"

namespace quarry::gateway {
namespace {

TEST(ApiKey, GeneratedKeysParseAndHashToWhatIsStored) {
  NewApiKey key = GenerateApiKey();
  EXPECT_TRUE(absl::StartsWith(key.secret, key.id + "."));
  EXPECT_EQ(key.hash.size(), 32u);
  auto parsed = ParseBearer("Bearer " + key.secret);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(HashApiKey(*parsed), key.hash);
  EXPECT_EQ(ApiKeyId(*parsed), key.id);
  EXPECT_NE(GenerateApiKey().secret, key.secret);
  EXPECT_TRUE(ParseBearer("bearer " + key.secret).ok());
}

TEST(ApiKey, MissingOrMalformedIsUnauthenticatedWithoutEchoingTheValue) {
  for (const char* bad : {"", "Bearer", "Bearer ", "Basic abc", "Bearer nodot",
                          "Bearer xx_abc.def", "Token qk_1.2"}) {
    auto parsed = ParseBearer(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kUnauthenticated) << bad;
  }
  auto parsed = ParseBearer("Bearer qk_leaky");
  EXPECT_FALSE(absl::StrContains(parsed.status().message(), "leaky"));
}

TEST(TokenBucket, AllowsBurstThenRefillsAtRate) {
  absl::Time t = absl::FromUnixSeconds(1000);
  TokenBucket bucket(/*rate_per_second=*/10, /*burst=*/3, t);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(bucket.TryTake(t), absl::ZeroDuration());
  absl::Duration wait = bucket.TryTake(t);
  EXPECT_GT(wait, absl::ZeroDuration());
  EXPECT_LE(wait, absl::Milliseconds(100));
  EXPECT_EQ(bucket.TryTake(t + absl::Milliseconds(100)), absl::ZeroDuration());
  // A long pause refills only up to the burst.
  t += absl::Hours(1);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(bucket.TryTake(t), absl::ZeroDuration());
  EXPECT_GT(bucket.TryTake(t), absl::ZeroDuration());
}

TEST(RateLimiter, KeysHaveSeparateBuckets) {
  RateLimiter limiter;
  absl::Time t = absl::FromUnixSeconds(1000);
  EXPECT_EQ(limiter.Admit("a", 1, 1, t), absl::ZeroDuration());
  EXPECT_GT(limiter.Admit("a", 1, 1, t), absl::ZeroDuration());
  EXPECT_EQ(limiter.Admit("b", 1, 1, t), absl::ZeroDuration());
}

TEST(PageToken, RoundTripsAndRejectsForeignOrEditedTokens) {
  std::string token = EncodePageToken("collections", "docs-0042");
  auto cursor = DecodePageToken("page.page_token", "collections", token);
  ASSERT_TRUE(cursor.ok()) << cursor.status();
  EXPECT_EQ(*cursor, "docs-0042");
  EXPECT_EQ(*DecodePageToken("page.page_token", "collections", ""), "");

  auto foreign = DecodePageToken("page.page_token", "jobs", token);
  EXPECT_EQ(foreign.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(foreign.status().message(), "page.page_token"));

  std::string edited = token;
  edited[edited.size() / 2] = edited[edited.size() / 2] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(DecodePageToken("page.page_token", "collections", edited).ok());
  EXPECT_FALSE(DecodePageToken("page.page_token", "collections", "!!!not base64").ok());
  EXPECT_FALSE(DecodePageToken("page.page_token", "collections", "AAAA").ok());
}


TEST(WorkerKinds, AWorkerScopedKeyClaimsOnlyItsKindsAndAWriteKeyAny) {
  Principal worker;
  worker.key_id = "qk_w";
  worker.worker = true;
  worker.worker_kinds = std::vector<std::string>{"ticket.triage", "deploy"};
  EXPECT_TRUE(CheckWorkerKinds(worker, {"deploy"}).ok());
  EXPECT_TRUE(CheckWorkerKinds(worker, {"deploy", "ticket.triage"}).ok());
  absl::Status other = CheckWorkerKinds(worker, {"deploy", "billing.export"});
  EXPECT_EQ(other.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(other.message(),
            "API key qk_w may claim only kinds ticket.triage, deploy; not \"billing.export\"");
  Principal writer;
  writer.write = writer.worker = true;
  EXPECT_TRUE(CheckWorkerKinds(writer, {"billing.export"}).ok());
}

}  // namespace
}  // namespace quarry::gateway
