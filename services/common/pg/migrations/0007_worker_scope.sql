-- The worker scope: a key for a tenant's own workers that may use the worker
-- API for the kinds it names and nothing else, so a worker's credentials
-- cannot read documents, submit jobs or run another team's kinds. Keys with
-- the write scope keep running every kind of their tenant.
ALTER TABLE api_keys DROP CONSTRAINT api_keys_scopes_check;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_scopes_check
  CHECK (scopes <@ ARRAY['read', 'write', 'admin', 'worker']::text[]);
-- The kinds a worker-scoped key may claim; empty for keys without it.
ALTER TABLE api_keys ADD COLUMN worker_kinds text[] NOT NULL DEFAULT '{}';
ALTER TABLE api_keys ADD CONSTRAINT api_keys_worker_kinds_check
  CHECK (('worker' = ANY (scopes)) = (cardinality(worker_kinds) > 0));
