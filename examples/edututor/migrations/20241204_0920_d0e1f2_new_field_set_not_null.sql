-- Message: set preferred_language not null
-- Revises: 20241204_0910_c9d0e1
-- Created: 2024-12-04 09:20:00Z
-- Transaction: none
-- Lock-Timeout: 5s
--
-- Zero-downtime new field, step 3 of 3, once every release writes the column:
-- default for new rows, then NOT NULL without a long ACCESS EXCLUSIVE scan.
-- A plain SET NOT NULL scans the whole table under that lock; a CHECK added
-- NOT VALID (instant) and validated in its own transaction (a scan that lets
-- reads and writes go on) proves the column has no NULL, so SET NOT NULL
-- skips the scan. The CHECK stays (dropping it is a contract step of its own).
-- `Transaction: none` puts each statement in its own transaction, as the
-- validation must be. The lock timeout makes the brief ACCESS EXCLUSIVE steps
-- fail fast instead of queueing queries behind them.

-- migrate:up
-- dbmigrate:allow prefer-robust-stmts setting the same default again is a no-op on a re-run
ALTER TABLE users ALTER COLUMN preferred_language SET DEFAULT 'en';
-- dbmigrate:allow prefer-robust-stmts a re-run after a failure stops here with a dirty record, which names the constraint to drop
ALTER TABLE users ADD CONSTRAINT users_preferred_language_not_null
    CHECK (preferred_language IS NOT NULL) NOT VALID;
-- dbmigrate:allow prefer-robust-stmts validating a valid constraint again is a no-op on a re-run
ALTER TABLE users VALIDATE CONSTRAINT users_preferred_language_not_null;
-- dbmigrate:allow prefer-robust-stmts SET NOT NULL on a NOT NULL column is a no-op on a re-run
ALTER TABLE users ALTER COLUMN preferred_language SET NOT NULL;

-- migrate:down
ALTER TABLE users ALTER COLUMN preferred_language DROP NOT NULL;
ALTER TABLE users DROP CONSTRAINT IF EXISTS users_preferred_language_not_null;
ALTER TABLE users ALTER COLUMN preferred_language DROP DEFAULT;
