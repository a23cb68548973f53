-- The embedding service's second-level cache also remembers what the model
-- reported for the text (tokens seen, whether it was truncated), so a hit
-- answers exactly like the forward pass did. NULL in rows written before.
ALTER TABLE embedding_cache
  ADD COLUMN token_count integer CHECK (token_count >= 0),
  ADD COLUMN truncated boolean;
