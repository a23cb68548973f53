// The embedding service: text -> vectors with one model per replica, dynamic
// batching and a two-level cache.
#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/common/server/database.h"
#include "services/common/server/env_flags.h"
#include "services/common/server/runtime.h"
#include "services/common/server/server_flags.h"
#include "services/common/status/macros.h"
#include "services/embedding/bert_encoder.h"
#include "services/embedding/hashing_embedder.h"
#include "services/embedding/serving/batcher.h"
#include "services/embedding/serving/embedding_cache.h"
#include "services/embedding/serving/embedding_service.h"
#include "services/embedding/serving/service_options.h"

QUARRY_DEFINE_SERVER_FLAGS(50061, 51061);
ABSL_FLAG(std::string, model, "hashing",
          "Built-in model when --model_dir is empty: \"hashing\" (lexical, no weights).");
ABSL_FLAG(std::string, model_dir, "",
          "A sentence-transformers model directory (config.json, vocab.txt, "
          "model.safetensors, 1_Pooling/); overrides --model.");
ABSL_FLAG(uint32_t, dimension, 384, "Dimension of the built-in hashing model.");
ABSL_FLAG(int64_t, cache_bytes, 256 << 20, "In-process (L1) cache size in bytes.");
ABSL_FLAG(std::string, database_url, "",
          "PostgreSQL for the shared (L2) embedding cache; empty: L1 only.");
ABSL_FLAG(uint32_t, batch_token_budget, 8192, "Most tokens (with padding) in one forward pass.");
ABSL_FLAG(absl::Duration, batch_max_wait, absl::Milliseconds(2),
          "How long a text waits for others to share its forward pass.");
ABSL_FLAG(int, max_queued_texts, 4096, "Texts waiting for a pass; past it RESOURCE_EXHAUSTED.");

int main(int argc, char** argv) {
  quarry::server::ShutdownSignals signals;
  quarry::server::ParseFlagsWithEnvironment(argc, argv);
  using quarry::server::ExitOnStartupError;

  quarry::embedding::EmbeddingServiceOptions options;
  options.model = absl::GetFlag(FLAGS_model);
  options.model_dir = absl::GetFlag(FLAGS_model_dir);
  options.dimension = absl::GetFlag(FLAGS_dimension);
  options.cache_bytes = absl::GetFlag(FLAGS_cache_bytes);
  options.database_url = absl::GetFlag(FLAGS_database_url);
  options.batch.token_budget = absl::GetFlag(FLAGS_batch_token_budget);
  options.batch.max_wait = absl::GetFlag(FLAGS_batch_max_wait);
  options.batch.max_queued_texts = absl::GetFlag(FLAGS_max_queued_texts);
  if (absl::Status valid = options.Validate(); !valid.ok()) {
    ExitOnStartupError("configuration", valid);
  }

  auto runtime = quarry::server::Runtime::Create(QuarryServerOptionsFromFlags("embedding"));
  if (!runtime.ok()) ExitOnStartupError("configuration", runtime.status());
  auto& metrics = (*runtime)->metrics();

  // Serve health (NOT_SERVING) while the model loads, so probes can tell
  // "starting" from "dead".
  const absl::Time load_start = absl::Now();
  std::unique_ptr<quarry::embedding::Embedder> embedder;
  if (!options.model_dir.empty()) {
    auto bert = quarry::embedding::BertEncoder::Load(options.model_dir);
    if (!bert.ok()) ExitOnStartupError("--model_dir", bert.status());
    embedder = std::move(*bert);
  } else {  // Validate admits only the hashing model here.
    auto hashing = quarry::embedding::HashingEmbedder::Create(options.dimension);
    if (!hashing.ok()) ExitOnStartupError("--dimension", hashing.status());
    embedder = std::move(*hashing);
  }
  metrics.Gauge("quarry_embedding_model_load_seconds", "Time to load the model at start.",
                {{"model", embedder->info().name}})
      .Set(absl::ToDoubleSeconds(absl::Now() - load_start));

  std::unique_ptr<quarry::pg::Pool> pool;  // The L2 cache is optional.
  if (!options.database_url.empty()) {
    pool = quarry::server::OpenDatabaseOrExit(options.database_url, 4, absl::Seconds(5));
  }
  quarry::embedding::EmbeddingCache cache(embedder->info().name,
                                          static_cast<size_t>(options.cache_bytes), pool.get());

  const quarry::embedding::Embedder& model = *embedder;
  quarry::embedding::Batcher batcher(
      [&model](const std::vector<absl::string_view>& texts)
          -> absl::StatusOr<std::vector<quarry::embedding::EncodedText>> {
        QUARRY_ASSIGN_OR_RETURN(auto results, model.EmbedBatch(texts));
        std::vector<quarry::embedding::EncodedText> out(results.size());
        for (size_t i = 0; i < results.size(); ++i) {
          out[i] = {std::move(results[i].vector), results[i].truncated, results[i].token_count};
        }
        return out;
      },
      [&model](absl::string_view text) { return model.CountTokens(text); }, options.batch,
      quarry::embedding::BatchMetricsObserver(metrics));

  quarry::embedding::EmbeddingServiceImpl service(model, batcher, cache, &metrics);
  auto server = (*runtime)->StartServer({&service});
  if (!server.ok()) ExitOnStartupError("gRPC server", server.status());

  // Warm-up: one real batch through the whole path before taking traffic.
  auto warm = batcher.Embed({"warm-up sentence for the embedding model"},
                            absl::Now() + absl::Seconds(60));
  if (!warm.ok()) ExitOnStartupError("warm-up batch", warm.status());
  (*server)->SetServing(true);
  (*runtime)->logger().Info("model ready",
                            {{"model", model.info().name},
                             {"dimension", absl::StrCat(model.info().dimension)},
                             {"kind", model.info().kind}});
  return (*runtime)->ServeUntilSignal(signals, **server, [&cache] { cache.Flush(); });
}
