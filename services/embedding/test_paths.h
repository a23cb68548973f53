#ifndef QUARRY_SERVICES_EMBEDDING_TEST_PATHS_H_
#define QUARRY_SERVICES_EMBEDDING_TEST_PATHS_H_

#include <cstdlib>
#include <string>

namespace quarry::embedding::testing {

// A runfile of this workspace, e.g. "services/embedding/reference/tiny_model".
inline std::string RunfilePath(const std::string& relative) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  return std::string(srcdir ? srcdir : ".") + "/" + (workspace ? workspace : "quarry") + "/" +
         relative;
}

// The shared all-MiniLM-L6-v2 directory (config and tokenizer; weights if present).
inline std::string SharedMiniLmDir() {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  return std::string(srcdir ? srcdir : ".") + "/shared_models/all-MiniLM-L6-v2";
}

}  // namespace quarry::embedding::testing

#endif  // QUARRY_SERVICES_EMBEDDING_TEST_PATHS_H_
