#include "services/gateway/api/admission.h"

#include <chrono>

#include "absl/time/clock.h"

namespace quarry::gateway {

absl::Time Admitter::Deadline(const grpc::ServerContext& context) const {
  if (context.deadline() == std::chrono::system_clock::time_point::max()) {
    return absl::Now() + default_deadline_;
  }
  return absl::FromChrono(context.deadline());
}

}  // namespace quarry::gateway
