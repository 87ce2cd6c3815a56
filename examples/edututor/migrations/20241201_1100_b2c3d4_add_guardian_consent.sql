-- Message: add guardian consent
-- Revises: 20241201_1000_a1b2c3
-- Created: 2024-12-01 11:00:00Z
--
-- A guardian's consent for a student, per scope (e.g. 'data_processing',
-- 'messaging'). Revoking keeps the row and sets revoked_at, for the audit trail.

-- migrate:up
CREATE TABLE guardian_consents (
    id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    student_id    uuid        NOT NULL,
    guardian_id   uuid        NOT NULL,
    consent_scope text        NOT NULL,
    granted_at    timestamptz NOT NULL DEFAULT now(),
    revoked_at    timestamptz,
    CONSTRAINT guardian_consents_student_id_fkey FOREIGN KEY (student_id)
        REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT guardian_consents_guardian_id_fkey FOREIGN KEY (guardian_id)
        REFERENCES users (id),
    CONSTRAINT guardian_consents_student_guardian_scope_key
        UNIQUE (student_id, guardian_id, consent_scope),
    CONSTRAINT guardian_consents_revoked_after_granted
        CHECK (revoked_at IS NULL OR revoked_at >= granted_at)
);

-- The unique constraint indexes (student_id, ...); guardians look up their
-- consents by guardian_id, and the FK needs an index for cascades from users.
CREATE INDEX guardian_consents_guardian_id_idx ON guardian_consents (guardian_id);

-- migrate:down
DROP TABLE guardian_consents;
