-- The parties of live-stream commerce (SAMR/CAC Order 117) and what platforms
-- may be shown (SAMR Order 45; docs/procedure.md, docs/SECURITY.md).
ALTER TABLE subjects DROP CONSTRAINT subjects_kind_check;
ALTER TABLE subjects ADD CONSTRAINT subjects_kind_check
    CHECK (kind IN ('anchor', 'merchant', 'room_operator', 'mcn'));

-- The score, band and count of the penalties platforms may still be shown;
-- no score when none is.
ALTER TABLE subjects ADD COLUMN shared_score DOUBLE PRECISION;
ALTER TABLE subjects ADD COLUMN shared_band TEXT;
ALTER TABLE subjects ADD COLUMN shared_violations INTEGER NOT NULL DEFAULT 0;
-- Until upkeep recomputes them (it picks these rows first), subjects with
-- penalties show what they showed before.
UPDATE subjects SET shared_score = score, shared_band = band,
    shared_violations = (SELECT count(*) FROM violations v
        WHERE v.subject_id = subjects.id AND v.status = 'effective' AND v.repaired_on IS NULL),
    score_as_of = DATE '2000-01-01'
WHERE EXISTS (SELECT 1 FROM violations v
    WHERE v.subject_id = subjects.id AND v.status = 'effective' AND v.repaired_on IS NULL);
DROP INDEX subjects_score_refresh_idx;
CREATE INDEX subjects_score_refresh_idx ON subjects (score_as_of)
    WHERE score < 100 OR shared_violations > 0;

-- The MCN or live-room operator that shares the responsibility for an act.
ALTER TABLE violations ADD COLUMN related_subject_ids TEXT NOT NULL DEFAULT '[]';

-- Who works for whom: a relation holds from valid_from up to, not including,
-- valid_to; ending one sets valid_to and keeps the row.
CREATE TABLE subject_relations (
    id                 TEXT PRIMARY KEY,
    subject_id         TEXT NOT NULL REFERENCES subjects (id),
    related_subject_id TEXT NOT NULL REFERENCES subjects (id),
    relation           TEXT NOT NULL CHECK (relation IN ('employed_by', 'contracted_with', 'operates_room_for')),
    valid_from         DATE NOT NULL,
    valid_to           DATE,
    created_by         TEXT NOT NULL REFERENCES users (id),
    created_at         TIMESTAMP NOT NULL,
    ended_by           TEXT REFERENCES users (id),
    ended_at           TIMESTAMP,
    CHECK (valid_to IS NULL OR valid_to > valid_from)
);
CREATE INDEX subject_relations_subject_idx ON subject_relations (subject_id, valid_from);
CREATE INDEX subject_relations_related_idx ON subject_relations (related_subject_id, valid_from);
