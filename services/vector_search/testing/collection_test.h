#ifndef QUARRY_SERVICES_VECTOR_SEARCH_TESTING_COLLECTION_TEST_H_
#define QUARRY_SERVICES_VECTOR_SEARCH_TESTING_COLLECTION_TEST_H_

#include <string>

#include "services/common/pg/testing/postgres_env.h"
#include "services/gateway/store.h"

namespace quarry::vector_search {

// What a replica test starts from: a fresh migrated database (conninfo_,
// pool_) holding one collection, "docs" of tenant "t" with the cosine metric
// (collection_), and an empty directory of the test's own for snapshots,
// $TEST_TMPDIR/<data_dir_prefix>-<test name> (data_dir_). The replica under
// test and its documents are the test's to make.
class CollectionTest : public pg::DatabaseTest {
 protected:
  CollectionTest(int dimension, std::string data_dir_prefix)
      : dimension_(dimension), data_dir_prefix_(std::move(data_dir_prefix)) {}

  void SetUp() override;

  gateway::store::CollectionRecord collection_;
  std::string data_dir_;

 private:
  const int dimension_;
  const std::string data_dir_prefix_;
};

}  // namespace quarry::vector_search

#endif  // QUARRY_SERVICES_VECTOR_SEARCH_TESTING_COLLECTION_TEST_H_
