-- Retention (docs/OPERATIONS.md): upkeep deletes old screening records and
-- dead refresh tokens every round; these indexes keep that from reading
-- the whole table each time.
CREATE INDEX screenings_screened_at_idx ON screenings (screened_at);
CREATE INDEX refresh_tokens_expires_at_idx ON refresh_tokens (expires_at);
CREATE INDEX refresh_tokens_revoked_at_idx ON refresh_tokens (revoked_at);
