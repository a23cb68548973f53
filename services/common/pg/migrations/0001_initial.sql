-- Quarry schema, version 1. PostgreSQL 15 is the only durable store: every other
-- process can be restarted from what is here. Applied by quarry::pg::Migrate in one
-- transaction (with its schema_migrations row), so it applies entirely or not at all.

-- ---------------------------------------------------------------------------
-- Tenants and API keys
-- ---------------------------------------------------------------------------

CREATE TABLE tenants (
  id         bigserial PRIMARY KEY,
  name       text NOT NULL UNIQUE CHECK (name <> ''),
  created_at timestamptz NOT NULL DEFAULT now()
);

-- An API key is "<id>.<secret>" on the wire. Only a SHA-256 of the secret is stored,
-- so a leaked database (or backup) does not leak usable keys; the gateway looks a key
-- up by its public id and compares hashes.
CREATE TABLE api_keys (
  id                    text PRIMARY KEY CHECK (id <> ''),
  tenant_id             bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  name                  text NOT NULL DEFAULT '',
  key_hash              bytea NOT NULL UNIQUE CHECK (length(key_hash) = 32),
  -- Every element must be a known scope; NULL elements fail the containment test.
  scopes                text[] NOT NULL
                          CHECK (scopes <@ ARRAY['read', 'write', 'admin']::text[]),
  -- NULL means "the gateway's default quota".
  rate_limit_per_second double precision CHECK (rate_limit_per_second > 0),
  burst                 integer CHECK (burst >= 1),
  created_at            timestamptz NOT NULL DEFAULT now(),
  -- Revocation keeps the row so that audits can still name the key.
  revoked_at            timestamptz
);
CREATE INDEX api_keys_tenant_idx ON api_keys (tenant_id);

-- ---------------------------------------------------------------------------
-- Collections
-- ---------------------------------------------------------------------------

CREATE TABLE collections (
  id         bigserial PRIMARY KEY,
  tenant_id  bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  name       text NOT NULL CHECK (name <> ''),
  dimension  integer NOT NULL CHECK (dimension BETWEEN 1 AND 4096),
  metric     text NOT NULL CHECK (metric IN ('cosine', 'dot', 'l2')),
  model      text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  -- Soft delete: a purge job removes the documents later, and the name can be
  -- reused at once (the unique index below ignores deleted collections).
  deleted_at timestamptz
);
CREATE UNIQUE INDEX collections_live_name_idx
  ON collections (tenant_id, name) WHERE deleted_at IS NULL;

-- ---------------------------------------------------------------------------
-- Documents
-- ---------------------------------------------------------------------------

-- Metadata is a flat string -> string map (the filter language compares strings).
-- A SQL function because CHECK constraints cannot hold subqueries.
CREATE FUNCTION quarry_is_string_map(m jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT jsonb_typeof(m) = 'object'
     AND NOT EXISTS (SELECT 1 FROM jsonb_each(m) AS e WHERE jsonb_typeof(e.value) <> 'string')
$$;

-- The global write order of documents. Vector-search replicas tail by it.
CREATE SEQUENCE document_seq AS bigint;

CREATE TABLE documents (
  collection_id   bigint NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
  doc_id          text NOT NULL CHECK (doc_id <> ''),
  text            text NOT NULL DEFAULT '',
  metadata        jsonb NOT NULL DEFAULT '{}' CHECK (quarry_is_string_map(metadata)),
  tags            text[] NOT NULL DEFAULT '{}',
  -- SHA-256 of text: handlers key their idempotency on it, and the embedding cache too.
  content_hash    bytea NOT NULL CHECK (length(content_hash) = 32),
  -- float32 little-endian, dimension * 4 bytes (checked by the trigger below against
  -- the collection). NULL until a worker has embedded the text.
  embedding       bytea,
  embedding_model text,
  -- The content_hash the current embedding was computed from. A document lacks a
  -- current vector exactly when embedded_hash IS DISTINCT FROM content_hash, so a
  -- re-upsert of changed text invalidates the vector without touching it, and a late
  -- worker writing a vector for old text is detectable (it writes the old hash).
  embedded_hash   bytea,
  -- Set by documents_before_write(); never written by clients.
  seq             bigint NOT NULL,
  -- Deletes are tombstones so that replicas tailing by seq see them; a purge job
  -- removes tombstones every replica has passed.
  deleted         boolean NOT NULL DEFAULT false,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  deleted_at      timestamptz,
  -- Which shard owns the document: shard = shard_hash % shard_count. The first four
  -- bytes of md5(collection_id || ':' || doc_id) as a big-endian integer with the sign
  -- bit cleared. Computed here so SQL can select "the documents of shard k" and
  -- computed identically in C++ (services/common/pg/shard_hash.h) so the gateway
  -- routes to the same shard; a test keeps the two in agreement.
  shard_hash      integer GENERATED ALWAYS AS (
                    (('x' || substr(md5(collection_id::text || ':' || doc_id), 1, 8))::bit(32)::integer)
                    & 2147483647) STORED,
  PRIMARY KEY (collection_id, doc_id)
);

-- Tailing ("rows with seq > watermark", in seq order) is a range scan of this index.
-- A replica of shard k tails with "seq > $watermark AND shard_hash % $count = k": the
-- shard count is deployment configuration, so no index can hold the modulo; the scan
-- reads every shard's new rows after the watermark, which is bounded by the write rate
-- since the last poll, not by the table size.
CREATE UNIQUE INDEX documents_seq_idx ON documents (seq);
-- A shard's documents of one collection after seq N (a replica loading or re-tailing
-- one collection), and a collection's latest sequence number (stats): index scans.
CREATE INDEX documents_collection_seq_idx ON documents (collection_id, seq);
-- Workers look for documents without a current vector; this keeps that scan small.
CREATE INDEX documents_unembedded_idx ON documents (collection_id, seq)
  WHERE NOT deleted AND embedded_hash IS DISTINCT FROM content_hash;

