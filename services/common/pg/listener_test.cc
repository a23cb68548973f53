#include "services/common/pg/listener.h"

#include <string>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "services/common/pg/pool.h"
#include "services/common/pg/testing/postgres_env.h"

namespace quarry::pg {
namespace {

class ListenerTest : public DatabaseTest {
 protected:
  ListenerTest() : DatabaseTest(/*pool_size=*/2) {}
};

TEST_F(ListenerTest, ReceivesNotificationsOnItsChannelsOnly) {
  absl::StatusOr<std::unique_ptr<Listener>> listener =
      Listener::Create(conninfo_, {"chan_a", "chan_b"});
  ASSERT_TRUE(listener.ok()) << listener.status();
  ASSERT_TRUE(pool_->Execute("NOTIFY other, 'ignored'").ok());
  ASSERT_TRUE(pool_->Execute("NOTIFY chan_a, 'hello'").ok());

  absl::StatusOr<std::vector<Notification>> got =
      (*listener)->WaitForNotification(absl::Seconds(10));
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].channel, "chan_a");
  EXPECT_EQ((*got)[0].payload, "hello");

  // Two in one transaction arrive together (or in two calls; collect both).
  ASSERT_TRUE(pool_->Execute("SELECT pg_notify('chan_b', '1'), pg_notify('chan_a', '2')").ok());
  std::vector<Notification> all;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (all.size() < 2 && absl::Now() < deadline) {
    got = (*listener)->WaitForNotification(absl::Seconds(1));
    ASSERT_TRUE(got.ok()) << got.status();
    all.insert(all.end(), got->begin(), got->end());
  }
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].channel, "chan_b");
  EXPECT_EQ(all[1].payload, "2");
}

TEST_F(ListenerTest, TimesOutCleanlyWhenNothingArrives) {
  absl::StatusOr<std::unique_ptr<Listener>> listener = Listener::Create(conninfo_, {"quiet"});
  ASSERT_TRUE(listener.ok()) << listener.status();
  const absl::Time start = absl::Now();
  absl::StatusOr<std::vector<Notification>> got =
      (*listener)->WaitForNotification(absl::Milliseconds(200));
  const absl::Duration waited = absl::Now() - start;
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(got->empty());
  EXPECT_GE(waited, absl::Milliseconds(190));
  EXPECT_LT(waited, absl::Seconds(2));
}

TEST_F(ListenerTest, ReconnectsAfterItsConnectionIsKilled) {
  absl::StatusOr<std::unique_ptr<Listener>> listener = Listener::Create(conninfo_, {"chan"});
  ASSERT_TRUE(listener.ok()) << listener.status();
  absl::StatusOr<pqxx::result> killed = pool_->Query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
      " WHERE datname = current_database() AND query LIKE 'LISTEN%'");
  ASSERT_TRUE(killed.ok()) << killed.status();
  ASSERT_EQ(killed->size(), 1u);

  absl::StatusOr<std::vector<Notification>> got =
      (*listener)->WaitForNotification(absl::Seconds(10));
  EXPECT_EQ(got.status().code(), absl::StatusCode::kUnavailable) << got.status();

  // The next call reconnects and LISTENs again.
  got = (*listener)->WaitForNotification(absl::Milliseconds(50));
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_TRUE(pool_->Execute("NOTIFY chan, 'after'").ok());
  got = (*listener)->WaitForNotification(absl::Seconds(10));
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].payload, "after");
}

TEST_F(ListenerTest, NeedsAChannel) {
  EXPECT_EQ(Listener::Create(conninfo_, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace quarry::pg
