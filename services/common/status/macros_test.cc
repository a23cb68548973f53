#include "services/common/status/macros.h"

#include <memory>
#include <string>

#include "gtest/gtest.h"

namespace quarry {
namespace {

absl::Status Check(int n, int* evaluations) {
  ++*evaluations;
  if (n < 0) return absl::InvalidArgumentError("n: must be >= 0");
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<int>> Make(int n) {
  if (n < 0) return absl::NotFoundError("no such n");
  return std::make_unique<int>(n);
}

absl::Status TwoChecks(int first, int second, int* evaluations) {
  QUARRY_RETURN_IF_ERROR(Check(first, evaluations));
  QUARRY_RETURN_IF_ERROR(Check(second, evaluations));
  return absl::OkStatus();
}

absl::StatusOr<int> SumOfMade(int a, int b) {
  // Two uses in one scope, one with a declaration and one with an lvalue: the
  // hidden temporaries must not collide, and a move-only value must move.
  QUARRY_ASSIGN_OR_RETURN(std::unique_ptr<int> x, Make(a));
  std::unique_ptr<int> y;
  QUARRY_ASSIGN_OR_RETURN(y, Make(b));
  return *x + *y;
}

TEST(ReturnIfError, ReturnsTheFirstFailureUnchangedAndEvaluatesOnce) {
  int evaluations = 0;
  EXPECT_TRUE(TwoChecks(1, 2, &evaluations).ok());
  EXPECT_EQ(evaluations, 2);

  evaluations = 0;
  absl::Status s = TwoChecks(-1, 2, &evaluations);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "n: must be >= 0");
  EXPECT_EQ(evaluations, 1) << "the second check must not run";
}

TEST(AssignOrReturn, MovesTheValueOrReturnsTheStatus) {
  absl::StatusOr<int> sum = SumOfMade(2, 3);
  ASSERT_TRUE(sum.ok()) << sum.status();
  EXPECT_EQ(*sum, 5);

  absl::StatusOr<int> missing = SumOfMade(2, -1);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "no such n");
}

}  // namespace
}  // namespace quarry
