#ifndef QUARRY_SERVICES_EMBEDDING_SERVING_BATCHER_H_
#define QUARRY_SERVICES_EMBEDDING_SERVING_BATCHER_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace quarry::embedding {

// One text's embedding as the batcher hands it back.
struct EncodedText {
  std::vector<float> vector;
  bool truncated = false;
  uint32_t token_count = 0;
};

// Runs one forward pass over a batch; returns one result per text, in order.
using BatchEncoder =
    std::function<absl::StatusOr<std::vector<EncodedText>>(const std::vector<absl::string_view>&)>;
// Tokens a text will occupy in a batch (after truncation), cheaply.
using TokenCounter = std::function<uint32_t(absl::string_view)>;

struct BatcherOptions {
  // Most tokens in one forward pass, counted with padding (texts x longest).
  uint32_t token_budget = 8192;
  // How long the first text of a batch waits for company.
  absl::Duration max_wait = absl::Milliseconds(2);
  // Most texts waiting; past it Embed fails with RESOURCE_EXHAUSTED.
  int max_queued_texts = 4096;
};

// Observations for metrics, called from the batching thread.
struct BatchStats {
  int texts = 0;
  uint32_t padded_tokens = 0;
  uint32_t real_tokens = 0;
  absl::Duration oldest_wait;  // queue wait of the oldest text in the batch
  absl::Duration encode_time;
};

// Dynamic batching: concurrent Embed calls are coalesced into shared forward
// passes. Texts are grouped by token length (so padding wastes little) into
// batches bounded by the token budget; a request larger than the budget is
// split over several batches rather than rejected. The queue is bounded, so
// overload turns into RESOURCE_EXHAUSTED instead of unbounded memory.
class Batcher {
 public:
  Batcher(BatchEncoder encoder, TokenCounter counter, BatcherOptions options,
          std::function<void(const BatchStats&)> observer = nullptr);
  ~Batcher();

  // Embeds `texts`, blocking until all are done or `deadline` passes
  // (DEADLINE_EXCEEDED; texts already queued are still encoded and dropped).
  // Results are in request order.
  absl::StatusOr<std::vector<EncodedText>> Embed(const std::vector<std::string>& texts,
                                                 absl::Time deadline);

  int queued_texts() const;

 private:
  struct Request;
  struct Item {
    std::shared_ptr<Request> request;
    int index = 0;
    uint32_t tokens = 0;
    absl::Time enqueued;
  };

  void Loop();
  // Takes the next batch out of queue_: the oldest text first, then others of
  // similar length, within the token budget.
  std::vector<Item> TakeBatch() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const BatchEncoder encoder_;
  const TokenCounter counter_;
  const BatcherOptions options_;
  const std::function<void(const BatchStats&)> observer_;

  mutable absl::Mutex mu_;
  std::deque<Item> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace quarry::embedding

#endif  // QUARRY_SERVICES_EMBEDDING_SERVING_BATCHER_H_
