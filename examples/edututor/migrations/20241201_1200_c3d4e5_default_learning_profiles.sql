-- Message: default learning profiles
-- Revises: 20241201_1100_b2c3d4
-- Created: 2024-12-01 12:00:00Z
--
-- Data migration: every user without a learning profile gets a default one,
-- marked is_default so the down section removes exactly these rows and never
-- a profile a user created.

-- migrate:up
INSERT INTO learning_profiles (user_id, pace, preferred_modality, is_default)
SELECT u.id, 'standard', 'text', true
FROM users AS u
WHERE NOT EXISTS (
    SELECT 1 FROM learning_profiles AS p WHERE p.user_id = u.id
);

-- migrate:down
DELETE FROM learning_profiles WHERE is_default;
