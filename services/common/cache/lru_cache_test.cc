#include "services/common/cache/lru_cache.h"

#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace quarry {
namespace {

struct LengthSizer {
  size_t operator()(const std::string& key, const std::string& value) const {
    return key.size() + value.size();
  }
};

TEST(LruCache, EvictsLeastRecentlyUsedByBytes) {
  LruCache<std::string, LengthSizer> cache(10);
  cache.Put("a", "1234");  // 5 bytes
  cache.Put("b", "1234");  // 10 bytes
  ASSERT_TRUE(cache.Get("a").has_value());  // a is now the most recent
  cache.Put("c", "12");  // 13 bytes: b goes
  EXPECT_FALSE(cache.Get("b").has_value());
  EXPECT_EQ(*cache.Get("a"), "1234");
  EXPECT_EQ(*cache.Get("c"), "12");
  EXPECT_EQ(cache.used_bytes(), 8u);
  EXPECT_EQ(cache.hits(), 3u);
  EXPECT_EQ(cache.misses(), 1u);
}

TEST(LruCache, ReplacingChargesTheNewSizeAndOversizeIsNotCached) {
  LruCache<std::string, LengthSizer> cache(10);
  cache.Put("a", "1");
  cache.Put("a", "123456");
  EXPECT_EQ(cache.used_bytes(), 7u);
  EXPECT_EQ(cache.size(), 1u);
  cache.Put("big", std::string(20, 'x'));
  EXPECT_FALSE(cache.Get("big").has_value());
  EXPECT_EQ(*cache.Get("a"), "123456");
}

TEST(LruCache, StaysWithinBudgetUnderConcurrentUse) {
  LruCache<std::vector<float>, FloatVectorSizer> cache(64 * 1024);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&cache, t] {
      for (int i = 0; i < 2000; ++i) {
        std::string key = std::to_string((i * 7 + t) % 500);
        if (auto hit = cache.Get(key)) {
          EXPECT_EQ(hit->size(), 16u);
        } else {
          cache.Put(key, std::vector<float>(16, static_cast<float>(i)));
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_LE(cache.used_bytes(), 64u * 1024);
  EXPECT_GT(cache.hits(), 0u);
}

}  // namespace
}  // namespace quarry
