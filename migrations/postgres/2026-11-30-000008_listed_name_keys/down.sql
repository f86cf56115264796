DROP INDEX subject_name_keys_listed_idx;
ALTER TABLE subject_name_keys DROP COLUMN listed;
