#ifndef QUARRY_SERVICES_COMMON_SERVER_ENV_FLAGS_H_
#define QUARRY_SERVICES_COMMON_SERVER_ENV_FLAGS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace quarry::server {

// Twelve-factor configuration: every registered flag can also be set by an
// environment variable of the same name in upper case (--port <- PORT,
// --database_url <- DATABASE_URL). Variables are applied first, so a flag given
// on the command line wins. Returns INVALID_ARGUMENT naming the variable and
// the flag when a value does not parse. `environ_entries` are "NAME=value"
// strings; pass the process environment.
absl::Status ApplyEnvironmentToFlags(const std::vector<std::string>& environ_entries);

// The whole start-up sequence for main(): environment, then the command line.
// On a bad value prints one line naming the cause and exits with status 2.
// Returns the positional arguments like absl::ParseCommandLine.
std::vector<char*> ParseFlagsWithEnvironment(int argc, char** argv);

}  // namespace quarry::server

#endif  // QUARRY_SERVICES_COMMON_SERVER_ENV_FLAGS_H_