-- Bumps seq on every insert, update and tombstone, after taking a transaction-scoped
-- advisory lock that is held until commit.
--
-- WHY the lock: replicas tail "documents with seq > watermark" and then advance their
-- watermark to the largest seq they saw. Sequences alone hand out numbers in call
-- order, not commit order: if transaction A took seq 10 and B took seq 11 and B
-- committed first, a replica could read 11, move its watermark to 11, and never see 10
-- when A commits later: a write lost from search forever. Taking the lock before
-- nextval() and holding it to commit means a second writer cannot obtain a seq until
-- the first has committed (or rolled back), so commit order equals seq order and
-- "everything <= watermark is visible" holds. The price is that document-writing
-- transactions are serialized: keep them short (write the documents last).
CREATE FUNCTION documents_before_write() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  dim integer;
BEGIN
  IF NEW.embedding IS NOT NULL THEN
    SELECT c.dimension INTO dim FROM collections c WHERE c.id = NEW.collection_id;
    IF dim IS NOT NULL AND length(NEW.embedding) <> dim * 4 THEN
      RAISE EXCEPTION 'embedding of document % has % bytes, collection % needs % (dimension % x 4)',
        NEW.doc_id, length(NEW.embedding), NEW.collection_id, dim * 4, dim
        USING ERRCODE = 'check_violation';
    END IF;
  END IF;
  IF TG_OP = 'UPDATE' THEN
    NEW.updated_at := now();
    IF NEW.deleted AND NOT OLD.deleted THEN
      NEW.deleted_at := now();
    ELSIF NOT NEW.deleted THEN
      NEW.deleted_at := NULL;
    END IF;
  ELSIF NEW.deleted THEN
    NEW.deleted_at := now();
  END IF;
  -- Key shared with nothing else; the constant is also in document_order.h.
  PERFORM pg_advisory_xact_lock(7291748335610001);
  NEW.seq := nextval('document_seq');
  RETURN NEW;
END
$$;

CREATE TRIGGER documents_before_write
  BEFORE INSERT OR UPDATE ON documents
  FOR EACH ROW EXECUTE FUNCTION documents_before_write();

-- One NOTIFY per statement (not per row) wakes tailing replicas; the payload is the
-- highest seq written so a waiter can tell whether it is the write it waits for.
-- Delivered at commit, so a woken replica always finds the rows.
CREATE FUNCTION documents_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  top bigint;
BEGIN
  SELECT max(seq) INTO top FROM changed;
  IF top IS NOT NULL THEN
    PERFORM pg_notify('documents_changed', top::text);
  END IF;
  RETURN NULL;
END
$$;

-- Transition tables allow one event per trigger, hence two triggers.
CREATE TRIGGER documents_notify_insert
  AFTER INSERT ON documents REFERENCING NEW TABLE AS changed
  FOR EACH STATEMENT EXECUTE FUNCTION documents_notify();
CREATE TRIGGER documents_notify_update
  AFTER UPDATE ON documents REFERENCING NEW TABLE AS changed
  FOR EACH STATEMENT EXECUTE FUNCTION documents_notify();

-- ---------------------------------------------------------------------------
-- Jobs: the durable queue. Workers claim with
--   SELECT ... FROM jobs WHERE state = 'queued' AND run_at <= now()
--   ORDER BY priority DESC, run_at, id LIMIT n FOR UPDATE SKIP LOCKED
-- and hold a lease (lease_owner, lease_expires_at) that they extend while running;
-- a sweeper requeues running jobs whose lease expired (the worker died).
-- ---------------------------------------------------------------------------

CREATE TABLE jobs (
  id               bigserial PRIMARY KEY,
  -- NULL for system jobs (stats refresh, purges) that belong to no tenant.
  tenant_id        bigint REFERENCES tenants (id) ON DELETE CASCADE,
  kind             text NOT NULL CHECK (kind <> ''),
  payload          jsonb NOT NULL DEFAULT '{}',
  state            text NOT NULL DEFAULT 'queued'
                     CHECK (state IN ('queued', 'running', 'succeeded', 'dead', 'cancelled')),
  -- Higher runs first.
  priority         integer NOT NULL DEFAULT 0,
  -- Not before this time: retries back off by moving run_at forward.
  run_at           timestamptz NOT NULL DEFAULT now(),
  attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  max_attempts     integer NOT NULL DEFAULT 5 CHECK (max_attempts >= 1),
  lease_owner      text,
  lease_expires_at timestamptz,
  -- A client retrying a submission passes the same key and gets the same job.
  idempotency_key  text,
  progress         double precision NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 1),
  progress_message text,
  result           jsonb,
  last_error       text,
  -- Cooperative cancellation: the running handler polls (or is notified) and stops.
  cancel_requested boolean NOT NULL DEFAULT false,
  created_at       timestamptz NOT NULL DEFAULT now(),
  started_at       timestamptz,
  finished_at      timestamptz,
  updated_at       timestamptz NOT NULL DEFAULT now()
);

