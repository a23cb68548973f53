#include "services/common/server/options.h"

#include "absl/flags/flag.h"
#include "gtest/gtest.h"
#include "services/common/server/env_flags.h"

ABSL_FLAG(int, quarry_test_port, 1, "test flag");
ABSL_FLAG(std::string, quarry_test_name, "unset", "test flag");
ABSL_FLAG(absl::Duration, quarry_test_grace, absl::Seconds(1), "test flag");

namespace quarry::server {
namespace {

ServerOptions Valid() {
  ServerOptions options;
  options.service_name = "gateway";
  options.port = 50051;
  options.admin_port = 51051;
  return options;
}

TEST(ServerOptions, DefaultsAreValid) { EXPECT_TRUE(Valid().Validate().ok()); }

TEST(ServerOptions, EachBadFieldIsNamedByItsFlag) {
  struct Case {
    void (*mutate)(ServerOptions&);
    const char* flag;
  };
  const Case cases[] = {
      {[](ServerOptions& o) { o.port = 70000; }, "--port"},
      {[](ServerOptions& o) { o.port = -1; }, "--port"},
      {[](ServerOptions& o) { o.admin_port = -2; }, "--admin_port"},
      {[](ServerOptions& o) { o.admin_port = o.port; }, "--admin_port"},
      {[](ServerOptions& o) { o.host = ""; }, "--host"},
      {[](ServerOptions& o) { o.shutdown_grace = absl::Seconds(-1); }, "--shutdown_grace"},
      {[](ServerOptions& o) { o.lame_duck = absl::Minutes(2); }, "--lame_duck"},
      {[](ServerOptions& o) { o.max_message_bytes = 0; }, "--max_message_bytes"},
      {[](ServerOptions& o) { o.otlp_endpoint = "grpc://x:4317"; }, "--otlp_endpoint"},
      {[](ServerOptions& o) { o.trace_sample_ratio = 1.5; }, "--trace_sample_ratio"},
  };
  for (const Case& c : cases) {
    ServerOptions options = Valid();
    c.mutate(options);
    absl::Status status = options.Validate();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.flag;
    EXPECT_NE(status.message().find(c.flag), std::string::npos) << status;
  }
}

TEST(EnvironmentFlags, UpperCaseVariablesSetFlags) {
  ASSERT_TRUE(ApplyEnvironmentToFlags({"QUARRY_TEST_PORT=7001", "QUARRY_TEST_NAME=from-env",
                                       "QUARRY_TEST_GRACE=250ms", "UNRELATED=1", "NOEQUALS"})
                  .ok());
  EXPECT_EQ(absl::GetFlag(FLAGS_quarry_test_port), 7001);
  EXPECT_EQ(absl::GetFlag(FLAGS_quarry_test_name), "from-env");
  EXPECT_EQ(absl::GetFlag(FLAGS_quarry_test_grace), absl::Milliseconds(250));
}

TEST(EnvironmentFlags, LowerCaseOrUnknownVariablesAreIgnored) {
  absl::SetFlag(&FLAGS_quarry_test_port, 1);
  ASSERT_TRUE(ApplyEnvironmentToFlags({"quarry_test_port=9", "QUARRY_TEST_PORTX=9"}).ok());
  EXPECT_EQ(absl::GetFlag(FLAGS_quarry_test_port), 1);
}

TEST(EnvironmentFlags, ABadValueNamesTheVariableAndTheFlag) {
  absl::Status status = ApplyEnvironmentToFlags({"QUARRY_TEST_PORT=lots"});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("QUARRY_TEST_PORT"), std::string::npos) << status;
  EXPECT_NE(status.message().find("--quarry_test_port"), std::string::npos) << status;
}

}  // namespace
}  // namespace quarry::server
