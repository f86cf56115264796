-- Organizations, users, refresh tokens and login throttling.
CREATE TABLE organizations (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('regulator', 'platform', 'consumer_association')),
    region_code TEXT,
    created_at  TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX organizations_name_key ON organizations (name);

CREATE TABLE users (
    id              TEXT PRIMARY KEY,
    email           TEXT NOT NULL,
    password_hash   TEXT NOT NULL,
    role            TEXT NOT NULL CHECK (role IN ('admin', 'regulator', 'platform', 'auditor')),
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    display_name    TEXT,
    disabled        BOOLEAN NOT NULL DEFAULT 0,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX users_email_key ON users (email);
CREATE INDEX users_organization_idx ON users (organization_id);

-- Only the SHA-256 of a refresh token is stored. Tokens of one login form a
-- family: rotation adds to it, reuse of a spent token revokes all of it.
CREATE TABLE refresh_tokens (
    id          TEXT PRIMARY KEY,
    family_id   TEXT NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users (id),
    token_hash  TEXT NOT NULL,
    issued_at   TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP NOT NULL,
    used_at     TIMESTAMP,
    revoked_at  TIMESTAMP
);
CREATE UNIQUE INDEX refresh_tokens_hash_key ON refresh_tokens (token_hash);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);

-- Failed logins per key (`account:<email>` or `address:<ip>`), shared by all instances.
CREATE TABLE login_throttle (
    throttle_key      TEXT PRIMARY KEY,
    failures          INTEGER NOT NULL,
    window_started_at TIMESTAMP NOT NULL
);
