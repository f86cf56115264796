-- Read-your-writes with read replicas: each user's last write position on
-- the primary (a WAL LSN as a byte offset). A read for that user goes to a
-- replica only once the replica has replayed this far.
CREATE TABLE write_positions (
    user_id TEXT PRIMARY KEY REFERENCES users (id),
    lsn BIGINT NOT NULL,
    recorded_at TIMESTAMP NOT NULL
);
