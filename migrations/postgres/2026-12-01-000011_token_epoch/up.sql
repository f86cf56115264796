-- A user's token epoch: every access token carries the epoch it was issued
-- in, and a change of role or a disabling moves the epoch on, so tokens
-- issued before the change stay dead even when the change is undone.
ALTER TABLE users ADD COLUMN token_epoch BIGINT NOT NULL DEFAULT 0;
