-- Message: add nullable preferred_language
-- Revises: 20241203_1000_a7b8c9
-- Created: 2024-12-04 09:00:00Z
-- Lock-Timeout: 5s
--
-- Zero-downtime new field, step 1 of 3: add the column as nullable with no
-- default, a catalog-only change; the running release ignores it.

-- migrate:up
ALTER TABLE users ADD COLUMN preferred_language text;

-- migrate:down
ALTER TABLE users DROP COLUMN preferred_language;
