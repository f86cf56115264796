-- Facts every instance must agree on, recorded by the first one to start:
-- today a fingerprint (an HMAC of a fixed text) of LIVECREDIT_ID_PEPPER, so
-- that an instance with another pepper refuses to start instead of writing
-- identifier hashes that never match.
CREATE TABLE deployment_checks (
    name TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);
