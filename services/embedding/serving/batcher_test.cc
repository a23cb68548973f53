#include "services/embedding/serving/batcher.h"

#include <atomic>
#include <string_view>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace quarry::embedding {
namespace {

// Tokens = words; the "vector" encodes the text's hash and length so each
// caller can check it got its own texts' results, in its own order.
uint32_t CountWords(absl::string_view text) {
  uint32_t words = 1;
  for (char c : text) words += c == ' ';
  return words;
}

EncodedText Encode(absl::string_view text) {
  EncodedText out;
  out.vector = {static_cast<float>(std::hash<std::string_view>()(std::string_view(text.data(), text.size())) % 100000),
                static_cast<float>(text.size())};
  out.token_count = CountWords(text);
  return out;
}

struct Recorder {
  std::atomic<int> calls{0};
  std::atomic<int> texts{0};
  std::atomic<int> max_batch{0};
  std::atomic<uint32_t> max_padded{0};
};

BatchEncoder RecordingEncoder(Recorder& recorder, absl::Duration cost = absl::ZeroDuration()) {
  return [&recorder, cost](const std::vector<absl::string_view>& texts)
             -> absl::StatusOr<std::vector<EncodedText>> {
    ++recorder.calls;
    recorder.texts += static_cast<int>(texts.size());
    int seen = recorder.max_batch.load();
    while (static_cast<int>(texts.size()) > seen &&
           !recorder.max_batch.compare_exchange_weak(seen, static_cast<int>(texts.size()))) {
    }
    absl::SleepFor(cost);
    std::vector<EncodedText> out;
    for (absl::string_view text : texts) out.push_back(Encode(text));
    return out;
  };
}

TEST(Batcher, ConcurrentCallersEachGetTheirOwnVectorsInOrderFromSharedPasses) {
  Recorder recorder;
  BatcherOptions options;
  options.max_wait = absl::Milliseconds(5);
  Batcher batcher(RecordingEncoder(recorder, absl::Milliseconds(2)), CountWords, options,
                  [&recorder](const BatchStats& stats) {
                    uint32_t seen = recorder.max_padded.load();
                    while (stats.padded_tokens > seen &&
                           !recorder.max_padded.compare_exchange_weak(seen, stats.padded_tokens)) {
                    }
                  });
  constexpr int kCallers = 32;
  constexpr int kCallsEach = 10;
  std::atomic<int> mismatches{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < kCallers; ++c) {
    callers.emplace_back([&, c] {
      for (int call = 0; call < kCallsEach; ++call) {
        std::vector<std::string> texts;
        for (int t = 0; t < 1 + (c + call) % 4; ++t) {
          texts.push_back(absl::StrCat("caller ", c, " call ", call, " text ", t,
                                       std::string(t * 3, ' ')));
        }
        auto result = batcher.Embed(texts, absl::Now() + absl::Seconds(30));
        if (!result.ok() || result->size() != texts.size()) {
          ++mismatches;
          continue;
        }
        for (size_t i = 0; i < texts.size(); ++i) {
          if ((*result)[i].vector != Encode(texts[i]).vector) ++mismatches;
        }
      }
    });
  }
  for (auto& thread : callers) thread.join();
  EXPECT_EQ(mismatches, 0);
  EXPECT_LT(recorder.calls, kCallers * kCallsEach) << "no two calls ever shared a pass";
  EXPECT_GT(recorder.max_batch, 1);
  EXPECT_LE(recorder.max_padded, options.token_budget);
}

TEST(Batcher, ARequestLargerThanTheBudgetIsSplitNotRejected) {
  Recorder recorder;
  BatcherOptions options;
  options.token_budget = 16;  // Texts of 4 words: at most 4 per pass.
  Batcher batcher(RecordingEncoder(recorder), CountWords, options);
  std::vector<std::string> texts;
  for (int i = 0; i < 20; ++i) texts.push_back(absl::StrCat("a b c ", i));
  auto result = batcher.Embed(texts, absl::Now() + absl::Seconds(10));
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->size(), 20u);
  for (size_t i = 0; i < texts.size(); ++i) EXPECT_EQ((*result)[i].vector, Encode(texts[i]).vector);
  EXPECT_GE(recorder.calls, 5);
  EXPECT_LE(recorder.max_batch, 4);
}

TEST(Batcher, AFullQueueIsResourceExhaustedNotUnboundedMemory) {
  absl::Notification release;
  std::atomic<bool> entered{false};
  BatcherOptions options;
  options.max_queued_texts = 8;
  options.max_wait = absl::ZeroDuration();
  Batcher batcher(
      [&](const std::vector<absl::string_view>& texts) -> absl::StatusOr<std::vector<EncodedText>> {
        entered = true;
        release.WaitForNotification();
        std::vector<EncodedText> out;
        for (absl::string_view text : texts) out.push_back(Encode(text));
        return out;
      },
      CountWords, options);
  // Occupy the encoder, then fill the queue.
  std::thread first([&] { (void)batcher.Embed({"x"}, absl::Now() + absl::Seconds(30)); });
  while (!entered) absl::SleepFor(absl::Milliseconds(1));
  std::thread second([&] {
    (void)batcher.Embed(std::vector<std::string>(8, "y"), absl::Now() + absl::Seconds(30));
  });
  while (batcher.queued_texts() < 8) absl::SleepFor(absl::Milliseconds(1));
  auto rejected = batcher.Embed({"z"}, absl::Now() + absl::Seconds(1));
  EXPECT_EQ(rejected.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(rejected.status().message().find("limit 8"), std::string::npos);
  release.Notify();
  first.join();
  second.join();
}

TEST(Batcher, DeadlineAndEncoderErrorsReachTheCaller) {
  BatcherOptions options;
  Batcher slow(
      [](const std::vector<absl::string_view>& texts) -> absl::StatusOr<std::vector<EncodedText>> {
        absl::SleepFor(absl::Milliseconds(300));
        return std::vector<EncodedText>(texts.size());
      },
      CountWords, options);
  auto late = slow.Embed({"a"}, absl::Now() + absl::Milliseconds(50));
  EXPECT_EQ(late.status().code(), absl::StatusCode::kDeadlineExceeded);

  Batcher failing(
      [](const std::vector<absl::string_view>&) -> absl::StatusOr<std::vector<EncodedText>> {
        return absl::InternalError("model exploded");
      },
      CountWords, options);
  auto failed = failing.Embed({"a", "b"}, absl::Now() + absl::Seconds(5));
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kInternal);
}

}  // namespace
}  // namespace quarry::embedding
