-- Screening records (one per screened item), platforms' watchlists, their
-- webhooks and the deliveries of events to them.
CREATE TABLE screenings (
    id                  TEXT PRIMARY KEY,
    batch_id            TEXT,
    position            INTEGER NOT NULL,
    organization_id     TEXT NOT NULL REFERENCES organizations (id),
    user_id             TEXT NOT NULL REFERENCES users (id),
    screened_at         TIMESTAMP NOT NULL,
    -- Keyed hash of the normalised query: no raw ID numbers are kept.
    query_fingerprint   TEXT NOT NULL,
    decision            TEXT NOT NULL CHECK (decision IN ('hit', 'review', 'clear')),
    list_version        BIGINT NOT NULL,
    matched_subject_ids TEXT NOT NULL
);
CREATE INDEX screenings_organization_idx ON screenings (organization_id, id);

CREATE TABLE watchlist (
    id              TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    subject_id      TEXT NOT NULL REFERENCES subjects (id),
    external_ref    TEXT,
    created_by      TEXT NOT NULL REFERENCES users (id),
    created_at      TIMESTAMP NOT NULL,
    -- Events after this sequence number concern the watcher.
    since_seq       BIGINT NOT NULL
);
CREATE UNIQUE INDEX watchlist_organization_subject_key ON watchlist (organization_id, subject_id);
CREATE INDEX watchlist_subject_idx ON watchlist (subject_id);

CREATE TABLE webhooks (
    id                  TEXT PRIMARY KEY,
    organization_id     TEXT NOT NULL REFERENCES organizations (id),
    url                 TEXT NOT NULL,
    -- HMAC key of the signatures; shown once at creation.
    secret              TEXT NOT NULL,
    -- JSON array of event types; empty means all.
    event_types         TEXT NOT NULL,
    created_by          TEXT NOT NULL REFERENCES users (id),
    created_at          TIMESTAMP NOT NULL,
    active              BOOLEAN NOT NULL,
    last_dispatched_seq BIGINT NOT NULL
);
CREATE INDEX webhooks_organization_idx ON webhooks (organization_id, id);

CREATE TABLE webhook_deliveries (
    id               TEXT PRIMARY KEY,
    webhook_id       TEXT NOT NULL REFERENCES webhooks (id),
    event_id         TEXT NOT NULL,
    event_seq        BIGINT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         INTEGER NOT NULL,
    next_attempt_at  TIMESTAMP NOT NULL,
    -- A worker's claim: no other worker sends it until the claim lapses.
    claimed_until    TIMESTAMP,
    claim_token      TEXT,
    last_status_code INTEGER,
    last_error       TEXT,
    created_at       TIMESTAMP NOT NULL,
    delivered_at     TIMESTAMP
);
CREATE UNIQUE INDEX webhook_deliveries_event_key ON webhook_deliveries (webhook_id, event_id);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (status, next_attempt_at);