-- One job per (tenant, idempotency key). NULLS NOT DISTINCT (PostgreSQL 15) makes
-- system jobs (NULL tenant) deduplicate too; a plain unique index would let any
-- number of NULL-tenant rows share a key.
CREATE UNIQUE INDEX jobs_idempotency_idx
  ON jobs (tenant_id, idempotency_key) NULLS NOT DISTINCT
  WHERE idempotency_key IS NOT NULL;
-- The claim query above is a scan of this small partial index in claim order
-- (finished jobs, the bulk of the table, are not in it).
CREATE INDEX jobs_claim_idx ON jobs (priority DESC, run_at, id) WHERE state = 'queued';
-- The lease sweeper: running jobs ordered by lease expiry.
CREATE INDEX jobs_lease_idx ON jobs (lease_expires_at) WHERE state = 'running';
-- Listing a tenant's jobs, newest first.
CREATE INDEX jobs_tenant_created_idx ON jobs (tenant_id, created_at DESC);

CREATE FUNCTION jobs_before_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END
$$;

CREATE TRIGGER jobs_before_update
  BEFORE UPDATE ON jobs
  FOR EACH ROW EXECUTE FUNCTION jobs_before_update();

-- Workers LISTEN on 'jobs_new' instead of polling hard (payload: the job kind);
-- job watchers (the gateway's WaitJob/stream) LISTEN on 'job_changed' (payload: the
-- job id). Both are delivered at commit. cancel_requested also counts as a change so a
-- running handler learns about cancellation promptly.
CREATE FUNCTION jobs_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.state = 'queued' AND (TG_OP = 'INSERT' OR OLD.state <> 'queued') THEN
    PERFORM pg_notify('jobs_new', NEW.kind);
  END IF;
  IF TG_OP = 'INSERT'
     OR NEW.state IS DISTINCT FROM OLD.state
     OR NEW.progress IS DISTINCT FROM OLD.progress
     OR NEW.cancel_requested IS DISTINCT FROM OLD.cancel_requested THEN
    PERFORM pg_notify('job_changed', NEW.id::text);
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER jobs_notify
  AFTER INSERT OR UPDATE ON jobs
  FOR EACH ROW EXECUTE FUNCTION jobs_notify();

-- ---------------------------------------------------------------------------
-- Embedding cache: the embedding service's second level (behind its in-memory LRU),
-- shared by all replicas and surviving restarts. Keyed by model because a vector is
-- only meaningful for the model that produced it.
-- ---------------------------------------------------------------------------

CREATE TABLE embedding_cache (
  model        text NOT NULL,
  content_hash bytea NOT NULL CHECK (length(content_hash) = 32),
  embedding    bytea NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (model, content_hash)
);

-- ---------------------------------------------------------------------------
-- Job statistics, refreshed periodically by a system job (REFRESH MATERIALIZED VIEW
-- CONCURRENTLY, so readers are never blocked) instead of aggregating the whole jobs
-- table on every stats call.
-- ---------------------------------------------------------------------------

CREATE MATERIALIZED VIEW job_success_rates AS
SELECT
  tenant_id,
  -- REFRESH ... CONCURRENTLY needs a unique index on plain columns covering every row,
  -- and matches old and new rows with "=", under which NULL never matches. System jobs
  -- have a NULL tenant, so the key uses 0 for them (bigserial ids start at 1).
  coalesce(tenant_id, 0) AS tenant_key,
  kind,
  count(*) FILTER (WHERE state = 'queued')    AS queued,
  count(*) FILTER (WHERE state = 'running')   AS running,
  count(*) FILTER (WHERE state = 'succeeded') AS succeeded,
  count(*) FILTER (WHERE state = 'dead')      AS dead,
  count(*) FILTER (WHERE state = 'cancelled') AS cancelled,
  -- Cancelled jobs say nothing about whether the handler works, so they are left out.
  coalesce(count(*) FILTER (WHERE state = 'succeeded')::double precision
             / nullif(count(*) FILTER (WHERE state IN ('succeeded', 'dead')), 0),
           0) AS success_rate,
  coalesce(avg(attempts) FILTER (WHERE state IN ('succeeded', 'dead', 'cancelled')),
           0)::double precision AS mean_attempts,
  now() AS refreshed_at
FROM jobs
GROUP BY tenant_id, kind;

CREATE UNIQUE INDEX job_success_rates_key_idx ON job_success_rates (tenant_key, kind);
