-- The list's version counts listed entries whose expiry has come; screening
-- and the public search look subjects up by account handle.
CREATE INDEX listings_status_expiry_idx ON listings (status, expires_on);
CREATE INDEX subject_accounts_handle_idx ON subject_accounts (handle);

-- Text within a name is found through the name's character pairs
-- ('pair' keys, written with every name from now on): backfill them.
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000)
INSERT OR IGNORE INTO subject_name_keys (subject_id, key_kind, name_key, position)
SELECT k.subject_id, 'pair', substr(k.name_key, n.i, 2), min(k.position)
FROM subject_name_keys k JOIN n ON n.i < length(k.name_key)
WHERE k.key_kind = 'text'
GROUP BY k.subject_id, substr(k.name_key, n.i, 2);
