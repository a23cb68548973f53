-- One token bucket per API key, shared by every gateway: each gateway takes
-- small slices of tokens from it (services/gateway/shared_rate_limiter.cc
-- holds the statements), so a key's limit holds for the whole deployment
-- rather than per gateway process.
--
-- UNLOGGED: a bucket is seconds of state that is cheap to lose. No WAL means a
-- lease commits without a disk flush; after a crash the table is empty and
-- each key starts again with a full bucket (one extra burst at most).
CREATE UNLOGGED TABLE rate_limit_buckets (
  key_id      text PRIMARY KEY REFERENCES api_keys (id) ON DELETE CASCADE,
  -- Tokens left at refilled_at; the refill up to the burst is computed at
  -- the next lease from the time elapsed since.
  tokens      double precision NOT NULL CHECK (tokens >= 0),
  refilled_at timestamptz NOT NULL,
  -- What the latest lease took, so that the one statement both takes and
  -- reports it.
  granted     integer NOT NULL DEFAULT 0 CHECK (granted >= 0)
);
