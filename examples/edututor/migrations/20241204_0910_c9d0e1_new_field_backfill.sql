-- Message: backfill preferred_language
-- Revises: 20241204_0900_b8c9d0
-- Created: 2024-12-04 09:10:00Z
-- Transaction: none
--
-- Zero-downtime new field, step 2 of 3: backfill outside one big transaction.
-- With `Transaction: none` every statement commits on its own, so each batch
-- holds its row locks only briefly. A DO block with COMMIT is not allowed here
-- (no transaction control outside a procedure), so the batch is repeated; the
-- final unbatched UPDATE catches whatever the batches left, and is a no-op on
-- small tables. Re-running is safe: only NULLs are touched.

-- migrate:up
UPDATE users SET preferred_language = 'en'
WHERE id IN (SELECT id FROM users WHERE preferred_language IS NULL LIMIT 1000);

UPDATE users SET preferred_language = 'en'
WHERE id IN (SELECT id FROM users WHERE preferred_language IS NULL LIMIT 1000);

UPDATE users SET preferred_language = 'en'
WHERE id IN (SELECT id FROM users WHERE preferred_language IS NULL LIMIT 1000);

UPDATE users SET preferred_language = 'en' WHERE preferred_language IS NULL;

-- migrate:down
-- The backfilled values stay: the column is dropped by step 1's down section,
-- and clearing them here would lose values written since by the application.
SELECT 1;
