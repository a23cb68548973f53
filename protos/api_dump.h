#ifndef QUARRY_PROTOS_API_DUMP_H_
#define QUARRY_PROTOS_API_DUMP_H_

#include <string>
#include <vector>

namespace quarry::protos {

// Returns one line per element of the public API (the gateway and common
// packages): every message field with its number, label and type, every enum
// value with its number, and every RPC with its request and response types,
// sorted. The golden file pins these lines so that a breaking change to the
// wire contract fails a test instead of failing clients.
std::vector<std::string> DumpPublicApi();

}  // namespace quarry::protos

#endif  // QUARRY_PROTOS_API_DUMP_H_
