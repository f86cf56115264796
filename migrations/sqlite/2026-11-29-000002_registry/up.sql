-- The hash-chained audit log. `audit_head` is the one row every appender
-- updates first: on PostgreSQL its row lock serialises appends, so the
-- chain never forks; SQLite serialises writers anyway.
CREATE TABLE audit_log (
    seq                   INTEGER PRIMARY KEY,
    at                    TIMESTAMP NOT NULL,
    actor_user_id         TEXT,
    actor_organization_id TEXT,
    action                TEXT NOT NULL,
    target_type           TEXT NOT NULL,
    target_id             TEXT NOT NULL,
    details               TEXT NOT NULL,
    prev_hash             TEXT NOT NULL,
    hash                  TEXT NOT NULL
);
CREATE INDEX audit_log_action_idx ON audit_log (action, seq);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_user_id, seq);
CREATE INDEX audit_log_target_idx ON audit_log (target_type, target_id, seq);

CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- Stored first responses of POSTs that carried an Idempotency-Key.
CREATE TABLE idempotency_keys (
    user_id         TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    request_hash    TEXT NOT NULL,
    response_status INTEGER NOT NULL,
    response_body   TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, idempotency_key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

CREATE TABLE subjects (
    id               TEXT PRIMARY KEY,
    kind             TEXT NOT NULL CHECK (kind IN ('anchor', 'merchant')),
    name             TEXT NOT NULL,
    region_code      TEXT,
    -- Resident ID numbers are kept only as a keyed hash plus a masked form.
    id_number_hash   TEXT,
    id_number_masked TEXT,
    uscc             TEXT,
    created_by       TEXT NOT NULL REFERENCES users (id),
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX subjects_id_number_hash_key ON subjects (id_number_hash);
CREATE UNIQUE INDEX subjects_uscc_key ON subjects (uscc);
CREATE INDEX subjects_kind_idx ON subjects (kind, id);

-- The name and the aliases of each subject (position 0 is the name).
CREATE TABLE subject_names (
    subject_id TEXT NOT NULL REFERENCES subjects (id),
    position   INTEGER NOT NULL,
    name       TEXT NOT NULL,
    PRIMARY KEY (subject_id, position)
);
CREATE INDEX subject_names_name_idx ON subject_names (name);

CREATE TABLE subject_accounts (
    subject_id  TEXT NOT NULL REFERENCES subjects (id),
    account_key TEXT NOT NULL,
    platform    TEXT NOT NULL,
    handle      TEXT NOT NULL,
    PRIMARY KEY (subject_id, account_key)
);
CREATE UNIQUE INDEX subject_accounts_key ON subject_accounts (account_key);

-- Append-only: a correction is a revoke plus a new record.
CREATE TABLE violations (
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
CREATE INDEX violations_subject_idx ON violations (subject_id, decided_on, id);

CREATE TABLE violation_evidence (
    violation_id TEXT NOT NULL REFERENCES violations (id),
    position     INTEGER NOT NULL,
    sha256       TEXT NOT NULL,
    media_type   TEXT NOT NULL,
    description  TEXT,
    uri          TEXT,
    PRIMARY KEY (violation_id, position)
);
