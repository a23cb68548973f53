// quarryctl: the command-line client operators use against a Quarry gateway.
// Run `quarryctl --help` for the commands.
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tools/quarryctl/commands.h"
#include "tools/quarryctl/common.h"
#include "tools/quarryctl/ingest.h"

ABSL_FLAG(std::string, target, "", "Gateway address (default $QUARRY_TARGET or 127.0.0.1:50050).");
ABSL_FLAG(std::string, api_key, "", "API key (default $QUARRY_API_KEY).");
ABSL_FLAG(absl::Duration, deadline, absl::Seconds(30), "Deadline of each call.");
ABSL_FLAG(std::string, output, "text",
          "ingest, search, jobs, kinds list and schedules list: text (a summary line, a "
          "table) or json.");
ABSL_FLAG(uint32_t, dimension, 0, "Vector dimension (0: the model's).");
ABSL_FLAG(std::string, metric, "cosine", "Similarity: cosine, dot or l2.");
ABSL_FLAG(std::string, model, "", "Embedding model (empty: the server's default).");
ABSL_FLAG(std::string, collection, "", "Collection to ingest into or search.");
ABSL_FLAG(quarry::ctl::BatchSize, batch, quarry::ctl::BatchSize{},
          "Documents per UpsertDocuments call (at most the gateway's limit per request).");
ABSL_FLAG(std::string, format, "", "Input format, jsonl or csv (default: from the file name).");
ABSL_FLAG(bool, resume, true,
          "Continue from this file's checkpoint for this target and collection; false starts "
          "over.");
ABSL_FLAG(bool, wait, false, "Return only once the last batch is searchable.");
ABSL_FLAG(bool, skip_bad, false,
          "Skip input lines that cannot be parsed (each is reported and counted) instead of "
          "stopping at the first.");
ABSL_FLAG(bool, verbose, false, "Print a line per acknowledged batch.");
ABSL_FLAG(uint32_t, top_k, 10, "Hits to return.");
ABSL_FLAG(double, min_score, -1e30, "Drop hits scoring below this.");
ABSL_FLAG(std::string, tags, "", "Comma-separated tags that must all match.");
ABSL_FLAG(bool, exact, false, "Brute-force search instead of the index.");
ABSL_FLAG(std::string, state, "",
          "jobs list: waiting, queued, running, succeeded, dead or cancelled; jobs retry: dead "
          "(the default); jobs cancel: comma-separated queued, waiting, running (default all).");
ABSL_FLAG(std::string, kind, "",
          "jobs list and jobs: only jobs of this kind; jobs retry|cancel, schedules create: the "
          "kind.");
ABSL_FLAG(std::string, payload, "{}", "jobs submit, schedules create: the JSON payload.");
ABSL_FLAG(int64_t, limit, 10000,
          "jobs, jobs retry|cancel: the most jobs listed (per state for jobs); the output says "
          "when it stopped there.");
ABSL_FLAG(bool, dry_run, false, "jobs retry|cancel: print the jobs instead of changing them.");
ABSL_FLAG(std::string, description, "", "kinds create: what the kind is for.");
ABSL_FLAG(int32_t, max_attempts, 0,
          "kinds create, schedules create: attempts per job (0: the default).");
ABSL_FLAG(int32_t, priority, 0, "kinds create, schedules create: the jobs' priority.");
ABSL_FLAG(int32_t, max_concurrency, 0, "kinds create: jobs running at once (0: no limit).");
ABSL_FLAG(int32_t, starts_per_minute, 0,
          "kinds create: jobs started in any 60 s (0: no limit).");
ABSL_FLAG(int64_t, cost_per_minute, 0,
          "kinds create: cost units started in any 60 s (0: no limit).");
ABSL_FLAG(int32_t, max_result_bytes, 0, "kinds create: largest result (0: 64 KiB).");
ABSL_FLAG(absl::Duration, attempt_timeout, absl::ZeroDuration(),
          "kinds create: a worker's lease per attempt, e.g. 60s (0: the default).");
ABSL_FLAG(absl::Duration, retention, absl::ZeroDuration(),
          "kinds create: how long finished jobs are kept, e.g. 168h (0: the default).");
ABSL_FLAG(absl::Duration, initial_backoff, absl::ZeroDuration(),
          "kinds create: delay after the first failure (0: the default).");
ABSL_FLAG(absl::Duration, max_backoff, absl::ZeroDuration(),
          "kinds create: the retry delay's cap (0: the default).");
ABSL_FLAG(std::string, cron, "",
          "schedules create: a 5-field cron expression, UTC (or --every).");
ABSL_FLAG(absl::Duration, every, absl::ZeroDuration(),
          "schedules create: a whole number of seconds, e.g. 5m (or --cron).");
