#include "services/worker/scheduler.h"

#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"

#include "services/common/jobqueue/pg_job_store.h"
#include "services/common/jobqueue/pg_schedule_store.h"
#include "services/common/jobqueue/schedule.h"
#include "services/common/status/macros.h"

namespace quarry::worker {

using jobqueue::OverlapPolicy;
namespace pgschedules = jobqueue::pgschedules;

Scheduler::Scheduler(pg::Pool& pool, SchedulerOptions options)
    : pool_(pool), options_(std::move(options)) {}

Scheduler::~Scheduler() { Stop(); }

absl::StatusOr<Scheduler::PassStats> Scheduler::RunOnce() {
  const absl::Time now = options_.clock();
  PassStats total;
  // A catch-up schedule may still be due after its turn; it is handled once
  // per pass (the bound on its ticks) and left for the next one.
  absl::flat_hash_set<int64_t> handled;
  // Batches until a claim comes back short or holds nothing new.
  for (;;) {
    int fresh = 0;
    std::vector<TickEvent> events;
    absl::StatusOr<int> claimed = pool_.WithTransaction([&](pqxx::work& txn) -> absl::StatusOr<int> {
      std::vector<pgschedules::DueSchedule> due = pgschedules::ClaimDue(txn, now, options_.batch);
      for (pgschedules::DueSchedule& d : due) {
        const jobqueue::StoredSchedule& s = d.schedule;
        if (!handled.insert(s.id).second) continue;
        ++fresh;
        pgschedules::PassResult pass;
        absl::StatusOr<jobqueue::Schedule> timing = s.Timing();
        if (!timing.ok()) {
          // A row SQL wrote badly: disable it rather than retry it every pass.
          pass.next_run_at = absl::InfiniteFuture();
          pass.error = std::string(timing.status().message());
          pgschedules::RecordPass(txn, s.id, pass);
          continue;
        }
        if (!s.next_run_at.has_value()) {
          // New from SQL: start at the next tick instead of firing now.
          pass.next_run_at = timing->NextTick(now);
          pgschedules::RecordPass(txn, s.id, pass);
          continue;
        }
        jobqueue::TickPlan plan = jobqueue::PlanDueTicks(*timing, *s.next_run_at, now,
                                                         s.spec.catch_up,
                                                         options_.max_catch_up_ticks);
        std::optional<jobqueue::JobState> last_state = d.last_job_state;
        for (absl::Time tick : plan.ticks) {
          pass.last_tick_at = tick;
          if (s.spec.overlap == OverlapPolicy::kSkip && last_state.has_value() &&
              !jobqueue::IsTerminal(*last_state)) {
            ++pass.skipped;
            pass.last_skipped_at = tick;
            events.push_back({s.id, s.spec.kind, TickEvent::kSkipped});
            continue;
          }
          // A tick's job names no dependencies, the only cause of an error.
          QUARRY_ASSIGN_OR_RETURN(jobqueue::pgjobs::EnqueueResult job,
                                  jobqueue::pgjobs::Enqueue(txn, jobqueue::TickJobSpec(s, tick)));
          pass.last_job_id = job.job.id;
          last_state = job.job.state;
          if (job.created) events.push_back({s.id, s.spec.kind, TickEvent::kFired});
        }
        pass.next_run_at = plan.next_run_at;
        if (pass.next_run_at == absl::InfiniteFuture()) pass.error = "never fires again";
        pgschedules::RecordPass(txn, s.id, pass);
      }
      return static_cast<int>(due.size());
    });
    if (!claimed.ok()) return claimed.status();
    for (const TickEvent& e : events) {
      (e.outcome == TickEvent::kFired ? total.fired : total.skipped)++;
      if (options_.on_tick) options_.on_tick(e);
    }
    if (*claimed < options_.batch || fresh == 0) return total;
  }
}

void Scheduler::Start() {
  thread_ = std::thread([this] {
    do {
      (void)RunOnce();  // a failed pass is retried at the next poll
    } while (!stop_.WaitForNotificationWithTimeout(options_.poll));
  });
}

void Scheduler::Stop() {
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (thread_.joinable()) thread_.join();
}

}  // namespace quarry::worker
