ALTER TABLE subject_name_keys ADD COLUMN listed BOOLEAN NOT NULL DEFAULT 0;
UPDATE subject_name_keys SET listed = 1
WHERE subject_id IN (SELECT subject_id FROM listings WHERE status = 'listed');
CREATE INDEX subject_name_keys_listed_idx ON subject_name_keys (name_key, key_kind, subject_id) WHERE listed;
