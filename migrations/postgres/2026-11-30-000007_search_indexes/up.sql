-- The list's version counts listed entries whose expiry has come; screening
-- and the public search look subjects up by account handle.
CREATE INDEX listings_status_expiry_idx ON listings (status, expires_on);
CREATE INDEX subject_accounts_handle_idx ON subject_accounts (handle);

-- Text within a name is found through the name's character pairs
-- ('pair' keys, written with every name from now on): backfill them.
INSERT INTO subject_name_keys (subject_id, key_kind, name_key, position)
SELECT k.subject_id, 'pair', substr(k.name_key, i, 2), min(k.position)
FROM subject_name_keys k, generate_series(1, char_length(k.name_key) - 1) AS i
WHERE k.key_kind = 'text' AND char_length(k.name_key) >= 2
GROUP BY k.subject_id, substr(k.name_key, i, 2)
ON CONFLICT DO NOTHING;
