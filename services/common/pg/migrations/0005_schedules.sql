-- Periodic jobs. Every worker replica runs a scheduler that claims due rows
-- with FOR UPDATE SKIP LOCKED, enqueues the tick's job with the idempotency key
-- "schedule:<id>:<tick unix seconds>" (so even a race makes one job per tick)
-- and moves next_run_at on. The statements are in
-- services/common/jobqueue/pg_schedule_store.cc.
CREATE TABLE job_schedules (
  id               bigserial PRIMARY KEY,
  -- NULL for system schedules; their jobs are system jobs.
  tenant_id        bigint REFERENCES tenants (id) ON DELETE CASCADE,
  name             text NOT NULL CHECK (name <> ''),
  kind             text NOT NULL CHECK (kind <> ''),
  payload          jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(payload) = 'object'),
  -- Exactly one of the two, both in UTC: a 5-field cron expression (checked
  -- by the C++ parser, which SQL cannot run) or ticks at the multiples of
  -- interval_seconds since the Unix epoch.
  cron             text CHECK (cron <> ''),
  interval_seconds bigint CHECK (interval_seconds >= 1),
  -- 'skip': a tick whose previous job has not finished is skipped;
  -- 'queue': it enqueues another job anyway.
  overlap          text NOT NULL DEFAULT 'skip' CHECK (overlap IN ('skip', 'queue')),
  -- After downtime, false fires once for the missed period; true fires every
  -- missed tick (a bounded number per scheduler pass).
  catch_up         boolean NOT NULL DEFAULT false,
  priority         integer NOT NULL DEFAULT 0,
  max_attempts     integer NOT NULL DEFAULT 5 CHECK (max_attempts >= 1),
  enabled          boolean NOT NULL DEFAULT true,
  -- The oldest tick not yet fired or skipped. NULL: not computed yet (a row
  -- written by SQL, like the seed below); the scheduler sets it to the first
  -- tick after its clock without firing.
  next_run_at      timestamptz,
  last_tick_at     timestamptz,
  last_job_id      bigint REFERENCES jobs (id) ON DELETE SET NULL,
  skipped_ticks    bigint NOT NULL DEFAULT 0 CHECK (skipped_ticks >= 0),
  last_skipped_at  timestamptz,
  -- Why the scheduler could not use the row (e.g. a cron text it rejects).
  last_error       text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  CHECK ((cron IS NULL) <> (interval_seconds IS NULL))
);

-- Names are unique per tenant, system schedules (NULL tenant) included.
CREATE UNIQUE INDEX job_schedules_name_idx
  ON job_schedules (tenant_id, name) NULLS NOT DISTINCT;
-- The scheduler's claim: enabled rows due first.
CREATE INDEX job_schedules_due_idx
  ON job_schedules (next_run_at NULLS FIRST, id) WHERE enabled;

-- job_success_rates used to be refreshed only when someone submitted a
-- refresh_stats job; now it is kept fresh every five minutes.
INSERT INTO job_schedules (name, kind, payload, interval_seconds, overlap)
VALUES ('refresh_stats', 'refresh_stats', '{}', 300, 'skip');
