#include "services/common/status/status.h"

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace quarry {
namespace {

struct Row {
  absl::StatusCode absl_code;
  grpc::StatusCode grpc_code;
};

// Every canonical code, both ways.
constexpr Row kTable[] = {
    {absl::StatusCode::kCancelled, grpc::StatusCode::CANCELLED},
    {absl::StatusCode::kUnknown, grpc::StatusCode::UNKNOWN},
    {absl::StatusCode::kInvalidArgument, grpc::StatusCode::INVALID_ARGUMENT},
    {absl::StatusCode::kDeadlineExceeded, grpc::StatusCode::DEADLINE_EXCEEDED},
    {absl::StatusCode::kNotFound, grpc::StatusCode::NOT_FOUND},
    {absl::StatusCode::kAlreadyExists, grpc::StatusCode::ALREADY_EXISTS},
    {absl::StatusCode::kPermissionDenied, grpc::StatusCode::PERMISSION_DENIED},
    {absl::StatusCode::kResourceExhausted, grpc::StatusCode::RESOURCE_EXHAUSTED},
    {absl::StatusCode::kFailedPrecondition, grpc::StatusCode::FAILED_PRECONDITION},
    {absl::StatusCode::kAborted, grpc::StatusCode::ABORTED},
    {absl::StatusCode::kOutOfRange, grpc::StatusCode::OUT_OF_RANGE},
    {absl::StatusCode::kUnimplemented, grpc::StatusCode::UNIMPLEMENTED},
    {absl::StatusCode::kInternal, grpc::StatusCode::INTERNAL},
    {absl::StatusCode::kUnavailable, grpc::StatusCode::UNAVAILABLE},
    {absl::StatusCode::kDataLoss, grpc::StatusCode::DATA_LOSS},
    {absl::StatusCode::kUnauthenticated, grpc::StatusCode::UNAUTHENTICATED},
};

TEST(StatusMapping, EveryCodeMapsBothWaysWithItsMessage) {
  for (const Row& row : kTable) {
    absl::Status in(row.absl_code, "top_k must be in [1, 1000], got 5000");
    grpc::Status out = ToGrpcStatus(in);
    EXPECT_EQ(out.error_code(), row.grpc_code) << in;
    EXPECT_EQ(out.error_message(), "top_k must be in [1, 1000], got 5000");

    absl::Status back = FromGrpcStatus(out);
    EXPECT_EQ(back.code(), row.absl_code) << in;
    EXPECT_EQ(back.message(), in.message());
  }
}

TEST(StatusMapping, OkStaysOk) {
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
  EXPECT_TRUE(FromGrpcStatus(grpc::Status::OK).ok());
}

TEST(StatusMapping, NonCanonicalCodesBecomeUnknown) {
  absl::Status odd(static_cast<absl::StatusCode>(42), "odd");
  EXPECT_EQ(ToGrpcStatus(odd).error_code(), grpc::StatusCode::UNKNOWN);
  grpc::Status odd_grpc(static_cast<grpc::StatusCode>(99), "odd");
  EXPECT_EQ(FromGrpcStatus(odd_grpc).code(), absl::StatusCode::kUnknown);
}

TEST(StatusMapping, AnInDoubtWriteIsRetryableAndNothingElseChanges) {
  const absl::Status in_doubt = absl::UnknownError("Connection lost while committing");
  const absl::Status out = InDoubtAsUnavailable(in_doubt);
  EXPECT_EQ(out.code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StartsWith(out.message(), "Connection lost while committing"));
  EXPECT_TRUE(IsRetryable(out.code()));
  for (const Row& row : kTable) {
    if (row.absl_code == absl::StatusCode::kUnknown) continue;
    const absl::Status other(row.absl_code, "m");
    EXPECT_EQ(InDoubtAsUnavailable(other), other);
  }
}

TEST(StatusMapping, ForElementNamesTheElementOfABatch) {
  EXPECT_EQ(ForElement("queries", 2, absl::InvalidArgumentError("top_k: too big")),
            absl::InvalidArgumentError("queries[2].top_k: too big"));
  EXPECT_EQ(ForElement("queries", 0, absl::NotFoundError("collection \"x\" not found")),
            absl::NotFoundError("queries[0].collection \"x\" not found"));
  EXPECT_EQ(ForElement("queries", 1, absl::UnavailableError("shard 1 did not answer")),
            absl::UnavailableError("queries[1]: shard 1 did not answer"));
  EXPECT_TRUE(ForElement("queries", 3, absl::OkStatus()).ok());
}

TEST(StatusMapping, OnlyTransientCodesAreRetryable) {
  int retryable = 0;
  for (const Row& row : kTable) retryable += IsRetryable(row.absl_code);
  EXPECT_EQ(retryable, 4);
  EXPECT_TRUE(IsRetryable(absl::StatusCode::kUnavailable));
  EXPECT_FALSE(IsRetryable(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace quarry
