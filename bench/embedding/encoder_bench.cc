// Throughput of the C++ BERT encoder: sentences/s and tokens/s at several
// batch sizes for the short and long texts of make_inputs.py. Prints one JSON
// object per configuration (run.sh turns them into a table).

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"
#include "services/embedding/bert_encoder.h"

ABSL_FLAG(std::string, model_dir, "", "sentence-transformers model directory");
ABSL_FLAG(std::string, inputs, "", "JSON file from make_inputs.py");
ABSL_FLAG(std::string, batch_sizes, "1,8,32,64", "comma-separated batch sizes");
ABSL_FLAG(double, min_seconds, 2.0, "measure each configuration at least this long");

namespace {

using Clock = std::chrono::steady_clock;

int Run() {
  auto encoder = quarry::embedding::BertEncoder::Load(absl::GetFlag(FLAGS_model_dir));
  if (!encoder.ok()) {
    std::cerr << "loading the model: " << encoder.status() << "\n";
    return 1;
  }
  std::ifstream in(absl::GetFlag(FLAGS_inputs));
  std::stringstream buffer;
  buffer << in.rdbuf();
  const nlohmann::json inputs = nlohmann::json::parse(buffer.str(), nullptr, false);
  if (!inputs.is_object()) {
    std::cerr << "cannot read --inputs\n";
    return 1;
  }
  std::vector<int> batch_sizes;
  for (absl::string_view part : absl::StrSplit(absl::GetFlag(FLAGS_batch_sizes), ',')) {
    int b = 0;
    if (!absl::SimpleAtoi(part, &b) || b < 1) {
      std::cerr << "bad --batch_sizes\n";
      return 1;
    }
    batch_sizes.push_back(b);
  }
  const double min_seconds = absl::GetFlag(FLAGS_min_seconds);
  for (const char* kind : {"short", "long"}) {
    const std::vector<std::string> texts = inputs[kind].get<std::vector<std::string>>();
    for (const int batch : batch_sizes) {
      std::vector<absl::string_view> views;
      for (int i = 0; i < batch; ++i) views.push_back(texts[i % texts.size()]);
      uint64_t tokens_per_batch = 0;
      for (absl::string_view v : views) tokens_per_batch += (*encoder)->CountTokens(v);
      // One warm-up batch (page faults on the mapped weights, thread start).
      if (!(*encoder)->EmbedBatch(views).ok()) return 1;
      int iterations = 0;
      const Clock::time_point start = Clock::now();
      double elapsed = 0;
      do {
        auto result = (*encoder)->EmbedBatch(views);
        if (!result.ok()) {
          std::cerr << result.status() << "\n";
          return 1;
        }
        ++iterations;
        elapsed = std::chrono::duration<double>(Clock::now() - start).count();
      } while (elapsed < min_seconds || iterations < 3);
      const nlohmann::json row = {
          {"impl", "cpp"},
          {"texts", kind},
          {"batch", batch},
          {"tokens_per_text", static_cast<double>(tokens_per_batch) / batch},
          {"sentences_per_s", batch * iterations / elapsed},
          {"tokens_per_s", static_cast<double>(tokens_per_batch) * iterations / elapsed},
      };
      std::cout << row.dump() << std::endl;
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return Run();
}
