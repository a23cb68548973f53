// Prints the public API's field numbers, one per line, for the golden file:
//   bazel run //protos:dump_public_api > protos/public_api.golden
// Only do this for additive changes; see protos/contract_test.cc.
#include <iostream>

#include "protos/api_dump.h"

int main() {
  for (const auto& line : quarry::protos::DumpPublicApi()) std::cout << line << "\n";
  return 0;
}
