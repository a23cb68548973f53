#include "services/common/server/env_flags.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace quarry::server {

absl::Status ApplyEnvironmentToFlags(const std::vector<std::string>& environ_entries) {
  absl::flat_hash_map<std::string, std::string> env;
  for (const std::string& entry : environ_entries) {
    size_t eq = entry.find('=');
    if (eq == std::string::npos) continue;
    env[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    // Abseil's own flags (--flagfile, --help...) are not configuration.
    if (flag->Filename().find("absl/flags") != std::string::npos) continue;
    auto it = env.find(absl::AsciiStrToUpper(name));
    if (it == env.end()) continue;
    std::string error;
    if (!flag->ParseFrom(it->second, &error)) {
      return absl::InvalidArgumentError(absl::StrCat("environment variable ", it->first, "=\"",
                                                     it->second, "\" is not a valid --", name,
                                                     ": ", error));
    }
  }
  return absl::OkStatus();
}

std::vector<char*> ParseFlagsWithEnvironment(int argc, char** argv) {
  std::vector<std::string> entries;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) entries.emplace_back(*e);
  if (absl::Status status = ApplyEnvironmentToFlags(entries); !status.ok()) {
    std::fprintf(stderr, "%s: %s\n", argv[0], std::string(status.message()).c_str());
    std::exit(2);
  }
  // absl::ParseCommandLine prints the offending flag and exits non-zero itself.
  return absl::ParseCommandLine(argc, argv);
}

}  // namespace quarry::server
