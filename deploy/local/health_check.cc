// health_check: is every gRPC server given on the command line SERVING?
//
//   health_check [--service=NAME] [--deadline=1s] [--wait=0s] HOST:PORT...
//
// Prints one line per target ("127.0.0.1:50061 SERVING") and exits 0 only
// when every target answered grpc.health.v1 Check with SERVING. With --wait,
// keeps asking (every 200 ms) until all are SERVING or the wait is over.
// Exit codes: 0 all SERVING; 1 some answered but not SERVING (warming up,
// draining, unknown service); 2 some did not answer; 3 usage.
#include <chrono>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpc/health/v1/health.grpc.pb.h"

ABSL_FLAG(std::string, service, "", "Service to ask about (empty: the server as a whole).");
ABSL_FLAG(absl::Duration, deadline, absl::Seconds(1), "Deadline of each Check call.");
ABSL_FLAG(absl::Duration, wait, absl::ZeroDuration(),
          "Keep asking until every target is SERVING or this long has passed (0: ask once).");
ABSL_FLAG(bool, quiet, false, "Print nothing; the exit code says it all.");

namespace {

using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

struct Probe {
  std::string target;
  std::unique_ptr<Health::Stub> stub;
  std::string last;  // What the last answer was, for the report.
  int code = 2;      // 0 SERVING, 1 answered but not SERVING, 2 no answer.
};

void Check(Probe& probe) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       absl::ToChronoNanoseconds(absl::GetFlag(FLAGS_deadline)));
  // Without this a call to a port nobody listens on fails at once rather than
  // waiting out the deadline; with it, a server still binding gets its chance.
  context.set_wait_for_ready(false);
  HealthCheckRequest request;
  request.set_service(absl::GetFlag(FLAGS_service));
  HealthCheckResponse response;
  const grpc::Status status = probe.stub->Check(&context, request, &response);
  if (!status.ok()) {
    probe.code = status.error_code() == grpc::NOT_FOUND ? 1 : 2;
    probe.last = "rpc failed: " + std::to_string(status.error_code()) + " " + status.error_message();
    return;
  }
  probe.last = HealthCheckResponse::ServingStatus_Name(response.status());
  probe.code = response.status() == HealthCheckResponse::SERVING ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "health_check [--service=NAME] [--deadline=1s] [--wait=0s] HOST:PORT...\n"
      "Exit 0 only when every target answers grpc.health.v1 Check with SERVING.");
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  if (positional.size() < 2) {
    std::cerr << "health_check: name at least one HOST:PORT\n";
    return 3;
  }
  std::vector<Probe> probes;
  for (size_t i = 1; i < positional.size(); ++i) {
    Probe probe;
    probe.target = positional[i];
    probe.stub = Health::NewStub(
        grpc::CreateChannel(probe.target, grpc::InsecureChannelCredentials()));
    probes.push_back(std::move(probe));
  }
  const absl::Time give_up = absl::Now() + absl::GetFlag(FLAGS_wait);
  int worst = 0;
  while (true) {
    worst = 0;
    for (Probe& probe : probes) {
      if (probe.code != 0) Check(probe);
      worst = std::max(worst, probe.code);
    }
    if (worst == 0 || absl::Now() >= give_up) break;
    absl::SleepFor(absl::Milliseconds(200));
  }
  if (!absl::GetFlag(FLAGS_quiet)) {
    for (const Probe& probe : probes) std::cout << probe.target << " " << probe.last << "\n";
  }
  return worst;
}
