PRAGMA foreign_keys = OFF;
BEGIN;
DROP TABLE subject_relations;
ALTER TABLE violations DROP COLUMN related_subject_ids;
CREATE TABLE subjects_v1 (
    id               TEXT PRIMARY KEY,
    kind             TEXT NOT NULL CHECK (kind IN ('anchor', 'merchant')),
    name             TEXT NOT NULL,
    region_code      TEXT,
    id_number_hash   TEXT,
    id_number_masked TEXT,
    uscc             TEXT,
    created_by       TEXT NOT NULL REFERENCES users (id),
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL,
    score            REAL NOT NULL DEFAULT 100,
    band             TEXT NOT NULL DEFAULT 'A',
    score_as_of      DATE,
    policy_version   INTEGER NOT NULL DEFAULT 1
);
INSERT INTO subjects_v1 SELECT id, kind, name, region_code, id_number_hash, id_number_masked, uscc,
    created_by, created_at, updated_at, score, band, score_as_of, policy_version
FROM subjects WHERE kind IN ('anchor', 'merchant');
DROP TABLE subjects;
ALTER TABLE subjects_v1 RENAME TO subjects;
CREATE UNIQUE INDEX subjects_id_number_hash_key ON subjects (id_number_hash);
CREATE UNIQUE INDEX subjects_uscc_key ON subjects (uscc);
CREATE INDEX subjects_kind_idx ON subjects (kind, id);
CREATE INDEX subjects_score_refresh_idx ON subjects (score_as_of) WHERE score < 100;
COMMIT;
PRAGMA foreign_keys = ON;
