-- Message: set preferred_language not null
-- Revises: 20241204_0910_c9d0e1
-- Created: 2024-12-04 09:20:00Z
-- Lock-Timeout: 5s
--
-- Zero-downtime new field, step 3 of 3, once every release writes the column:
-- default for new rows, then NOT NULL. SET NOT NULL scans the table under an
-- ACCESS EXCLUSIVE lock; the lock timeout makes it fail fast instead of
-- queueing every other query behind it.

-- migrate:up
ALTER TABLE users ALTER COLUMN preferred_language SET DEFAULT 'en';
ALTER TABLE users ALTER COLUMN preferred_language SET NOT NULL;

-- migrate:down
ALTER TABLE users ALTER COLUMN preferred_language DROP NOT NULL;
ALTER TABLE users ALTER COLUMN preferred_language DROP DEFAULT;
