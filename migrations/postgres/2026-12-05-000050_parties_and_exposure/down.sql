DROP TABLE subject_relations;
ALTER TABLE violations DROP COLUMN related_subject_ids;
DROP INDEX subjects_score_refresh_idx;
CREATE INDEX subjects_score_refresh_idx ON subjects (score_as_of) WHERE score < 100;
ALTER TABLE subjects DROP COLUMN shared_violations;
ALTER TABLE subjects DROP COLUMN shared_band;
ALTER TABLE subjects DROP COLUMN shared_score;
ALTER TABLE subjects DROP CONSTRAINT subjects_kind_check;
ALTER TABLE subjects ADD CONSTRAINT subjects_kind_check CHECK (kind IN ('anchor', 'merchant'));
