-- Job kinds are data: a tenant registers the kinds its own workers run, and
-- Quarry's four kinds are rows of the same table with no tenant (system
-- kinds), run by Quarry's worker through the same claim. A job names its kind
-- in jobs.kind; it is the submitting tenant's kind of that name, or the
-- system kind of that name (a tenant cannot register a system kind's name, so
-- the two never collide). services/common/jobqueue/pg_job_kind_store.cc holds
-- the statements, and job_kind.h the rules for each column.
CREATE TABLE job_kinds (
  id                   bigserial PRIMARY KEY,
  -- NULL: a system kind, visible to every tenant and run by Quarry's worker.
  tenant_id            bigint REFERENCES tenants (id) ON DELETE CASCADE,
  name                 text NOT NULL CHECK (name ~ '^[a-z][a-z0-9_.-]{0,63}$'),
  description          text NOT NULL DEFAULT '',
  -- Defaults for jobs submitted without their own.
  max_attempts         integer NOT NULL DEFAULT 5 CHECK (max_attempts BETWEEN 1 AND 100),
  priority             integer NOT NULL DEFAULT 0 CHECK (priority BETWEEN -1000 AND 1000),
  -- Retry backoff after a retryable failure: initial * multiplier^(attempt-1),
  -- capped at max, then reduced by up to `jitter` of itself at random.
  backoff_initial_ms   bigint NOT NULL DEFAULT 1000 CHECK (backoff_initial_ms >= 1),
  backoff_multiplier   double precision NOT NULL DEFAULT 2 CHECK (backoff_multiplier >= 1),
  backoff_max_ms       bigint NOT NULL DEFAULT 300000 CHECK (backoff_max_ms >= backoff_initial_ms),
  backoff_jitter       double precision NOT NULL DEFAULT 0.5
                         CHECK (backoff_jitter >= 0 AND backoff_jitter <= 1),
  -- The lease a worker holds per attempt and must renew by heartbeat.
  attempt_timeout_ms   bigint NOT NULL DEFAULT 60000 CHECK (attempt_timeout_ms >= 1000),
  -- Cluster-wide limits, 0 meaning none: running jobs of the kind at once;
  -- starts per minute; cost units started per minute (each job declares its
  -- cost at submit).
  max_concurrency      integer NOT NULL DEFAULT 0 CHECK (max_concurrency >= 0),
  starts_per_minute    integer NOT NULL DEFAULT 0 CHECK (starts_per_minute >= 0),
  cost_per_minute      bigint NOT NULL DEFAULT 0 CHECK (cost_per_minute >= 0),
  max_result_bytes     integer NOT NULL DEFAULT 65536 CHECK (max_result_bytes >= 2),
  -- How long finished jobs of the kind are kept.
  retention_seconds    bigint NOT NULL DEFAULT 604800 CHECK (retention_seconds >= 60),
  -- Set when a worker reports the provider behind the kind rate-limited it:
  -- no job of the kind starts before this.
  paused_until         timestamptz,
  created_at           timestamptz NOT NULL DEFAULT now(),
  updated_at           timestamptz NOT NULL DEFAULT now()
);
-- One kind per (tenant, name); NULLS NOT DISTINCT makes system names unique too.
CREATE UNIQUE INDEX job_kinds_name_idx ON job_kinds (tenant_id, name) NULLS NOT DISTINCT;

-- Starts of rate-limited kinds in the last minutes: the claim counts the
-- window under the kind's row lock and prunes what is older. Kept apart from
-- jobs because a retried job starts more than once.
CREATE TABLE job_kind_starts (
  kind_id    bigint NOT NULL REFERENCES job_kinds (id) ON DELETE CASCADE,
  started_at timestamptz NOT NULL,
  cost       bigint NOT NULL CHECK (cost >= 0)
);
CREATE INDEX job_kind_starts_idx ON job_kind_starts (kind_id, started_at);

-- What a job costs against its kind's per-minute budget (e.g. expected LLM
-- tokens); 1 unless declared at submit.
ALTER TABLE jobs ADD COLUMN cost bigint NOT NULL DEFAULT 1 CHECK (cost >= 0);

-- The claim of a kind's next jobs, and counting a kind's running jobs.
CREATE INDEX jobs_kind_claim_idx ON jobs (kind, priority DESC, run_at, id) WHERE state = 'queued';
CREATE INDEX jobs_kind_running_idx ON jobs (kind, tenant_id) WHERE state = 'running';

-- Quarry's own kinds. Their handlers (services/worker/handlers) expect these
-- names; model/job_kinds.h spells them for C++.
INSERT INTO job_kinds (tenant_id, name, description, attempt_timeout_ms) VALUES
  (NULL, 'index_documents', 'Embeds the documents of a write and makes them searchable.', 60000),
  (NULL, 'reindex_collection', 'Re-embeds every document of a collection.', 60000),
  (NULL, 'refresh_stats', 'Refreshes the per-kind job statistics.', 60000),
  (NULL, 'purge_deleted', 'Removes tombstoned documents and deleted collections.', 60000);
