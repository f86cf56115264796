PRAGMA foreign_keys = OFF;
BEGIN;
DROP TABLE review_flags;
DROP TABLE document_numbers;
DROP TABLE listing_documents;
DROP TABLE listing_consents;
DROP INDEX listings_access_code_key;
DROP INDEX listings_notice_no_key;
ALTER TABLE listings DROP COLUMN publication_due_by;
ALTER TABLE listings DROP COLUMN published_on;
ALTER TABLE listings DROP COLUMN measures;
ALTER TABLE listings DROP COLUMN decision_no;
ALTER TABLE listings DROP COLUMN access_code_hash;
ALTER TABLE listings DROP COLUMN notice_no;
ALTER TABLE listings DROP COLUMN no_intent_proven;
ALTER TABLE listings DROP COLUMN considerations;
ALTER TABLE listings DROP COLUMN hearing_status;
CREATE TABLE violations_v1 (
    id                TEXT PRIMARY KEY,
    subject_id        TEXT NOT NULL REFERENCES subjects (id),
    category          TEXT NOT NULL,
    severity          TEXT NOT NULL,
    decided_on        DATE NOT NULL,
    description       TEXT NOT NULL,
    decision_no       TEXT,
    fine_cents        INTEGER,
    legal_basis       TEXT,
    status            TEXT NOT NULL CHECK (status IN ('effective', 'revoked')),
    recorded_by       TEXT NOT NULL REFERENCES users (id),
    authority_id      TEXT NOT NULL REFERENCES organizations (id),
    recorded_at       TIMESTAMP NOT NULL,
    revoked_on        DATE,
    revoked_at        TIMESTAMP,
    revoked_by        TEXT REFERENCES users (id),
    revocation_reason TEXT
);
-- Pending penalties have no place in v1: they are dropped with their evidence.
DELETE FROM violation_evidence WHERE violation_id IN (SELECT id FROM violations WHERE status = 'pending');
DELETE FROM listing_violations WHERE violation_id IN (SELECT id FROM violations WHERE status = 'pending');
INSERT INTO violations_v1 SELECT id, subject_id, category, severity, decided_on, description,
    decision_no, fine_cents, legal_basis, status, recorded_by, authority_id, recorded_at,
    revoked_on, revoked_at, revoked_by, revocation_reason
FROM violations WHERE status <> 'pending';
DROP TABLE violations;
ALTER TABLE violations_v1 RENAME TO violations;
CREATE INDEX violations_subject_idx ON violations (subject_id, decided_on, id);
ALTER TABLE users DROP COLUMN can_approve;
-- SQLite cannot drop a column that holds a foreign key: organizations keep
-- level and parent_id, which v1 does not read.
COMMIT;
PRAGMA foreign_keys = ON;
