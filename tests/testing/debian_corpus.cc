#include "tests/testing/debian_corpus.h"

#include <cstdio>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace quarry::testing {

std::vector<DebianPackage> ReadDebianPackages(const CorpusOptions& options) {
  std::vector<DebianPackage> packages;
  FILE* pipe = popen("apt-cache dumpavail 2>/dev/null", "r");
  if (pipe == nullptr) return packages;
  std::set<std::string> names, descriptions;
  DebianPackage package;
  auto flush = [&] {
    if (!package.name.empty() && package.description.size() > options.min_description_bytes &&
        names.insert(package.name).second &&
        (!options.unique_descriptions || descriptions.insert(package.description).second)) {
      packages.push_back(package);
    }
    package = DebianPackage();
  };
  char buffer[65536];
  while (packages.size() < options.limit && fgets(buffer, sizeof(buffer), pipe) != nullptr) {
    const std::string line(absl::StripTrailingAsciiWhitespace(buffer));
    if (line.empty()) {
      flush();
    } else if (absl::StartsWith(line, "Package: ")) {
      package.name = line.substr(9);
    } else if (absl::StartsWith(line, "Section: ")) {
      package.section = line.substr(9);
    } else if (absl::StartsWith(line, "Description: ")) {
      package.description = line.substr(13);
    } else if (line[0] == ' ' && !package.description.empty() &&
               package.description.size() < options.max_description_bytes) {
      absl::StrAppend(&package.description, " ", absl::StripLeadingAsciiWhitespace(line));
    }
  }
  pclose(pipe);
  return packages;
}

}  // namespace quarry::testing
