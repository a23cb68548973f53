#ifndef QUARRY_BENCH_VECTOR_SEARCH_DEBIAN_DATA_H_
#define QUARRY_BENCH_VECTOR_SEARCH_DEBIAN_DATA_H_

#include <cstddef>

#include "absl/status/statusor.h"
#include "services/vector_search/synthetic_data.h"

namespace quarry::bench {

// A real corpus with real embeddings for the benchmark: the sentences of
// Debian's package descriptions, long ones included (apt's Translation-en
// indexes; `apt-cache dumpavail` has only the one-line descriptions, about
// 57k distinct sentences, too few for 100k), each at least four words and
// kept once, shuffled with a fixed seed and embedded with Quarry's
// built-in model (hashing-384: lexical, not semantic; no transformer weights
// exist on these machines). The first `queries` sentences are the queries,
// held out of the `count` indexed ones. FAILED_PRECONDITION when the indexes
// hold fewer distinct sentences than asked for.
absl::StatusOr<vector_search::ClusteredData> MakeDebianData(size_t count, size_t queries,
                                                            size_t dimension);

}  // namespace quarry::bench

#endif  // QUARRY_BENCH_VECTOR_SEARCH_DEBIAN_DATA_H_