ABSL_FLAG(std::string, overlap, "skip",
          "schedules create: skip a tick while the previous job runs, or queue it.");
ABSL_FLAG(bool, catch_up, false,
          "schedules create: after downtime, one job per missed tick instead of one in all.");
ABSL_FLAG(std::string, name, "", "Label of the key.");
ABSL_FLAG(std::string, scopes, "read", "keys create: comma-separated read, write, admin.");
ABSL_FLAG(double, rate, 0, "keys create: requests per second (0: the default).");
ABSL_FLAG(int32_t, burst, 0,
          "keys create: calls allowed at once above the rate (0: the default).");
ABSL_FLAG(std::string, database_url, "",
          "PostgreSQL connection string (default $QUARRY_DATABASE_URL).");
ABSL_FLAG(std::string, tenant, "default", "Tenant to create (or reuse).");

namespace {

using quarry::ctl::Fail;

// The usage of one command: what `quarryctl help COMMAND` prints. Flag lines
// come from the flags' own help strings and defaults, so they cannot drift.
struct CommandUsage {
  const char* name;
  const char* synopsis;  // one or more lines, each starting with the command
  const char* details;   // may be empty
  std::vector<const char*> flags;
};

const std::vector<CommandUsage>& Commands() {
  static const auto* commands = new std::vector<CommandUsage>{
      {"collections",
       "collections create NAME\n"
       "collections get NAME | list | delete NAME",
       "", {"dimension", "metric", "model"}},
      {"ingest", "ingest FILE --collection=C",
       "Upserts the documents of a JSONL or CSV file in batches.\n"
       "JSONL: one object per line, {\"id\": string or integer, \"text\": string,\n"
       "  \"metadata\": {string: value}, \"tags\": [string], \"vector\": [number]};\n"
       "  only id and text are required; a vector is stored as given (its length\n"
       "  must be the collection's dimension) instead of embedding the text.\n"
       "CSV: a header naming id and text (and optionally tags, '|'-separated);\n"
       "  every other column becomes metadata.\n"
       "A checkpoint (FILE.<hash>.checkpoint, one per target and collection) is\n"
       "written after every acknowledged batch; a rerun continues after it unless\n"
       "the file changed since (then it starts over and says so).\n"
       "Prints one summary line (documents ingested, skipped, failed, seconds,\n"
       "docs/s), or JSON with --output=json; a progress line on a terminal.\n"
       "Exit status: 0 only when every line was ingested; 1 when any was not (a\n"
       "  bad line stops the run, or is skipped and counted with --skip_bad; a\n"
       "  batch the gateway rejects stops it) or a flag value is invalid (e.g.\n"
       "  --batch above the gateway's limit); 2 for other usage errors.",
       {"collection", "batch", "format", "resume", "wait", "skip_bad", "verbose", "output"}},
      {"search", "search --collection=C TEXT",
       "Prints a table (rank, score, id, text), or the response as JSON with --output=json.",
       {"collection", "top_k", "min_score", "tags", "exact", "output"}},
      {"jobs",
       "jobs [--kind=K]\n"
       "jobs list | get ID | watch ID | cancel ID | retry ID\n"
       "jobs submit KIND\n"
       "jobs retry --kind=K [--state=dead] | jobs cancel --kind=K [--state=S,...]",
       "`jobs` alone prints, per kind, jobs waiting, queued, running, succeeded, dead\n"
       "  and cancelled (a count marked + stopped at --limit).\n"
       "`jobs retry` and `jobs cancel` without an ID act on every job of the kind in\n"
       "  the state(s), one call each, and print how many were done, skipped (the job\n"
       "  had moved on) and failed; --dry_run lists them instead. A running job\n"
       "  stops at its next step. Exit status 1 when any failed.\n"
       "There is no purge: finished jobs go when their kind's retention ends.",
       {"state", "kind", "payload", "limit", "dry_run", "output"}},
      {"kinds", "kinds list | get NAME | delete NAME\nkinds create NAME",
       "The tenant's job kinds and the system kinds. list prints a table\n"
       "(--output=json: the response); get and create print the kind as JSON.",
       {"description", "max_attempts", "priority", "max_concurrency", "starts_per_minute",
        "cost_per_minute", "max_result_bytes", "attempt_timeout", "retention",
        "initial_backoff", "max_backoff", "output"}},
      {"schedules",
       "schedules list | get NAME | delete NAME\n"
       "schedules create NAME --kind=K (--cron=EXPR | --every=DURATION)",
       "Schedules submit a job of one of the tenant's kinds at each tick (UTC). list\n"
       "prints a table (--output=json: the response); get and create print JSON.",
       {"kind", "cron", "every", "payload", "overlap", "catch_up", "priority", "max_attempts",
        "output"}},
      {"stats", "stats collection NAME | stats jobs", "", {}},
      {"keys", "keys create | list | revoke ID", "", {"name", "scopes", "rate", "burst"}},
      {"admin", "admin bootstrap --database_url=URL",
       "Creates the tenant (if new) and an admin key, talking to PostgreSQL\n"
       "directly (the first key cannot come through the API); prints the key once.",
       {"database_url", "tenant", "name"}},
      {"help", "help [COMMAND]", "Prints the commands, or one command's usage and flags.", {}},
  };
  return *commands;
}

const CommandUsage* FindCommand(absl::string_view name) {
  for (const CommandUsage& command : Commands()) {
    if (name == command.name) return &command;
  }
  return nullptr;
}

constexpr const char* kConnectionFlags[] = {"target", "api_key", "deadline"};

std::string FlagLine(const char* name) {
  const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
  if (flag == nullptr) return absl::StrCat("  --", name, "\n");
  std::string left = absl::StrCat("  --", name, "=", flag->DefaultValue());
  if (left.size() < 24) left.resize(24, ' ');
  return absl::StrCat(left, "  ", flag->Help(), "\n");
}

std::string GeneralUsage() {
  std::string text = "Usage: quarryctl [flags] COMMAND [args]\n\nCommands:\n";
  for (const CommandUsage& command : Commands()) {
    for (absl::string_view line : absl::StrSplit(command.synopsis, '\n')) {
      absl::StrAppend(&text, "  ", line, "\n");
    }
  }
  absl::StrAppend(&text,
                  "\nRun `quarryctl help COMMAND` (or `quarryctl COMMAND --help`) for a "
                  "command's flags.\nResponses print as JSON unless a command says otherwise; "
                  "errors print the gRPC status\ncode and message.\n\nConnection flags:\n");
  for (const char* flag : kConnectionFlags) absl::StrAppend(&text, FlagLine(flag));
  return text;
}

std::string UsageOf(const CommandUsage& command) {
  std::string text;
  for (absl::string_view line : absl::StrSplit(command.synopsis, '\n')) {
    absl::StrAppend(&text, text.empty() ? "Usage: quarryctl " : "       quarryctl ", line,
                    " [flags]\n");
  }
  if (*command.details != '\0') absl::StrAppend(&text, "\n", command.details, "\n");
  if (!command.flags.empty()) {
    absl::StrAppend(&text, "\nFlags:\n");
    for (const char* flag : command.flags) absl::StrAppend(&text, FlagLine(flag));
  }
  absl::StrAppend(&text, "\nConnection flags:\n");
  for (const char* flag : kConnectionFlags) absl::StrAppend(&text, FlagLine(flag));
  return text;
}

// `--help` (and -h, --helpshort) anywhere on the command line: the usage of
// the command named there, else the general usage. Handled before absl's
// parser, whose --help lists only flags defined in main's file.
std::optional<std::string> HelpRequested(int argc, char** argv) {
  bool help = false;
  const CommandUsage* command = nullptr;
  for (int i = 1; i < argc; ++i) {
    const absl::string_view arg = argv[i];
    if (arg == "--") break;
    if (arg == "--help" || arg == "-help" || arg == "-h" || arg == "--helpshort" ||
        arg == "-helpshort") {
      help = true;
    } else if (command == nullptr && !absl::StartsWith(arg, "-")) {
      command = FindCommand(arg);
    }
  }
  if (!help) return std::nullopt;
  return command != nullptr && std::string(command->name) != "help" ? UsageOf(*command)
                                                                     : GeneralUsage();
}

}  // namespace

