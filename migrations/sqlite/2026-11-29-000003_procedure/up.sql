-- Scores kept current per subject (recomputed with every violation change
-- and refreshed daily for decay), the scoring policies as data, and the
-- listing procedure with its history, objections and repair applications.
ALTER TABLE subjects ADD COLUMN score REAL NOT NULL DEFAULT 100;
ALTER TABLE subjects ADD COLUMN band TEXT NOT NULL DEFAULT 'A';
ALTER TABLE subjects ADD COLUMN score_as_of DATE;
ALTER TABLE subjects ADD COLUMN policy_version INTEGER NOT NULL DEFAULT 1;
CREATE INDEX subjects_score_refresh_idx ON subjects (score_as_of) WHERE score < 100;

CREATE TABLE scoring_policies (
    version    INTEGER PRIMARY KEY,
    document   TEXT NOT NULL,
    active     BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE listings (
    id                        TEXT PRIMARY KEY,
    subject_id                TEXT NOT NULL REFERENCES subjects (id),
    status                    TEXT NOT NULL CHECK (status IN ('proposed', 'noticed', 'listed', 'not_listed', 'expired', 'removed', 'revoked')),
    reason                    TEXT NOT NULL,
    legal_basis               TEXT NOT NULL,
    -- NULL: proposed by the system.
    proposed_by               TEXT REFERENCES users (id),
    authority_id              TEXT REFERENCES organizations (id),
    noticed_by                TEXT REFERENCES users (id),
    served_on                 DATE,
    objection_deadline        DATE,
    decided_by                TEXT REFERENCES users (id),
    decided_on                DATE,
    decision_reason           TEXT,
    listed_on                 DATE,
    expires_on                DATE,
    pending_repair_applied_on DATE,
    removed_on                DATE,
    removal_reason            TEXT,
    revoked_on                DATE,
    revocation_reason         TEXT,
    created_at                TIMESTAMP NOT NULL,
    updated_at                TIMESTAMP NOT NULL
);
CREATE INDEX listings_subject_idx ON listings (subject_id, id);
CREATE INDEX listings_status_idx ON listings (status, id);
CREATE INDEX listings_expiry_idx ON listings (expires_on) WHERE status = 'listed';

CREATE TABLE listing_violations (
    listing_id   TEXT NOT NULL REFERENCES listings (id),
    violation_id TEXT NOT NULL REFERENCES violations (id),
    PRIMARY KEY (listing_id, violation_id)
);
CREATE INDEX listing_violations_violation_idx ON listing_violations (violation_id);

CREATE TABLE listing_history (
    id            TEXT PRIMARY KEY,
    listing_id    TEXT NOT NULL REFERENCES listings (id),
    action        TEXT NOT NULL,
    from_status   TEXT,
    to_status     TEXT NOT NULL,
    actor_user_id TEXT REFERENCES users (id),
    effective_on  DATE NOT NULL,
    at            TIMESTAMP NOT NULL,
    reason        TEXT
);
CREATE INDEX listing_history_listing_idx ON listing_history (listing_id, id);

CREATE TABLE objections (
    id                TEXT PRIMARY KEY,
    listing_id        TEXT NOT NULL REFERENCES listings (id),
    statement         TEXT NOT NULL,
    received_on       DATE NOT NULL,
    hearing_requested BOOLEAN NOT NULL,
    recorded_by       TEXT NOT NULL REFERENCES users (id),
    recorded_at       TIMESTAMP NOT NULL
);
CREATE INDEX objections_listing_idx ON objections (listing_id, id);

CREATE TABLE repair_applications (
    id              TEXT PRIMARY KEY,
    listing_id      TEXT NOT NULL REFERENCES listings (id),
    statement       TEXT NOT NULL,
    evidence        TEXT NOT NULL,
    applied_on      DATE NOT NULL,
    recorded_by     TEXT NOT NULL REFERENCES users (id),
    recorded_at     TIMESTAMP NOT NULL,
    outcome         TEXT,
    decided_by      TEXT REFERENCES users (id),
    decided_on      DATE,
    decision_reason TEXT
);
CREATE INDEX repair_applications_listing_idx ON repair_applications (listing_id, id);
