DELETE FROM subject_name_keys WHERE key_kind = 'pair';
DROP INDEX subject_accounts_handle_idx;
DROP INDEX listings_status_expiry_idx;
