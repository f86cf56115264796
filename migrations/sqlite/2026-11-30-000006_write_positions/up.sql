-- Read-your-writes with read replicas (PostgreSQL only; SQLite has none):
-- kept in both schemas so that they stay alike.
CREATE TABLE write_positions (
    user_id TEXT PRIMARY KEY NOT NULL REFERENCES users (id),
    lsn INTEGER NOT NULL,
    recorded_at TIMESTAMP NOT NULL
);
