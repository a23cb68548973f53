#include "services/vector_search/testing/collection_test.h"

#include <cstdlib>
#include <filesystem>

#include "absl/strings/str_cat.h"

namespace quarry::vector_search {

void CollectionTest::SetUp() {
  ASSERT_NO_FATAL_FAILURE(pg::DatabaseTest::SetUp());
  auto created = pool_->WithTransaction(
      [&](pqxx::work& txn) -> absl::StatusOr<gateway::store::CollectionRecord> {
        gateway::store::CollectionRecord c;
        c.tenant_id = gateway::store::EnsureTenant(txn, "t");
        c.name = "docs";
        c.dimension = dimension_;
        c.metric = "cosine";
        c.model = "test";
        return gateway::store::InsertCollection(txn, c);
      });
  ASSERT_TRUE(created.ok()) << created.status();
  collection_ = *created;
  data_dir_ = absl::StrCat(std::getenv("TEST_TMPDIR"), "/", data_dir_prefix_, "-",
                           ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::filesystem::create_directories(data_dir_);
}

}  // namespace quarry::vector_search
