-- Message: {message}
-- Revises: {revises}
-- Created: {created}
--
-- Other headers you may add above the up marker, in the same form:
--   Transaction        single (the default) or none, for CREATE INDEX CONCURRENTLY
--                      and batched backfills; with none, each statement commits alone
--   Irreversible       true, then leave the down section empty; downgrading across
--                      this migration is refused
--   Lock-Timeout       e.g. 5s (ms, s, min); fail fast instead of queueing behind a lock
--   Statement-Timeout  e.g. 60s
--
-- Keep each migration small and compatible with the release that is running:
-- add a nullable column, backfill it in its own migration, tighten it last.
-- The down section undoes exactly what the up section did.

-- migrate:up


-- migrate:down

