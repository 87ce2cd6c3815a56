-- Message: initial schema
-- Revises: base
-- Created: 2024-12-01 10:00:00Z
--
-- Users of the tutoring app (students, guardians, tutors) and each user's
-- learning profile. gen_random_uuid() is built into PostgreSQL 13+.

-- migrate:up
CREATE TABLE users (
    id           uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    email        text        NOT NULL,
    display_name text        NOT NULL,
    role         text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_email_key UNIQUE (email),
    CONSTRAINT users_role_check CHECK (role IN ('student', 'guardian', 'tutor'))
);

CREATE TABLE learning_profiles (
    id                 uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id            uuid        NOT NULL,
    pace               text        NOT NULL DEFAULT 'standard',
    preferred_modality text        NOT NULL DEFAULT 'text',
    is_default         boolean     NOT NULL DEFAULT false,
    created_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT learning_profiles_user_id_key UNIQUE (user_id),
    CONSTRAINT learning_profiles_user_id_fkey FOREIGN KEY (user_id)
        REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT learning_profiles_pace_check
        CHECK (pace IN ('relaxed', 'standard', 'accelerated')),
    CONSTRAINT learning_profiles_preferred_modality_check
        CHECK (preferred_modality IN ('text', 'audio', 'video', 'interactive'))
);

-- migrate:down
DROP TABLE learning_profiles;
DROP TABLE users;
