#ifndef QUARRY_SERVICES_GATEWAY_API_CONVERT_H_
#define QUARRY_SERVICES_GATEWAY_API_CONVERT_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/timestamp.pb.h"
#include "quarry/common/v1/vector.pb.h"
#include "quarry/gateway/v1/admin_service.pb.h"
#include "quarry/gateway/v1/collection_service.pb.h"
#include "quarry/gateway/v1/job_kind_service.pb.h"
#include "quarry/gateway/v1/job_service.pb.h"
#include "quarry/gateway/v1/schedule_service.pb.h"
#include "services/common/jobqueue/job.h"
#include "services/common/jobqueue/job_kind.h"
#include "services/common/jobqueue/schedule_spec.h"
#include "services/gateway/auth.h"
#include "services/gateway/store.h"

namespace quarry::gateway {

// The one place where the public API's messages and enums meet the domain's
// records: metric, scope and job state mappings and the record -> message
// conversions of the api/ adapters.

void SetTime(absl::Time time, google::protobuf::Timestamp* out);
absl::Time FromProto(const google::protobuf::Timestamp& time);

// Metrics are stored by name: "cosine" (also for UNSPECIFIED), "dot", "l2".
std::string MetricName(quarry::common::v1::Metric metric);
quarry::common::v1::Metric MetricFromName(const std::string& name);

// Scopes are stored by name: "read" (also for UNSPECIFIED), "write", "admin".
std::string ScopeName(int scope);
quarry::gateway::v1::Scope ScopeFromName(const std::string& name);

quarry::gateway::v1::JobState JobStateToProto(jobqueue::JobState state);
// nullopt for UNSPECIFIED and unknown values.
std::optional<jobqueue::JobState> JobStateFromProto(int state);

void ToProto(const store::CollectionRecord& record, quarry::gateway::v1::Collection* out);
void ToProto(const jobqueue::Job& job, quarry::gateway::v1::Job* out);
void ToProto(const jobqueue::JobKind& kind, quarry::gateway::v1::JobKind* out);
// The kind a client describes, unset fields taking the defaults of
// jobqueue::JobKind; the rules are checked by the core (ValidateJobKind).
// INVALID_ARGUMENT naming `field` for a malformed duration.
absl::StatusOr<jobqueue::JobKind> FromProto(const quarry::gateway::v1::JobKind& kind,
                                            const std::string& field);
void ToProto(const jobqueue::StoredSchedule& schedule, quarry::gateway::v1::Schedule* out);
// The schedule a client describes; the rules are checked by the core
// (ValidateScheduleSpec). INVALID_ARGUMENT naming `field` for a malformed
// interval or an overlap policy the API does not define.
absl::StatusOr<jobqueue::ScheduleSpec> FromProto(const quarry::gateway::v1::Schedule& schedule,
                                                 const std::string& field);
// `limit`: the one in force (Gatekeeper::LimitInForce), not what is stored,
// which is nothing for a key on the defaults.
void ToProto(const store::KeyRecord& key, const RateLimit& limit,
             quarry::gateway::v1::ApiKey* out);

}  // namespace quarry::gateway

#endif  // QUARRY_SERVICES_GATEWAY_API_CONVERT_H_
