-- The listing procedure as the law in force requires (SAMR Order 44; docs/procedure.md):
-- bureaus in a hierarchy, the head's approval, the penalty with its kinds and
-- ground, pending penalties, hearings, parent consent, notice and decision
-- numbers and documents, publication dates, review flags for band D.
PRAGMA foreign_keys = OFF;
BEGIN;

ALTER TABLE organizations ADD COLUMN level TEXT CHECK (level IN ('national', 'provincial', 'city', 'county'));
ALTER TABLE organizations ADD COLUMN parent_id TEXT REFERENCES organizations (id);
CREATE INDEX organizations_parent_idx ON organizations (parent_id);

ALTER TABLE users ADD COLUMN can_approve BOOLEAN NOT NULL DEFAULT FALSE;

-- Violations: decided_on becomes optional (a pending penalty has none yet),
-- status gains 'pending'; records made before keep their decision and become
-- effective penalties with no kinds recorded.
CREATE TABLE violations_v2 (
    id                TEXT PRIMARY KEY,
    subject_id        TEXT NOT NULL REFERENCES subjects (id),
    category          TEXT NOT NULL,
    severity          TEXT NOT NULL,
    decided_on        DATE,
    description       TEXT NOT NULL,
    decision_no       TEXT,
    fine_cents        INTEGER,
    legal_basis       TEXT,
    status            TEXT NOT NULL CHECK (status IN ('pending', 'effective', 'revoked')),
    recorded_by       TEXT NOT NULL REFERENCES users (id),
    authority_id      TEXT NOT NULL REFERENCES organizations (id),
    recorded_at       TIMESTAMP NOT NULL,
    revoked_on        DATE,
    revoked_at        TIMESTAMP,
    revoked_by        TEXT REFERENCES users (id),
    revocation_reason TEXT,
    penalty_kinds     TEXT NOT NULL DEFAULT '[]',
    heavier_penalty   BOOLEAN NOT NULL DEFAULT FALSE,
    ban_until         DATE,
    listing_ground    TEXT,
    decided_at        TIMESTAMP,
    decided_by        TEXT REFERENCES users (id),
    CHECK ((status = 'pending') = (decided_on IS NULL))
);
INSERT INTO violations_v2 (id, subject_id, category, severity, decided_on, description,
    decision_no, fine_cents, legal_basis, status, recorded_by, authority_id, recorded_at,
    revoked_on, revoked_at, revoked_by, revocation_reason)
SELECT id, subject_id, category, severity, decided_on, description,
    decision_no, fine_cents, legal_basis, status, recorded_by, authority_id, recorded_at,
    revoked_on, revoked_at, revoked_by, revocation_reason
FROM violations;
DROP TABLE violations;
ALTER TABLE violations_v2 RENAME TO violations;
CREATE INDEX violations_subject_idx ON violations (subject_id, decided_on, id);

ALTER TABLE listings ADD COLUMN hearing_status TEXT CHECK (hearing_status IN ('requested', 'held', 'withdrawn'));
ALTER TABLE listings ADD COLUMN considerations TEXT NOT NULL DEFAULT '{}';
ALTER TABLE listings ADD COLUMN no_intent_proven BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE listings ADD COLUMN notice_no TEXT;
ALTER TABLE listings ADD COLUMN access_code_hash TEXT;
ALTER TABLE listings ADD COLUMN decision_no TEXT;
ALTER TABLE listings ADD COLUMN measures TEXT NOT NULL DEFAULT '[]';
ALTER TABLE listings ADD COLUMN published_on DATE;
ALTER TABLE listings ADD COLUMN publication_due_by DATE;
CREATE UNIQUE INDEX listings_notice_no_key ON listings (notice_no);
CREATE UNIQUE INDEX listings_access_code_key ON listings (access_code_hash);
-- Listings in force before v2 were published at their decision.
UPDATE listings SET published_on = listed_on WHERE listed_on IS NOT NULL;

-- The parent bureau's answers (Order 44 art. 22); the latest counts.
CREATE TABLE listing_consents (
    id              TEXT PRIMARY KEY,
    listing_id      TEXT NOT NULL REFERENCES listings (id),
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    outcome         TEXT NOT NULL CHECK (outcome IN ('agree', 'disagree')),
    reason          TEXT NOT NULL,
    given_by        TEXT NOT NULL REFERENCES users (id),
    given_on        DATE NOT NULL,
    given_at        TIMESTAMP NOT NULL
);
CREATE INDEX listing_consents_listing_idx ON listing_consents (listing_id, id);

-- The documents of the procedure as served: the notice and the decision,
-- their content frozen at the time (JSON), rendered on request.
CREATE TABLE listing_documents (
    listing_id TEXT NOT NULL REFERENCES listings (id),
    kind       TEXT NOT NULL CHECK (kind IN ('notice', 'decision')),
    number     TEXT NOT NULL,
    content    TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (listing_id, kind)
);

-- Document numbers, counted per authority, kind and year.
CREATE TABLE document_numbers (
    authority_id TEXT NOT NULL REFERENCES organizations (id),
    kind         TEXT NOT NULL,
    year         INTEGER NOT NULL,
    last         INTEGER NOT NULL,
    PRIMARY KEY (authority_id, kind, year)
);

-- A subject whose score fell to band D is flagged for a regulator's review:
-- a score is not a legal ground for listing.
CREATE TABLE review_flags (
    id          TEXT PRIMARY KEY,
    subject_id  TEXT NOT NULL REFERENCES subjects (id),
    raised_on   DATE NOT NULL,
    score       REAL NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('open', 'cleared', 'converted')),
    reason      TEXT NOT NULL,
    resolved_by TEXT REFERENCES users (id),
    resolved_at TIMESTAMP,
    resolution  TEXT,
    listing_id  TEXT REFERENCES listings (id),
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX review_flags_status_idx ON review_flags (status, id);
CREATE INDEX review_flags_subject_idx ON review_flags (subject_id, id);

PRAGMA foreign_key_check;
COMMIT;
PRAGMA foreign_keys = ON;
