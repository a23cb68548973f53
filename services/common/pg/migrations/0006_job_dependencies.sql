-- A job may wait for other jobs of its tenant: it is 'waiting' (never
-- claimed) until every one of them has succeeded, then 'queued'; when one of
-- them ends dead or cancelled, it ends dead too, naming that job, and so on
-- down the graph. The trigger below does both for every path that finishes a
-- job (a worker's complete or fail, a lease running out of attempts, a
-- cancel), so no statement in C++ has to remember it.
ALTER TABLE jobs DROP CONSTRAINT jobs_state_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_state_check
  CHECK (state IN ('waiting', 'queued', 'running', 'succeeded', 'dead', 'cancelled'));

-- How many of the job's dependencies have not succeeded yet. Each success
-- takes one off under the waiting job's row lock, so two dependencies
-- finishing at once cannot both miss the last one.
ALTER TABLE jobs ADD COLUMN waiting_for integer NOT NULL DEFAULT 0 CHECK (waiting_for >= 0);

CREATE TABLE job_dependencies (
  job_id     bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  depends_on bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  PRIMARY KEY (job_id, depends_on),
  CHECK (job_id <> depends_on)
);
-- A finished job's waiting dependents.
CREATE INDEX job_dependencies_depends_on_idx ON job_dependencies (depends_on);

CREATE FUNCTION jobs_release_dependents() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.state = 'succeeded' THEN
    UPDATE jobs j SET waiting_for = j.waiting_for - 1,
      state = CASE WHEN j.waiting_for = 1 THEN 'queued' ELSE 'waiting' END,
      run_at = CASE WHEN j.waiting_for = 1 THEN greatest(j.run_at, now()) ELSE j.run_at END
    FROM job_dependencies d
    WHERE d.depends_on = NEW.id AND j.id = d.job_id AND j.state = 'waiting';
  ELSE
    UPDATE jobs j SET state = 'dead', waiting_for = 0, finished_at = now(),
      last_error = format('dependency %s ended %s', NEW.id, upper(NEW.state))
    FROM job_dependencies d
    WHERE d.depends_on = NEW.id AND j.id = d.job_id AND j.state = 'waiting';
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER jobs_release_dependents
  AFTER UPDATE OF state ON jobs
  FOR EACH ROW
  WHEN (OLD.state IS DISTINCT FROM NEW.state
        AND NEW.state IN ('succeeded', 'dead', 'cancelled'))
  EXECUTE FUNCTION jobs_release_dependents();
