#include "services/embedding/serving/batcher.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/common/status/macros.h"

namespace quarry::embedding {

// What one Embed call waits for.
struct Batcher::Request {
  std::vector<std::string> texts;
  std::vector<EncodedText> results;
  int remaining = 0;  // Guarded by Batcher::mu_.
  absl::Status status;  // First failure, guarded by Batcher::mu_.
};

Batcher::Batcher(BatchEncoder encoder, TokenCounter counter, BatcherOptions options,
                 std::function<void(const BatchStats&)> observer)
    : encoder_(std::move(encoder)), counter_(std::move(counter)), options_(options),
      observer_(std::move(observer)) {
  thread_ = std::thread([this] { Loop(); });
}

Batcher::~Batcher() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

int Batcher::queued_texts() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(queue_.size());
}

absl::StatusOr<std::vector<EncodedText>> Batcher::Embed(const std::vector<std::string>& texts,
                                                        absl::Time deadline) {
  auto request = std::make_shared<Request>();
  request->texts = texts;
  request->results.resize(texts.size());
  request->remaining = static_cast<int>(texts.size());
  std::vector<uint32_t> tokens(texts.size());
  for (size_t i = 0; i < texts.size(); ++i) tokens[i] = std::max<uint32_t>(1, counter_(texts[i]));

  absl::MutexLock lock(&mu_);
  if (stopping_) return absl::UnavailableError("embedding batcher is shutting down");
  if (static_cast<int>(queue_.size() + texts.size()) > options_.max_queued_texts) {
    return absl::ResourceExhaustedError(
        absl::StrCat("embedding queue is full (", queue_.size(), " texts waiting, limit ",
                     options_.max_queued_texts, "); retry with backoff"));
  }
  const absl::Time now = absl::Now();
  for (size_t i = 0; i < texts.size(); ++i) {
    queue_.push_back(Item{request, static_cast<int>(i), tokens[i], now});
  }
  auto done = [&request]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return request->remaining == 0; };
  if (!mu_.AwaitWithDeadline(absl::Condition(&done), deadline)) {
    return absl::DeadlineExceededError(absl::StrCat(
        "embedding did not finish before the deadline (", request->remaining, " of ",
        texts.size(), " texts pending)"));
  }
  QUARRY_RETURN_IF_ERROR(request->status);
  return std::move(request->results);
}

std::vector<Batcher::Item> Batcher::TakeBatch() {
  // Seed with the oldest text, so nothing starves; then fill with the texts
  // closest to its length while the padded size stays within budget.
  std::vector<Item> batch;
  batch.push_back(std::move(queue_.front()));
  queue_.pop_front();
  const uint32_t seed = batch[0].tokens;
  std::vector<size_t> order(queue_.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    auto distance = [&](size_t i) {
      return queue_[i].tokens > seed ? queue_[i].tokens - seed : seed - queue_[i].tokens;
    };
    return distance(a) < distance(b);
  });
  uint32_t longest = seed;
  std::vector<bool> taken(queue_.size(), false);
  for (size_t i : order) {
    const uint32_t new_longest = std::max(longest, queue_[i].tokens);
    if (static_cast<uint64_t>(new_longest) * (batch.size() + 1) > options_.token_budget) continue;
    longest = new_longest;
    taken[i] = true;
    batch.push_back(queue_[i]);
  }
  std::deque<Item> rest;
  for (size_t i = 0; i < queue_.size(); ++i) {
    if (!taken[i]) rest.push_back(std::move(queue_[i]));
  }
  queue_.swap(rest);
  return batch;
}

void Batcher::Loop() {
  while (true) {
    std::vector<Item> batch;
    {
      absl::MutexLock lock(&mu_);
      auto has_work = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
        return stopping_ || !queue_.empty();
      };
      mu_.Await(absl::Condition(&has_work));
      if (stopping_ && queue_.empty()) return;
      // Give concurrent callers a moment to join, unless the budget is
      // already full: that is what turns N small calls into one pass.
      const absl::Time fire_at = queue_.front().enqueued + options_.max_wait;
      auto full = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
        uint64_t tokens = 0;
        for (const Item& item : queue_) tokens += item.tokens;
        return stopping_ || tokens >= options_.token_budget;
      };
      mu_.AwaitWithDeadline(absl::Condition(&full), fire_at);
      batch = TakeBatch();
    }

    std::vector<absl::string_view> texts;
    BatchStats stats;
    const absl::Time start = absl::Now();
    uint32_t longest = 0;
    for (const Item& item : batch) {
      texts.push_back(item.request->texts[item.index]);
      stats.real_tokens += item.tokens;
      longest = std::max(longest, item.tokens);
      stats.oldest_wait = std::max(stats.oldest_wait, start - item.enqueued);
    }
    stats.texts = static_cast<int>(batch.size());
    stats.padded_tokens = longest * stats.texts;
    absl::StatusOr<std::vector<EncodedText>> encoded = encoder_(texts);
    stats.encode_time = absl::Now() - start;
    if (encoded.ok() && encoded->size() != batch.size()) {
      encoded = absl::InternalError("encoder returned a different number of vectors");
    }
    if (observer_) observer_(stats);

    absl::MutexLock lock(&mu_);
    for (size_t i = 0; i < batch.size(); ++i) {
      Request& request = *batch[i].request;
      if (encoded.ok()) {
        request.results[batch[i].index] = std::move((*encoded)[i]);
      } else if (request.status.ok()) {
        request.status = encoded.status();
      }
      --request.remaining;
    }
  }
}

}  // namespace quarry::embedding
