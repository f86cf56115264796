ALTER TABLE subject_name_keys ADD COLUMN listed BOOLEAN NOT NULL DEFAULT false;
UPDATE subject_name_keys SET listed = true
WHERE subject_id IN (SELECT subject_id FROM listings WHERE status = 'listed');
CREATE INDEX subject_name_keys_listed_idx ON subject_name_keys (name_key, key_kind) INCLUDE (subject_id) WHERE listed;
