-- Screening and the public search read names from each instance's
-- screening index (docs/ARCHITECTURE.md), which knows who is listed: the
-- flag on stored name keys that told them so is read by nothing now.
DROP INDEX subject_name_keys_listed_idx;
ALTER TABLE subject_name_keys DROP COLUMN listed;
