#ifndef QUARRY_TESTS_TESTING_DEBIAN_CORPUS_H_
#define QUARRY_TESTS_TESTING_DEBIAN_CORPUS_H_

#include <string>
#include <vector>

namespace quarry::testing {

// A real text corpus on every Debian machine: the package index
// (`apt-cache dumpavail`), one entry per package.
struct DebianPackage {
  std::string name;
  std::string description;  // short description plus the long one, joined
  std::string section;
};

struct CorpusOptions {
  // Stop after this many packages.
  size_t limit = 1000;
  // Skip packages whose description is not longer than this.
  size_t min_description_bytes = 20;
  // Stop appending long-description lines once the text is this long.
  size_t max_description_bytes = 2000;
  // Skip a package whose description another package already has (tests
  // that expect a text to find its own document need distinct texts).
  bool unique_descriptions = false;
};

// Packages in index order, each name once. Empty if apt-cache cannot run.
std::vector<DebianPackage> ReadDebianPackages(const CorpusOptions& options);

}  // namespace quarry::testing

#endif  // QUARRY_TESTS_TESTING_DEBIAN_CORPUS_H_
