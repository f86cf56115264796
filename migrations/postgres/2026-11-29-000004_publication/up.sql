-- The outbox: every event is written in the transaction of the change it
-- reports. Sequence numbers come from the audit head row, whose lock every
-- writing transaction holds until it commits: so events become visible in
-- sequence order, and a feed cursor never skips or repeats one.
ALTER TABLE audit_head ADD COLUMN event_seq BIGINT NOT NULL DEFAULT 0;

CREATE TABLE events (
    seq         BIGINT PRIMARY KEY,
    id          TEXT NOT NULL,
    event_type  TEXT NOT NULL,
    subject_id  TEXT NOT NULL,
    listing_id  TEXT,
    occurred_at TIMESTAMP NOT NULL,
    data        TEXT NOT NULL
);
CREATE UNIQUE INDEX events_id_key ON events (id);
CREATE INDEX events_subject_idx ON events (subject_id, seq);

-- The public list's version: `counter` grows with each visible change that
-- is recorded; listings past `expires_on` whose expiry is not yet recorded
-- are added at read time, so the version grows exactly when the list does.
CREATE TABLE publication_state (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    counter    BIGINT NOT NULL,
    changed_at TIMESTAMP NOT NULL
);
INSERT INTO publication_state (id, counter, changed_at) VALUES (1, 0, '2026-01-01 00:00:00');

-- Comparable keys of every name and alias (see domain::names): `text` is the
-- simplified, case-folded name; `pinyin` one toneless spelling per reading.
CREATE TABLE subject_name_keys (
    subject_id TEXT NOT NULL REFERENCES subjects (id),
    key_kind   TEXT NOT NULL,
    name_key   TEXT NOT NULL,
    position   INTEGER NOT NULL,
    PRIMARY KEY (subject_id, key_kind, name_key)
);
CREATE INDEX subject_name_keys_key_idx ON subject_name_keys (name_key, key_kind);