int main(int argc, char** argv) {
  if (auto help = HelpRequested(argc, argv)) {
    std::cout << *help;
    return 0;
  }
  absl::SetProgramUsageMessage("Run `quarryctl help` for the commands and their flags.");
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  std::vector<std::string> args(positional.begin() + 1, positional.end());
  if (args.empty()) {
    std::cerr << GeneralUsage();
    return 2;
  }
  if (const std::string output = absl::GetFlag(FLAGS_output); output != "text" && output != "json") {
    return Fail("--output must be text or json, got \"" + output + "\"");
  }
  const std::string& command = args[0];
  if (command == "help") {
    if (args.size() < 2) {
      std::cout << GeneralUsage();
      return 0;
    }
    const CommandUsage* usage = FindCommand(args[1]);
    if (usage == nullptr) return Fail("unknown command \"" + args[1] + "\"; see quarryctl help");
    std::cout << UsageOf(*usage);
    return 0;
  }
  const quarry::ctl::Ctl ctl({.target = absl::GetFlag(FLAGS_target),
                              .api_key = absl::GetFlag(FLAGS_api_key),
                              .deadline = absl::GetFlag(FLAGS_deadline)});
  const bool json_output = absl::GetFlag(FLAGS_output) == "json";
  if (command == "collections") {
    return quarry::ctl::Collections(ctl,
                                    {.dimension = absl::GetFlag(FLAGS_dimension),
                                     .metric = absl::GetFlag(FLAGS_metric),
                                     .model = absl::GetFlag(FLAGS_model)},
                                    args);
  }
  if (command == "ingest") {
    return quarry::ctl::Ingest(ctl,
                               {.collection = absl::GetFlag(FLAGS_collection),
                                .batch_size = absl::GetFlag(FLAGS_batch).value,
                                .format = absl::GetFlag(FLAGS_format),
                                .resume = absl::GetFlag(FLAGS_resume),
                                .wait = absl::GetFlag(FLAGS_wait),
                                .skip_bad = absl::GetFlag(FLAGS_skip_bad),
                                .verbose = absl::GetFlag(FLAGS_verbose),
                                .json_output = json_output},
                               args);
  }
  if (command == "search") {
    return quarry::ctl::Search(ctl,
                               {.collection = absl::GetFlag(FLAGS_collection),
                                .top_k = absl::GetFlag(FLAGS_top_k),
                                .min_score = absl::GetFlag(FLAGS_min_score),
                                .tags = absl::GetFlag(FLAGS_tags),
                                .exact = absl::GetFlag(FLAGS_exact),
                                .json_output = json_output},
                               args);
  }
  if (command == "jobs") {
    return quarry::ctl::Jobs(ctl,
                             {.state = absl::GetFlag(FLAGS_state),
                              .kind = absl::GetFlag(FLAGS_kind),
                              .payload = absl::GetFlag(FLAGS_payload),
                              .api_key = absl::GetFlag(FLAGS_api_key),
                              .limit = absl::GetFlag(FLAGS_limit),
                              .dry_run = absl::GetFlag(FLAGS_dry_run),
                              .json_output = json_output},
                             args);
  }
  if (command == "kinds") {
    return quarry::ctl::Kinds(ctl,
                              {.description = absl::GetFlag(FLAGS_description),
                               .max_attempts = absl::GetFlag(FLAGS_max_attempts),
                               .priority = absl::GetFlag(FLAGS_priority),
                               .max_concurrency = absl::GetFlag(FLAGS_max_concurrency),
                               .starts_per_minute = absl::GetFlag(FLAGS_starts_per_minute),
                               .cost_per_minute = absl::GetFlag(FLAGS_cost_per_minute),
                               .max_result_bytes = absl::GetFlag(FLAGS_max_result_bytes),
                               .attempt_timeout = absl::GetFlag(FLAGS_attempt_timeout),
                               .retention = absl::GetFlag(FLAGS_retention),
                               .initial_backoff = absl::GetFlag(FLAGS_initial_backoff),
                               .max_backoff = absl::GetFlag(FLAGS_max_backoff),
                               .json_output = json_output},
                              args);
  }
  if (command == "schedules") {
    return quarry::ctl::Schedules(ctl,
                                  {.kind = absl::GetFlag(FLAGS_kind),
                                   .cron = absl::GetFlag(FLAGS_cron),
                                   .every = absl::GetFlag(FLAGS_every),
                                   .payload = absl::GetFlag(FLAGS_payload),
                                   .overlap = absl::GetFlag(FLAGS_overlap),
                                   .catch_up = absl::GetFlag(FLAGS_catch_up),
                                   .priority = absl::GetFlag(FLAGS_priority),
                                   .max_attempts = absl::GetFlag(FLAGS_max_attempts),
                                   .json_output = json_output},
                                  args);
  }
  if (command == "stats") return quarry::ctl::Stats(ctl, args);
  if (command == "keys") {
    return quarry::ctl::Keys(ctl,
                             {.name = absl::GetFlag(FLAGS_name),
                              .scopes = absl::GetFlag(FLAGS_scopes),
                              .rate = absl::GetFlag(FLAGS_rate),
                              .burst = absl::GetFlag(FLAGS_burst)},
                             args);
  }
  if (command == "admin") {
    return quarry::ctl::Admin({.database_url = absl::GetFlag(FLAGS_database_url),
                               .tenant = absl::GetFlag(FLAGS_tenant),
                               .name = absl::GetFlag(FLAGS_name)},
                              args);
  }
  return Fail("unknown command \"" + command + "\"; see quarryctl help");
}
